//! Checks for what idlegate reads back from storage: the snapshot file and Redis payloads.

use redis::{PushInfo, Value};

use crate::store::redis::decode::{
    decode_claim, decode_flush, decode_lookup, decode_push, parse_message, parse_revoked_value,
    Known,
};
use crate::store::redis::{ClaimReply, FlushReply};
use crate::store::snapshot::{decode_bytes, encode_records};
use crate::store::{Status, Store, Timing};
use crate::token::TokenKey;

const NOW_MS: u64 = 1_700_000_000_000;
const DAY_MS: u64 = 86_400_000;

/// The snapshot file, as given and with a valid checksum appended (random bytes almost never
/// carry one, and the records are only decoded past it). A decoded file encodes to bytes that
/// decode to the same contents and encode the same again (a version 1 file or a table out of
/// order is re-encoded, not copied); loading it into a store keeps every live revocation and
/// tracks no revoked key; a sweep a day later expires only what was due.
pub fn snapshot(data: &[u8]) {
    check_snapshot(data);
    let mut sealed = data.to_vec();
    sealed.extend_from_slice(blake3::hash(data).as_bytes());
    check_snapshot(&sealed);
}

fn check_snapshot(bytes: &[u8]) {
    let contents = match decode_bytes(bytes) {
        Ok(contents) => contents,
        Err(reason) => return assert!(!reason.is_empty()),
    };
    let (tracked, revoked) = (&contents.tracked, &contents.revoked);
    let encoded = encode_records(tracked, revoked, &contents.policies);
    let again = decode_bytes(&encoded).expect("an encoded snapshot decodes");
    assert_eq!(again, contents);
    assert_eq!(
        encode_records(&again.tracked, &again.revoked, &again.policies),
        encoded
    );
    let timing = Timing::simple(30 * 60_000, Some(DAY_MS / 2), true, DAY_MS);
    let store = Store::new(1_000, 1_000, NOW_MS);
    store.import(tracked, revoked, NOW_MS, &timing);
    assert!(store.tracked_len() <= tracked.len().min(1_000));
    for r in revoked.iter().filter(|r| r.until_ms > NOW_MS) {
        let status = store.status(&r.key, NOW_MS, &timing);
        assert!(matches!(status, Status::Revoked { .. }), "{status:?}");
    }
    let before = store.tracked_len();
    let later = NOW_MS + DAY_MS;
    let expired = store.expire_due(later, &timing);
    assert!(expired.iter().all(|r| r.at_ms <= later));
    assert_eq!(store.tracked_len() + expired.len(), before);
}

/// Redis payloads. As text: a `:r` value (`<reason> <until>`) and a pub/sub message
/// (`<id> <reason> <until>`). As wire bytes (RESP2/RESP3): the flush and claim script
/// replies, the lookup reply and a pub/sub push. Whatever decodes re-encodes to a payload
/// that decodes to the same thing.
pub fn redis(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some((reason, until)) = parse_revoked_value(text) {
            let canonical = format!("{} {until}", reason.as_str());
            assert_eq!(parse_revoked_value(&canonical), Some((reason, until)));
        }
        if let Some(message) = parse_message(text) {
            assert_eq!(parse_message(&message_text(message)), Some(message));
        }
    }
    if let Ok(value) = redis::parse_redis_value(data) {
        check_reply(&value);
    }
}

fn message_text((key, reason, until): (TokenKey, crate::store::RevokeReason, u64)) -> String {
    format!("{} {} {until}", key.to_hex(), reason.as_str())
}

fn check_reply(v: &Value) {
    if let Ok(reply) = decode_flush(v) {
        assert_eq!(decode_flush(&flush_value(reply)).ok(), Some(reply));
    }
    if let Ok(reply) = decode_claim(v) {
        assert_eq!(decode_claim(&claim_value(reply)).ok(), Some(reply));
    }
    let key = TokenKey([7; 16]);
    if let Ok(Known::Tracked(rec)) = decode_lookup(&key, v) {
        assert_eq!(rec.key, key);
        assert_ne!(rec.jwt_exp_ms, Some(0));
        assert_ne!(
            rec.trial_last_ms,
            Some(0),
            "a lookup never learns a waiting token"
        );
    }
    if let Value::Push { kind, data } = v {
        let push = PushInfo {
            kind: kind.clone(),
            data: data.clone(),
        };
        if let Some(Some(message)) = decode_push(&push) {
            assert_eq!(parse_message(&message_text(message)), Some(message));
        }
    }
}

fn text(s: impl ToString) -> Value {
    Value::BulkString(s.to_string().into_bytes())
}

fn flush_value(reply: FlushReply) -> Value {
    Value::Array(match reply {
        FlushReply::Merged {
            last_ms,
            first_ms,
            trial_last_ms,
        } => vec![
            Value::Int(0),
            text(last_ms),
            text(first_ms),
            text(trial_last_ms),
        ],
        FlushReply::Revoked { reason, until_ms } => {
            vec![
                Value::Int(1),
                text(format!("{} {until_ms}", reason.as_str())),
            ]
        }
    })
}

fn claim_value(reply: ClaimReply) -> Value {
    Value::Array(match reply {
        ClaimReply::Alive {
            last_ms,
            first_ms,
            trial_last_ms,
        } => vec![
            Value::Int(0),
            text(last_ms),
            text(first_ms),
            text(trial_last_ms),
        ],
        ClaimReply::Claimed {
            reason,
            at_ms,
            until_ms,
            last_ms,
            first_ms,
        } => vec![
            Value::Int(1),
            text(reason.as_str()),
            text(at_ms),
            text(until_ms),
            text(last_ms),
            text(first_ms),
        ],
        ClaimReply::RevokedElsewhere { reason, until_ms } => {
            vec![
                Value::Int(2),
                text(format!("{} {until_ms}", reason.as_str())),
            ]
        }
        ClaimReply::DroppedElsewhere => vec![Value::Int(3)],
    })
}
