//! The client's request body on its way upstream. Two things go wrong on the client's side
//! that must not look like upstream failures: the body itself fails (bad chunked framing, the
//! client goes away mid-upload), or it stalls. The wrapper marks both in the error it hands to
//! the upstream connection, so the failed exchange can be told apart from an upstream fault,
//! and ends a body that sends nothing for `proxy.body_timeout` (which also aborts the upstream
//! request: its connection is closed).
//!
//! Layout: a low file of `proxy` beside `error.rs`; the rewrite (`forward.rs`) wraps the body,
//! the pool sends it and reads the marks back.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the client's body ended early.
#[derive(Debug, thiserror::Error)]
pub(super) enum RequestBodyError {
    #[error("the client's request body failed")]
    Client(#[source] BoxError),
    #[error("the client's request body sent nothing for {0:?}")]
    Stalled(Duration),
}

impl RequestBodyError {
    /// The body error behind a failed upstream exchange, if that is what failed it.
    pub(super) fn behind<'e>(
        e: &'e (dyn std::error::Error + 'static),
    ) -> Option<&'e RequestBodyError> {
        let mut cause = Some(e);
        while let Some(e) = cause {
            if let Some(found) = e.downcast_ref::<RequestBodyError>() {
                return Some(found);
            }
            cause = e.source();
        }
        None
    }
}

/// The client's request body as the handler sees it: hyper's, or none at all (a request the
/// own HTTP/1.1 server, `serve1/`, admitted only because it has no body). An enum rather
/// than a boxed body: hyper's path pays one branch per frame, and no allocation.
#[derive(Debug)]
pub(crate) enum ClientBody {
    Hyper(Incoming),
    Empty,
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ClientBody::Hyper(body) => Pin::new(body).poll_frame(cx),
            ClientBody::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ClientBody::Hyper(body) => body.is_end_stream(),
            ClientBody::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ClientBody::Hyper(body) => body.size_hint(),
            ClientBody::Empty => SizeHint::with_exact(0),
        }
    }
}

/// The client's body with an idle timer: it runs while the client has nothing to give, and
/// starts afresh after each frame, so a slow but steady upload is never cut.
pub(super) struct RequestBody<B = ClientBody> {
    inner: B,
    idle: Duration,
    /// Made on the first wait (a body that is already complete never needs one) and reset,
    /// not rebuilt, afterwards: no allocation per frame.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether `timer` counts the current wait; cleared by each frame.
    waiting: bool,
}

impl<B> RequestBody<B> {
    pub(super) fn new(inner: B, idle: Duration) -> RequestBody<B> {
        RequestBody {
            inner,
            idle,
            timer: None,
            waiting: false,
        }
    }

    /// The client had nothing: start the idle timer if this wait is new, and end the body
    /// once it fires.
    fn poll_idle(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestBodyError>>> {
        if !self.waiting {
            self.waiting = true;
            let deadline = Instant::now() + self.idle;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        match self.timer.as_mut().map(|t| t.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Some(Err(RequestBodyError::Stalled(self.idle)))),
            _ => Poll::Pending,
        }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = RequestBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestBodyError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.waiting = false;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(RequestBodyError::Client(e.into())))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => this.poll_idle(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::sync::mpsc;

    /// A body fed by the test, one chunk at a time.
    struct Fed(mpsc::Receiver<Result<Bytes, std::io::Error>>);

    impl Body for Fed {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            self.0.poll_recv(cx).map(|c| c.map(|r| r.map(Frame::data)))
        }
    }

    fn fed(
        idle_ms: u64,
    ) -> (
        mpsc::Sender<Result<Bytes, std::io::Error>>,
        RequestBody<Fed>,
    ) {
        let (tx, rx) = mpsc::channel(4);
        (
            tx,
            RequestBody::new(Fed(rx), Duration::from_millis(idle_ms)),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_sends_nothing_for_the_idle_time_ends_with_stalled() {
        let (tx, mut body) = fed(300);
        tx.send(Ok(Bytes::from_static(b"abc"))).await.unwrap();
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "abc");
        let started = Instant::now();
        let end = body.frame().await.unwrap();
        assert!(
            matches!(end, Err(RequestBodyError::Stalled(d)) if d == Duration::from_millis(300))
        );
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn each_frame_starts_the_idle_time_afresh() {
        let (tx, body) = fed(300);
        let feeder = tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(250)).await;
                tx.send(Ok(Bytes::from_static(b"xy"))).await.unwrap();
            }
        });
        let all = body.collect().await.expect("a steady body is never cut");
        assert_eq!(all.to_bytes().len(), 20);
        feeder.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_client_body_is_marked_as_the_clients() {
        let (tx, mut body) = fed(300);
        tx.send(Err(std::io::Error::other("bad chunk size")))
            .await
            .unwrap();
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(matches!(err, RequestBodyError::Client(_)));
        let wrapped: BoxError = Box::new(err);
        assert!(RequestBodyError::behind(&*wrapped).is_some());
        let unrelated = std::io::Error::other("upstream reset");
        assert!(RequestBodyError::behind(&unrelated).is_none());
    }
}
