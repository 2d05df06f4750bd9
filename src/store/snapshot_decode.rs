//! Reads the snapshot file's bytes (the layout is in `snapshot_format`): every field is
//! bounds-checked, the checksum comes first, and a damaged file is an error naming what is
//! wrong, never a panic.

use std::sync::Arc;

use super::snapshot_format::{
    Contents, CHECKSUM_LEN, MAGIC, MAX_POLICY_NAME_LEN, NO_TRIAL, V1, V1_HEADER_LEN,
    V1_REVOKED_LEN, V1_TRACKED_LEN, V2, V2_HEADER_LEN, V2_REVOKED_LEN, V2_TRACKED_LEN, V3,
    V3_TRACKED_LEN,
};
use super::types::{reason_of, RevokedRecord, TrackedRecord, MAX_POLICIES, MAX_SUBJECT_LEN};
use crate::token::TokenKey;

/// Decodes a version 1, 2 or 3 file; the error says what is wrong with it.
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
        V2 => decode_tables(bytes, false),
        V3 => decode_tables(bytes, true),
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

/// Versions 2 and 3 (`trial`: the tracked records end with the last trial reset).
fn decode_tables(bytes: &[u8], trial: bool) -> Result<Contents, String> {
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
    let tracked_len = if trial {
        V3_TRACKED_LEN
    } else {
        V2_TRACKED_LEN
    };
    let expected = records_len(n_tracked, n_revoked, tracked_len, V2_REVOKED_LEN)
        .ok_or("record counts out of range")?;
    if r.remaining() != expected {
        return Err(format!(
            "truncated or oversized: {} bytes of records, expected {expected}",
            r.remaining()
        ));
    }
    let tracked = (0..n_tracked)
        .map(|_| {
            let v2 = r.tracked_v2(&subjects, policies.len())?;
            let trial_last_ms = if trial { r.trial_last()? } else { None };
            Ok::<_, String>(TrackedRecord {
                trial_last_ms,
                ..v2
            })
        })
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

    /// A version 3 record's last trial reset: [`NO_TRIAL`] is none, 0 listed and waiting.
    fn trial_last(&mut self) -> Result<Option<u64>, String> {
        Ok(Some(self.u64()?).filter(|&t| t != NO_TRIAL))
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
