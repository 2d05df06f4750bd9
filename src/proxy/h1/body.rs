//! The upstream response body read off idlegate's own connection: each frame is a slice of the
//! connection's read buffer. Once the body has been read to its end on a connection that may
//! carry another request, the connection can be taken back for the pool
//! ([`ResponseBody::take_reusable`]); a body dropped before its end takes its connection with
//! it (closed), as what is left of the response cannot be told from the next one.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::chunked::{ChunkError, Decoded, Decoder};
use super::conn::Conn;
use super::head::Framing;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("the upstream closed the connection before the end of the response body")]
    Truncated,
    #[error("reading the upstream's response body: {0}")]
    Io(#[source] std::io::Error),
    #[error("the upstream's chunked response body is malformed: {0}")]
    Chunked(#[from] ChunkError),
}

enum State {
    Length(u64),
    Chunked(Decoder),
    UntilClose,
    Done,
}

pub(crate) struct ResponseBody {
    conn: Option<Conn>,
    state: State,
    keep_alive: bool,
    /// Body bytes read with the head, handed out before the connection is read again.
    rest: Bytes,
}

impl ResponseBody {
    /// `rest`: what was read past the head. A length-delimited body takes its frames from it
    /// as they are (no copy); the other framings decode it from the connection's buffer.
    pub(super) fn new(
        mut conn: Conn,
        framing: Framing,
        keep_alive: bool,
        rest: Bytes,
    ) -> ResponseBody {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Decoder::default()),
            Framing::UntilClose => State::UntilClose,
        };
        let rest = if matches!(state, State::Length(_)) {
            rest
        } else {
            conn.read.extend_from_slice(&rest);
            Bytes::new()
        };
        ResponseBody {
            conn: Some(conn),
            state,
            keep_alive,
            rest,
        }
    }

    /// The connection, once the body has been read to its end and the upstream left it fit
    /// for another request (nothing unasked behind the body).
    pub(crate) fn take_reusable(&mut self) -> Option<Conn> {
        let done = matches!(self.state, State::Done);
        let clean = self.rest.is_empty() && self.conn.as_ref().is_some_and(|c| c.read.is_empty());
        (done && clean && self.keep_alive)
            .then(|| self.conn.take())
            .flatten()
    }

    fn fail(&mut self, e: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.state = State::Done;
        self.conn = None;
        Poll::Ready(Some(Err(e)))
    }

    fn poll_length(
        &mut self,
        cx: &mut Context<'_>,
        left: u64,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let want = usize::try_from(left).unwrap_or(usize::MAX);
        let data = if !self.rest.is_empty() {
            let n = want.min(self.rest.len());
            self.rest.split_to(n)
        } else {
            let Some(conn) = self.conn.as_mut() else {
                return Poll::Ready(None);
            };
            if conn.read.is_empty() {
                if let Err(e) = ready!(poll_more(conn, cx)) {
                    return self.fail(e);
                }
            }
            conn.take_read(want)
        };
        let left = left - data.len() as u64;
        self.state = if left == 0 {
            State::Done
        } else {
            State::Length(left)
        };
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn poll_chunked(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        loop {
            let (Some(conn), State::Chunked(decoder)) = (self.conn.as_mut(), &mut self.state)
            else {
                return Poll::Ready(None);
            };
            match decoder.decode(&mut conn.read) {
                Ok(Some(Decoded::Data(data))) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(Some(Decoded::End)) => {
                    self.state = State::Done;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(e) => return self.fail(e.into()),
            }
            if let Err(e) = ready!(poll_more(conn, cx)) {
                return self.fail(e);
            }
        }
    }

    fn poll_until_close(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(None);
        };
        if conn.read.is_empty() {
            match ready!(conn.poll_read_some(cx)) {
                Ok(0) => {
                    self.state = State::Done;
                    self.conn = None;
                    return Poll::Ready(None);
                }
                Ok(_) => {}
                Err(e) => return self.fail(BodyError::Io(e)),
            }
        }
        let data = conn.take_read(usize::MAX);
        Poll::Ready(Some(Ok(Frame::data(data))))
    }
}

/// Reads more of the body into the connection's buffer; the end of the stream before the end
/// of the body is [`BodyError::Truncated`].
fn poll_more(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
    Poll::Ready(match ready!(conn.poll_read_some(cx)) {
        Ok(0) => Err(BodyError::Truncated),
        Ok(_) => Ok(()),
        Err(e) => Err(BodyError::Io(e)),
    })
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match this.state {
            State::Done => Poll::Ready(None),
            State::Length(left) => this.poll_length(cx, left),
            State::Chunked(_) => this.poll_chunked(cx),
            State::UntilClose => this.poll_until_close(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Done => SizeHint::with_exact(0),
            State::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}
