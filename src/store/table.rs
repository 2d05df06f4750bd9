//! The tracked-token table: 64 shards, each a slab of 32-byte slots indexed by slot number
//! (`index.rs`: open addressing, each entry a slot number with a tag of the key's hash).
//!
//! A slot is live (indexed), dead (unindexed, waiting for its wheel item to come due) or free
//! (on the free list, no wheel item). Only the wheel frees a dead slot, so each slot has exactly
//! one wheel item from its insertion until it is freed and no generation counter is needed.
//!
//! Layout, for the request path's cache misses (README, "Benchmarks", `benches/check.rs`): a
//! check reads the index line, then the slot (32 bytes, aligned: one line), and with identity
//! the slot's ident from the side array, loaded in parallel with the slot (both need only the
//! slot number). Counted on a simulated 32 KiB L1d, 1,000,000 random checks: 2.15 L1d misses
//! per check at 1,000,000 tokens (3.79 with a hashbrown table of slot numbers: control bytes,
//! bucket, slot), 3.26 with identity (4.92); at 100,000 tokens 2.16 (3.47), 3.28 (4.58). The
//! cost: a key never tracked misses 1.20 lines (1.15), and an index entry is 8 bytes instead
//! of 5: 55 bytes of RSS per token at 1,000,000 (48 before), 82 with identity (unchanged). Keeping the ident's signature inside the slot
//! would need a 48-byte slot (every other one straddling two lines) or 64 bytes per token.

use std::sync::atomic::{AtomicU64, Ordering};

use super::index::{hash_of, Index, IDX_BITS};

pub(super) const SHARDS: usize = 64;
const SLOT_BITS: u32 = IDX_BITS;
const MAX_SLOTS: usize = 1 << SLOT_BITS;
/// The index reserves the last slot number (its empty entry).
const SLAB_LIMIT: usize = MAX_SLOTS - 1;

const FIRST_BITS: u32 = 42;
const FIRST_MASK: u64 = (1 << FIRST_BITS) - 1;
/// Saturated expiry minutes: "far", treated as no bound.
const EXP_FAR: u64 = (1 << (64 - FIRST_BITS)) - 1;
const MINUTE_MS: u64 = 60_000;
/// `meta` values no live slot can have (first_seen is clamped below them).
const DEAD: u64 = u64::MAX;
const FREE: u64 = u64::MAX - 1;
const FIRST_MAX: u64 = FIRST_MASK - 2;

pub(super) fn shard_of(key: &[u8; 16]) -> usize {
    (key[0] as usize) & (SHARDS - 1)
}

/// A wheel item: 6 bits of shard, 26 bits of slot number.
pub(super) fn handle(shard: usize, slot: u32) -> u32 {
    ((shard as u32) << SLOT_BITS) | slot
}

pub(super) fn split(handle: u32) -> (usize, u32) {
    (
        (handle >> SLOT_BITS) as usize,
        handle & (MAX_SLOTS as u32 - 1),
    )
}

/// Aligned to 32 bytes so a slot never straddles two cache lines.
#[repr(C, align(32))]
pub(super) struct Slot {
    key: [u8; 16],
    /// Touched with `fetch_max` under the shard's read lock.
    last_ms: AtomicU64,
    /// first_seen ms (low 42 bits) | JWT exp as ceil-minutes after first_seen (high 22 bits,
    /// 0 = none); or DEAD / FREE.
    meta: u64,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

impl Slot {
    pub(super) fn new(key: [u8; 16], last_ms: u64, first_ms: u64, exp_ms: Option<u64>) -> Slot {
        let first = first_ms.min(FIRST_MAX);
        let exp_minutes = match exp_ms {
            None => 0,
            // An exp at or before first_seen still needs a non-zero code: one minute.
            Some(exp) => exp
                .saturating_sub(first)
                .div_ceil(MINUTE_MS)
                .clamp(1, EXP_FAR),
        };
        Slot {
            key,
            last_ms: AtomicU64::new(last_ms),
            meta: first | (exp_minutes << FIRST_BITS),
        }
    }

    pub(super) fn key(&self) -> [u8; 16] {
        self.key
    }

    pub(super) fn last_ms(&self) -> u64 {
        self.last_ms.load(Ordering::Acquire)
    }

    /// Moves last activity forward to `now_ms` (never back); returns the resulting value.
    pub(super) fn touch(&self, now_ms: u64) -> u64 {
        self.last_ms.fetch_max(now_ms, Ordering::AcqRel).max(now_ms)
    }

    pub(super) fn first_ms(&self) -> u64 {
        self.meta & FIRST_MASK
    }

    pub(super) fn exp_ms(&self) -> Option<u64> {
        match self.meta >> FIRST_BITS {
            0 | EXP_FAR => None,
            m => Some(self.first_ms().saturating_add(m * MINUTE_MS)),
        }
    }

    pub(super) fn is_live(&self) -> bool {
        self.meta != DEAD && self.meta != FREE
    }

    pub(super) fn is_dead(&self) -> bool {
        self.meta == DEAD
    }
}

/// What a wheel item's slot turned out to be when it came due.
pub(super) enum SlotState<'a> {
    Live(&'a Slot),
    Dead,
    /// Free or out of range: a stale item (should not happen); drop it.
    Stale,
}

/// What identity adds to a tracked token (all zero for an opaque token or identity off).
/// Kept beside the slots, and only as far as the last slot that has one, so that a gateway
/// without `[identity]` pays nothing for it.
/// Aligned to 16 bytes so an ident never straddles two cache lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub(crate) struct Ident {
    /// Keyed hash of the bytes after the signing input (the JWS signature) that were
    /// verified; a request with the same token id and other bytes is verified again.
    pub(crate) sig: u64,
    /// Interned subject; 0 = none.
    pub(crate) subject: u32,
    /// 0 = the default policy, i + 1 = `timeout.policies[i]` of the live config.
    pub(crate) policy: u8,
}

const _: () = assert!(std::mem::size_of::<Ident>() == 16);

#[derive(Default)]
pub(super) struct Shard {
    slots: Vec<Slot>,
    index: Index,
    free: Vec<u32>,
    idents: Vec<Ident>,
    /// Trial words (`trial_word.rs`), only while a trial list is set; as far as the last
    /// slot that has one.
    trials: Vec<AtomicU64>,
}

impl Shard {
    pub(super) fn find(&self, key: &[u8; 16]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash_of(key), |i| slots[i as usize].key == *key)
    }

    pub(super) fn slot(&self, idx: u32) -> &Slot {
        &self.slots[idx as usize]
    }

    pub(super) fn ident(&self, idx: u32) -> Ident {
        self.idents.get(idx as usize).copied().unwrap_or_default()
    }

    pub(super) fn set_ident(&mut self, idx: u32, ident: Ident) {
        let i = idx as usize;
        if i >= self.idents.len() {
            if ident == Ident::default() {
                return;
            }
            self.idents.resize(i + 1, Ident::default());
        }
        self.idents[i] = ident;
    }

    /// The slot's trial word, when the trial side array reaches it.
    pub(super) fn trial(&self, idx: u32) -> Option<&AtomicU64> {
        self.trials.get(idx as usize)
    }

    pub(super) fn set_trial(&mut self, idx: u32, word: u64) {
        let i = idx as usize;
        if i >= self.trials.len() {
            // Grown by a sixteenth (not doubled): 8 bytes per slot and at most 1/16 spare,
            // so that a trial costs 8.5 bytes per tracked token at most (tests/trial_memory.rs).
            if i >= self.trials.capacity() {
                let step = (self.trials.len() / 16).max(64);
                self.trials.reserve_exact(i + 1 - self.trials.len() + step);
            }
            self.trials.resize_with(i + 1, || AtomicU64::new(0));
        }
        *self.trials[i].get_mut() = word;
    }

    /// Every slot's trial word from `word_of` (live slots) or 0; or none at all (`None`).
    pub(super) fn init_trials(&mut self, word_of: Option<&dyn Fn(&Slot) -> u64>) {
        self.trials = match word_of {
            None => Vec::new(),
            Some(f) => (self.slots.iter())
                .map(|s| AtomicU64::new(if s.is_live() { f(s) } else { 0 }))
                .collect(),
        };
    }

    /// Live slots with their trial words (0 where the side array does not reach).
    pub(super) fn trial_words(&self) -> impl Iterator<Item = (&Slot, u64)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_live())
            .map(|(i, s)| {
                let word = self.trials.get(i).map_or(0, |w| w.load(Ordering::Relaxed));
                (s, word)
            })
    }

    /// Every slot's ident that is not the default, with its slot (live or dead).
    pub(super) fn idents(&self) -> impl Iterator<Item = (&Slot, Ident)> {
        self.idents
            .iter()
            .zip(&self.slots)
            .filter(|(i, s)| **i != Ident::default() && (s.is_live() || s.is_dead()))
            .map(|(i, s)| (s, *i))
    }

    /// Maps every slot's policy through `map` (a policy renamed, moved or removed).
    pub(super) fn remap_policies(&mut self, map: &[u8]) {
        for ident in &mut self.idents {
            ident.policy = map.get(ident.policy as usize).copied().unwrap_or(0);
        }
    }

    pub(super) fn state(&self, idx: u32) -> SlotState<'_> {
        match self.slots.get(idx as usize) {
            Some(s) if s.is_live() => SlotState::Live(s),
            Some(s) if s.is_dead() => SlotState::Dead,
            _ => SlotState::Stale,
        }
    }

    /// Stores a new live slot with its ident (the key must not be indexed); None when the
    /// shard is full.
    pub(super) fn insert_with(&mut self, slot: Slot, ident: Ident) -> Option<u32> {
        let idx = self.insert(slot)?;
        self.set_ident(idx, ident);
        Some(idx)
    }

    /// Stores a new live slot (the key must not be indexed); None when the shard is full.
    pub(super) fn insert(&mut self, slot: Slot) -> Option<u32> {
        let hash = hash_of(&slot.key);
        let idx = match self.free.pop() {
            Some(idx) => {
                self.slots[idx as usize] = slot;
                idx
            }
            None if self.slots.len() < SLAB_LIMIT => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
            None => return None,
        };
        self.index.insert(hash, idx);
        Some(idx)
    }

    /// Unindexes a live slot removed outside the wheel; its wheel item frees it later.
    pub(super) fn kill(&mut self, idx: u32) {
        self.unindex(idx);
        self.slots[idx as usize].meta = DEAD;
    }

    /// Unindexes and frees a live slot whose wheel item was just consumed; returns the
    /// subject reference it held.
    pub(super) fn retire(&mut self, idx: u32) -> u32 {
        self.unindex(idx);
        self.release(idx)
    }

    /// Frees a slot whose wheel item was just consumed; returns the subject reference it held
    /// (the caller releases it).
    pub(super) fn release(&mut self, idx: u32) -> u32 {
        self.slots[idx as usize].meta = FREE;
        self.free.push(idx);
        if let Some(word) = self.trials.get_mut(idx as usize) {
            *word.get_mut() = 0;
        }
        match self.idents.get_mut(idx as usize) {
            Some(ident) => std::mem::take(ident).subject,
            None => 0,
        }
    }

    fn unindex(&mut self, idx: u32) {
        let hash = hash_of(&self.slots[idx as usize].key);
        self.index.remove(hash, idx);
    }

    /// Live slots with their idents.
    pub(super) fn live_slots(&self) -> impl Iterator<Item = (&Slot, Ident)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_live())
            .map(|(i, s)| (s, self.ident(i as u32)))
    }

    /// Empties the shard; returns the subject references its slots held.
    pub(super) fn clear(&mut self) -> Vec<u32> {
        let held = self
            .idents()
            .map(|(_, i)| i.subject)
            .filter(|&s| s != 0)
            .collect();
        *self = Shard::default();
        held
    }

    /// Slot numbers in use are below this (the snapshot walks them in bounded steps).
    pub(super) fn slab_len(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_is_32_bytes_and_never_straddles_a_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 32);
        assert_eq!(std::mem::align_of::<Slot>(), 32);
    }

    #[test]
    fn meta_packs_first_seen_and_exp_minutes() {
        let s = Slot::new([1; 16], 5, 1_700_000_000_123, Some(1_700_000_090_000));
        assert_eq!(s.first_ms(), 1_700_000_000_123);
        assert_eq!(s.exp_ms(), Some(1_700_000_000_123 + 2 * MINUTE_MS));
        assert!(s.is_live());
        let none = Slot::new([1; 16], 5, 10, None);
        assert_eq!(none.exp_ms(), None);
        let far = Slot::new([1; 16], 5, 10, Some(u64::MAX));
        assert_eq!(far.exp_ms(), None);
        let past = Slot::new([1; 16], 5, 100_000, Some(3));
        assert_eq!(past.exp_ms(), Some(100_000 + MINUTE_MS));
    }

    #[test]
    fn touch_never_moves_activity_back() {
        let s = Slot::new([1; 16], 500, 500, None);
        assert_eq!(s.touch(400), 500);
        assert_eq!(s.touch(900), 900);
        assert_eq!(s.last_ms(), 900);
    }

    #[test]
    fn handle_round_trips() {
        assert_eq!(
            split(handle(63, MAX_SLOTS as u32 - 1)),
            (63, MAX_SLOTS as u32 - 1)
        );
        assert_eq!(split(handle(5, 7)), (5, 7));
    }

    #[test]
    fn killed_slot_is_not_reused_until_released() {
        let mut shard = Shard::default();
        let a = shard.insert(Slot::new([1; 16], 0, 0, None)).unwrap();
        shard.kill(a);
        assert!(shard.find(&[1; 16]).is_none());
        let b = shard.insert(Slot::new([2; 16], 0, 0, None)).unwrap();
        assert_ne!(a, b);
        shard.release(a);
        let c = shard.insert(Slot::new([3; 16], 0, 0, None)).unwrap();
        assert_eq!(c, a);
        assert_eq!(shard.find(&[3; 16]), Some(a));
        assert_eq!(shard.find(&[2; 16]), Some(b));
    }
}
