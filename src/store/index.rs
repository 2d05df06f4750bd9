//! A shard's index: slot numbers by key, open addressing with linear probing over 64-byte
//! aligned groups of eight 8-byte entries.
//!
//! An entry packs a slot number (low 26 bits) with the top 38 bits of the key's hash, so a
//! lookup reads one index line (two when its run crosses a group) and then only the slot whose
//! tag matches: the chain of dependent cache misses is index line → slot. A hashbrown table of
//! slot numbers reads its control bytes, then the bucket, then the slot (one miss more), and
//! its 7-bit tag lets up to one lookup in ten of an unknown key read a wrong slot. The
//! figures are in `table.rs`.
//!
//! The entry's top bits are the hash's top bits, which are also the home position, so growing
//! and deleting (backward shift, no tombstones) never read a slot.

/// Bits of an entry that hold the slot number (the table's slot limit stays below its mask).
pub(super) const IDX_BITS: u32 = 26;
const IDX_MASK: u64 = (1 << IDX_BITS) - 1;
/// No real entry: it would need slot number `IDX_MASK`, which the table never hands out.
const EMPTY: u64 = u64::MAX;
const GROUP: usize = 8;

/// Eight entries, one cache line.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Group([u64; GROUP]);

const _: () = assert!(std::mem::size_of::<Group>() == 64);

/// The hash a key is indexed by. Keys are uniform keyed hashes already; the mix only keeps
/// hand-made keys (tests, fuzz seeds) from piling up in one run.
pub(super) fn hash_of(key: &[u8; 16]) -> u64 {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&key[..8]);
    hi.copy_from_slice(&key[8..]);
    // murmur3's 64-bit finalizer: every output bit depends on every input bit.
    let mut h = u64::from_le_bytes(hi) ^ u64::from_le_bytes(lo).rotate_left(32);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[derive(Default)]
pub(super) struct Index {
    groups: Vec<Group>,
    len: usize,
    /// `64 - log2(entries)`: an entry's (and a hash's) home is its value shifted by this.
    shift: u32,
}

impl Index {
    fn mask(&self) -> usize {
        self.groups.len() * GROUP - 1
    }

    fn at(&self, i: usize) -> u64 {
        self.groups[i / GROUP].0[i % GROUP]
    }

    fn set(&mut self, i: usize, entry: u64) {
        self.groups[i / GROUP].0[i % GROUP] = entry;
    }

    fn home(&self, h: u64) -> usize {
        (h >> self.shift) as usize
    }

    /// The slot number whose tag matches `h` and for which `eq` holds.
    pub(super) fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.groups.is_empty() {
            return None;
        }
        let tag = h & !IDX_MASK;
        let mask = self.mask();
        let mut i = self.home(h);
        // Ends: the load stays below 3/4, so there is always an empty entry.
        loop {
            let e = self.at(i);
            if e == EMPTY {
                return None;
            }
            if e & !IDX_MASK == tag && eq((e & IDX_MASK) as u32) {
                return Some((e & IDX_MASK) as u32);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds slot `idx` under `h` (its key must not be indexed).
    pub(super) fn insert(&mut self, h: u64, idx: u32) {
        debug_assert!(u64::from(idx) < IDX_MASK);
        if (self.len + 1) * 4 > self.groups.len() * GROUP * 3 {
            self.grow();
        }
        self.place((h & !IDX_MASK) | u64::from(idx));
        self.len += 1;
    }

    fn place(&mut self, entry: u64) {
        let mask = self.mask();
        let mut i = self.home(entry);
        while self.at(i) != EMPTY {
            i = (i + 1) & mask;
        }
        self.set(i, entry);
    }

    /// Doubles the entries (one group at first); entries are re-placed from their own bits.
    fn grow(&mut self) {
        let groups = (self.groups.len() * 2).max(1);
        let old = std::mem::replace(&mut self.groups, vec![Group([EMPTY; GROUP]); groups]);
        self.shift = 64 - (groups * GROUP).trailing_zeros();
        for e in old.iter().flat_map(|g| g.0).filter(|&e| e != EMPTY) {
            self.place(e);
        }
    }

    /// Removes slot `idx` indexed under `h`; returns whether it was there.
    pub(super) fn remove(&mut self, h: u64, idx: u32) -> bool {
        if self.groups.is_empty() {
            return false;
        }
        let target = (h & !IDX_MASK) | u64::from(idx);
        let mask = self.mask();
        let mut i = self.home(h);
        loop {
            match self.at(i) {
                EMPTY => return false,
                e if e == target => break,
                _ => i = (i + 1) & mask,
            }
        }
        // Backward shift: pull later entries of the run into the hole when the hole lies
        // between their home and where they are, so every lookup still ends at an empty entry.
        let (mut hole, mut j) = (i, i);
        loop {
            j = (j + 1) & mask;
            let e = self.at(j);
            if e == EMPTY {
                break;
            }
            let home = self.home(e);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.set(hole, e);
                hole = j;
            }
        }
        self.set(hole, EMPTY);
        self.len -= 1;
        true
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes that all share one home, so every entry sits in one run.
    fn colliding(n: u64) -> u64 {
        (n << IDX_BITS) & ((1 << 40) - 1)
    }

    fn key(n: u32) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[8..12].copy_from_slice(&n.to_le_bytes());
        k
    }

    #[test]
    fn lookups_match_tag_and_key() {
        let mut ix = Index::default();
        for n in 0..1000u32 {
            ix.insert(hash_of(&key(n)), n);
        }
        assert_eq!(ix.len(), 1000);
        let h = hash_of(&key(7));
        assert_eq!(ix.find(h, |i| i == 7), Some(7));
        assert_eq!(ix.find(h, |_| false), None);
        assert_eq!(ix.find(hash_of(&key(1000)), |_| true), None);
    }

    #[test]
    fn removal_keeps_every_other_entry_of_a_run_reachable() {
        let mut ix = Index::default();
        for n in 0..40u32 {
            ix.insert(colliding(u64::from(n)), n);
        }
        for n in (0..40u32).step_by(3) {
            assert!(ix.remove(colliding(u64::from(n)), n));
            assert!(!ix.remove(colliding(u64::from(n)), n));
        }
        for n in 0..40u32 {
            let found = ix.find(colliding(u64::from(n)), |i| i == n);
            assert_eq!(found.is_some(), n % 3 != 0, "entry {n}");
        }
        assert_eq!(ix.len(), 40 - 14);
    }

    #[test]
    fn a_run_that_wraps_past_the_last_entry_survives_removal() {
        let mut ix = Index::default();
        ix.insert(0, 0); // one group: 8 entries, shift 61
        let last = 7u64 << 61;
        for n in 1..5u32 {
            ix.insert(last | u64::from(n) << IDX_BITS, n);
        }
        assert!(ix.remove(last | 1 << IDX_BITS, 1));
        for n in 2..5u32 {
            assert_eq!(ix.find(last | u64::from(n) << IDX_BITS, |_| true), Some(n));
        }
        assert_eq!(ix.find(0, |_| true), Some(0));
    }

    #[test]
    fn random_inserts_and_removals_agree_with_a_model() {
        // Six homes, three at the end of the entries: long runs that merge, cross groups and
        // wrap past the last entry.
        let h = |n: u32| [0u64, 1, 2, 61, 62, 63][n as usize % 6] << 58 | u64::from(n) << 26;
        let mut ix = Index::default();
        let mut model = std::collections::HashSet::new();
        let mut x = 12345u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 500) as u32;
            if model.contains(&n) {
                assert!(ix.remove(h(n), n));
                model.remove(&n);
            } else {
                ix.insert(h(n), n);
                model.insert(n);
            }
            let probe = ((x >> 20) % 500) as u32;
            let found = ix.find(h(probe), |i| i == probe);
            assert_eq!(found.is_some(), model.contains(&probe), "entry {probe}");
        }
        assert_eq!(ix.len(), model.len());
        for n in 0..500u32 {
            assert_eq!(ix.find(h(n), |i| i == n).is_some(), model.contains(&n));
        }
    }

    #[test]
    fn hand_made_keys_spread_over_homes() {
        let mut homes = std::collections::HashSet::new();
        for n in 0..64u8 {
            let mut k = [0u8; 16];
            k[8] = n;
            homes.insert(hash_of(&k) >> 58);
        }
        assert!(homes.len() > 32, "{} homes of 64", homes.len());
    }
}
