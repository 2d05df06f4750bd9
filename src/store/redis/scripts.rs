//! The Lua scripts (each touches the keys of one token only: one hash tag, Cluster-safe) and
//! the decoding of their replies. Times are integer milliseconds formatted with `%.0f`, so
//! Lua's doubles never print in exponent form.

use ::redis::{Script, Value};

use super::keys::{parse_reason, parse_revoked_value};
use crate::clock::UnixMs;
use crate::store::{RevokeReason, TrackedRecord};

/// Flush of a touched token. KEYS: t, r. ARGV: last, first, exp, ttl, subject ('' = none),
/// channel, token id, publish command, last trial reset (0 = none to write). Newest activity
/// wins (max of last, min of first, max of the trial reset `tl`). A revoked token is not
/// written back: the reply tells the replica, which learns the revocation it may have
/// missed. A token new to Redis is announced (`"<id> tracked"`), so a replica that found it
/// unknown a moment ago drops it from its negative cache.
const FLUSH: &str = r#"
local function fmt(n) return string.format('%.0f', n) end
local r = redis.call('GET', KEYS[2])
if r then return {1, r} end
local last, first, tl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[9])
local t = redis.call('HMGET', KEYS[1], 'l', 'f', 'tl')
if t[1] then last = math.max(last, tonumber(t[1])) end
if t[2] then first = math.min(first, tonumber(t[2])) end
if t[3] then tl = math.max(tl, tonumber(t[3])) end
if not t[1] then redis.call(ARGV[8], ARGV[6], ARGV[7] .. ' tracked') end
redis.call('HSET', KEYS[1], 'l', fmt(last), 'f', fmt(first), 'e', ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'u', ARGV[5]) end
if tl > 0 then redis.call('HSET', KEYS[1], 'tl', fmt(tl)) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {0, fmt(last), fmt(first), fmt(tl)}
"#;

/// Expiry claim. KEYS: t, r, s. ARGV: last, first, exp, now, idle, absolute (0 = none),
/// retention, enforce (1/0), channel, token id, ttl, subject ('' = none), publish command,
/// last trial reset (0 = none to write). Atomically: revoked already → say so; newer
/// activity in Redis keeps the token alive → the merged times (the trial reset's too); really
/// expired → revoke (enforce: `r` with PX, delete `t`, publish) and
/// report the claim to this replica alone.
const CLAIM: &str = r#"
local function fmt(n) return string.format('%.0f', n) end
local r = redis.call('GET', KEYS[2])
if r then return {2, r} end
local last, first, exp = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tl = tonumber(ARGV[14])
local t = redis.call('HMGET', KEYS[1], 'l', 'f', 'e', 'tl')
if t[1] then last = math.max(last, tonumber(t[1])) end
if t[2] then first = math.min(first, tonumber(t[2])) end
if exp == 0 and t[3] then exp = tonumber(t[3]) end
if t[4] then tl = math.max(tl, tonumber(t[4])) end
local now, idle, abs = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local at, reason = last + idle, 'inactivity'
if abs > 0 and first + abs < at then at, reason = first + abs, 'absolute' end
if at > now then
  redis.call('HSET', KEYS[1], 'l', fmt(last), 'f', fmt(first), 'e', fmt(exp))
  if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'u', ARGV[12]) end
  if tl > 0 then redis.call('HSET', KEYS[1], 'tl', fmt(tl)) end
  redis.call('PEXPIRE', KEYS[1], ARGV[11])
  return {0, fmt(last), fmt(first), fmt(tl)}
end
redis.call('DEL', KEYS[1])
if ARGV[8] ~= '1' then
  if redis.call('SET', KEYS[3], '1', 'PX', fmt(math.max(idle, 1)), 'NX') then
    return {1, reason, fmt(at), '0', fmt(last), fmt(first)}
  end
  return {3}
end
local till = at + tonumber(ARGV[7])
if exp > 0 and exp < till then till = exp end
if till > now then
  local v = reason .. ' ' .. fmt(till)
  redis.call('SET', KEYS[2], v, 'PX', fmt(till - now))
  redis.call(ARGV[13], ARGV[9], ARGV[10] .. ' ' .. v)
end
return {1, reason, fmt(at), fmt(till), fmt(last), fmt(first)}
"#;

/// A revocation decided locally (admin, or an expiry while Redis was unreachable).
/// KEYS: t, r. ARGV: reason, until, now, channel, token id, publish command (`PUBLISH`, or
/// `SPUBLISH` on a cluster: see `shard`). A later `until` already stored
/// wins and is not published again.
const REVOKE: &str = r#"
local u, now = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
if u <= now then return 0 end
local old = redis.call('GET', KEYS[2])
if old then
  local ou = tonumber(string.match(old, ' (%d+)$'))
  if ou and ou >= u then return 0 end
end
local v = ARGV[1] .. ' ' .. ARGV[2]
redis.call('SET', KEYS[2], v, 'PX', string.format('%.0f', u - now))
redis.call(ARGV[6], ARGV[4], ARGV[5] .. ' ' .. v)
return 1
"#;

/// A token joins its subject's set. KEYS: the subject's set (its own slot: never in the same
/// script as a token's keys). ARGV: token id, ttl. The set lives as long as its longest-lived
/// token: the TTL is raised, never lowered.
const SUBJECT_ADD: &str = r#"
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"#;

/// A record's last trial reset as the flush and claim scripts take it: 0 (nothing to write)
/// without a trial or while listed and waiting.
pub(super) fn trial_arg(rec: &TrackedRecord) -> UnixMs {
    rec.trial_last_ms.unwrap_or(0)
}

pub(super) struct Scripts {
    pub flush: Script,
    pub claim: Script,
    pub revoke: Script,
    pub subject_add: Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        Scripts {
            flush: Script::new(FLUSH),
            claim: Script::new(CLAIM),
            revoke: Script::new(REVOKE),
            subject_add: Script::new(SUBJECT_ADD),
        }
    }

    pub(super) fn all(&self) -> [&Script; 4] {
        [&self.flush, &self.claim, &self.revoke, &self.subject_add]
    }
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushReply {
    /// Written; the merged times (another replica's newer activity shows here), the last
    /// trial reset among them (0 = none).
    Merged {
        last_ms: UnixMs,
        first_ms: UnixMs,
        trial_last_ms: UnixMs,
    },
    Revoked {
        reason: RevokeReason,
        until_ms: UnixMs,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimReply {
    /// Newer activity elsewhere: not expired after all. The last trial reset is 0 for none.
    Alive {
        last_ms: UnixMs,
        first_ms: UnixMs,
        trial_last_ms: UnixMs,
    },
    /// This replica expired it (and, enforcing, revoked and published it).
    Claimed {
        reason: RevokeReason,
        at_ms: UnixMs,
        until_ms: UnixMs,
        last_ms: UnixMs,
        first_ms: UnixMs,
    },
    /// Another replica (or an admin) revoked it first.
    RevokedElsewhere {
        reason: RevokeReason,
        until_ms: UnixMs,
    },
    /// Shadow mode: another replica already counted this expiry.
    DroppedElsewhere,
}

#[derive(Debug, thiserror::Error)]
#[error("unexpected script reply: {0}")]
pub(crate) struct BadReply(String);

fn bad(v: &Value) -> BadReply {
    BadReply(format!("{v:?}"))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn num(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        _ => text(v)?.parse().ok(),
    }
}

fn items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

fn revoked_reply(v: &Value) -> Option<(RevokeReason, UnixMs)> {
    parse_revoked_value(&text(v)?)
}

/// The merged times of a reply `{0, last, first, trial reset}`.
fn merged_times(it: &[Value]) -> Option<(UnixMs, UnixMs, UnixMs)> {
    Some((num(&it[1])?, num(&it[2])?, num(&it[3])?))
}

pub(crate) fn decode_flush(v: &Value) -> Result<FlushReply, BadReply> {
    let it = items(v).ok_or_else(|| bad(v))?;
    let decoded = match (it.first().and_then(num), it.len()) {
        (Some(0), 4) => {
            merged_times(it).map(|(last_ms, first_ms, trial_last_ms)| FlushReply::Merged {
                last_ms,
                first_ms,
                trial_last_ms,
            })
        }
        (Some(1), 2) => {
            revoked_reply(&it[1]).map(|(reason, until_ms)| FlushReply::Revoked { reason, until_ms })
        }
        _ => None,
    };
    decoded.ok_or_else(|| bad(v))
}

pub(crate) fn decode_claim(v: &Value) -> Result<ClaimReply, BadReply> {
    let it = items(v).ok_or_else(|| bad(v))?;
    let decoded = match (it.first().and_then(num), it.len()) {
        (Some(0), 4) => {
            merged_times(it).map(|(last_ms, first_ms, trial_last_ms)| ClaimReply::Alive {
                last_ms,
                first_ms,
                trial_last_ms,
            })
        }
        (Some(1), 6) => (|| {
            Some(ClaimReply::Claimed {
                reason: parse_reason(&text(&it[1])?)?,
                at_ms: num(&it[2])?,
                until_ms: num(&it[3])?,
                last_ms: num(&it[4])?,
                first_ms: num(&it[5])?,
            })
        })(),
        (Some(2), 2) => revoked_reply(&it[1])
            .map(|(reason, until_ms)| ClaimReply::RevokedElsewhere { reason, until_ms }),
        (Some(3), 1) => Some(ClaimReply::DroppedElsewhere),
        _ => None,
    };
    decoded.ok_or_else(|| bad(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::BulkString(x.as_bytes().to_vec())
    }

    #[test]
    fn flush_reply_decodes_merge_and_revoked() {
        let v = Value::Array(vec![Value::Int(0), s("200"), s("100"), s("150")]);
        assert_eq!(
            decode_flush(&v).unwrap(),
            FlushReply::Merged {
                last_ms: 200,
                first_ms: 100,
                trial_last_ms: 150
            }
        );
        let without_trial = Value::Array(vec![Value::Int(0), s("200"), s("100")]);
        assert!(decode_flush(&without_trial).is_err());
        let v = Value::Array(vec![Value::Int(1), s("admin 900")]);
        assert_eq!(
            decode_flush(&v).unwrap(),
            FlushReply::Revoked {
                reason: RevokeReason::Admin,
                until_ms: 900
            }
        );
        assert!(decode_flush(&Value::Nil).is_err());
    }

    #[test]
    fn claim_reply_decodes_every_outcome() {
        let v = Value::Array(vec![
            Value::Int(1),
            s("absolute"),
            s("10"),
            s("20"),
            s("5"),
            s("1"),
        ]);
        assert_eq!(
            decode_claim(&v).unwrap(),
            ClaimReply::Claimed {
                reason: RevokeReason::Absolute,
                at_ms: 10,
                until_ms: 20,
                last_ms: 5,
                first_ms: 1
            }
        );
        let v = Value::Array(vec![Value::Int(0), s("5"), s("1"), s("0")]);
        assert_eq!(
            decode_claim(&v).unwrap(),
            ClaimReply::Alive {
                last_ms: 5,
                first_ms: 1,
                trial_last_ms: 0
            }
        );
        let v = Value::Array(vec![Value::Int(3)]);
        assert_eq!(decode_claim(&v).unwrap(), ClaimReply::DroppedElsewhere);
        let v = Value::Array(vec![Value::Int(2), s("inactivity 7")]);
        assert_eq!(
            decode_claim(&v).unwrap(),
            ClaimReply::RevokedElsewhere {
                reason: RevokeReason::Inactivity,
                until_ms: 7
            }
        );
        let v = Value::Array(vec![Value::Int(2), s("nonsense")]);
        assert!(decode_claim(&v).is_err());
    }
}
