//! What a client connection is doing, for its keep-alive and header timeouts.
//!
//! hyper's HTTP/1 server has no idle timeout of its own: its `header_read_timeout` starts when
//! the connection is ready for the next head, so it would close an idle keep-alive connection
//! after the header timeout instead of the keep-alive timeout, and the version sniffing in
//! front of it (`auto`) waits for the first bytes without any timeout at all. So each
//! connection records its phase here — idle, half-sent head, busy — from three places that
//! already run: its socket reads ([`WatchedIo`]), the start of a request, and the end of its
//! response body ([`Tracked`]). The connection's one timer ([`super::drive`]) reads the
//! phase when it fires and either closes the connection or re-arms itself for the next
//! possible deadline. Recording costs a relaxed atomic or two per read or request and a clock
//! read per phase change; no timer is touched per request.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::accept::Slot;

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

const UNKNOWN: u8 = 0;
const HTTP1: u8 = 1;
const HTTP2: u8 = 2;

/// No write is blocked (the `write_blocked_ms` sentinel).
const NOT_BLOCKED: u64 = u64::MAX;

/// Longest timeout honoured: the config accepts any duration, and an instant that far out
/// would overflow.
const LONGEST: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The per-connection timeouts, read from the live config when the connection is accepted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// Idle between requests, and a response the client takes no byte of.
    keepalive: Duration,
    /// From the first byte of a request head to its end.
    header: Duration,
}

impl Timeouts {
    /// The timeouts a new connection gets: from the live config, so a reload applies to the
    /// connections accepted after it.
    pub(crate) fn of(proxy: &crate::config::ProxyConfig) -> Timeouts {
        Timeouts::new(proxy.keepalive_timeout, proxy.header_timeout)
    }

    pub(crate) fn new(keepalive: Duration, header: Duration) -> Timeouts {
        Timeouts {
            keepalive: keepalive.min(LONGEST),
            header: header.min(LONGEST),
        }
    }

    /// The first look of a new connection's timer, and how long a graceful close may take.
    pub(crate) fn shorter(&self) -> Duration {
        self.keepalive.min(self.header)
    }
}

/// Why a connection's timer closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    /// No request for `keepalive`: closed gracefully (HTTP/2 gets a GOAWAY).
    Idle,
    /// A request head still incomplete after `header`.
    Head,
    /// The client took no byte of a response for `keepalive`.
    Stalled,
}

/// What the connection's timer does next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Close(Expired),
    CheckAt(Instant),
}

/// The phase of one client connection, shared by its socket, its requests and its timer.
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    phase: AtomicU8,
    protocol: AtomicU8,
    /// Milliseconds from `origin` to the start of the current phase.
    since_ms: AtomicU64,
    /// Requests whose response body is not finished (HTTP/2 runs several at once).
    in_flight: AtomicU32,
    /// Milliseconds from `origin` to the first still-blocked write, or [`NOT_BLOCKED`].
    write_blocked_ms: AtomicU64,
}

impl Activity {
    /// A new connection starts idle: one that never sends a byte is closed as idle.
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            origin: Instant::now(),
            phase: AtomicU8::new(IDLE),
            protocol: AtomicU8::new(UNKNOWN),
            since_ms: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            write_blocked_ms: AtomicU64::new(NOT_BLOCKED),
        })
    }

    fn now_ms(&self) -> u64 {
        Instant::now()
            .saturating_duration_since(self.origin)
            .as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.origin + Duration::from_millis(ms)
    }

    fn enter(&self, phase: u8) {
        self.since_ms.store(self.now_ms(), Relaxed);
        self.phase.store(phase, Relaxed);
    }

    /// Bytes arrived. Between HTTP/1 requests they are the start of the next head; HTTP/2
    /// (known by its preface) reads frames all the time, so its reads say nothing.
    fn on_read(&self, bytes: &[u8]) {
        let mut protocol = self.protocol.load(Relaxed);
        if protocol == UNKNOWN && bytes.len() >= 4 {
            protocol = if bytes.starts_with(b"PRI ") {
                HTTP2
            } else {
                HTTP1
            };
            self.protocol.store(protocol, Relaxed);
            if protocol == HTTP2 && self.phase.load(Relaxed) == HEAD {
                self.enter(IDLE);
            }
        }
        if protocol != HTTP2 && self.phase.load(Relaxed) == IDLE {
            self.enter(HEAD);
        }
    }

    fn on_write(&self, blocked: bool) {
        let was_blocked = self.write_blocked_ms.load(Relaxed) != NOT_BLOCKED;
        if blocked && !was_blocked {
            self.write_blocked_ms.store(self.now_ms(), Relaxed);
        } else if !blocked && was_blocked {
            self.write_blocked_ms.store(NOT_BLOCKED, Relaxed);
        }
    }

    fn request_started(&self) {
        if self.in_flight.fetch_add(1, Relaxed) == 0 {
            // No time: a busy connection's deadline is its blocked write's, never the
            // phase's start (`check`), so the clock is not read here (one read a request).
            self.phase.store(BUSY, Relaxed);
        }
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Relaxed) == 1 {
            self.enter(IDLE);
        }
    }

    /// Called when the timer fires at `now`: close, or the next time to look. The next look
    /// is never later than the earliest deadline any phase entered from now on could have
    /// (every such deadline is at least `now` + the shorter timeout), so the timer is only
    /// re-armed when it fires, never when the phase changes.
    pub(crate) fn check(&self, now: Instant, t: Timeouts) -> Verdict {
        let since = self.at(self.since_ms.load(Relaxed));
        let deadline = match self.phase.load(Relaxed) {
            IDLE => Some((since + t.keepalive, Expired::Idle)),
            HEAD => Some((since + t.header, Expired::Head)),
            _ => match self.write_blocked_ms.load(Relaxed) {
                NOT_BLOCKED => None,
                ms => Some((self.at(ms) + t.keepalive, Expired::Stalled)),
            },
        };
        let next = now + t.shorter();
        match deadline {
            Some((at, why)) if at <= now => Verdict::Close(why),
            Some((at, _)) => Verdict::CheckAt(at.min(next)),
            None => Verdict::CheckAt(next),
        }
    }
}

/// The client socket: reports reads and blocked writes to the connection's [`Activity`], and
/// holds the connection's slot under `proxy.max_connections` for as long as the socket is
/// open (an upgraded connection keeps it while its tunnel runs).
pub(crate) struct WatchedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    _slot: Slot,
}

impl WatchedIo {
    pub(crate) fn new(stream: TcpStream, activity: Arc<Activity>, slot: Slot) -> WatchedIo {
        WatchedIo {
            stream,
            activity,
            _slot: slot,
        }
    }

    fn written(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        self.activity.on_write(poll.is_pending());
        poll
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let got = &buf.filled()[before..];
            if !got.is_empty() {
                this.activity.on_read(got);
            }
        }
        poll
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.written(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.written(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// One request in flight on a connection, from the call of the service until its response
/// body is finished or dropped (a dropped handler future drops it too).
pub(crate) struct InFlight(Arc<Activity>);

impl InFlight {
    pub(crate) fn start(activity: &Arc<Activity>) -> InFlight {
        activity.request_started();
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request in flight until hyper is done with it.
    pub struct Tracked<B> {
        #[pin]
        body: B,
        in_flight: InFlight,
    }
}

impl<B> Tracked<B> {
    pub(crate) fn new(body: B, in_flight: InFlight) -> Tracked<B> {
        Tracked { body, in_flight }
    }
}

impl<B: Body<Data = Bytes>> Body for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        keepalive: Duration::from_secs(60),
        header: Duration::from_secs(30),
    };

    #[tokio::test(start_paused = true)]
    async fn timeouts_of_any_length_never_overflow_the_clock() {
        let a = Activity::new();
        let forever = Timeouts::new(Duration::MAX, Duration::MAX);
        assert!(matches!(
            a.check(Instant::now(), forever),
            Verdict::CheckAt(_)
        ));
        a.on_read(b"GET / HTTP/1.1\r\n");
        assert!(matches!(
            a.check(Instant::now(), forever),
            Verdict::CheckAt(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_expires_after_keepalive_and_the_timer_never_runs_late() {
        let a = Activity::new();
        let start = Instant::now();
        // Idle: look again after the shorter timeout, in case a head starts right now.
        assert_eq!(
            a.check(start, T),
            Verdict::CheckAt(start + Duration::from_secs(30))
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            a.check(Instant::now(), T),
            Verdict::CheckAt(start + Duration::from_secs(60))
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(a.check(Instant::now(), T), Verdict::Close(Expired::Idle));
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_sent_head_expires_after_header_and_a_request_in_flight_never_expires() {
        let a = Activity::new();
        tokio::time::advance(Duration::from_secs(10)).await;
        a.on_read(b"GET / HTTP/1.1\r\n");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(a.check(Instant::now(), T), Verdict::Close(Expired::Head));

        let busy = InFlight::start(&a);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(matches!(a.check(Instant::now(), T), Verdict::CheckAt(_)));
        drop(busy);
        // Idle again from the end of the response.
        let end = Instant::now();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(
            a.check(Instant::now(), T),
            Verdict::CheckAt(end + Duration::from_secs(60))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn http2_reads_are_not_heads_and_a_blocked_response_expires_as_stalled() {
        let a = Activity::new();
        a.on_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        a.on_read(b"ping frame");
        let _busy = InFlight::start(&a);
        a.on_write(true);
        tokio::time::advance(Duration::from_secs(59)).await;
        a.on_write(true);
        assert!(matches!(a.check(Instant::now(), T), Verdict::CheckAt(_)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(a.check(Instant::now(), T), Verdict::Close(Expired::Stalled));
        a.on_write(false);
        assert!(matches!(a.check(Instant::now(), T), Verdict::CheckAt(_)));
    }
}
