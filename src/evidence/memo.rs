//! Requests' templates remembered by exact `(method, path)`: a request seen before skips the
//! catalog match and the normalisation, and costs one hash of its method and path and two
//! atomic loads (docs/reference.md, "Live evidence").
//!
//! A fixed table of `MEMO_SLOTS` slots, each two atomics: the full 64-bit hash of the key, and
//! the template id with the hash's high half as a check. A slot is simply overwritten by the
//! next key that lands on it, so nothing grows and nothing is locked; a reader that sees a
//! key and a value written by two different requests finds the check wrong and misses. A
//! different key is taken for this one only when both 64-bit hashes are equal.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hashbrown::DefaultHashBuilder;

use super::intern::TemplateId;
use super::limits::MEMO_SLOTS;

pub(super) struct Memo {
    keys: Box<[AtomicU64]>,
    values: Box<[AtomicU64]>,
    hasher: DefaultHashBuilder,
}

impl Memo {
    pub(super) fn new() -> Memo {
        let slots = || (0..MEMO_SLOTS).map(|_| AtomicU64::new(0)).collect();
        Memo {
            keys: slots(),
            values: slots(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The key of a request: its method and raw path, and `salt` (what else decides the
    /// template: the catalog in use). Never 0, which marks an empty slot.
    pub(super) fn hash(&self, method: &str, path: &str, salt: usize) -> u64 {
        self.hasher.hash_one((method, path, salt)).max(1)
    }

    pub(super) fn get(&self, hash: u64) -> Option<TemplateId> {
        let i = slot(hash);
        if self.keys.get(i)?.load(Relaxed) != hash {
            return None;
        }
        let value = self.values.get(i)?.load(Relaxed);
        ((value >> 32) == (hash >> 32)).then_some(TemplateId(value as u32))
    }

    pub(super) fn put(&self, hash: u64, id: TemplateId) {
        let i = slot(hash);
        if let (Some(key), Some(value)) = (self.keys.get(i), self.values.get(i)) {
            value.store((hash >> 32) << 32 | u64::from(id.0), Relaxed);
            key.store(hash, Relaxed);
        }
    }

    /// The table's bytes (allocated whole at start).
    pub(super) const BYTES: usize = MEMO_SLOTS * 16;
}

/// The slot of a hash: its low bits (the check is its high half).
fn slot(hash: u64) -> usize {
    (hash as usize) & (MEMO_SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_key_is_found_and_a_slot_taken_over_forgets_the_first() {
        let memo = Memo::new();
        let h = memo.hash("GET", "/a/1", 0);
        assert_eq!(memo.get(h), None);
        memo.put(h, TemplateId(7));
        assert_eq!(memo.get(h), Some(TemplateId(7)));
        assert_ne!(
            memo.hash("GET", "/a/1", 1),
            h,
            "another catalog is another key"
        );
        let other = h ^ (1 << 40);
        assert_eq!(slot(other), slot(h));
        memo.put(other, TemplateId::OVERFLOW);
        assert_eq!(memo.get(h), None);
        assert_eq!(memo.get(other), Some(TemplateId::OVERFLOW));
        // A torn slot (key of one request, value of another) misses.
        memo.keys[slot(h)].store(h, Relaxed);
        assert_eq!(memo.get(h), None);
    }
}
