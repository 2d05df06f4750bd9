//! The flusher: every `state.sync_interval` it writes the touched tokens (one max() script
//! each, pipelined, and for a token with a subject one add to its subject's set), and at once
//! the revocations decided here. What cannot be written stays queued until Redis is back; the
//! sync-lag gauge shows the age of the oldest unwritten change.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ::redis::{cmd, Value};
use tokio::time::MissedTickBehavior;

use super::link::Link;
use super::path::{own_timing, tracked_ttl_ms};
use super::scripts::{decode_flush, trial_arg, FlushReply};
use super::shared::{PendingRevocation, Shared};
use crate::clock::UnixMs;
use crate::store::local::Local;
use crate::store::{Timing, TrackedRecord};
use crate::token::TokenKey;

/// Scripts per pipeline (per batch on a cluster).
const CHUNK: usize = 512;

/// What one batch of the flush did.
#[derive(Default)]
struct ChunkDone {
    written: usize,
    learnt: usize,
    /// Failed (a cluster node down) and queued again.
    requeued: usize,
}
/// How long the last flush on shutdown may take.
const FINAL_FLUSH: Duration = Duration::from_secs(2);

/// What one flush did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushStats {
    /// Touched tokens written.
    pub touches: usize,
    /// Revocations stored and published.
    pub revocations: usize,
    /// Tokens found revoked in Redis while flushing (a missed message, now learnt).
    pub learnt_revoked: usize,
    /// Left queued because Redis failed or is unreachable.
    pub left: usize,
}

pub(super) async fn run(
    local: Arc<Local>,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(shared.sync_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                shared.flush(&local).await;
            }
            _ = shared.flush_now.notified() => {
                shared.flush_revocations(&local).await;
            }
            _ = &mut shutdown => break,
        }
        shared.update_lag(&local);
    }
    if tokio::time::timeout(FINAL_FLUSH, shared.flush(&local))
        .await
        .is_err()
    {
        tracing::warn!("final state flush to Redis timed out");
    }
    let (touches, revocations) = shared.backlog();
    if touches + revocations > 0 {
        tracing::warn!(
            touches,
            revocations,
            "stopping with state not written to Redis"
        );
    }
}

impl Shared {
    /// Writes pending revocations, then touched tokens. Public for benchmarks and tests.
    pub async fn flush(&self, local: &Local) -> FlushStats {
        let mut stats = self.flush_revocations(local).await;
        let Some(conn) = self.connection() else {
            // Unreachable: the dirty set stays as it is until Redis is back.
            stats.left += self.dirty.len();
            return stats;
        };
        let touched = self.take_dirty();
        let timing = local.policy().timing;
        for (i, chunk) in touched.chunks(CHUNK).enumerate() {
            match self.flush_chunk(local, &conn, chunk, &timing).await {
                Ok(done) => {
                    stats.touches += done.written;
                    stats.learnt_revoked += done.learnt;
                    stats.left += done.requeued;
                }
                Err(e) => {
                    self.failed(&self.errors.write, "flush", &e);
                    let rest = &touched[i * CHUNK..];
                    stats.left += rest.len();
                    self.requeue_dirty(rest);
                    break;
                }
            }
        }
        stats
    }

    /// One batch of flush scripts; applies what Redis answered (newer activity elsewhere,
    /// revocations this replica missed). A token whose script failed (its cluster node is
    /// down) is queued again; when every script failed, the error is returned.
    async fn flush_chunk(
        &self,
        local: &Local,
        conn: &Link,
        chunk: &[(TokenKey, UnixMs)],
        timing: &Timing,
    ) -> ::redis::RedisResult<ChunkDone> {
        let records: Vec<(UnixMs, TrackedRecord)> = chunk
            .iter()
            .filter_map(|(k, since)| local.store.record(k).map(|r| (*since, r)))
            .collect();
        if records.is_empty() {
            return Ok(ChunkDone::default());
        }
        let mut cmds = Vec::with_capacity(records.len() * 2);
        for (_, r) in &records {
            // Each token's own policy: a longer one must not lose its hash early.
            let ttl = tracked_ttl_ms(&own_timing(timing, r.policy));
            cmds.push(self.flush_cmd(r, ttl));
        }
        for (_, r) in &records {
            if let Some(subject) = &r.subject {
                // Not part of the script: the subject's set lives in another slot.
                let ttl = tracked_ttl_ms(&own_timing(timing, r.policy));
                cmds.push(self.subject_add_cmd(subject, &r.key, ttl));
            }
        }
        let mut replies = conn.batch(cmds).await;
        for added in replies.split_off(records.len()) {
            if let Err(e) = added {
                self.failed(&self.errors.write, "subject set add", &e);
            }
        }
        if replies.iter().all(Result::is_err) {
            if let Some(Err(e)) = replies.pop() {
                return Err(e);
            }
        }
        let mut done = ChunkDone::default();
        for ((since, rec), reply) in records.iter().zip(replies) {
            match reply {
                Ok(reply) => {
                    done.written += 1;
                    done.learnt += usize::from(self.apply_flush(local, rec, &reply, timing));
                }
                Err(e) => {
                    self.failed(&self.errors.write, "flush", &e);
                    self.requeue_dirty(&[(rec.key, *since)]);
                    done.requeued += 1;
                }
            }
        }
        Ok(done)
    }

    /// One token's flush reply: newer activity imported, or a revocation learnt (true).
    fn apply_flush(&self, local: &Local, rec: &TrackedRecord, reply: &Value, t: &Timing) -> bool {
        let now_ms = local.clock.now_ms();
        match decode_flush(reply) {
            Ok(FlushReply::Merged {
                last_ms,
                first_ms,
                trial_last_ms,
            }) => {
                // Another replica's trial reset counts here while a trial is set.
                let learnt_trial = rec.trial_last_ms.is_some_and(|own| trial_last_ms > own);
                if last_ms > rec.last_activity_ms || learnt_trial {
                    let newer = TrackedRecord {
                        last_activity_ms: last_ms,
                        first_seen_ms: first_ms,
                        trial_last_ms: Some(trial_last_ms).filter(|&t| t > 0),
                        ..rec.clone()
                    };
                    local.store.import(&[newer], &[], now_ms, t);
                }
                false
            }
            Ok(FlushReply::Revoked { reason, until_ms }) => {
                local.store.mark_revoked(&rec.key, reason, until_ms, now_ms);
                local.effects().learned(&rec.key);
                true
            }
            Err(e) => {
                self.failed(&self.errors.write, "flush", &e);
                false
            }
        }
    }

    fn flush_cmd(&self, rec: &TrackedRecord, ttl_ms: u64) -> ::redis::Cmd {
        let (channel, publish) = self.publish_target(&rec.key);
        let mut c = cmd("EVALSHA");
        c.arg(self.scripts.flush.get_hash())
            .arg(2)
            .arg(self.keys.tracked(&rec.key))
            .arg(self.keys.revoked(&rec.key))
            .arg(rec.last_activity_ms)
            .arg(rec.first_seen_ms)
            .arg(rec.jwt_exp_ms.unwrap_or(0))
            .arg(ttl_ms)
            .arg(rec.subject.as_deref().unwrap_or(""))
            .arg(&channel)
            .arg(rec.key.to_hex())
            .arg(publish)
            .arg(trial_arg(rec));
        c
    }

    /// Stores and publishes the revocations decided here. Failed ones go back to the front.
    pub(super) async fn flush_revocations(&self, local: &Local) -> FlushStats {
        let mut stats = FlushStats::default();
        let Some(conn) = self.connection() else {
            stats.left = self.pending.lock().len();
            return stats;
        };
        loop {
            let batch: Vec<PendingRevocation> = {
                let mut pending = self.pending.lock();
                let n = pending.len().min(CHUNK);
                pending.drain(..n).collect()
            };
            if batch.is_empty() {
                return stats;
            }
            let now_ms = local.clock.now_ms();
            let cmds = batch.iter().map(|r| self.revoke_cmd(r, now_ms)).collect();
            let replies = conn.batch(cmds).await;
            let mut unstored = Vec::new();
            for (r, reply) in batch.into_iter().zip(replies) {
                match reply {
                    Ok(_) => {
                        stats.revocations += 1;
                        if let Some(stored) = r.stored {
                            let _ = stored.send(());
                        }
                    }
                    Err(e) => {
                        self.failed(&self.errors.publish, "revocation publish", &e);
                        unstored.push(r);
                    }
                }
            }
            if !unstored.is_empty() {
                // Retried at the next flush (in order, before anything queued since).
                let mut pending = self.pending.lock();
                for r in unstored.into_iter().rev() {
                    pending.push_front(r);
                }
                stats.left = pending.len();
                return stats;
            }
        }
    }

    fn revoke_cmd(&self, r: &PendingRevocation, now_ms: UnixMs) -> ::redis::Cmd {
        let (channel, publish) = self.publish_target(&r.key);
        let mut c = cmd("EVALSHA");
        c.arg(self.scripts.revoke.get_hash())
            .arg(2)
            .arg(self.keys.tracked(&r.key))
            .arg(self.keys.revoked(&r.key))
            .arg(r.reason.as_str())
            .arg(r.until_ms)
            .arg(now_ms)
            .arg(&channel)
            .arg(r.key.to_hex())
            .arg(publish);
        c
    }

    /// Empties the dirty set; a touch arriving meanwhile starts a new entry.
    fn take_dirty(&self) -> Vec<(TokenKey, UnixMs)> {
        let mut taken = Vec::with_capacity(self.dirty.len());
        self.dirty.retain(|k, since| {
            taken.push((*k, *since));
            false
        });
        taken
    }

    /// Puts unwritten entries back, keeping the earlier `since`.
    fn requeue_dirty(&self, entries: &[(TokenKey, UnixMs)]) {
        for &(key, since) in entries {
            self.dirty
                .entry(key)
                .and_modify(|s| *s = (*s).min(since))
                .or_insert(since);
        }
    }

    /// `idlegate_state_sync_lag_seconds`: age of the oldest change not yet in Redis.
    pub(super) fn update_lag(&self, local: &Local) {
        let now_ms = local.clock.now_ms();
        if self.is_up() {
            let oldest_dirty = self.dirty.iter().map(|e| *e.value()).min();
            let oldest_pending = self.pending.lock().iter().map(|r| r.since_ms).min();
            let oldest = oldest_dirty.into_iter().chain(oldest_pending).min();
            self.oldest_unflushed
                .store(oldest.unwrap_or(0), Ordering::Release);
        }
        let oldest = self.oldest_unflushed.load(Ordering::Acquire);
        let lag_ms = if oldest == 0 {
            0
        } else {
            now_ms.saturating_sub(oldest)
        };
        self.sync_lag.set(lag_ms as f64 / 1000.0);
    }
}
