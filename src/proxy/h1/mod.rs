//! idlegate's own HTTP/1.1 client, for the requests that carry no body (most API calls,
//! and every request of the hot path).
//!
//! Why not hyper's client connection for these: it runs each upstream connection as a task of
//! its own, so every request crosses a channel to that task and its response comes back through
//! another, two task wake-ups per request besides the client connection's own. Here the
//! request's own task writes the head and reads the response on the socket, and the response
//! body is read by whichever task polls it (hyper's server, in the same task). Requests with a
//! body and protocol switches keep hyper's client (`pool.rs`): streaming a body while the
//! upstream may answer early is where its machinery earns its cost.
//!
//! Layout: `head.rs` (request head out, response head in, framing), `chunked.rs` (the
//! transfer coding), `conn.rs` (the connection, its buffers and its response-head timer), `body.rs` (the response body); this file one
//! exchange.

mod body;
mod chunked;
mod conn;
mod head;

pub(crate) use body::ResponseBody;
pub(crate) use conn::Conn;

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::Poll;

use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use tokio::time::{Instant, Sleep};

use conn::WriteFailed;
use head::{encode_request, parse_response, Framing, Head, HeadError};

/// Longest upstream response head read.
const MAX_HEAD: usize = 64 * 1024;

/// Why an exchange failed, and what that says about the request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// Nothing was written: the request never reached the upstream.
    #[error("{0}")]
    Unsent(#[source] io::Error),
    /// The connection closed before a single byte of a response.
    #[error("the upstream closed the connection before answering")]
    NoResponse,
    #[error("{0}")]
    Io(#[source] io::Error),
    #[error("the upstream closed the connection in the middle of the response head")]
    TruncatedHead,
    #[error("the upstream's response head is larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("{0}")]
    Head(#[from] HeadError),
    #[error("the upstream switched protocols for a request that did not ask to")]
    UnaskedSwitch,
    /// No response head by the limit; the request may have reached the upstream.
    #[error("no response head within the upstream timeout")]
    TimedOut,
}

/// Writes `req`'s head (the request has no body), with the `extra` fields in place of any of
/// their names, and reads the response head, all by `limit`; interim 1xx responses are
/// skipped. The response's body reads on from this connection.
///
/// The response takes over the request's header map (its capacity reused; hyper's server then
/// reuses the response's for the next request head): `req` keeps its fields until a response
/// head has been read, so that a request refused by a stale connection can be sent again.
pub(crate) async fn exchange<B>(
    mut conn: Conn,
    req: &mut Request<B>,
    extra: &[(HeaderName, HeaderValue)],
    limit: Instant,
) -> Result<Response<ResponseBody>, ExchangeError> {
    let mut timer = conn.take_timer(limit);
    let head = by(&mut timer, limit, send_and_read_head(&mut conn, req, extra)).await;
    conn.keep_timer(timer);
    let head = head??;
    let mut resp = Response::new(());
    *resp.status_mut() = head.status;
    *resp.headers_mut() = std::mem::take(req.headers_mut());
    if head.framing == Framing::Chunked {
        // The decoded length is not what a `Content-Length` sent beside the chunked
        // coding says: it must not reach the client.
        resp.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    let body = ResponseBody::new(conn, head.framing, head.keep_alive, head.rest);
    Ok(resp.map(|()| body))
}

/// Polls `work` until it ends or `limit` passes, on the connection's own timer. The timer is
/// re-armed only when it fires before `limit` (once per timeout period of a busy connection)
/// or when `limit` is earlier than it (a reload shortened the timeout): a tokio timeout per
/// request registered a timer and removed it again every time, about 400 instructions a
/// request (callgrind, README "Benchmarks"). A timer that fires while its connection sits
/// idle wakes the task that last waited on it once, for nothing.
async fn by<F: Future>(
    timer: &mut Pin<Box<Sleep>>,
    limit: Instant,
    work: F,
) -> Result<F::Output, ExchangeError> {
    if timer.deadline() > limit {
        timer.as_mut().reset(limit);
    }
    let mut work = pin!(work);
    poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= limit {
                return Poll::Ready(Err(ExchangeError::TimedOut));
            }
            timer.as_mut().reset(limit);
        }
        Poll::Pending
    })
    .await
}

/// Writes the request head and reads the response head (interim ones skipped).
async fn send_and_read_head<B>(
    conn: &mut Conn,
    req: &mut Request<B>,
    extra: &[(HeaderName, HeaderValue)],
) -> Result<Head, ExchangeError> {
    encode_request(req, extra, &mut conn.write);
    let head = std::mem::take(&mut conn.write);
    let written = conn.write_all(&head).await;
    conn.write = head;
    written.map_err(|e| match e {
        WriteFailed::Unsent(e) => ExchangeError::Unsent(e),
        WriteFailed::Cut(e) => ExchangeError::Io(e),
    })?;
    let method = req.method().clone();
    let mut got_any = false;
    loop {
        if let Some(head) = parse_response(&mut conn.read, &method, req.headers_mut())? {
            if head.status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(ExchangeError::UnaskedSwitch);
            }
            if head.status.is_informational() {
                // What followed the interim head is the next head.
                conn.read.extend_from_slice(&head.rest);
                continue;
            }
            return Ok(head);
        }
        if conn.read.len() >= MAX_HEAD {
            return Err(ExchangeError::HeadTooLarge);
        }
        let n = match conn.read_some().await {
            Ok(n) => n,
            // Reset before any byte of an answer: as good as closed unanswered.
            Err(e) if !got_any && conn.read.is_empty() && is_reset(&e) => {
                return Err(ExchangeError::NoResponse)
            }
            Err(e) => return Err(ExchangeError::Io(e)),
        };
        if n == 0 {
            return Err(if got_any || !conn.read.is_empty() {
                ExchangeError::TruncatedHead
            } else {
                ExchangeError::NoResponse
            });
        }
        got_any = true;
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

#[cfg(test)]
mod tests;
