//! Exclusion labels (a default group id or a custom pattern), interned so that a template's
//! classification is one `u32` that the request path can compare and store without a lock.
//!
//! Codes: 0 is `activity`; `1 + i` is excluded by label `i`; [`NO_LABEL`] is excluded by a
//! label that was not kept (more than `MAX_LABELS` distinct ones).

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

use super::limits::{cut, table_bytes, MAX_LABELS, MAX_LABEL_BYTES};

pub(super) const ACTIVITY: u32 = 0;
pub(super) const NO_LABEL: u32 = u32::MAX;

#[derive(Default)]
struct Inner {
    table: HashTable<u32>,
    names: Vec<Box<str>>,
}

#[derive(Default)]
pub(super) struct Labels {
    inner: RwLock<Inner>,
    hasher: DefaultHashBuilder,
}

impl Labels {
    /// The code of a classification: `None` is activity. Looking up a known label takes a
    /// read lock and allocates nothing.
    pub(super) fn code(&self, exclusion: Option<&str>) -> u32 {
        let Some(label) = exclusion else {
            return ACTIVITY;
        };
        let (label, _) = cut(label, MAX_LABEL_BYTES);
        let hash = self.hasher.hash_one(label);
        if let Some(code) = self.find(&self.inner.read(), hash, label) {
            return code;
        }
        let mut inner = self.inner.write();
        if let Some(code) = self.find(&inner, hash, label) {
            return code;
        }
        if inner.names.len() >= MAX_LABELS {
            return NO_LABEL;
        }
        let index = u32::try_from(inner.names.len()).unwrap_or(NO_LABEL - 1);
        inner.names.push(label.into());
        let Inner { table, names } = &mut *inner;
        table.insert_unique(hash, index, |&i| self.hash_of(names, i));
        index + 1
    }

    fn find(&self, inner: &Inner, hash: u64, label: &str) -> Option<u32> {
        let same = |&i: &u32| inner.names.get(i as usize).is_some_and(|n| &**n == label);
        inner.table.find(hash, same).map(|&i| i + 1)
    }

    fn hash_of(&self, names: &[Box<str>], index: u32) -> u64 {
        let name = names.get(index as usize).map_or("", |n| &**n);
        self.hasher.hash_one(name)
    }

    /// The label of a code: `None` for activity and for a label that was not kept.
    pub(super) fn name(&self, code: u32) -> Option<String> {
        let index = usize::try_from(code.checked_sub(1)?).ok()?;
        self.inner.read().names.get(index).map(|n| n.to_string())
    }

    pub(super) fn memory_bytes(&self) -> usize {
        let inner = self.inner.read();
        let strings: usize = inner.names.iter().map(|n| n.len()).sum();
        let names = inner.names.capacity() * std::mem::size_of::<Box<str>>();
        strings + names + inner.table.allocation_size()
    }

    /// The most [`Labels::memory_bytes`] can reach.
    pub(super) fn memory_bound() -> usize {
        let names = MAX_LABELS.next_power_of_two() * std::mem::size_of::<Box<str>>();
        MAX_LABELS * MAX_LABEL_BYTES + names + table_bytes(MAX_LABELS, 4)
    }
}
