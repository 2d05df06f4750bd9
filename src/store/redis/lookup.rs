//! What Redis knows of a token a replica meets for the first time: the lookup's reply
//! (`HMGET` of the tracked hash, `GET` of the revoked key) decoded. The tracked hash brings the
//! subject along (field `u`), so the token is listed under it here too, and the last trial
//! reset (field `tl`), so that a trial list times the token from it here too.

use std::sync::Arc;

use ::redis::Value;

use crate::clock::UnixMs;
use crate::store::{RevokeReason, TrackedRecord};
use crate::token::TokenKey;

/// What Redis knows of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    Revoked(RevokeReason, UnixMs),
    Tracked(TrackedRecord),
    Nothing,
}

/// The lookup pipeline's reply (`HMGET` of the tracked hash's `l f e u tl`, `GET` of the
/// revoked key).
pub(crate) fn decode_lookup(key: &TokenKey, reply: &Value) -> ::redis::RedisResult<Known> {
    let (tracked, revoked): (Vec<Option<String>>, Option<String>) =
        ::redis::from_redis_value(reply)?;
    let number = |v: &Option<String>| v.as_deref().and_then(|v| v.parse().ok());
    let times: Vec<Option<u64>> = tracked.iter().take(3).map(number).collect();
    let subject = tracked.get(3).cloned().flatten();
    let known = known_of(key, &times, subject, revoked.as_deref());
    Ok(match known {
        Known::Tracked(rec) => Known::Tracked(TrackedRecord {
            trial_last_ms: tracked.get(4).and_then(number).filter(|&t: &u64| t > 0),
            ..rec
        }),
        other => other,
    })
}

/// The subject comes along so that this replica lists the token under it; the policy is not
/// stored: this replica derives it again when it verifies the token.
fn known_of(
    key: &TokenKey,
    tracked: &[Option<u64>],
    subject: Option<String>,
    revoked: Option<&str>,
) -> Known {
    if let Some((reason, until)) = revoked.and_then(super::keys::parse_revoked_value) {
        return Known::Revoked(reason, until);
    }
    match tracked {
        [Some(last), Some(first), exp] => Known::Tracked(TrackedRecord {
            key: *key,
            last_activity_ms: *last,
            first_seen_ms: *first,
            jwt_exp_ms: exp.filter(|e| *e > 0),
            subject: subject.filter(|s| !s.is_empty()).map(Arc::from),
            policy: 0,
            sig: 0,
            trial_last_ms: None,
        }),
        _ => Known::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(k: TokenKey, subject: Option<&str>) -> TrackedRecord {
        TrackedRecord {
            key: k,
            last_activity_ms: 5,
            first_seen_ms: 1,
            jwt_exp_ms: None,
            subject: subject.map(Arc::from),
            policy: 0,
            sig: 0,
            trial_last_ms: None,
        }
    }

    #[test]
    fn revoked_key_wins_over_a_tracked_hash() {
        let k = TokenKey([1; 16]);
        assert_eq!(
            known_of(&k, &[Some(5), Some(1), None], None, Some("admin 99")),
            Known::Revoked(RevokeReason::Admin, 99)
        );
    }

    #[test]
    fn tracked_hash_needs_both_times_and_zero_exp_is_none() {
        let k = TokenKey([1; 16]);
        assert_eq!(
            known_of(&k, &[Some(5), None, None], None, None),
            Known::Nothing
        );
        assert_eq!(
            known_of(&k, &[Some(5), Some(1), Some(0)], None, None),
            Known::Tracked(record(k, None))
        );
    }

    #[test]
    fn lookup_learns_the_subject_from_field_u() {
        let k = TokenKey([1; 16]);
        let s = |x: &str| Value::BulkString(x.as_bytes().to_vec());
        let reply = |u| {
            Value::Array(vec![
                Value::Array(vec![s("5"), s("1"), s("0"), u, Value::Nil]),
                Value::Nil,
            ])
        };
        let learnt = decode_lookup(&k, &reply(s("alice"))).unwrap();
        assert_eq!(learnt, Known::Tracked(record(k, Some("alice"))));
        let without = decode_lookup(&k, &reply(Value::Nil)).unwrap();
        assert_eq!(without, Known::Tracked(record(k, None)));
    }

    #[test]
    fn lookup_learns_the_last_trial_reset_from_field_tl() {
        let k = TokenKey([1; 16]);
        let s = |x: &str| Value::BulkString(x.as_bytes().to_vec());
        let reply = |tl| {
            Value::Array(vec![
                Value::Array(vec![s("5"), s("1"), s("0"), Value::Nil, tl]),
                Value::Nil,
            ])
        };
        let learnt = decode_lookup(&k, &reply(s("3"))).unwrap();
        let with_trial = TrackedRecord {
            trial_last_ms: Some(3),
            ..record(k, None)
        };
        assert_eq!(learnt, Known::Tracked(with_trial));
        // None written (no trial where it was flushed, or only a waiting one): none learnt.
        for tl in [Value::Nil, s("0")] {
            assert_eq!(
                decode_lookup(&k, &reply(tl)).unwrap(),
                Known::Tracked(record(k, None))
            );
        }
    }
}
