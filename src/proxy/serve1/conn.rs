//! One client connection on the own server: read heads, answer the simple ones in order,
//! and give the connection up — with what was read — at the first one that is not.

use std::future::poll_fn;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Response};
use http_body::Body;
use tokio::io::AsyncWriteExt;

use super::encode::{self, encode_head, Framing};
use super::parse::{parse, Parsed};
use super::ServeError;
use crate::proxy::handler::{Conn, Proxy};
use crate::proxy::idle::{Activity, InFlight, WatchedIo};
use crate::proxy::respond::ProxyBody;

/// The read buffer's size, and the least room a read is given (hyper's initial size).
const READ_BUF: usize = 8192;
const MIN_READ: usize = 4096;

/// A body frame at least this large is written from where it is, not copied behind the head.
const COPY_AT_MOST: usize = 16 * 1024;

/// What the own server needs for a connection's requests.
pub(super) struct Own {
    pub proxy: Arc<Proxy>,
    pub conn: Conn,
    pub activity: Arc<Activity>,
    /// `proxy.max_header_bytes`.
    pub max_head: usize,
    /// Set by a graceful shutdown: close at the next request boundary.
    pub closing: Arc<AtomicBool>,
}

/// How the own server stopped serving a connection.
pub(crate) enum Ended {
    Closed(Result<(), ServeError>),
    /// A request that is not simple: hyper serves the rest, starting with these bytes.
    HandOver(WatchedIo, Bytes),
}

/// Serves `io` until it closes or a request is not simple.
pub(super) async fn serve(mut io: WatchedIo, own: Own) -> Ended {
    let mut buf = BytesMut::with_capacity(READ_BUF);
    let mut out = Vec::with_capacity(READ_BUF);
    // The header map of the last response, reused for the next request's head (the own
    // upstream client reuses the request's for the response): no map is made per request.
    let mut headers = HeaderMap::new();
    loop {
        if own.closing.load(Relaxed) {
            return Ended::Closed(Ok(()));
        }
        let parsed = if buf.is_empty() {
            Parsed::Partial
        } else {
            parse(&mut buf, own.max_head, &mut headers)
        };
        let (req, close) = match parsed {
            Parsed::Simple { req, close } => (req, close),
            Parsed::Other(why) => {
                tracing::trace!(?why, "request handed over to hyper");
                return Ended::HandOver(io, buf.freeze());
            }
            Parsed::Partial => match read_more(&mut io, &mut buf, &own.closing).await {
                Ok(true) => continue,
                Ok(false) => return Ended::Closed(Ok(())),
                Err(e) => return Ended::Closed(Err(ServeError::Read(e))),
            },
        };
        let method = req.method().clone();
        let in_flight = InFlight::start(&own.activity);
        let resp = own.proxy.handle(own.conn.clone(), req).await;
        let keep_alive = !close && !own.closing.load(Relaxed);
        let written = write_response(&mut io, &mut out, resp, &method, keep_alive, &mut headers);
        let last = match written.await {
            Ok(last) => last,
            Err(e) => return Ended::Closed(Err(e)),
        };
        drop(in_flight);
        if last || own.closing.load(Relaxed) {
            let _ = io.shutdown().await;
            return Ended::Closed(Ok(()));
        }
    }
}

/// Reads more of the next head: `Ok(false)` when the client closed, or the connection is
/// closing (a graceful shutdown is never held up by a head that has not come).
async fn read_more(
    io: &mut WatchedIo,
    buf: &mut BytesMut,
    closing: &AtomicBool,
) -> io::Result<bool> {
    if buf.capacity() - buf.len() < MIN_READ {
        // Once the last request's fields are gone, this takes the buffer back in place.
        buf.reserve(MIN_READ);
    }
    poll_fn(|cx| {
        if closing.load(Relaxed) {
            return Poll::Ready(Ok(false));
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, buf).map_ok(|n| n > 0)
    })
    .await
}

/// Writes the response to a request of `method`; `Ok(true)` when the connection closes
/// after it. The response's header map is left, empty, in `headers`.
async fn write_response(
    io: &mut WatchedIo,
    out: &mut Vec<u8>,
    resp: Response<ProxyBody>,
    method: &Method,
    keep_alive: bool,
    headers: &mut HeaderMap,
) -> Result<bool, ServeError> {
    let (mut parts, body) = resp.into_parts();
    let length = encode::body_length(body.is_end_stream(), body.size_hint());
    out.clear();
    let encoded = encode_head(
        out,
        parts.status,
        &mut parts.headers,
        method,
        length,
        keep_alive,
    );
    parts.headers.clear();
    *headers = parts.headers;
    let encoded = encoded?;
    write_body(io, out, body, encoded.framing).await?;
    Ok(encoded.last)
}

/// Writes `out` (the head) and the body in `framing`. What the body has ready is sent with
/// the head in one write; the buffer is flushed before waiting for more. A body that fails
/// or ends short of its length fails the connection (the client must not take a cut
/// response for a whole one).
async fn write_body(
    io: &mut WatchedIo,
    out: &mut Vec<u8>,
    body: ProxyBody,
    framing: Framing,
) -> Result<(), ServeError> {
    let mut remaining = match framing {
        Framing::Empty => return flush(io, out).await,
        Framing::Length(n) => n,
        Framing::Chunked => u64::MAX,
    };
    let mut body = pin!(body);
    loop {
        let frame = match poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                flush(io, out).await?;
                poll_fn(|cx| body.as_mut().poll_frame(cx)).await
            }
        };
        let data = match frame {
            None => break,
            Some(Err(e)) => return Err(ServeError::Body(e)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                // Trailers: hyper sends none the response did not declare, and `Trailer`
                // is a hop-by-hop field the proxy removes.
                Err(_) => continue,
            },
        };
        if data.is_empty() {
            continue;
        }
        if framing == Framing::Chunked {
            encode::chunk_size(out, data.len());
            put(io, out, data).await?;
            out.extend_from_slice(b"\r\n");
        } else {
            // More than the length said is not sent.
            let take = data
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX));
            remaining -= take as u64;
            put(io, out, data.slice(..take)).await?;
            if remaining == 0 {
                break;
            }
        }
    }
    match framing {
        Framing::Chunked => out.extend_from_slice(b"0\r\n\r\n"),
        _ if remaining > 0 => return Err(ServeError::ShortBody(remaining)),
        _ => {}
    }
    flush(io, out).await
}

/// Appends a small `data` to `out`; a large one is written from where it is, after `out`.
async fn put(io: &mut WatchedIo, out: &mut Vec<u8>, data: Bytes) -> Result<(), ServeError> {
    if data.len() <= COPY_AT_MOST {
        out.extend_from_slice(&data);
        return Ok(());
    }
    flush(io, out).await?;
    io.write_all(&data).await.map_err(ServeError::Write)
}

async fn flush(io: &mut WatchedIo, out: &mut Vec<u8>) -> Result<(), ServeError> {
    if out.is_empty() {
        return Ok(());
    }
    let written = io.write_all(out).await;
    out.clear();
    written.map_err(ServeError::Write)
}
