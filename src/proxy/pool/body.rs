//! The upstream's response body as the pool hands it out: hyper's (requests with a body,
//! protocol switches) or the own client's (requests without one). Either way its connection
//! goes back to the pool the moment the last byte has been read, in line, with no task spawned;
//! a body dropped half-read closes its connection.
//!
//! Layout: knows the pool only through [`Home`], so the pool and its bodies do not import each
//! other.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;

use crate::proxy::body::RequestBody;
use crate::proxy::h1;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where a finished connection goes back to.
pub(crate) trait Home: Send + Sync {
    fn hyper_back(&self, sender: SendRequest<RequestBody>, authority: Arc<str>);
    fn own_back(&self, conn: h1::Conn, authority: Arc<str>);
}

enum Inner {
    Hyper {
        body: Incoming,
        sender: Option<SendRequest<RequestBody>>,
    },
    Own(h1::ResponseBody),
}

/// The upstream's response body; returns its connection to the pool when it ends.
pub(crate) struct PooledBody {
    inner: Inner,
    home: Option<(Arc<dyn Home>, Arc<str>)>,
}

impl PooledBody {
    /// hyper's body; `sender` is None for a connection that must not be reused.
    pub(super) fn hyper(
        body: Incoming,
        sender: Option<SendRequest<RequestBody>>,
        home: (Arc<dyn Home>, Arc<str>),
    ) -> PooledBody {
        PooledBody::new(Inner::Hyper { body, sender }, home)
    }

    pub(super) fn own(body: h1::ResponseBody, home: (Arc<dyn Home>, Arc<str>)) -> PooledBody {
        PooledBody::new(Inner::Own(body), home)
    }

    fn new(inner: Inner, home: (Arc<dyn Home>, Arc<str>)) -> PooledBody {
        let mut pooled = PooledBody {
            inner,
            home: Some(home),
        };
        if pooled.is_end_stream() {
            pooled.release();
        }
        pooled
    }

    fn release(&mut self) {
        let Some((home, authority)) = self.home.take() else {
            return;
        };
        match &mut self.inner {
            Inner::Hyper { sender, .. } => {
                if let Some(sender) = sender.take() {
                    home.hyper_back(sender, authority);
                }
            }
            Inner::Own(body) => {
                if let Some(conn) = body.take_reusable() {
                    home.own_back(conn, authority);
                }
            }
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled: Poll<Option<Result<Frame<Bytes>, BoxError>>> = match &mut this.inner {
            Inner::Hyper { body, .. } => Pin::new(body)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(Into::into))),
            Inner::Own(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(Into::into))),
        };
        match &polled {
            // The server side may stop polling once `is_end_stream` says so: release on the
            // last frame, not only on the end marker.
            Poll::Ready(Some(Ok(_))) if this.is_end_stream() => this.release(),
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Err(_))) => this.home = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Hyper { body, .. } => body.is_end_stream(),
            Inner::Own(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Hyper { body, .. } => body.size_hint(),
            Inner::Own(body) => body.size_hint(),
        }
    }
}
