//! The memory backend's snapshot file (docs/reference.md, "State and durability"): tracked
//! tokens (id, last activity, first seen, JWT exp, and with identity their signature hash,
//! subject and policy) and the revoked set (id, reason, until, subject), ms precision. The
//! bytes are `snapshot_format`'s. Written to a temp file, fsynced, the previous file kept as
//! `<snapshot>.1`, then renamed into place.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::identity::policy_map;
use super::memory::Store;
use super::snapshot_decode::decode;
use super::snapshot_format::encode;
use super::snapshot_stream;
use super::types::{RevokedRecord, Timing, TrackedRecord};
use crate::clock::UnixMs;

pub use super::snapshot_format::Contents;

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
/// revoked). The records are streamed (`snapshot_stream`): the write needs the same few
/// buffers whatever the table's size, and holds a store lock only while it encodes a chunk
/// (callers run it on a blocking thread).
pub fn write_snapshot(path: &Path, store: &Store) -> Result<usize, SnapshotError> {
    let io_err = |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    crate::files::create_parent_dir(path).map_err(io_err)?;
    let tmp = with_suffix(path, ".tmp");
    let tmp_err = |source| SnapshotError::Io {
        path: tmp.clone(),
        source,
    };
    let spill = spill_file(&with_suffix(path, ".spill")).map_err(io_err)?;
    let mut file = create_private(&tmp).map_err(tmp_err)?;
    let written = snapshot_stream::write_to(store, spill, &mut file).map_err(tmp_err)?;
    file.sync_all().map_err(tmp_err)?;
    drop(file);
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
    Ok((written.tracked + written.revoked) as usize)
}

/// A new empty file, owner-only (it will hold token ids).
fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// The records' scratch file, beside the snapshot and unlinked at once: it is gone when the
/// write ends or the process dies, and its pages need never reach the disk.
fn spill_file(path: &Path) -> io::Result<File> {
    let file = create_private(path)?;
    fs::remove_file(path)?;
    Ok(file)
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

/// Loads the records, each token under its policy by name: the ids of the file's policies
/// are mapped to the store's live ones (a policy gone since falls back to the default).
fn import(
    store: &Store,
    source: &Path,
    contents: Contents,
    now_ms: UnixMs,
    timing: &Timing,
    warning: Option<String>,
) -> LoadReport {
    let Contents {
        mut tracked,
        revoked,
        policies,
    } = contents;
    if let Some(map) = policy_map(&policies, &store.policy_names()) {
        for r in &mut tracked {
            r.policy = map.get(usize::from(r.policy)).copied().unwrap_or(0);
        }
    }
    store.import(&tracked, &revoked, now_ms, timing);
    LoadReport {
        source: Some(source.to_path_buf()),
        tracked: tracked.len(),
        revoked: revoked.len(),
        fallback_warning: warning,
    }
}

/// The decoded file, None when it does not exist.
fn read_file(path: &Path) -> Result<Option<Contents>, SnapshotError> {
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

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "snapshot_identity_tests.rs"]
mod identity_tests;

/// The file format's decoder and encoder, for the fuzz targets and their corpus test.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<Contents, String> {
    decode(bytes)
}

pub(crate) fn encode_records(
    tracked: &[TrackedRecord],
    revoked: &[RevokedRecord],
    policies: &[String],
) -> Vec<u8> {
    encode(tracked, revoked, policies)
}
