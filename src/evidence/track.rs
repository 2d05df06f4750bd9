//! Sampled tokens' request intervals per template, for periodicity.
//!
//! A (token, template) pair keeps the time of its last request and a ring of its last
//! `INTERVALS_KEPT` intervals. Pairs live in `SHARDS` shards chosen by token id, each a slab
//! of histories with an index, behind its own lock, at most `PAIRS_PER_SHARD` per shard and
//! `TOKENS_PER_TEMPLATE` per template. A pair whose last request left the window is dropped
//! when a shard or a template is full (at most once an hour) and when a report is built.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hashbrown::HashMap;
use parking_lot::Mutex;

use super::periodic::interval_stats;
use crate::token::TokenKey;

use super::intern::Templates;
use super::limits::{table_bytes, HOUR_MS, INTERVALS_KEPT, PAIRS_PER_SHARD, SHARDS};

struct History {
    last_ms: u64,
    /// Intervals in ms, newest at `head - 1`; one longer than u32 (49 days) is saturated,
    /// which is outside any window anyway.
    intervals: [u32; INTERVALS_KEPT],
    head: u8,
    len: u8,
}

impl History {
    fn new(now_ms: u64) -> Self {
        History {
            last_ms: now_ms,
            intervals: [0; INTERVALS_KEPT],
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, now_ms: u64) {
        // Requests of one token handled on different threads may arrive a little out of order:
        // such a request is no interval of its own.
        let Some(interval) = now_ms.checked_sub(self.last_ms) else {
            return;
        };
        self.last_ms = now_ms;
        let head = usize::from(self.head) % INTERVALS_KEPT;
        if let Some(slot) = self.intervals.get_mut(head) {
            *slot = u32::try_from(interval).unwrap_or(u32::MAX);
        }
        self.head = ((head + 1) % INTERVALS_KEPT) as u8;
        self.len = (usize::from(self.len) + 1).min(INTERVALS_KEPT) as u8;
    }

    /// The consecutive intervals whose both ends are at or after `start_ms`, into `out`.
    fn intervals_since(&self, start_ms: u64, out: &mut Vec<u64>) {
        out.clear();
        let mut end = self.last_ms;
        if end < start_ms {
            return;
        }
        for k in 0..usize::from(self.len) {
            let index = (usize::from(self.head) + INTERVALS_KEPT - 1 - k) % INTERVALS_KEPT;
            let Some(&interval) = self.intervals.get(index) else {
                break;
            };
            let interval = u64::from(interval);
            match end.checked_sub(interval) {
                Some(start) if start >= start_ms => end = start,
                _ => break,
            }
            out.push(interval);
        }
    }
}

#[derive(Default)]
struct Shard {
    index: HashMap<(TokenKey, u32), u32>,
    slab: Vec<History>,
    free: Vec<u32>,
}

impl Shard {
    /// Records a request of a tracked pair, or starts tracking it when there is room.
    fn touch(&mut self, templates: &Templates, template: u32, token: &TokenKey, now: u64) -> bool {
        if let Some(&slot) = self.index.get(&(*token, template)) {
            if let Some(h) = self.slab.get_mut(slot as usize) {
                h.push(now);
            }
            return true;
        }
        if self.index.len() >= PAIRS_PER_SHARD {
            return false;
        }
        let Some(t) = templates.get(template) else {
            return false;
        };
        if !t.claim_tracked() {
            return false;
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(h) = self.slab.get_mut(slot as usize) {
                    *h = History::new(now);
                }
                slot
            }
            None => {
                self.slab.push(History::new(now));
                (self.slab.len() - 1) as u32
            }
        };
        self.index.insert((*token, template), slot);
        true
    }

    /// Drops the pairs whose last request is before `start_ms`.
    fn prune(&mut self, templates: &Templates, start_ms: u64) {
        let Shard { index, slab, free } = self;
        index.retain(|&(_, template), &mut slot| {
            let live = slab
                .get(slot as usize)
                .is_some_and(|h| h.last_ms >= start_ms);
            if !live {
                free.push(slot);
                if let Some(t) = templates.get(template) {
                    t.release_tracked();
                }
            }
            live
        });
    }
}

/// Periodic sampled tokens of one template and all their intervals in the window.
#[derive(Default)]
pub(super) struct Periodic {
    pub(super) tokens: u64,
    pub(super) intervals: Vec<u64>,
}

pub(super) struct Tracker {
    shards: Box<[Mutex<Shard>]>,
    /// The hour of the last prune on a refusal (so a full tracker is swept once an hour).
    pruned_hour: AtomicU64,
    untracked: AtomicU64,
}

impl Tracker {
    pub(super) fn new() -> Self {
        Tracker {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            pruned_hour: AtomicU64::new(0),
            untracked: AtomicU64::new(0),
        }
    }

    fn shard(&self, token: &TokenKey) -> Option<&Mutex<Shard>> {
        let [.., last] = token.0;
        self.shards.get(usize::from(last) % SHARDS)
    }

    /// Records a sampled token's request; `start_ms` is the window's start.
    pub(super) fn record(
        &self,
        t: &Templates,
        template: u32,
        token: &TokenKey,
        now: u64,
        start_ms: u64,
    ) {
        let Some(shard) = self.shard(token) else {
            return;
        };
        if shard.lock().touch(t, template, token, now) {
            return;
        }
        // Full: drop pairs that left the window (once an hour, every shard) and try again.
        let hour = now / HOUR_MS;
        if self.pruned_hour.fetch_max(hour, Relaxed) < hour {
            self.prune(t, start_ms);
            if shard.lock().touch(t, template, token, now) {
                return;
            }
        }
        self.untracked.fetch_add(1, Relaxed);
    }

    /// Sampled requests whose (token, template) pair could not be tracked.
    pub(super) fn untracked(&self) -> u64 {
        self.untracked.load(Relaxed)
    }

    pub(super) fn prune(&self, templates: &Templates, start_ms: u64) {
        for shard in self.shards.iter() {
            shard.lock().prune(templates, start_ms);
        }
    }

    /// Per template id, the tokens periodic in the window (the HAR rule, on the intervals
    /// whose both ends are in the window).
    pub(super) fn periodic(&self, start_ms: u64) -> HashMap<u32, Periodic> {
        let mut out: HashMap<u32, Periodic> = HashMap::new();
        let mut intervals = Vec::with_capacity(INTERVALS_KEPT);
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for (&(_, template), &slot) in &shard.index {
                let Some(h) = shard.slab.get(slot as usize) else {
                    continue;
                };
                h.intervals_since(start_ms, &mut intervals);
                if interval_stats(&mut intervals).periodic {
                    let p = out.entry(template).or_default();
                    p.tokens += 1;
                    p.intervals.extend_from_slice(&intervals);
                }
            }
        }
        out
    }

    /// Tracked pairs (tests).
    #[cfg(test)]
    pub(super) fn pairs(&self) -> usize {
        self.shards.iter().map(|s| s.lock().index.len()).sum()
    }

    pub(super) fn memory_bytes(&self) -> usize {
        let fixed = self.shards.len() * std::mem::size_of::<Mutex<Shard>>();
        let shards: usize = (self.shards.iter().map(|s| s.lock()))
            .map(|s| {
                s.index.allocation_size()
                    + s.slab.capacity() * std::mem::size_of::<History>()
                    + s.free.capacity() * 4
            })
            .sum();
        fixed + shards
    }

    /// The most [`Tracker::memory_bytes`] can reach: vectors double up to a power of two.
    pub(super) fn memory_bound() -> usize {
        let pairs = PAIRS_PER_SHARD.next_power_of_two();
        let entry = std::mem::size_of::<((TokenKey, u32), u32)>();
        let shard = std::mem::size_of::<Mutex<Shard>>()
            + pairs * (std::mem::size_of::<History>() + 4)
            + table_bytes(PAIRS_PER_SHARD, entry);
        SHARDS * shard
    }
}
