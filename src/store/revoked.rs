//! The revoked set: key → (reason, until). An entry whose `until` has passed counts as gone
//! even before the periodic purge removes it.

use std::hash::{BuildHasher, Hasher};

use dashmap::DashMap;

use super::types::{RevokeReason, RevokedRecord};
use crate::clock::UnixMs;
use crate::token::TokenKey;

/// Keys are uniform keyed hashes already: fold their bytes instead of running SipHash.
#[derive(Clone, Copy, Default)]
pub(super) struct KeyHash;

#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(b))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
}

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher::default()
    }
}

pub(super) struct RevokedSet {
    map: DashMap<TokenKey, (RevokeReason, UnixMs), KeyHash>,
}

impl RevokedSet {
    pub(super) fn new() -> Self {
        RevokedSet {
            map: DashMap::with_hasher(KeyHash),
        }
    }

    /// The entry when it is still in force at `now_ms`.
    pub(super) fn get(&self, key: &TokenKey, now_ms: UnixMs) -> Option<(RevokeReason, UnixMs)> {
        let entry = *self.map.get(key)?;
        (entry.1 > now_ms).then_some(entry)
    }

    /// Sets the entry (a new revocation replaces an older one).
    pub(super) fn insert(&self, key: TokenKey, reason: RevokeReason, until_ms: UnixMs) {
        self.map.insert(key, (reason, until_ms));
    }

    /// Adds an imported entry, keeping the later `until` when the key is present.
    pub(super) fn merge(&self, key: TokenKey, reason: RevokeReason, until_ms: UnixMs) {
        self.map
            .entry(key)
            .and_modify(|e| {
                if until_ms > e.1 {
                    *e = (reason, until_ms);
                }
            })
            .or_insert((reason, until_ms));
    }

    /// Drops every entry whose retention ended.
    pub(super) fn purge(&self, now_ms: UnixMs) {
        self.map.retain(|_, e| e.1 > now_ms);
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn export(&self) -> Vec<RevokedRecord> {
        self.map
            .iter()
            .map(|e| RevokedRecord {
                key: *e.key(),
                reason: e.value().0,
                until_ms: e.value().1,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_past_its_until_counts_as_gone() {
        let set = RevokedSet::new();
        set.insert(TokenKey([1; 16]), RevokeReason::Admin, 1000);
        assert_eq!(
            set.get(&TokenKey([1; 16]), 999),
            Some((RevokeReason::Admin, 1000))
        );
        assert_eq!(set.get(&TokenKey([1; 16]), 1000), None);
        set.purge(1000);
        assert_eq!(set.len(), 0);
    }

    #[test]
    fn merge_keeps_later_until() {
        let set = RevokedSet::new();
        set.insert(TokenKey([1; 16]), RevokeReason::Inactivity, 5000);
        set.merge(TokenKey([1; 16]), RevokeReason::Admin, 4000);
        assert_eq!(
            set.get(&TokenKey([1; 16]), 0),
            Some((RevokeReason::Inactivity, 5000))
        );
        set.merge(TokenKey([1; 16]), RevokeReason::Admin, 6000);
        assert_eq!(
            set.get(&TokenKey([1; 16]), 0),
            Some((RevokeReason::Admin, 6000))
        );
    }
}
