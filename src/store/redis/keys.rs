//! The Redis key layout (docs/replicas.md). Every key of one token shares the hash tag
//! `{<token id>}`, so a token's keys live in one Redis Cluster slot and one Lua script may
//! touch them all; different tokens spread over the cluster. Keys and values carry token ids
//! (a keyed hash), never a raw token.
//!
//! - `<prefix>:{<id>}:t` hash `l` (last activity, ms), `f` (first seen, ms), `e` (JWT exp, ms;
//!   0 = none), `u` (subject, when identity knows it), `tl` (last trial reset, ms, while a
//!   trial list is set: docs/reference.md, "Trial list"): the token is tracked. Expires
//!   `idle + retention` after its last write.
//! - `<prefix>:{<id>}:r` string `"<reason> <until ms>"`, expiring at `until`: revoked.
//! - `<prefix>:{<id>}:s` marker of a shadow expiry (shadow mode), expiring after `idle`, so
//!   that one replica only counts it.
//! - `<prefix>:{<id>}:k` who delivers the token's RFC 7009 revocation: a replica's random id
//!   for a 10 s lease, then `done` (docs/reference.md, "Revocation hooks").
//! - `<prefix>:u:{<subject hash>}` set of the token ids of one subject (32 hex digits of the
//!   subject's BLAKE3 hash: its own hash tag, so a subject's set lives in one slot). Its TTL is
//!   refreshed on each add to the longest tracked TTL of its tokens.
//! - `<prefix>:epoch` a random id of the data set (detects a Redis that lost its data).
//! - channel `<prefix>:revocations`, messages `"<id> <reason> <until ms>"` and
//!   `"<id> tracked"`; on a Redis
//!   Cluster one shard channel per slot instead, `<prefix>:revocations:{<tag>}`, the tag
//!   hashing to the slot (`shard`), and a token's revocation goes to its own slot's channel.

use super::shard::{slot_of, slot_tags, SLOTS};
use crate::clock::UnixMs;
use crate::store::RevokeReason;
use crate::token::TokenKey;

#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Braces in the prefix would make it the hash tag (every token in one slot): they are
    /// replaced by `_`.
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.replace(['{', '}'], "_"),
        }
    }

    pub fn tracked(&self, key: &TokenKey) -> String {
        format!("{}:{{{}}}:t", self.prefix, key.to_hex())
    }

    pub fn revoked(&self, key: &TokenKey) -> String {
        format!("{}:{{{}}}:r", self.prefix, key.to_hex())
    }

    pub fn shadow(&self, key: &TokenKey) -> String {
        format!("{}:{{{}}}:s", self.prefix, key.to_hex())
    }

    /// The lease on the RFC 7009 call of a revoked token.
    pub fn rfc7009(&self, key: &TokenKey) -> String {
        format!("{}:{{{}}}:k", self.prefix, key.to_hex())
    }

    /// The set of `subject`'s token ids. The subject is hashed: it may hold braces, spaces
    /// or personal data, none of which belongs in a key name.
    pub fn subject(&self, subject: &str) -> String {
        let hash = blake3::hash(subject.as_bytes());
        let hex: String = hash.as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}:u:{{{hex}}}", self.prefix)
    }

    /// A random id written once per Redis data set: when it changes (or vanishes), Redis lost
    /// its data and the replicas write back what they know.
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.prefix)
    }

    pub fn channel(&self) -> String {
        format!("{}:revocations", self.prefix)
    }

    /// On a cluster: the shard channel of the slot of `key`'s keys (see `shard`).
    pub fn shard_channel(&self, key: &TokenKey) -> String {
        let slot = slot_of(&key.to_hex());
        self.shard_channel_of_slot(slot)
    }

    /// On a cluster: every slot's shard channel, slot by slot.
    pub fn shard_channels(&self) -> impl Iterator<Item = String> + '_ {
        (0..SLOTS).map(|slot| self.shard_channel_of_slot(slot))
    }

    fn shard_channel_of_slot(&self, slot: usize) -> String {
        format!("{}:revocations:{{{}}}", self.prefix, slot_tags()[slot])
    }

    /// The name this gateway's connection gets (`CLIENT SETNAME`, no spaces allowed).
    pub fn client_name(&self) -> String {
        let clean: String = self
            .prefix
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .collect();
        format!("idlegate:{clean}")
    }
}

pub(super) fn parse_reason(s: &str) -> Option<RevokeReason> {
    match s {
        "inactivity" => Some(RevokeReason::Inactivity),
        "absolute" => Some(RevokeReason::Absolute),
        "admin" => Some(RevokeReason::Admin),
        _ => None,
    }
}

/// The value of a `:r` key: `"<reason> <until ms>"`.
pub(crate) fn parse_revoked_value(v: &str) -> Option<(RevokeReason, UnixMs)> {
    let (reason, until) = v.split_once(' ')?;
    Some((parse_reason(reason)?, until.parse().ok()?))
}

/// A revocation message: `"<id> <reason> <until ms>"`.
pub(crate) fn parse_message(m: &str) -> Option<(TokenKey, RevokeReason, UnixMs)> {
    let (id, rest) = m.split_once(' ')?;
    let key = TokenKey::from_hex(id)?;
    let (reason, until) = parse_revoked_value(rest)?;
    Some((key, reason, until))
}

/// A "tracked" message: `"<id> tracked"` (a token new to Redis: a replica that found it
/// unknown a moment ago forgets that).
pub(crate) fn parse_tracked(m: &str) -> Option<TokenKey> {
    let (id, word) = m.split_once(' ')?;
    (word == "tracked")
        .then(|| TokenKey::from_hex(id))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_token_share_its_hash_tag() {
        let k = Keys::new("idlegate");
        let key = TokenKey([0xab; 16]);
        let id = key.to_hex();
        assert_eq!(k.tracked(&key), format!("idlegate:{{{id}}}:t"));
        assert_eq!(k.revoked(&key), format!("idlegate:{{{id}}}:r"));
        assert_eq!(k.shadow(&key), format!("idlegate:{{{id}}}:s"));
        assert_eq!(k.channel(), "idlegate:revocations");
    }

    /// The tag between the first `{` and the next `}`, as Redis Cluster reads it.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').expect("a tag");
        let close = key[open..].find('}').expect("a closed tag");
        &key[open + 1..open + close]
    }

    #[test]
    fn a_tokens_shard_channel_hashes_to_the_slot_of_its_keys() {
        let k = Keys::new("idlegate");
        for n in 0u8..=255 {
            let key = TokenKey([n; 16]);
            let channel = k.shard_channel(&key);
            assert!(channel.starts_with("idlegate:revocations:{"), "{channel}");
            assert_eq!(
                slot_of(hash_tag(&channel)),
                slot_of(hash_tag(&k.revoked(&key))),
                "{channel}"
            );
        }
        let all: Vec<String> = k.shard_channels().collect();
        assert_eq!(all.len(), SLOTS);
        for (slot, channel) in all.iter().enumerate().step_by(97) {
            assert_eq!(slot_of(hash_tag(channel)), slot);
        }
    }

    #[test]
    fn a_subject_set_has_its_own_hash_tag_of_32_hex_digits() {
        let k = Keys::new("idlegate");
        let set = k.subject("alice {admin}");
        let tag = set
            .strip_prefix("idlegate:u:{")
            .and_then(|s| s.strip_suffix('}'))
            .expect("<prefix>:u:{<hash>}");
        assert_eq!(tag.len(), 32);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(set, k.subject("alice {admin}"), "stable");
        assert_ne!(set, k.subject("bob"));
    }

    #[test]
    fn braces_in_the_prefix_cannot_become_the_hash_tag() {
        let k = Keys::new("{app}");
        assert!(k.tracked(&TokenKey([1; 16])).starts_with("_app_:{"));
    }

    #[test]
    fn a_tracked_message_names_one_token() {
        let key = TokenKey([0x5a; 16]);
        assert_eq!(
            parse_tracked(&format!("{} tracked", key.to_hex())),
            Some(key)
        );
        assert_eq!(parse_tracked(&format!("{} admin 1", key.to_hex())), None);
        assert_eq!(parse_tracked("zz tracked"), None);
        assert_eq!(parse_tracked("tracked"), None);
        assert_eq!(parse_message(&format!("{} tracked", key.to_hex())), None);
    }

    #[test]
    fn message_round_trips_and_garbage_is_refused() {
        let key = TokenKey([3; 16]);
        let m = format!("{} admin 1700000000000", key.to_hex());
        assert_eq!(
            parse_message(&m),
            Some((key, RevokeReason::Admin, 1_700_000_000_000))
        );
        assert_eq!(parse_message("zz admin 1"), None);
        assert_eq!(parse_message(&format!("{} bogus 1", key.to_hex())), None);
        assert_eq!(parse_revoked_value("inactivity x"), None);
    }

    #[test]
    fn client_name_has_no_spaces() {
        assert_eq!(Keys::new("a b").client_name(), "idlegate:a_b");
    }
}
