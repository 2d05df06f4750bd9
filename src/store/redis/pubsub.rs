//! Revocations from other replicas: the channel's messages, and after a (re)connect a sweep
//! of the locally tracked tokens against the stored revocations, for messages missed while
//! disconnected.

use ::redis::{from_redis_value, PushInfo, PushKind, Value};

use super::keys::{parse_message, parse_revoked_value, parse_tracked};
use super::shared::Shared;
use crate::clock::UnixMs;
use crate::store::local::Local;
use crate::store::RevokeReason;
use crate::token::TokenKey;

/// Keys looked up per batch by the recovery sweep.
const CHUNK: usize = 512;

impl Shared {
    /// A push message: a revocation published by some replica (this one included), or a
    /// token tracked now that some replica had found unknown.
    pub(super) fn apply_push(&self, local: &Local, push: &PushInfo) {
        match decode_push(push) {
            Some(Some((key, reason, until_ms))) => {
                self.learn_revoked(local, &key, reason, until_ms, local.clock.now_ms())
            }
            Some(None) => match push
                .data
                .get(1)
                .and_then(as_text)
                .as_deref()
                .and_then(parse_tracked)
            {
                // A token some replica had found unknown is tracked now.
                Some(key) => self.negative.forget(&key),
                None => tracing::debug!("ignored a malformed revocation message"),
            },
            None => {}
        }
    }

    /// A revocation decided elsewhere: refuse the token from now on, close its tunnels, drop
    /// its raw token. Audit and hooks belong to the replica that decided it.
    pub(super) fn learn_revoked(
        &self,
        local: &Local,
        key: &TokenKey,
        reason: RevokeReason,
        until_ms: UnixMs,
        now_ms: UnixMs,
    ) {
        local.store.mark_revoked(key, reason, until_ms, now_ms);
        self.negative.forget(key);
        local.effects().learned(key);
    }

    /// Checks the data set's epoch. A Redis that lost its data (restarted without
    /// persistence) gets everything this replica knows written back: revocations (stored and
    /// published again) and tracked tokens. Returns whether it was re-seeded.
    pub(super) async fn reseed_if_lost(&self, local: &Local) -> ::redis::RedisResult<bool> {
        let Some(conn) = self.connection() else {
            return Ok(false);
        };
        let mut fresh = [0u8; 8];
        getrandom::getrandom(&mut fresh).map_err(|e| {
            ::redis::RedisError::from((::redis::ErrorKind::ClientError, "random", e.to_string()))
        })?;
        let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
        let mut create = ::redis::cmd("SET");
        create.arg(self.keys.epoch()).arg(&fresh).arg("NX");
        let mut read = ::redis::cmd("GET");
        read.arg(self.keys.epoch());
        let (_, current): (Value, String) = conn.same_slot(vec![create, read]).await?;
        let previous = self.epoch.lock().replace(current.clone());
        let lost = previous.is_some_and(|p| p != current);
        if lost {
            let now_ms = local.clock.now_ms();
            let (tracked, revoked) = local.store.export();
            for r in revoked.iter().filter(|r| r.until_ms > now_ms) {
                self.queue_revocation(&r.key, r.reason, r.until_ms, now_ms);
            }
            for t in &tracked {
                self.touched(&t.key, now_ms);
            }
            tracing::warn!(
                revoked = revoked.len(),
                tracked = tracked.len(),
                "Redis lost its data (restart without persistence?): writing back this \
                 replica's state"
            );
        }
        Ok(lost)
    }

    /// Looks up every locally tracked token's revoked key; returns how many were revoked.
    pub(super) async fn recover_missed(&self, local: &Local) -> usize {
        let (tracked, _) = local.store.export();
        let mut recovered = 0;
        for chunk in tracked.chunks(CHUNK) {
            let Some(conn) = self.connection() else {
                return recovered;
            };
            let cmds = chunk
                .iter()
                .map(|rec| {
                    let mut c = ::redis::cmd("GET");
                    c.arg(self.keys.revoked(&rec.key));
                    c
                })
                .collect();
            let replies = conn.batch(cmds).await;
            let now_ms = local.clock.now_ms();
            for (rec, reply) in chunk.iter().zip(replies) {
                let value: Option<String> = match reply.and_then(|v| from_redis_value(&v)) {
                    Ok(v) => v,
                    Err(e) => {
                        // Not learnt now: the flush or the claim of the token will.
                        self.failed(&self.errors.read, "recovery lookup", &e);
                        continue;
                    }
                };
                if let Some((reason, until)) = value.as_deref().and_then(parse_revoked_value) {
                    self.learn_revoked(local, &rec.key, reason, until, now_ms);
                    recovered += 1;
                }
            }
        }
        recovered
    }
}

/// A pub/sub message's revocation (a message, or a shard message on a cluster): None for a
/// push that is not a message with a text payload, `Some(None)` for a malformed payload.
pub(crate) fn decode_push(push: &PushInfo) -> Option<Option<(TokenKey, RevokeReason, UnixMs)>> {
    if !matches!(push.kind, PushKind::Message | PushKind::SMessage) {
        return None;
    }
    let payload = push.data.get(1).and_then(as_text)?;
    Some(parse_message(&payload))
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}
