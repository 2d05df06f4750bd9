//! Drives one client connection with its one timer: the keep-alive and header timeouts of
//! [`super::idle`], and the graceful close when the proxy thread drains.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

use super::idle::{Activity, Expired, Timeouts, Verdict};

/// Polls `conn` until it ends. The timer is armed once and only re-armed when it fires, so a
/// busy connection costs no timer work per request. An idle connection is closed gracefully
/// (`shutdown`: an HTTP/2 client gets a GOAWAY) and dropped if that has not finished within
/// the header timeout; a half-sent head or a stalled response is dropped at once.
pub async fn drive<C, E>(
    conn: C,
    shutdown: fn(Pin<&mut C>),
    activity: Arc<Activity>,
    timeouts: Timeouts,
    mut drain: watch::Receiver<bool>,
    peer: SocketAddr,
) where
    C: Future<Output = Result<(), E>>,
    E: Display,
{
    tokio::pin!(conn);
    let timer = tokio::time::sleep(timeouts.keepalive.min(timeouts.header));
    tokio::pin!(timer);
    let mut draining = false;
    let mut closing = false;
    loop {
        tokio::select! {
            biased;
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "client connection ended with an error");
                }
                return;
            }
            // A closed channel means the thread is going away: drain as well.
            _ = drain.changed(), if !draining => {
                draining = true;
                shutdown(conn.as_mut());
            }
            _ = timer.as_mut() => {
                if closing {
                    tracing::debug!(%peer, "idle connection did not close gracefully: dropped");
                    return;
                }
                let now = Instant::now();
                match activity.check(now, timeouts) {
                    Verdict::CheckAt(at) => timer.as_mut().reset(at),
                    Verdict::Close(Expired::Idle) => {
                        tracing::debug!(%peer, "closing an idle client connection");
                        closing = true;
                        shutdown(conn.as_mut());
                        timer.as_mut().reset(now + timeouts.header);
                    }
                    Verdict::Close(why) => {
                        tracing::debug!(%peer, ?why, "closing a client connection");
                        return;
                    }
                }
            }
        }
    }
}
