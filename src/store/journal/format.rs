//! The journal's file format and its file operations (layout in the module doc above):
//! records, their encoding and checks, writing a fresh file, and syncing its directory.
//! Shared by the handle (`mod.rs`) and the writer thread, neither of which it imports.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::clock::UnixMs;
use crate::store::types::{reason_code, reason_of, RevokeReason};
use crate::token::TokenKey;

pub(super) const MAGIC: &[u8; 8] = b"IDLGJRNL";
pub(super) const VERSION: u32 = 1;
pub(super) const HEADER_LEN: usize = 8 + 4;
pub(super) const BODY_LEN: usize = 16 + 1 + 8 + 8;
pub(super) const SUM_LEN: usize = 16;
/// Records kept at most (file and memory). Past it appends fail (the revocation is still
/// enforced in memory) until snapshots fold the journal.
pub const MAX_RECORDS: usize = 1_000_000;
/// Bytes per record.
pub const RECORD_LEN: usize = BODY_LEN + SUM_LEN;

/// One journalled revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    pub key: TokenKey,
    pub reason: RevokeReason,
    pub at_ms: UnixMs,
    /// The end of its retention: replay skips it once passed.
    pub until_ms: UnixMs,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum JournalError {
    #[error("revocation journal {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error(
        "revocation journal {path} is unreadable: {reason}; move it away to start without it \
         (the revocations it holds then become valid again)"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("revocation journal {path} is full: {MAX_RECORDS} records wait for snapshots")]
    Full { path: PathBuf },
    #[error("the revocation journal writer has stopped")]
    Stopped,
}

impl JournalError {
    pub(super) fn io(path: &Path, e: &io::Error) -> JournalError {
        JournalError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

/// A fresh journal holding `records`: written to `<journal>.tmp`, fsynced, renamed into
/// place. Returns the open file (now the journal) and its length; the rename is made durable
/// by the caller's [`sync_dir`].
pub(super) fn write_fresh(path: &Path, records: &[JournalRecord]) -> io::Result<(File, usize)> {
    let tmp = with_suffix(path, ".tmp");
    let mut bytes = Vec::with_capacity(HEADER_LEN + records.len() * RECORD_LEN);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    for r in records {
        bytes.extend_from_slice(&encode(r));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok((file, bytes.len()))
}

pub(super) fn create(path: &Path) -> io::Result<File> {
    let (file, _) = write_fresh(path, &[])?;
    sync_dir(path)?;
    Ok(file)
}

/// Makes a rename in `path`'s folder durable.
pub(super) fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

pub(super) fn encode(r: &JournalRecord) -> [u8; RECORD_LEN] {
    let mut out = [0u8; RECORD_LEN];
    out[..16].copy_from_slice(&r.key.0);
    out[16] = reason_code(r.reason);
    out[17..25].copy_from_slice(&r.at_ms.to_le_bytes());
    out[25..33].copy_from_slice(&r.until_ms.to_le_bytes());
    let sum = blake3::hash(&out[..BODY_LEN]);
    out[BODY_LEN..].copy_from_slice(&sum.as_bytes()[..SUM_LEN]);
    out
}

/// A whole record: Ok(None) when its checksum fails (torn or damaged), an error when the
/// checksum holds but the content is not one this version writes.
pub(super) fn decode(chunk: &[u8]) -> Result<Option<JournalRecord>, String> {
    if chunk.len() != RECORD_LEN {
        return Ok(None);
    }
    let (body, sum) = chunk.split_at(BODY_LEN);
    if &blake3::hash(body).as_bytes()[..SUM_LEN] != sum {
        return Ok(None);
    }
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().unwrap_or([0; 8]));
    let reason =
        reason_of(body[16]).ok_or_else(|| format!("unknown revocation reason {}", body[16]))?;
    let mut key = [0u8; 16];
    key.copy_from_slice(&body[..16]);
    Ok(Some(JournalRecord {
        key: TokenKey(key),
        reason,
        at_ms: u64_at(17),
        until_ms: u64_at(25),
    }))
}

/// The records of a whole file and the length of its good prefix. Bad records at the end
/// (a torn tail) are left out of it; a bad record followed by a good one is an error.
pub(super) fn parse(bytes: &[u8]) -> Result<(Vec<JournalRecord>, usize), String> {
    if &bytes[..8] != MAGIC {
        return Err("not an idlegate revocation journal (bad magic)".into());
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != VERSION {
        return Err(format!("unsupported version {version}"));
    }
    let mut records = Vec::new();
    let mut first_bad = None;
    for (i, chunk) in bytes[HEADER_LEN..].chunks(RECORD_LEN).enumerate() {
        let record = decode(chunk).map_err(|e| format!("record {}: {e}", i + 1))?;
        match (record, first_bad) {
            (Some(r), None) => records.push(r),
            (Some(_), Some(bad)) => {
                return Err(format!(
                    "record {} is damaged (checksum mismatch) and record {} after it is intact",
                    bad + 1,
                    i + 1
                ))
            }
            (None, _) => {
                first_bad.get_or_insert(i);
            }
        }
    }
    let valid_len = HEADER_LEN + records.len() * RECORD_LEN;
    Ok((records, valid_len))
}
