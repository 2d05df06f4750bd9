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
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::encode::{self, encode_head, Framing};
use super::parse::{parse, Parsed};
use super::{BoxError, ServeError};
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
    // Where the last parse found the head incomplete. A head only becomes complete (or
    // wrong) with a new line: bytes without one are not parsed again, so a head sent a byte
    // at a time costs one parse per line (at most `MAX_HEADER_FIELDS` + 2), not per byte.
    let mut partial_at: Option<usize> = None;
    loop {
        if own.closing.load(Relaxed) {
            return Ended::Closed(Ok(()));
        }
        let parsed = match partial_at {
            _ if buf.is_empty() => Parsed::Partial,
            Some(at) if buf.len() <= own.max_head && !buf[at..].contains(&b'\n') => Parsed::Partial,
            _ => parse(&mut buf, own.max_head, &mut headers),
        };
        let (req, close) = match parsed {
            Parsed::Simple { req, close } => (req, close),
            Parsed::Other(why) => {
                tracing::trace!(?why, "request handed over to hyper");
                return Ended::HandOver(io, buf.freeze());
            }
            Parsed::Partial => {
                partial_at = (!buf.is_empty()).then_some(buf.len());
                match read_more(&mut io, &mut buf, &own.closing).await {
                    Ok(true) => continue,
                    Ok(false) => return Ended::Closed(Ok(())),
                    Err(e) => return Ended::Closed(Err(ServeError::Read(e))),
                }
            }
        };
        partial_at = None;
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
async fn write_body<W, B>(
    io: &mut W,
    out: &mut Vec<u8>,
    body: B,
    framing: Framing,
) -> Result<(), ServeError>
where
    W: AsyncWrite + Unpin,
    B: Body<Data = Bytes, Error = BoxError>,
{
    let mut remaining = match framing {
        // As hyper: a body framed as empty is not polled at all.
        Framing::Empty | Framing::Length(0) => return flush(io, out).await,
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
async fn put<W: AsyncWrite + Unpin>(
    io: &mut W,
    out: &mut Vec<u8>,
    data: Bytes,
) -> Result<(), ServeError> {
    if data.len() <= COPY_AT_MOST {
        out.extend_from_slice(&data);
        return Ok(());
    }
    flush(io, out).await?;
    io.write_all(&data).await.map_err(ServeError::Write)
}

async fn flush<W: AsyncWrite + Unpin>(io: &mut W, out: &mut Vec<u8>) -> Result<(), ServeError> {
    if out.is_empty() {
        return Ok(());
    }
    let written = io.write_all(out).await;
    out.clear();
    written.map_err(ServeError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Frame;
    use http_body_util::StreamBody;

    type Frames = Vec<Result<Frame<Bytes>, BoxError>>;

    /// What `write_body` sends for a body of `frames` in `framing`, or its error.
    async fn written(frames: Frames, framing: Framing) -> Result<String, ServeError> {
        let body = StreamBody::new(futures_util::stream::iter(frames));
        let mut sent = Vec::new();
        let mut out = b"HEAD\r\n\r\n".to_vec();
        write_body(&mut sent, &mut out, body, framing).await?;
        assert!(out.is_empty(), "everything buffered was flushed");
        Ok(String::from_utf8(sent).unwrap())
    }

    fn data(s: &'static str) -> Result<Frame<Bytes>, BoxError> {
        Ok(Frame::data(Bytes::from_static(s.as_bytes())))
    }

    #[tokio::test]
    async fn a_chunked_body_is_written_in_chunks_and_ended_with_the_last_chunk() {
        let sent = written(
            vec![data("hello"), data(""), data(" world!")],
            Framing::Chunked,
        );
        assert_eq!(
            sent.await.unwrap(),
            "HEAD\r\n\r\n5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn a_body_framed_by_length_sends_that_many_bytes_and_no_more() {
        let sent = written(vec![data("abc"), data("defgh")], Framing::Length(5));
        assert_eq!(sent.await.unwrap(), "HEAD\r\n\r\nabcde");
    }

    #[tokio::test]
    async fn a_body_short_of_its_length_fails_the_connection() {
        let sent = written(vec![data("abc")], Framing::Length(5)).await;
        assert!(matches!(sent, Err(ServeError::ShortBody(2))), "{sent:?}");
    }

    #[tokio::test]
    async fn a_body_that_fails_midway_fails_the_connection_without_the_last_chunk() {
        let failing: Frames = vec![data("abc"), Err("upstream reset".into())];
        let sent = written(failing, Framing::Chunked).await;
        assert!(matches!(sent, Err(ServeError::Body(_))), "{sent:?}");
    }

    #[tokio::test]
    async fn an_empty_framing_sends_the_head_alone_and_never_polls_the_body() {
        for framing in [Framing::Empty, Framing::Length(0)] {
            let never = StreamBody::new(futures_util::stream::pending::<
                Result<Frame<Bytes>, BoxError>,
            >());
            let mut sent = Vec::new();
            let mut out = b"HEAD\r\n\r\n".to_vec();
            write_body(&mut sent, &mut out, never, framing)
                .await
                .unwrap();
            assert_eq!(sent, b"HEAD\r\n\r\n");
        }
    }

    #[tokio::test]
    async fn a_large_frame_is_written_from_where_it_is_after_the_head() {
        let big = Bytes::from(vec![b'x'; COPY_AT_MOST + 1]);
        let frames: Frames = vec![Ok(Frame::data(big))];
        let sent = written(frames, Framing::Length(COPY_AT_MOST as u64 + 1)).await;
        let sent = sent.unwrap();
        assert!(sent.starts_with("HEAD\r\n\r\nxxx"));
        assert_eq!(sent.len(), 8 + COPY_AT_MOST + 1);
    }
}
