//! One upstream connection of the own client: the socket, its read buffer (response heads and
//! bodies are sliced out of it) and its write buffer (the request head, reused).

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// Room made in the read buffer before each read.
const READ_ROOM: usize = 8 * 1024;

/// A failed write: before its first byte (the request never reached the upstream), or after.
#[derive(Debug)]
pub(super) enum WriteFailed {
    Unsent(io::Error),
    Cut(io::Error),
}

/// One upstream connection with its buffers; closed when dropped.
pub(crate) struct Conn {
    io: TcpStream,
    pub(super) read: BytesMut,
    pub(super) write: Vec<u8>,
    open: Gauge,
    _slot: OwnedSemaphorePermit,
    /// The response-head timer, kept from one exchange to the next (`super::exchange`).
    timer: Option<Pin<Box<Sleep>>>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.open.dec();
    }
}

impl Conn {
    /// A connection over `io`, counted in `open` until it is dropped.
    pub(crate) fn new(io: TcpStream, open: Gauge, slot: OwnedSemaphorePermit) -> Conn {
        open.inc();
        Conn {
            io,
            read: BytesMut::with_capacity(READ_ROOM),
            write: Vec::with_capacity(512),
            open,
            _slot: slot,
            timer: None,
        }
    }

    /// The connection's timer, made (set to `limit`) on the first exchange.
    pub(super) fn take_timer(&mut self, limit: Instant) -> Pin<Box<Sleep>> {
        let timer = self.timer.take();
        timer.unwrap_or_else(|| Box::pin(tokio::time::sleep_until(limit)))
    }

    pub(super) fn keep_timer(&mut self, timer: Pin<Box<Sleep>>) {
        self.timer = Some(timer);
    }

    /// Whether an idle connection can carry a request: the upstream has not closed it and has
    /// sent nothing unasked. One poll, no waiting; a read only when the socket says readable.
    pub(crate) fn poll_usable(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.read.is_empty() {
            return false;
        }
        match self.io.poll_read_ready(cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            // Readable may be stale (the last read filled its buffer): look.
            Poll::Ready(Ok(())) => matches!(
                self.io.try_read(&mut [0u8; 1]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock
            ),
        }
    }

    /// Writes the whole of `bytes`.
    pub(super) async fn write_all(&mut self, bytes: &[u8]) -> Result<(), WriteFailed> {
        let first = match self.io.write(bytes).await {
            Ok(0) => return Err(WriteFailed::Unsent(io::ErrorKind::WriteZero.into())),
            Ok(n) => n,
            Err(e) => return Err(WriteFailed::Unsent(e)),
        };
        if first < bytes.len() {
            let rest = self.io.write_all(&bytes[first..]).await;
            rest.map_err(WriteFailed::Cut)?;
        }
        Ok(())
    }

    /// Up to `max` bytes off the front of the read buffer, as a slice of it (no copy).
    pub(super) fn take_read(&mut self, max: usize) -> Bytes {
        let n = max.min(self.read.len());
        self.read.split_to(n).freeze()
    }

    /// Reads what the socket has into the read buffer; 0 at the end of the stream.
    pub(super) async fn read_some(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_some(cx)).await
    }

    pub(super) fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.read.reserve(READ_ROOM);
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read)
    }
}
