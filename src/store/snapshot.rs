//! The memory backend's snapshot file (docs/reference.md, "Memory backend"): tracked tokens (id, last
//! activity, first seen, JWT exp) and the revoked set (id, reason, until), ms precision.
//!
//! Layout, little-endian: magic `IDLGSNAP`, u32 version, u64 tracked count, u64 revoked count,
//! tracked records (16-byte key, u64 last, u64 first, u64 exp or 0), revoked records (16-byte
//! key, u8 reason, u64 until), then the BLAKE3 hash of everything before it. Written to a temp
//! file, fsynced, the previous file kept as `<snapshot>.1`, then renamed into place.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::memory::Store;
use super::types::{reason_code, reason_of, RevokedRecord, Timing, TrackedRecord};
use crate::clock::UnixMs;
use crate::token::TokenKey;

const MAGIC: &[u8; 8] = b"IDLGSNAP";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 8;
const TRACKED_LEN: usize = 16 + 8 + 8 + 8;
const REVOKED_LEN: usize = 16 + 1 + 8;
const CHECKSUM_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot {path} is unreadable: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "no readable snapshot ({details}); move {files} away to start empty (revoked tokens then become valid again)"
    )]
    Unreadable { files: String, details: String },
}

/// What `load_snapshot` loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The file the state came from; None for an empty start (no snapshot yet).
    pub source: Option<PathBuf>,
    pub tracked: usize,
    pub revoked: usize,
    /// Why the newest file was skipped for `<snapshot>.1`, when it was.
    pub fallback_warning: Option<String>,
}

/// `<snapshot>.1`: the previous generation.
pub fn previous_path(path: &Path) -> PathBuf {
    with_suffix(path, ".1")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes the store's state atomically and returns the number of records written (tracked plus
/// revoked). Only the export takes store locks, one shard at a time; the rest runs off-lock
/// (callers run it on a blocking thread).
pub fn write_snapshot(path: &Path, store: &Store) -> Result<usize, SnapshotError> {
    let (tracked, revoked) = store.export();
    let bytes = encode(&tracked, &revoked);
    let io_err = |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    crate::files::create_parent_dir(path).map_err(io_err)?;
    let tmp = with_suffix(path, ".tmp");
    write_synced(&tmp, &bytes).map_err(|source| SnapshotError::Io {
        path: tmp.clone(),
        source,
    })?;
    match fs::rename(path, previous_path(path)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    fs::rename(&tmp, path).map_err(io_err)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Makes the renames durable. A failure leaves a complete file either way, but is an
        // error: the revocation journal is folded only into a snapshot known to be durable.
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
    }
    Ok(tracked.len() + revoked.len())
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Loads the newest readable generation into `store`. Missing files mean an empty start; a
/// corrupt or truncated newest file falls back to `<snapshot>.1` with a warning; when no
/// existing file is readable, start must be refused.
pub fn load_snapshot(
    path: &Path,
    store: &Store,
    now_ms: UnixMs,
    timing: &Timing,
) -> Result<LoadReport, SnapshotError> {
    let previous = previous_path(path);
    let newest_err = match read_file(path) {
        Ok(Some(state)) => return Ok(import(store, path, state, now_ms, timing, None)),
        Ok(None) => None,
        Err(e) => Some(e),
    };
    match read_file(&previous) {
        Ok(Some(state)) => {
            let warning = newest_err.map(|e| {
                let w = format!("{e}; loaded the previous generation {}", previous.display());
                tracing::warn!("{w}");
                w
            });
            Ok(import(store, &previous, state, now_ms, timing, warning))
        }
        Ok(None) => match newest_err {
            None => Ok(LoadReport::default()),
            Some(e) => Err(SnapshotError::Unreadable {
                files: path.display().to_string(),
                details: e.to_string(),
            }),
        },
        Err(prev_err) => {
            let details = match newest_err {
                Some(e) => format!("{e}; {prev_err}"),
                None => format!("{} is missing; {prev_err}", path.display()),
            };
            Err(SnapshotError::Unreadable {
                files: format!("{} and {}", path.display(), previous.display()),
                details,
            })
        }
    }
}

type State = (Vec<TrackedRecord>, Vec<RevokedRecord>);

fn import(
    store: &Store,
    source: &Path,
    state: State,
    now_ms: UnixMs,
    timing: &Timing,
    warning: Option<String>,
) -> LoadReport {
    let (tracked, revoked) = state;
    store.import(&tracked, &revoked, now_ms, timing);
    LoadReport {
        source: Some(source.to_path_buf()),
        tracked: tracked.len(),
        revoked: revoked.len(),
        fallback_warning: warning,
    }
}

/// The decoded file, None when it does not exist.
fn read_file(path: &Path) -> Result<Option<State>, SnapshotError> {
    match fs::read(path) {
        Ok(bytes) => decode(&bytes)
            .map(Some)
            .map_err(|reason| SnapshotError::Corrupt {
                path: path.to_path_buf(),
                reason,
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn encode(tracked: &[TrackedRecord], revoked: &[RevokedRecord]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        HEADER_LEN + tracked.len() * TRACKED_LEN + revoked.len() * REVOKED_LEN + CHECKSUM_LEN,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(tracked.len() as u64).to_le_bytes());
    out.extend_from_slice(&(revoked.len() as u64).to_le_bytes());
    for r in tracked {
        out.extend_from_slice(&r.key.0);
        out.extend_from_slice(&r.last_activity_ms.to_le_bytes());
        out.extend_from_slice(&r.first_seen_ms.to_le_bytes());
        out.extend_from_slice(&r.jwt_exp_ms.unwrap_or(0).to_le_bytes());
    }
    for r in revoked {
        out.extend_from_slice(&r.key.0);
        out.push(reason_code(r.reason));
        out.extend_from_slice(&r.until_ms.to_le_bytes());
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> Result<State, String> {
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return Err("truncated".into());
    }
    if &bytes[..8] != MAGIC {
        return Err("not an idlegate snapshot (bad magic)".into());
    }
    let mut r = Reader { bytes, pos: 8 };
    let version = u32::from_le_bytes(r.array());
    if version != VERSION {
        return Err(format!("unsupported version {version}"));
    }
    let (n_tracked, n_revoked) = (r.u64(), r.u64());
    let expected = body_len(n_tracked, n_revoked).ok_or("record counts out of range")?;
    if bytes.len() != expected {
        return Err(format!(
            "truncated or oversized: {} bytes, expected {expected}",
            bytes.len()
        ));
    }
    let (body, checksum) = bytes.split_at(expected - CHECKSUM_LEN);
    if blake3::hash(body).as_bytes() != checksum {
        return Err("checksum mismatch".into());
    }
    let tracked = (0..n_tracked).map(|_| r.tracked()).collect();
    let revoked = (0..n_revoked)
        .map(|_| r.revoked())
        .collect::<Result<_, _>>()?;
    Ok((tracked, revoked))
}

fn body_len(n_tracked: u64, n_revoked: u64) -> Option<usize> {
    let t = usize::try_from(n_tracked).ok()?.checked_mul(TRACKED_LEN)?;
    let r = usize::try_from(n_revoked).ok()?.checked_mul(REVOKED_LEN)?;
    HEADER_LEN
        .checked_add(t)?
        .checked_add(r)?
        .checked_add(CHECKSUM_LEN)
}

/// Reads fixed-size fields; callers have checked the length first.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.bytes[self.pos..self.pos + N]);
        self.pos += N;
        a
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    fn tracked(&mut self) -> TrackedRecord {
        TrackedRecord {
            key: TokenKey(self.array()),
            last_activity_ms: self.u64(),
            first_seen_ms: self.u64(),
            jwt_exp_ms: Some(self.u64()).filter(|&e| e != 0),
            subject: None,
            policy: 0,
            sig: 0,
        }
    }

    fn revoked(&mut self) -> Result<RevokedRecord, String> {
        let key = TokenKey(self.array());
        let [code] = self.array();
        let reason = reason_of(code).ok_or_else(|| format!("unknown revocation reason {code}"))?;
        Ok(RevokedRecord {
            key,
            reason,
            until_ms: self.u64(),
            subject: None,
        })
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;

/// The file format's decoder and encoder, for the fuzz targets and their corpus test.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<State, String> {
    decode(bytes)
}

pub(crate) fn encode_records(tracked: &[TrackedRecord], revoked: &[RevokedRecord]) -> Vec<u8> {
    encode(tracked, revoked)
}
