//! Redis on the request path and in the sweeper: first sight of a locally unknown token
//! (lookup), and the expiry claim of a locally due one.

use ::redis::{cmd, Value};

use super::lookup::{decode_lookup, Known};
use super::scripts::{decode_claim, trial_arg, ClaimReply};
use super::shared::{Shared, Unavailable};
use crate::clock::UnixMs;
use crate::config::OnError;
use crate::store::local::Local;
use crate::store::{Check, Revocation, Timing, TrackedRecord};
use crate::token::TokenKey;

/// Claims sent in one pipeline by the sweeper.
const CLAIM_CHUNK: usize = 512;

impl Shared {
    /// Completes the local check with the shared state. Never returns `Check::Due`; an
    /// `Expired` it returns has been reported already (audit, metrics, hooks).
    pub async fn resolve(
        &self,
        local: &Local,
        key: &TokenKey,
        check: Check,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
    ) -> Result<Check, Unavailable> {
        match check {
            Check::Active { .. } => {
                if touch {
                    self.touched(key, now_ms);
                }
                Ok(check)
            }
            // The round trips are boxed: they are rare next to the requests that need none,
            // and their state sat in every check's future, with the memory backend too (a
            // `TokenState::check` future of 1,104 bytes, 352 now; `-Zprint-type-sizes`), and
            // a future is copied whole into its caller's at every call.
            Check::Unknown if self.negative.is_unknown(key, now_ms) => Ok(Check::Unknown),
            Check::Unknown => Box::pin(self.first_sight(local, key, now_ms, timing, touch)).await,
            Check::Due(rev) => {
                let claimed = self.claim_due_now(local, rev, now_ms, timing, touch);
                Ok(Box::pin(claimed).await)
            }
            Check::Revoked(_) | Check::Expired(_) | Check::Unverified => Ok(check),
        }
    }

    /// A token this replica does not know, nor knows to be unknown cluster-wide: is it
    /// tracked or revoked cluster-wide?
    async fn first_sight(
        &self,
        local: &Local,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
    ) -> Result<Check, Unavailable> {
        let known = match self.lookup(key).await {
            Some(Ok(known)) => known,
            Some(Err(e)) => {
                self.failed(&self.errors.read, "lookup", &e);
                return unreachable(local);
            }
            None => return unreachable(local),
        };
        match known {
            Known::Nothing => {
                self.negative.remember(key, now_ms);
                Ok(Check::Unknown)
            }
            Known::Revoked(reason, until_ms) => {
                local.store.mark_revoked(key, reason, until_ms, now_ms);
                Ok(local.store.check(key, now_ms, timing, false))
            }
            Known::Tracked(rec) => {
                local.store.import(&[rec], &[], now_ms, timing);
                let check = local.store.check(key, now_ms, timing, touch);
                Ok(match check {
                    Check::Due(rev) => self.claim_due_now(local, rev, now_ms, timing, touch).await,
                    Check::Active { .. } if touch => {
                        self.touched(key, now_ms);
                        check
                    }
                    other => other,
                })
            }
        }
    }

    /// One round trip on a single server (`HMGET t`, `GET r`), two on a cluster (each command
    /// follows `ASK` alone: a multi-key command on a slot in migration gets `TRYAGAIN`). None
    /// when not connected.
    async fn lookup(&self, key: &TokenKey) -> Option<::redis::RedisResult<Known>> {
        let conn = self.connection()?;
        let mut times = cmd("HMGET");
        times
            .arg(self.keys.tracked(key))
            .arg(&["l", "f", "e", "u", "tl"]);
        let mut revoked = cmd("GET");
        revoked.arg(self.keys.revoked(key));
        let reply = conn.same_slot::<Value>(vec![times, revoked]).await;
        Some(reply.and_then(|v| decode_lookup(key, &v)))
    }

    /// The request path met a due token: claim it now (the request waits one round trip).
    async fn claim_due_now(
        &self,
        local: &Local,
        rev: Revocation,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
    ) -> Check {
        let Some(rec) = local.store.record(&rev.key) else {
            // Settled meanwhile (another request, the sweeper, a message).
            return local.store.check(&rev.key, now_ms, timing, touch);
        };
        let reply = match self.connection() {
            Some(mut conn) => {
                self.claim_cmd(&rec, now_ms, timing)
                    .query_async(&mut conn)
                    .await
            }
            None => return self.expire_offline(local, rev, now_ms, timing),
        };
        let reply = match reply.map(|v: Value| decode_claim(&v)) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.failed(&self.errors.write, "claim", &e);
                return self.expire_offline(local, rev, now_ms, timing);
            }
            Err(e) => {
                self.failed(&self.errors.write, "claim", &e);
                return self.expire_offline(local, rev, now_ms, timing);
            }
        };
        match self.apply_claim(local, &rec, reply, now_ms, timing) {
            Some(check) => check,
            None => match local.store.check(&rev.key, now_ms, timing, touch) {
                active @ Check::Active { .. } => {
                    if touch {
                        self.touched(&rev.key, now_ms);
                    }
                    active
                }
                // Still due by local time after Redis said alive: clocks disagree; decide here.
                Check::Due(rev) => self.expire_offline(local, rev, now_ms, timing),
                other => other,
            },
        }
    }

    /// The sweeper's due tokens: claimed in batches (`Link::batch`). Without Redis they expire
    /// locally and their revocations wait for it; a failed claim leaves its token due for the
    /// next tick.
    pub async fn claim_due(&self, local: &Local, due: Vec<Revocation>, timing: &Timing) {
        for chunk in due.chunks(CLAIM_CHUNK) {
            let now_ms = local.clock.now_ms();
            let Some(conn) = self.connection() else {
                for rev in chunk {
                    self.expire_offline(local, rev.clone(), now_ms, timing);
                }
                continue;
            };
            let records: Vec<TrackedRecord> = chunk
                .iter()
                .filter_map(|r| local.store.record(&r.key))
                .collect();
            let cmds = records
                .iter()
                .map(|rec| self.claim_cmd(rec, now_ms, timing))
                .collect();
            for (rec, reply) in records.iter().zip(conn.batch(cmds).await) {
                // A failed claim (Redis, or its cluster node, down) leaves the token due.
                match reply.map(|v| decode_claim(&v)) {
                    Ok(Ok(reply)) => {
                        self.apply_claim(local, rec, reply, now_ms, timing);
                    }
                    Ok(Err(e)) => self.failed(&self.errors.write, "claim", &e),
                    Err(e) => self.failed(&self.errors.write, "claim", &e),
                }
            }
        }
    }

    fn claim_cmd(&self, rec: &TrackedRecord, now_ms: UnixMs, timing: &Timing) -> ::redis::Cmd {
        let key = &rec.key;
        let own = own_timing(timing, rec.policy);
        let timing = &own;
        let (channel, publish) = self.publish_target(key);
        let mut c = cmd("EVALSHA");
        c.arg(self.scripts.claim.get_hash())
            .arg(3)
            .arg(self.keys.tracked(key))
            .arg(self.keys.revoked(key))
            .arg(self.keys.shadow(key))
            .arg(rec.last_activity_ms)
            .arg(rec.first_seen_ms)
            .arg(rec.jwt_exp_ms.unwrap_or(0))
            .arg(now_ms)
            .arg(timing.idle_ms.max(1))
            .arg(timing.absolute_ms.unwrap_or(0))
            .arg(timing.retention_ms)
            .arg(if timing.enforce { 1 } else { 0 })
            .arg(&channel)
            .arg(key.to_hex())
            .arg(tracked_ttl_ms(timing))
            .arg(rec.subject.as_deref().unwrap_or(""))
            .arg(publish)
            .arg(trial_arg(rec));
        c
    }

    /// Applies a claim's outcome to the local store. Returns the request's answer, or None
    /// when the token is alive after all (newer activity imported; the caller re-checks).
    fn apply_claim(
        &self,
        local: &Local,
        rec: &TrackedRecord,
        reply: ClaimReply,
        now_ms: UnixMs,
        timing: &Timing,
    ) -> Option<Check> {
        let key = &rec.key;
        match reply {
            ClaimReply::Alive {
                last_ms,
                first_ms,
                trial_last_ms,
            } => {
                let newer = TrackedRecord {
                    last_activity_ms: last_ms,
                    first_seen_ms: first_ms,
                    trial_last_ms: Some(trial_last_ms).filter(|&t| t > 0),
                    ..rec.clone()
                };
                local.store.import(&[newer], &[], now_ms, timing);
                None
            }
            ClaimReply::Claimed {
                reason,
                at_ms,
                until_ms,
                last_ms,
                first_ms,
            } => {
                let rev = Revocation {
                    key: *key,
                    reason,
                    last_activity_ms: last_ms,
                    first_seen_ms: first_ms,
                    at_ms,
                    enforced: timing.enforce,
                    subject: rec.subject.clone(),
                    policy: rec.policy,
                };
                if timing.enforce {
                    local.store.mark_revoked(key, reason, until_ms, now_ms);
                } else {
                    local.store.untrack(key);
                }
                // Redis has it already: effects only, no second write.
                local.effects().revoked(&rev);
                Some(Check::Expired(rev))
            }
            ClaimReply::RevokedElsewhere { reason, until_ms } => {
                local.store.mark_revoked(key, reason, until_ms, now_ms);
                local.effects().learned(key);
                Some(local.store.check(key, now_ms, timing, false))
            }
            ClaimReply::DroppedElsewhere => {
                local.store.untrack(key);
                local.effects().forgotten(key);
                Some(Check::Unknown)
            }
        }
    }

    /// Redis unreachable: this replica decides alone (its own activity only, erring toward
    /// earlier expiry). `report_decided` queues the revocation for Redis.
    fn expire_offline(
        &self,
        local: &Local,
        rev: Revocation,
        now_ms: UnixMs,
        timing: &Timing,
    ) -> Check {
        local.store.settle_expiry(&rev, timing, now_ms);
        self.report_decided(local, &rev);
        Check::Expired(rev)
    }
}

/// How long Redis keeps a tracked hash after its last write: a token idle that long is
/// past any deadline and past the retention a revocation would have had.
pub(super) fn tracked_ttl_ms(timing: &Timing) -> u64 {
    timing
        .idle_ms
        .saturating_add(timing.retention_ms)
        .clamp(1000, i64::MAX as u64 / 2)
}

/// A token's own policy as Redis sees it: `idle = "off"` is ten years (a TTL must be finite).
pub(super) fn own_timing(timing: &Timing, policy: u8) -> Timing {
    let mut own = timing.of(policy);
    own.idle_ms = own.idle_ms.min(IDLE_OFF_MS);
    own
}

/// Redis could not be asked: `on_error` decides for a locally unknown token.
fn unreachable(local: &Local) -> Result<Check, Unavailable> {
    match local.policy().on_error {
        OnError::Open => Ok(Check::Unknown),
        OnError::Closed => Err(Unavailable),
    }
}

/// What an `idle = "off"` policy is to Redis: ten years.
const IDLE_OFF_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_ttl_covers_idle_and_retention() {
        let t = Timing::simple(1000, None, true, 5000);
        assert_eq!(tracked_ttl_ms(&t), 6000);
    }
}
