//! What identity adds to the memory store (docs/reference.md, "Identity"): the verified
//! signature of a tracked token, its subject and policy; a subject's tokens; policy ids kept
//! in step with the live config.

use super::deadline::{deadline, expiry};
use super::memory::{bounded, Store};
use super::table::{shard_of, Ident};
use super::types::{NewIdent, RevokeReason, RevokedRecord, Timing, TrackedRecord};
use std::sync::Arc;

use crate::clock::UnixMs;
use crate::token::TokenKey;

/// Whether a tracked token was verified with the bytes a request brings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    /// Tracked, and verified with these very bytes: no verification needed.
    Same,
    /// Tracked, but verified with other bytes (or never): verify before touching it.
    Other,
    /// Not tracked here.
    Untracked,
}

/// One token of a subject, for the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectToken {
    pub key: TokenKey,
    /// None = active.
    pub revoked: Option<RevokeReason>,
    /// 0 = default, i + 1 = `timeout.policies[i]`.
    pub policy: u8,
    /// None for a revoked entry (the set keeps only reason and retention).
    pub last_activity_ms: Option<UnixMs>,
    pub first_seen_ms: Option<UnixMs>,
    /// Active: until the deadline; revoked: until the entry is dropped.
    pub until_ms: UnixMs,
}

impl Store {
    /// Compares the tracked token's verified signature with `sig`; one shard read.
    pub fn verified(&self, key: &TokenKey, sig: u64) -> Verified {
        let shard = self.shards[shard_of(&key.0)].read();
        match shard.find(&key.0) {
            Some(idx) if shard.ident(idx).sig == sig && sig != 0 => Verified::Same,
            Some(_) => Verified::Other,
            None => Verified::Untracked,
        }
    }

    /// Records a verification of a token tracked already (learnt from another replica, or
    /// tracked before identity knew it): its signature hash, subject and policy. Returns
    /// whether it was tracked.
    pub fn attach(&self, key: &TokenKey, new: NewIdent<'_>) -> bool {
        let mut shard = self.shards[shard_of(&key.0)].write();
        let Some(idx) = shard.find(&key.0) else {
            return false;
        };
        let old = shard.ident(idx);
        let ident = Ident {
            subject: match (old.subject, bounded(new.subject)) {
                (0, Some(s)) => self.subjects.acquire(s),
                (old, _) => old,
            },
            ..self.ident_of(NewIdent {
                subject: None,
                ..new
            })
        };
        shard.set_ident(idx, ident);
        true
    }

    /// The tracked token's subject and policy.
    pub fn ident(&self, key: &TokenKey, now_ms: UnixMs) -> (Option<std::sync::Arc<str>>, u8) {
        {
            let shard = self.shards[shard_of(&key.0)].read();
            if let Some(idx) = shard.find(&key.0) {
                let ident = shard.ident(idx);
                return (self.subjects.name(ident.subject), ident.policy);
            }
        }
        let (subject, policy) = self.revoked.subject(key, now_ms);
        (self.subjects.name(subject), policy)
    }

    /// Every tracked token of `subject` (active, newest activity first), then its revoked
    /// entries still kept (latest first). A tracked token whose deadline has passed is left
    /// out: the sweeper settles it.
    pub fn subject_tokens(
        &self,
        subject: &str,
        now_ms: UnixMs,
        timing: &Timing,
    ) -> Vec<SubjectToken> {
        let Some(id) = self.subjects.find(subject) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.read();
            for (slot, ident) in shard.live_slots().filter(|(_, i)| i.subject == id) {
                let own = timing.of(ident.policy);
                let (last, first) = (slot.last_ms(), slot.first_ms());
                if expiry(last, first, now_ms, &own).is_some() {
                    continue;
                }
                out.push(SubjectToken {
                    key: TokenKey(slot.key()),
                    revoked: None,
                    policy: ident.policy,
                    last_activity_ms: Some(last),
                    first_seen_ms: Some(first),
                    until_ms: deadline(last, first, &own),
                });
            }
        }
        out.sort_by_key(|t| std::cmp::Reverse(t.last_activity_ms));
        let mut revoked: Vec<SubjectToken> = self
            .revoked
            .of_subject(id, now_ms)
            .into_iter()
            .map(|(key, reason, until_ms, policy)| SubjectToken {
                key,
                revoked: Some(reason),
                policy,
                last_activity_ms: None,
                first_seen_ms: None,
                until_ms,
            })
            .collect();
        revoked.sort_by_key(|t| std::cmp::Reverse(t.until_ms));
        out.extend(revoked);
        out
    }

    /// The live policies' names in order (id i + 1 = `names[i]`). Tracked tokens keep their
    /// policy by name: ids move with a reorder, and a removed policy's tokens fall back to
    /// the default (docs/reference.md, "Identity").
    pub fn set_policy_names(&self, names: Vec<String>) {
        let mut live = self.policy_names.lock();
        if let Some(map) = policy_map(&live, &names) {
            self.remap_policies(&map);
        }
        *live = Arc::new(names);
    }

    /// The names the policy ids stand for now.
    pub fn policy_names(&self) -> Arc<Vec<String>> {
        self.policy_names.lock().clone()
    }

    /// [`Store::export`] with the names its policy ids stand for, taken together (a config
    /// applied meanwhile waits), for the snapshot.
    pub fn export_named(&self) -> (Vec<TrackedRecord>, Vec<RevokedRecord>, Arc<Vec<String>>) {
        let names = self.policy_names.lock();
        let (tracked, revoked) = self.export();
        (tracked, revoked, names.clone())
    }

    /// Policy ids follow the live config: `map[old] = new` for every id in use (a removed
    /// policy maps to 0, the default).
    pub fn remap_policies(&self, map: &[u8]) {
        self.revoked.remap_policies(map);
        for shard in self.shards.iter() {
            shard.write().remap_policies(map);
        }
    }

    /// Tracked tokens by policy id (index 0 = default): one pass over the idents.
    pub fn policy_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; super::types::MAX_POLICIES + 1];
        let mut with_policy = 0;
        for shard in self.shards.iter() {
            let shard = shard.read();
            for (slot, ident) in shard.idents() {
                if slot.is_live() && ident.policy != 0 {
                    counts[usize::from(ident.policy).min(super::types::MAX_POLICIES)] += 1;
                    with_policy += 1;
                }
            }
        }
        counts[0] = self.tracked_len().saturating_sub(with_policy);
        counts
    }

    /// Distinct subjects held (tracked and retained revoked tokens).
    pub fn subjects_len(&self) -> usize {
        self.subjects.len()
    }
}

/// How policy ids move from the policies `old` to `new`: `map[old id] = new id`, by name (a
/// policy gone from `new` maps to the default, 0). None when no id moves.
pub(crate) fn policy_map(old: &[String], new: &[String]) -> Option<Vec<u8>> {
    let mut map = vec![0u8];
    for name in old {
        let id = new
            .iter()
            .position(|n| n == name)
            .and_then(|i| u8::try_from(i + 1).ok())
            .unwrap_or(0);
        map.push(id);
    }
    let same = map.iter().enumerate().all(|(i, &id)| usize::from(id) == i);
    (!same).then_some(map)
}

#[cfg(test)]
mod tests {
    use super::policy_map;

    #[test]
    fn policy_ids_follow_their_names_and_a_removed_policy_falls_back_to_default() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(policy_map(&s(&["a", "b"]), &s(&["a", "b", "c"])), None);
        assert_eq!(
            policy_map(&s(&["a", "b"]), &s(&["b", "a"])),
            Some(vec![0, 2, 1])
        );
        assert_eq!(policy_map(&s(&["a", "b"]), &s(&["b"])), Some(vec![0, 0, 1]));
    }
}
