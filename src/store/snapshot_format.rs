//! The snapshot file's bytes (docs/reference.md, "State and durability"): version 3 is
//! written here, versions 1, 2 and 3 are read by `snapshot_decode`.
//!
//! Version 3, little-endian: magic `IDLGSNAP`, u32 version, u64 tracked count, u64 revoked
//! count, u32 subject count, u8 policy-name count; the policy names (u8 length, UTF-8) and the
//! subjects (u16 length, UTF-8), each written once; tracked records (16-byte key, u64 last,
//! u64 first, u64 exp or 0, u64 signature hash or 0, u32 subject, u8 policy, u64 last trial
//! reset); revoked records (16-byte key, u8 reason, u64 until, u32 subject); then the BLAKE3
//! hash of everything before it. A subject is 0 (none) or i + 1 for `subjects[i]`; a policy
//! is 0 (the default) or i + 1 for `names[i]`, so that a restart maps each token to its
//! policy by name. The last trial reset is a record's `trial_last_ms`: [`NO_TRIAL`] for
//! none (no trial list set), 0 for listed and waiting (docs/reference.md, "Trial list").
//!
//! Version 2 is version 3 without the last trial reset. Version 1 has neither table nor the
//! identity fields: tracked records are (key, last, first, exp), revoked records (key,
//! reason, until). Their tokens come back without a trial reset.

use std::collections::HashMap;
use std::sync::Arc;

use super::types::{reason_code, RevokedRecord, TrackedRecord, MAX_POLICIES, MAX_SUBJECT_LEN};

pub(super) const MAGIC: &[u8; 8] = b"IDLGSNAP";
pub(super) const V1: u32 = 1;
pub(super) const V2: u32 = 2;
pub(super) const V3: u32 = 3;
pub(super) const V1_HEADER_LEN: usize = 8 + 4 + 8 + 8;
pub(super) const V2_HEADER_LEN: usize = V1_HEADER_LEN + 4 + 1;
pub(super) const V1_TRACKED_LEN: usize = 16 + 8 + 8 + 8;
pub(super) const V1_REVOKED_LEN: usize = 16 + 1 + 8;
pub(super) const V2_TRACKED_LEN: usize = V1_TRACKED_LEN + 8 + 4 + 1;
pub(super) const V2_REVOKED_LEN: usize = V1_REVOKED_LEN + 4;
/// Version 3's header and revoked records are version 2's.
pub(super) const V3_TRACKED_LEN: usize = V2_TRACKED_LEN + 8;
/// The last trial reset of a record without one (0 is "waiting").
pub(super) const NO_TRIAL: u64 = u64::MAX;
pub(super) const CHECKSUM_LEN: usize = 32;
/// Policy names are `[a-z0-9-]{1,40}` (docs/reference.md, "Identity").
pub(super) const MAX_POLICY_NAME_LEN: usize = 40;

/// A decoded snapshot. A tracked record's `policy` indexes `policies`, the names of the
/// policies of the gateway that wrote it (0 = the default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contents {
    pub tracked: Vec<TrackedRecord>,
    pub revoked: Vec<RevokedRecord>,
    pub policies: Vec<String>,
}

/// The version 3 bytes of the records, whose policy ids index `policies`. What a reader
/// would refuse is left out rather than written: a subject beyond [`MAX_SUBJECT_LEN`] (the
/// store never keeps one) is written as none, a name beyond [`MAX_POLICY_NAME_LEN`] as empty
/// (its tokens come back under the default), names beyond [`MAX_POLICIES`] not at all.
pub(crate) fn encode(
    tracked: &[TrackedRecord],
    revoked: &[RevokedRecord],
    policies: &[String],
) -> Vec<u8> {
    let names = written_names(policies);
    let mut subjects = Interner::default();
    let tracked_subjects: Vec<u32> = tracked.iter().map(|r| subjects.id(&r.subject)).collect();
    let revoked_subjects: Vec<u32> = revoked.iter().map(|r| subjects.id(&r.subject)).collect();
    let mut out = Vec::with_capacity(
        V2_HEADER_LEN
            + tracked.len() * V3_TRACKED_LEN
            + revoked.len() * V2_REVOKED_LEN
            + CHECKSUM_LEN,
    );
    let counts = (tracked.len() as u64, revoked.len() as u64);
    put_head(&mut out, counts, subjects.list.len() as u32, &names);
    for subject in &subjects.list {
        put_subject(&mut out, subject);
    }
    for (r, subject) in tracked.iter().zip(tracked_subjects) {
        put_tracked(&mut out, r, subject, names.len());
    }
    for (r, subject) in revoked.iter().zip(revoked_subjects) {
        put_revoked(&mut out, r, subject);
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// The policy names as written: at most [`MAX_POLICIES`], one too long as empty.
pub(super) fn written_names(policies: &[String]) -> Vec<&str> {
    policies
        .iter()
        .take(MAX_POLICIES)
        .map(|n| {
            if n.len() <= MAX_POLICY_NAME_LEN {
                n.as_str()
            } else {
                ""
            }
        })
        .collect()
}

/// The header and the policy names; the subjects follow ([`put_subject`] each).
pub(super) fn put_head(out: &mut Vec<u8>, counts: (u64, u64), n_subjects: u32, names: &[&str]) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&V3.to_le_bytes());
    out.extend_from_slice(&counts.0.to_le_bytes());
    out.extend_from_slice(&counts.1.to_le_bytes());
    out.extend_from_slice(&n_subjects.to_le_bytes());
    out.push(names.len() as u8);
    for name in names {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
    }
}

/// One entry of the subjects table (within [`MAX_SUBJECT_LEN`]).
pub(super) fn put_subject(out: &mut Vec<u8>, subject: &str) {
    out.extend_from_slice(&(subject.len() as u16).to_le_bytes());
    out.extend_from_slice(subject.as_bytes());
}

/// One tracked record; `subject` is its index in the subjects table (0 = none), a policy
/// beyond the `n_names` written falls back to the default.
pub(super) fn put_tracked(out: &mut Vec<u8>, r: &TrackedRecord, subject: u32, n_names: usize) {
    out.extend_from_slice(&r.key.0);
    out.extend_from_slice(&r.last_activity_ms.to_le_bytes());
    out.extend_from_slice(&r.first_seen_ms.to_le_bytes());
    out.extend_from_slice(&r.jwt_exp_ms.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&r.sig.to_le_bytes());
    out.extend_from_slice(&subject.to_le_bytes());
    let known = usize::from(r.policy) <= n_names;
    out.push(if known { r.policy } else { 0 });
    out.extend_from_slice(&r.trial_last_ms.unwrap_or(NO_TRIAL).to_le_bytes());
}

pub(super) fn put_revoked(out: &mut Vec<u8>, r: &RevokedRecord, subject: u32) {
    out.extend_from_slice(&r.key.0);
    out.push(reason_code(r.reason));
    out.extend_from_slice(&r.until_ms.to_le_bytes());
    out.extend_from_slice(&subject.to_le_bytes());
}

/// Subjects in order of first use, each once.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, u32>,
    list: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, subject: &'a Option<Arc<str>>) -> u32 {
        let Some(s) = subject.as_deref().filter(|s| s.len() <= MAX_SUBJECT_LEN) else {
            return 0;
        };
        let list = &mut self.list;
        *self.ids.entry(s).or_insert_with(|| {
            list.push(s);
            list.len() as u32
        })
    }
}
