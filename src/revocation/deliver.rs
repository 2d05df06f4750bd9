//! The dispatcher: one task per accepted delivery, at most [`IN_FLIGHT_PER_HOOK`] attempts of
//! one hook in flight, retries after jittered delays until `revocation.retry_for` has passed.
//! On stop, an attempt in flight finishes (it is bounded by its timeout); every delivery not
//! finished is handed back, to be kept for the next start.
//!
//! [`IN_FLIGHT_PER_HOOK`]: super::lane::IN_FLIGHT_PER_HOOK

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::job::{Job, Payload};
use super::lane::{Lane, Lanes};
use super::lease::{Lease, LEASE};
use super::retry::{verdict, Attempt, Jittered, Verdict};
use crate::config::RevocationConfig;
use crate::store::redis::LeaseHold;
use std::time::Duration;

/// How one attempt is made: over HTTP in the gateway, scripted in tests.
pub(crate) trait Transport: Send + Sync + 'static {
    fn attempt(
        &self,
        cfg: &RevocationConfig,
        payload: &Payload,
    ) -> impl Future<Output = Option<Attempt>> + Send;
}

pub(crate) struct Ctx<T> {
    pub transport: T,
    pub config: Arc<ArcSwap<RevocationConfig>>,
    pub lanes: Arc<Lanes>,
    /// RFC 7009 once across replicas (Redis backend).
    pub lease: Option<Arc<dyn Lease>>,
}

/// How a delivery ended.
enum End {
    Delivered,
    GaveUp,
    /// Another replica made the RFC 7009 call.
    DoneElsewhere,
    Stopped,
}

/// After another replica's lease ends, this one asks again a moment later.
const LEASE_SLACK: Duration = Duration::from_millis(50);
/// While another replica holds the lease, this one asks again this often, so it stops soon
/// after the holder succeeded (one `SET NX` per second per waiting replica).
const LEASE_RECHECK: Duration = Duration::from_secs(1);

/// Runs deliveries until `stop`; returns those not finished.
pub(crate) async fn run<T: Transport>(
    mut rx: mpsc::UnboundedReceiver<Job>,
    ctx: Arc<Ctx<T>>,
    stop: impl Future<Output = ()>,
) -> Vec<Job> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            job = rx.recv() => match job {
                Some(job) => {
                    tasks.spawn(deliver(job, ctx.clone(), stop_rx.clone()));
                }
                None => break,
            },
            // Reaps finished tasks, so the set holds only unfinished deliveries.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = &mut stop => break,
        }
    }
    let _ = stop_tx.send(true);
    // Deliveries submitted from now on are refused (and counted) by the sender.
    rx.close();
    let mut unfinished = Vec::new();
    while let Ok(job) = rx.try_recv() {
        unfinished.push(job);
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(job)) = done {
            unfinished.push(job);
        }
    }
    unfinished
}

/// One delivery, to its end; the job back when the gateway stopped first.
async fn deliver<T: Transport>(
    mut job: Job,
    ctx: Arc<Ctx<T>>,
    mut stop: watch::Receiver<bool>,
) -> Option<Job> {
    let lane = ctx.lanes.get(job.kind());
    let end = attempts(&mut job, &ctx, lane, &mut stop).await;
    lane.finish();
    match end {
        End::Delivered => {
            lane.counters.ok.inc();
        }
        End::GaveUp => {
            lane.counters.error.inc();
        }
        End::DoneElsewhere => {}
        End::Stopped => return Some(job),
    }
    None
}

async fn attempts<T: Transport>(
    job: &mut Job,
    ctx: &Ctx<T>,
    lane: &Lane,
    stop: &mut watch::Receiver<bool>,
) -> End {
    let hook = job.kind().as_str();
    let mut delays = Jittered::new();
    loop {
        match lease_allows(job, ctx, stop).await {
            Gate::Go => {}
            Gate::AskAgain => continue,
            Gate::Finish(end) => return end,
        }
        let permit = tokio::select! {
            permit = lane.permits.acquire() => permit,
            _ = stop.wait_for(|s| *s) => return End::Stopped,
        };
        let cfg = ctx.config.load_full();
        job.attempts += 1;
        let attempt = ctx.transport.attempt(&cfg, &job.payload).await;
        drop(permit);
        let Some(attempt) = attempt else {
            tracing::warn!(
                hook,
                token_id = job.token_id(),
                "hook no longer configured: delivery dropped"
            );
            return End::GaveUp;
        };
        let not_before = match verdict(&attempt) {
            Verdict::Delivered => {
                if let (Some(lease), Payload::Rfc7009 { key, .. }) = (&ctx.lease, &job.payload) {
                    lease.done(key, cfg.retry_for + LEASE).await;
                }
                return End::Delivered;
            }
            Verdict::Refused => {
                tracing::warn!(hook, token_id = job.token_id(), outcome = ?attempt, "revocation hook refused the delivery; not retried");
                return End::GaveUp;
            }
            Verdict::Retry { not_before } => not_before,
        };
        let wait = delays.next_delay(not_before);
        if Instant::now() + wait > job.retry_until {
            tracing::warn!(hook, token_id = job.token_id(), attempts = job.attempts, outcome = ?attempt,
                "revocation hook failed; retry time used up, delivery given up");
            return End::GaveUp;
        }
        tracing::debug!(hook, token_id = job.token_id(), outcome = ?attempt, ?wait, "revocation hook failed; retrying");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return End::Stopped,
        }
    }
}

/// What the RFC 7009 lease says before an attempt.
enum Gate {
    /// This replica attempts now (it holds the lease, there is none, or Redis cannot say).
    Go,
    /// Another replica's lease has ended: ask again.
    AskAgain,
    Finish(End),
}

async fn lease_allows<T: Transport>(
    job: &Job,
    ctx: &Ctx<T>,
    stop: &mut watch::Receiver<bool>,
) -> Gate {
    let (Some(lease), Payload::Rfc7009 { key, .. }) = (&ctx.lease, &job.payload) else {
        return Gate::Go;
    };
    let remaining_ms = match lease.hold(key).await {
        Some(LeaseHold::Mine) | None => return Gate::Go,
        Some(LeaseHold::Done) => return Gate::Finish(End::DoneElsewhere),
        Some(LeaseHold::Other { remaining_ms }) => remaining_ms,
    };
    let wait = Duration::from_millis(remaining_ms).min(LEASE_RECHECK) + LEASE_SLACK;
    if Instant::now() + wait > job.retry_until {
        return Gate::Finish(End::GaveUp);
    }
    tokio::select! {
        () = tokio::time::sleep(wait) => Gate::AskAgain,
        _ = stop.wait_for(|s| *s) => Gate::Finish(End::Stopped),
    }
}

#[cfg(test)]
#[path = "deliver_tests.rs"]
mod tests;
