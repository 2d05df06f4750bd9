//! Sharded pub/sub on a Redis Cluster (docs/replicas.md, "Redis Cluster").
//!
//! Classic `PUBLISH` on a cluster is broadcast over the cluster bus to every node, so every
//! revocation costs every node. With sharded pub/sub (Redis 7) a message stays within the
//! shard that owns its channel's slot. idlegate keeps one shard channel per hash slot,
//! `<prefix>:revocations:{<tag>}`, where `<tag>` is a short text that hashes to that slot: the
//! revocation of a token is published (`SPUBLISH`) on the channel of the token's own slot,
//! *inside* the script that stores it, so storing and publishing stay one atomic step on one
//! node. Each replica subscribes (`SSUBSCRIBE`) to all 16,384 channels, each at the master of
//! its slot.
//!
//! When a slot moves to another master, Redis tells its subscribers (`sunsubscribe`); the
//! supervisor then reconnects, which subscribes again where the slot now lives and checks
//! every tracked token's revocation key, so a message published during the move is learnt.

use std::sync::OnceLock;

/// Hash slots of a Redis Cluster.
pub(super) const SLOTS: usize = 16_384;

/// The slot of a hash tag (CRC16/XMODEM modulo 16,384, as Redis computes it).
pub(super) fn slot_of(tag: &str) -> usize {
    usize::from(crc16::State::<crc16::XMODEM>::calculate(tag.as_bytes())) % SLOTS
}

/// For every slot, the shortest decimal number (as text) that hashes to it; found once by
/// counting up (about 170,000 hashes, a few milliseconds).
pub(super) fn slot_tags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        let mut tags: Vec<Option<String>> = vec![None; SLOTS];
        let mut missing = SLOTS;
        let mut n: u64 = 0;
        while missing > 0 {
            let text = n.to_string();
            let slot = slot_of(&text);
            if tags[slot].is_none() {
                tags[slot] = Some(text);
                missing -= 1;
            }
            n += 1;
        }
        tags.into_iter().flatten().collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_computed_as_redis_does() {
        // Values from `CLUSTER KEYSLOT` of Redis 7.
        assert_eq!(slot_of("abc"), 7638);
        assert_eq!(slot_of("foo"), 12182);
        assert_eq!(slot_of("123456789"), 12739);
    }

    #[test]
    fn every_slot_has_a_tag_that_hashes_to_it() {
        let tags = slot_tags();
        assert_eq!(tags.len(), SLOTS);
        for (slot, tag) in tags.iter().enumerate() {
            assert_eq!(slot_of(tag), slot, "tag {tag}");
            assert!(!tag.contains(['{', '}']));
        }
    }
}
