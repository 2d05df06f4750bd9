//! The proxy's acceptor: at most `cap` client connections at once (the cap leaves file
//! descriptors for the rest of the process), and accept errors back off.
//!
//! Past the cap the acceptor stops accepting and new connections wait in the kernel's listen
//! backlog rather than being accepted and closed: a waiting connection holds no descriptor of
//! ours, the backlog is bounded by the kernel (`somaxconn`), and a client in a burst is served
//! as soon as a slot frees (idle connections free theirs after `proxy.keepalive_timeout`)
//! instead of getting an error. A connection found waiting when a slot frees is counted in
//! `idlegate_connections_rejected_total`.

use crate::backoff::Backoff;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// First pause after an accept error; doubled on each error in a row.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// Longest pause after an accept error.
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one warning per this long about accept errors or the connection cap.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// One open client connection's place under the cap; given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    open: Gauge,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.dec();
    }
}

pub(crate) struct Acceptor {
    /// `proxy` or `admin`, for the logs.
    name: &'static str,
    listener: TcpListener,
    slots: Arc<Semaphore>,
    cap: usize,
    open: Gauge,
    rejected: Counter,
    backoff: Backoff,
    error_log: Throttle,
    cap_log: Throttle,
}

impl Acceptor {
    pub(crate) fn new(
        name: &'static str,
        listener: TcpListener,
        cap: usize,
        open: Gauge,
        rejected: Counter,
    ) -> Acceptor {
        Acceptor {
            name,
            listener,
            slots: Arc::new(Semaphore::new(cap)),
            cap,
            open,
            rejected,
            backoff: accept_backoff(),
            error_log: Throttle::default(),
            cap_log: Throttle::default(),
        }
    }

    /// The next client connection, once a slot is free. Cancel-safe.
    pub(crate) async fn accept(&mut self) -> (TcpStream, SocketAddr, Slot) {
        loop {
            let (permit, waited) = match self.slots.clone().try_acquire_owned() {
                Ok(permit) => (permit, false),
                Err(_) => {
                    if let Some(times) = self.cap_log.hit(Instant::now()) {
                        tracing::warn!(
                            listener = self.name,
                            max_connections = self.cap,
                            times,
                            "connection cap reached: new connections wait in the backlog"
                        );
                    }
                    match self.slots.clone().acquire_owned().await {
                        Ok(permit) => (permit, true),
                        // The semaphore is never closed.
                        Err(_) => continue,
                    }
                }
            };
            let accepted = if waited {
                // A connection that is ready at once waited in the backlog for this slot.
                match poll_fn(|cx| Poll::Ready(self.listener.poll_accept(cx))).await {
                    Poll::Ready(Ok(a)) => {
                        self.rejected.inc();
                        Ok(a)
                    }
                    Poll::Ready(Err(e)) => Err(e),
                    Poll::Pending => self.listener.accept().await,
                }
            } else {
                self.listener.accept().await
            };
            match accepted {
                Ok((stream, peer)) => {
                    self.backoff = accept_backoff();
                    self.open.inc();
                    let slot = Slot {
                        _permit: permit,
                        open: self.open.clone(),
                    };
                    return (stream, peer, slot);
                }
                // The peer gave up before we accepted: nothing is wrong with the listener.
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    drop(permit);
                    let pause = self.backoff.next_delay();
                    if let Some(errors) = self.error_log.hit(Instant::now()) {
                        tracing::warn!(
                            listener = self.name,
                            error = %e,
                            errors,
                            retry_in_ms = pause.as_millis() as u64,
                            "accept failed (e.g. out of file descriptors): backing off"
                        );
                    }
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

/// Pause after accept errors in a row: doubles from [`BACKOFF_MIN`] up to [`BACKOFF_MAX`].
fn accept_backoff() -> Backoff {
    Backoff::new(BACKOFF_MIN, BACKOFF_MAX)
}

/// At most one log line per [`LOG_EVERY`] for a repeated event.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    unlogged: u64,
}

impl Throttle {
    /// Records one event; when a line is due, how many events it stands for.
    fn hit(&mut self, now: Instant) -> Option<u64> {
        self.unlogged += 1;
        if self.last.is_some_and(|at| now < at + LOG_EVERY) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

// File descriptors: the proxy may use all but a reserve, so that running out of them never
// stops `/healthz`, the admin API, snapshot and journal writes, Redis or the hooks.

/// Descriptors kept out of the proxy's reach: the admin listener and its connections, the
/// snapshot and journal files, Redis, hook deliveries, logs, the config watch.
pub(crate) const RESERVED: u64 = 128;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force
/// (None where it cannot be read).
pub(crate) fn raise_nofile() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
            rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
        }
    }
}

/// The proxy's connection cap: `max_connections`, lowered so that every client connection
/// and the upstream connection it may hold fit in the descriptors left after [`RESERVED`].
pub(crate) fn connection_cap(max_connections: usize, nofile: Option<u64>) -> usize {
    let Some(nofile) = nofile else {
        return max_connections.max(1);
    };
    let fit = nofile.saturating_sub(RESERVED) / 2;
    let fit = usize::try_from(fit).unwrap_or(usize::MAX);
    max_connections.min(fit).max(1)
}

/// [`raise_nofile`], then [`connection_cap`], warning when the cap is lowered.
pub(crate) fn proxy_connection_cap(max_connections: usize) -> usize {
    let nofile = raise_nofile();
    let cap = connection_cap(max_connections, nofile);
    if cap < max_connections {
        tracing::warn!(
            max_connections,
            open_files_limit = nofile.unwrap_or(0),
            reserved = RESERVED,
            cap,
            "proxy.max_connections lowered to fit the open-files limit: \
             each client connection may hold an upstream connection too; \
             raise the limit (ulimit -n / LimitNOFILE) to allow more"
        );
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_back_off_exponentially_up_to_a_second() {
        let mut b = accept_backoff();
        let pauses: Vec<u64> = (0..7).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(pauses, [50, 100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn repeated_events_are_logged_once_per_interval_with_their_count() {
        let mut t = Throttle::default();
        let start = Instant::now();
        assert_eq!(t.hit(start), Some(1));
        assert_eq!(t.hit(start + Duration::from_secs(1)), None);
        assert_eq!(t.hit(start + Duration::from_secs(2)), None);
        assert_eq!(t.hit(start + LOG_EVERY), Some(3));
    }

    #[test]
    fn the_cap_leaves_the_reserve_and_room_for_an_upstream_connection_each() {
        assert_eq!(connection_cap(10_000, Some(1024)), 448);
        assert_eq!(connection_cap(100, Some(1024)), 100);
        assert_eq!(connection_cap(10_000, Some(1 << 20)), 10_000);
        assert_eq!(connection_cap(10_000, None), 10_000);
        // Never zero: a tiny limit still serves one connection at a time.
        assert_eq!(connection_cap(10_000, Some(64)), 1);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let (soft, _) = rlimit::Resource::NOFILE.get().unwrap();
        let now = raise_nofile().unwrap();
        assert!(now >= soft);
    }
}
