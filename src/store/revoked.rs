//! The revoked set: key → (reason, until). An entry whose `until` has passed counts as gone
//! even before the periodic purge removes it.

use std::hash::{BuildHasher, Hasher};

use dashmap::DashMap;

use super::subjects::{SubjectId, Subjects};
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

/// An entry: reason, until, the subject reference it holds (0 = none) and the policy the
/// token had (0 = default or unknown). 16 bytes.
type Entry = (RevokeReason, UnixMs, SubjectId, u8);

/// Every subject id the set holds is a reference counted in [`Subjects`]: taken on insert,
/// given back when an entry is replaced or purged.
pub(super) struct RevokedSet {
    map: DashMap<TokenKey, Entry, KeyHash>,
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
        (entry.1 > now_ms).then_some((entry.0, entry.1))
    }

    /// The subject and policy of an entry still in force (0 = none).
    pub(super) fn subject(&self, key: &TokenKey, now_ms: UnixMs) -> (SubjectId, u8) {
        match self.map.get(key) {
            Some(e) if e.1 > now_ms => (e.2, e.3),
            _ => (0, 0),
        }
    }

    /// Sets the entry (a new revocation replaces an older one), taking a reference to
    /// `subject`.
    pub(super) fn insert(
        &self,
        key: TokenKey,
        reason: RevokeReason,
        until_ms: UnixMs,
        (subject, policy): (SubjectId, u8),
        subjects: &Subjects,
    ) {
        subjects.retain(subject);
        if let Some(old) = self.map.insert(key, (reason, until_ms, subject, policy)) {
            subjects.release(old.2);
        }
    }

    /// Adds an imported or learnt entry, keeping the later `until` when the key is present
    /// (and the subject it knew, when the new one brings none).
    pub(super) fn merge(
        &self,
        key: TokenKey,
        reason: RevokeReason,
        until_ms: UnixMs,
        subject: SubjectId,
        subjects: &Subjects,
    ) {
        let mut entry = self.map.entry(key).or_insert((reason, until_ms, 0, 0));
        let e = entry.value_mut();
        if until_ms > e.1 {
            e.0 = reason;
            e.1 = until_ms;
        }
        if e.2 == 0 && subject != 0 {
            subjects.retain(subject);
            e.2 = subject;
        }
    }

    /// Drops every entry whose retention ended.
    pub(super) fn purge(&self, now_ms: UnixMs, subjects: &Subjects) {
        self.map.retain(|_, e| {
            let keep = e.1 > now_ms;
            if !keep {
                subjects.release(e.2);
            }
            keep
        });
    }

    /// Policy ids follow the live config (`map[old] = new`; unknown ids → 0).
    pub(super) fn remap_policies(&self, map: &[u8]) {
        for mut e in self.map.iter_mut() {
            let e = e.value_mut();
            e.3 = map.get(usize::from(e.3)).copied().unwrap_or(0);
        }
    }

    /// Entries of `subject` still in force: key, reason, until.
    pub(super) fn of_subject(
        &self,
        subject: SubjectId,
        now_ms: UnixMs,
    ) -> Vec<(TokenKey, RevokeReason, UnixMs, u8)> {
        self.map
            .iter()
            .filter(|e| e.value().2 == subject && e.value().1 > now_ms)
            .map(|e| (*e.key(), e.value().0, e.value().1, e.value().3))
            .collect()
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Visits every entry as a record, stopping at the first error (the snapshot streams
    /// them without copying the set).
    pub(super) fn try_for_each<E>(
        &self,
        subjects: &Subjects,
        mut f: impl FnMut(RevokedRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        for e in self.map.iter() {
            f(RevokedRecord {
                key: *e.key(),
                reason: e.value().0,
                until_ms: e.value().1,
                subject: subjects.name(e.value().2),
            })?;
        }
        Ok(())
    }

    pub(super) fn export(&self, subjects: &Subjects) -> Vec<RevokedRecord> {
        self.map
            .iter()
            .map(|e| RevokedRecord {
                key: *e.key(),
                reason: e.value().0,
                until_ms: e.value().1,
                subject: subjects.name(e.value().2),
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
        let subjects = Subjects::default();
        let alice = subjects.acquire("alice");
        set.insert(
            TokenKey([1; 16]),
            RevokeReason::Admin,
            1000,
            (alice, 0),
            &subjects,
        );
        subjects.release(alice);
        assert_eq!(set.subject(&TokenKey([1; 16]), 999), (alice, 0));
        assert_eq!(
            set.get(&TokenKey([1; 16]), 999),
            Some((RevokeReason::Admin, 1000))
        );
        assert_eq!(set.get(&TokenKey([1; 16]), 1000), None);
        set.purge(1000, &subjects);
        assert_eq!(set.len(), 0);
        assert_eq!(subjects.len(), 0, "the purged entry gave its subject back");
    }

    #[test]
    fn merge_keeps_later_until() {
        let set = RevokedSet::new();
        let subjects = Subjects::default();
        set.insert(
            TokenKey([1; 16]),
            RevokeReason::Inactivity,
            5000,
            (0, 0),
            &subjects,
        );
        set.merge(TokenKey([1; 16]), RevokeReason::Admin, 4000, 0, &subjects);
        assert_eq!(
            set.get(&TokenKey([1; 16]), 0),
            Some((RevokeReason::Inactivity, 5000))
        );
        set.merge(TokenKey([1; 16]), RevokeReason::Admin, 6000, 0, &subjects);
        assert_eq!(
            set.get(&TokenKey([1; 16]), 0),
            Some((RevokeReason::Admin, 6000))
        );
    }
}
