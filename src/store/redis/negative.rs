//! The negative cache (docs/reference.md, "Redis backend"): ids that neither this replica nor
//! Redis knew, remembered for `state.negative_ttl`, so a flood of garbage tokens costs at most
//! one Redis round trip per distinct id per TTL.
//!
//! Two generations per shard: inserts go to the current one; a generation older than the TTL
//! becomes the previous one and the one before is dropped whole. Every operation is O(1), and
//! memory is freed a generation at a time, without a sweep.
//!
//! Safety: the cache is asked only when the local table does not know the id, and a
//! revocation learnt here (message, lookup, claim) is in the local table first, so a cached
//! "unknown" never hides a revocation. An entry is also dropped when a revocation of its id
//! is learnt.

use std::collections::HashMap;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use crate::clock::UnixMs;
use crate::token::TokenKey;

const SHARDS: usize = 16;
/// Ids remembered at most (both generations of every shard): 262,144 × about 40 B ≈ 10 MB.
/// At the default 2 s TTL that is 65,536 new garbage ids per second before an id can be
/// forgotten early, more than one replica serves requests per second.
pub(crate) const MAX_ENTRIES: usize = 262_144;
const PER_GENERATION: usize = MAX_ENTRIES / SHARDS / 2;

#[derive(Default)]
struct Shard {
    /// Id → when it was found unknown.
    current: HashMap<TokenKey, UnixMs>,
    previous: HashMap<TokenKey, UnixMs>,
    /// When `current` began.
    started_ms: UnixMs,
}

impl Shard {
    /// Starts a new generation when the current one is a TTL old; returns the change of size.
    fn rotate(&mut self, now_ms: UnixMs, ttl_ms: u64) -> i64 {
        let age = now_ms.saturating_sub(self.started_ms);
        if age < ttl_ms {
            return 0;
        }
        let dropped = self.previous.len() as i64;
        self.previous = std::mem::take(&mut self.current);
        self.started_ms = now_ms;
        if age >= 2 * ttl_ms {
            // Idle for two TTLs: the previous generation is stale too.
            let stale = self.previous.len() as i64;
            self.previous.clear();
            return -(dropped + stale);
        }
        -dropped
    }
}

pub(crate) struct NegativeCache {
    ttl_ms: u64,
    shards: [Mutex<Shard>; SHARDS],
    hits: Counter,
    entries: Gauge,
}

impl NegativeCache {
    pub(crate) fn new(ttl_ms: u64, hits: Counter, entries: Gauge) -> NegativeCache {
        NegativeCache {
            ttl_ms: ttl_ms.max(1),
            shards: Default::default(),
            hits,
            entries,
        }
    }

    fn shard(&self, key: &TokenKey) -> &Mutex<Shard> {
        // Token keys are keyed hashes: any byte is uniform.
        &self.shards[usize::from(key.0[15]) % SHARDS]
    }

    /// Whether `key` was found unknown less than a TTL ago (counted as a hit). An entry past
    /// its TTL no longer answers; its memory goes with its generation.
    pub(crate) fn is_unknown(&self, key: &TokenKey, now_ms: UnixMs) -> bool {
        let mut shard = self.shard(key).lock();
        let change = shard.rotate(now_ms, self.ttl_ms);
        self.entries.inc_by(change);
        let since = shard.current.get(key).or_else(|| shard.previous.get(key));
        let hit = since.is_some_and(|at| now_ms < at.saturating_add(self.ttl_ms));
        if hit {
            self.hits.inc();
        }
        hit
    }

    /// Remembers that neither this replica nor Redis knows `key`.
    pub(crate) fn remember(&self, key: &TokenKey, now_ms: UnixMs) {
        let mut shard = self.shard(key).lock();
        let change = shard.rotate(now_ms, self.ttl_ms);
        self.entries.inc_by(change);
        // Full: not remembered; the id costs a lookup again, the bound holds.
        if shard.current.len() < PER_GENERATION && shard.current.insert(*key, now_ms).is_none() {
            self.entries.inc();
        }
    }

    /// `key` is known now (tracked or revoked somewhere).
    pub(crate) fn forget(&self, key: &TokenKey) {
        let mut shard = self.shard(key).lock();
        let removed = shard.current.remove(key).is_some() as i64
            + shard.previous.remove(key).is_some() as i64;
        self.entries.dec_by(removed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(ttl_ms: u64) -> NegativeCache {
        NegativeCache::new(ttl_ms, Counter::default(), Gauge::default())
    }

    fn key(n: u32) -> TokenKey {
        let mut k = [0u8; 16];
        k[..4].copy_from_slice(&n.to_le_bytes());
        k[15] = n as u8;
        TokenKey(k)
    }

    #[test]
    fn an_unknown_id_is_remembered_for_exactly_one_ttl() {
        let c = cache(2000);
        c.remember(&key(3), 9_000);
        c.remember(&key(1), 10_000);
        assert!(c.is_unknown(&key(1), 10_000));
        assert!(c.is_unknown(&key(1), 11_999), "within the TTL");
        assert!(!c.is_unknown(&key(2), 11_999), "another id");
        assert!(!c.is_unknown(&key(1), 12_000), "a TTL later");
        assert!(
            !c.is_unknown(&key(3), 11_000),
            "a TTL later, in the previous generation"
        );
        assert_eq!(c.hits.get(), 2);
    }

    #[test]
    fn a_cache_left_idle_forgets_everything_at_the_next_use() {
        let c = cache(1000);
        c.remember(&key(1), 0);
        assert!(!c.is_unknown(&key(1), 5000));
        assert_eq!(c.entries.get(), 0);
    }

    #[test]
    fn forget_clears_an_entry_in_either_generation() {
        let c = cache(1000);
        c.remember(&key(1), 0);
        c.remember(&key(2), 1500); // rotates: key 1 is in the previous generation
        c.forget(&key(1));
        c.forget(&key(2));
        assert!(!c.is_unknown(&key(1), 1600) && !c.is_unknown(&key(2), 1600));
        assert_eq!(c.entries.get(), 0);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound_and_the_gauge_says_how_many() {
        let c = cache(60_000);
        for n in 0..(MAX_ENTRIES as u32 * 2) {
            c.remember(&key(n), 0);
        }
        assert_eq!(
            c.entries.get() as usize,
            MAX_ENTRIES / 2,
            "one generation full"
        );
        for n in 0..(MAX_ENTRIES as u32 * 2) {
            c.remember(&key(n + 1_000_000), 60_000);
        }
        assert_eq!(
            c.entries.get() as usize,
            MAX_ENTRIES,
            "both generations full"
        );
        c.remember(&key(5_000_000), 120_000);
        assert!(c.entries.get() as usize <= MAX_ENTRIES);
    }
}
