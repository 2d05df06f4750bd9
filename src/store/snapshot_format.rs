//! The snapshot file's bytes (docs/reference.md, "State and durability"): version 2 is
//! written, versions 1 and 2 are read.
//!
//! Version 2, little-endian: magic `IDLGSNAP`, u32 version, u64 tracked count, u64 revoked
//! count, u32 subject count, u8 policy-name count; the policy names (u8 length, UTF-8) and the
//! subjects (u16 length, UTF-8), each written once; tracked records (16-byte key, u64 last,
//! u64 first, u64 exp or 0, u64 signature hash or 0, u32 subject, u8 policy); revoked records
//! (16-byte key, u8 reason, u64 until, u32 subject); then the BLAKE3 hash of everything
//! before it. A subject is 0 (none) or i + 1 for `subjects[i]`; a policy is 0 (the default)
//! or i + 1 for `names[i]`, so that a restart maps each token to its policy by name.
//!
//! Version 1 has neither table nor the identity fields: tracked records are (key, last,
//! first, exp), revoked records (key, reason, until).

use std::collections::HashMap;
use std::sync::Arc;

use super::types::{
    reason_code, reason_of, RevokedRecord, TrackedRecord, MAX_POLICIES, MAX_SUBJECT_LEN,
};
use crate::token::TokenKey;

const MAGIC: &[u8; 8] = b"IDLGSNAP";
const V1: u32 = 1;
const V2: u32 = 2;
pub(super) const V1_HEADER_LEN: usize = 8 + 4 + 8 + 8;
const V2_HEADER_LEN: usize = V1_HEADER_LEN + 4 + 1;
const V1_TRACKED_LEN: usize = 16 + 8 + 8 + 8;
const V1_REVOKED_LEN: usize = 16 + 1 + 8;
pub(super) const V2_TRACKED_LEN: usize = V1_TRACKED_LEN + 8 + 4 + 1;
pub(super) const V2_REVOKED_LEN: usize = V1_REVOKED_LEN + 4;
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

/// The version 2 bytes of the records, whose policy ids index `policies`. What a reader
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
            + tracked.len() * V2_TRACKED_LEN
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
    out.extend_from_slice(&V2.to_le_bytes());
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

/// Decodes a version 1 or 2 file; the error says what is wrong with it.
pub(crate) fn decode(bytes: &[u8]) -> Result<Contents, String> {
    if bytes.len() < V1_HEADER_LEN + CHECKSUM_LEN {
        return Err("truncated".into());
    }
    if &bytes[..8] != MAGIC {
        return Err("not an idlegate snapshot (bad magic)".into());
    }
    let mut r = Reader { bytes, pos: 8 };
    match r.u32()? {
        V1 => decode_v1(bytes),
        V2 => decode_v2(bytes),
        version => Err(format!("unsupported version {version}")),
    }
}

fn decode_v1(bytes: &[u8]) -> Result<Contents, String> {
    let mut r = Reader { bytes, pos: 12 };
    let (n_tracked, n_revoked) = (r.u64()?, r.u64()?);
    let expected = records_len(n_tracked, n_revoked, V1_TRACKED_LEN, V1_REVOKED_LEN)
        .and_then(|n| n.checked_add(V1_HEADER_LEN + CHECKSUM_LEN))
        .ok_or("record counts out of range")?;
    if bytes.len() != expected {
        return Err(format!(
            "truncated or oversized: {} bytes, expected {expected}",
            bytes.len()
        ));
    }
    let mut r = Reader {
        bytes: checked_body(bytes)?,
        pos: V1_HEADER_LEN,
    };
    let tracked = (0..n_tracked)
        .map(|_| r.tracked_v1())
        .collect::<Result<_, _>>()?;
    let revoked = (0..n_revoked)
        .map(|_| r.revoked_v1())
        .collect::<Result<_, _>>()?;
    Ok(Contents {
        tracked,
        revoked,
        policies: Vec::new(),
    })
}

fn decode_v2(bytes: &[u8]) -> Result<Contents, String> {
    if bytes.len() < V2_HEADER_LEN + CHECKSUM_LEN {
        return Err("truncated".into());
    }
    let mut r = Reader {
        bytes: checked_body(bytes)?,
        pos: 12,
    };
    let (n_tracked, n_revoked) = (r.u64()?, r.u64()?);
    let (n_subjects, n_policies) = (r.u32()?, r.u8()?);
    if usize::from(n_policies) > MAX_POLICIES {
        return Err(format!("{n_policies} policy names, at most {MAX_POLICIES}"));
    }
    if u64::from(n_subjects) > n_tracked.saturating_add(n_revoked) {
        return Err(format!("{n_subjects} subjects for fewer records"));
    }
    let policies = (0..n_policies)
        .map(|_| r.policy_name())
        .collect::<Result<Vec<_>, _>>()?;
    let subjects = (0..n_subjects)
        .map(|_| r.subject())
        .collect::<Result<Vec<_>, _>>()?;
    let expected = records_len(n_tracked, n_revoked, V2_TRACKED_LEN, V2_REVOKED_LEN)
        .ok_or("record counts out of range")?;
    if r.remaining() != expected {
        return Err(format!(
            "truncated or oversized: {} bytes of records, expected {expected}",
            r.remaining()
        ));
    }
    let tracked = (0..n_tracked)
        .map(|_| r.tracked_v2(&subjects, policies.len()))
        .collect::<Result<_, _>>()?;
    let revoked = (0..n_revoked)
        .map(|_| r.revoked_v2(&subjects))
        .collect::<Result<_, _>>()?;
    Ok(Contents {
        tracked,
        revoked,
        policies,
    })
}

/// Everything before the checksum, once the checksum matches it.
fn checked_body(bytes: &[u8]) -> Result<&[u8], String> {
    let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if blake3::hash(body).as_bytes() != checksum {
        return Err("checksum mismatch".into());
    }
    Ok(body)
}

fn records_len(n_tracked: u64, n_revoked: u64, tracked: usize, revoked: usize) -> Option<usize> {
    let t = usize::try_from(n_tracked).ok()?.checked_mul(tracked)?;
    let r = usize::try_from(n_revoked).ok()?.checked_mul(revoked)?;
    t.checked_add(r)
}

/// Reads fields, every one bounds-checked: a damaged file is an error, never a panic.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or("truncated")?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn text(&mut self, len: usize, what: &str) -> Result<&'a str, String> {
        std::str::from_utf8(self.take(len)?).map_err(|_| format!("{what} is not UTF-8"))
    }

    fn policy_name(&mut self) -> Result<String, String> {
        let len = usize::from(self.u8()?);
        if len > MAX_POLICY_NAME_LEN {
            return Err(format!(
                "a policy name of {len} bytes, at most {MAX_POLICY_NAME_LEN}"
            ));
        }
        Ok(self.text(len, "a policy name")?.to_owned())
    }

    fn subject(&mut self) -> Result<Arc<str>, String> {
        let len = usize::from(self.u16()?);
        if len > MAX_SUBJECT_LEN {
            return Err(format!(
                "a subject of {len} bytes, at most {MAX_SUBJECT_LEN}"
            ));
        }
        Ok(Arc::from(self.text(len, "a subject")?))
    }

    /// A subject reference: 0 = none, i + 1 = `subjects[i]`.
    fn subject_ref(&mut self, subjects: &[Arc<str>]) -> Result<Option<Arc<str>>, String> {
        match self.u32()? {
            0 => Ok(None),
            i => subjects
                .get(i as usize - 1)
                .cloned()
                .map(Some)
                .ok_or_else(|| format!("subject {i} is not in the subjects table")),
        }
    }

    fn tracked_v1(&mut self) -> Result<TrackedRecord, String> {
        Ok(TrackedRecord {
            key: TokenKey(self.array()?),
            last_activity_ms: self.u64()?,
            first_seen_ms: self.u64()?,
            jwt_exp_ms: Some(self.u64()?).filter(|&e| e != 0),
            ..TrackedRecord::default()
        })
    }

    fn tracked_v2(
        &mut self,
        subjects: &[Arc<str>],
        n_policies: usize,
    ) -> Result<TrackedRecord, String> {
        // The fields in file order: the version 1 ones first.
        let v1 = self.tracked_v1()?;
        let record = TrackedRecord {
            sig: self.u64()?,
            subject: self.subject_ref(subjects)?,
            policy: self.u8()?,
            ..v1
        };
        if usize::from(record.policy) > n_policies {
            return Err(format!(
                "policy {} is not in the policy names table",
                record.policy
            ));
        }
        Ok(record)
    }

    fn revoked_v1(&mut self) -> Result<RevokedRecord, String> {
        let key = TokenKey(self.array()?);
        let code = self.u8()?;
        let reason = reason_of(code).ok_or_else(|| format!("unknown revocation reason {code}"))?;
        Ok(RevokedRecord {
            key,
            reason,
            until_ms: self.u64()?,
            subject: None,
        })
    }

    fn revoked_v2(&mut self, subjects: &[Arc<str>]) -> Result<RevokedRecord, String> {
        let v1 = self.revoked_v1()?;
        Ok(RevokedRecord {
            subject: self.subject_ref(subjects)?,
            ..v1
        })
    }
}
