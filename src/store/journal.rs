//! The memory backend's revocation journal, `<snapshot>.journal`: an admin revocation is
//! appended and fsynced before the DELETE answers, so a crash between two snapshots loses no
//! acknowledged revocation. It is replayed on top of the snapshot at start and folded into
//! the snapshots that follow.
//!
//! Layout, little-endian: magic `IDLGJRNL`, u32 version, then fixed-size records: 16-byte key
//! (never a raw token), u8 reason, u64 revoked-at ms, u64 until ms, and the first 16 bytes of
//! the BLAKE3 hash of those 33 bytes.
//!
//! A crash in the middle of an append leaves bad records at the end of the file and no good
//! one after them: that append never returned, so nobody was told it was durable, and the
//! torn tail is cut off at start. A bad record with a good one after it is damage, and
//! refuses the start (like an unreadable snapshot).
//!
//! Folding keeps one snapshot generation of slack: after a snapshot is in place, the records
//! the *previous* snapshot already held are dropped, so `<snapshot>.1` plus the journal still
//! hold every revocation should the newest snapshot ever be unreadable.

mod writer;

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::snapshot::{reason_code, reason_of};
use super::RevokeReason;
use crate::clock::UnixMs;
use crate::token::TokenKey;
use writer::{Command, Writer};

const MAGIC: &[u8; 8] = b"IDLGJRNL";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4;
const BODY_LEN: usize = 16 + 1 + 8 + 8;
const SUM_LEN: usize = 16;
/// Bytes per record.
pub const RECORD_LEN: usize = BODY_LEN + SUM_LEN;
/// Records kept at most (file and memory). Past it appends fail (the revocation is still
/// enforced in memory) until snapshots fold the journal.
pub const MAX_RECORDS: usize = 1_000_000;
/// Appends and folds waiting for the writer, at most; senders wait beyond.
const QUEUE: usize = 8192;

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
    fn io(path: &Path, e: &io::Error) -> JournalError {
        JournalError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// The position in the journal before a snapshot's export: every record below it was in
/// the store before the export began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(u64);

/// `<snapshot>.journal`.
pub fn journal_path(snapshot: &Path) -> PathBuf {
    with_suffix(snapshot, ".journal")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

/// The handle: appends go to one writer thread, which writes every append already waiting
/// with one fsync (group commit). Cheap to share; the thread ends when the handle is dropped.
pub struct Journal {
    path: PathBuf,
    tx: mpsc::Sender<Command>,
    /// Records the writer has taken so far (the next sequence number).
    taken: Arc<AtomicU64>,
    batches: Arc<AtomicU64>,
    #[cfg(test)]
    gate: Arc<parking_lot::Mutex<()>>,
}

impl Journal {
    /// Opens (or creates) the journal: returns the handle and the records to replay. A torn
    /// tail is cut off; damage anywhere else is an error naming the file.
    pub fn open(path: &Path) -> Result<(Journal, Vec<JournalRecord>), JournalError> {
        Journal::open_with_limit(path, MAX_RECORDS)
    }

    pub(crate) fn open_with_limit(
        path: &Path,
        max_records: usize,
    ) -> Result<(Journal, Vec<JournalRecord>), JournalError> {
        let (file, records) = open_file(path)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let taken = Arc::new(AtomicU64::new(records.len() as u64));
        let batches = Arc::new(AtomicU64::new(0));
        let journal = Journal {
            path: path.to_path_buf(),
            tx,
            taken: taken.clone(),
            batches: batches.clone(),
            #[cfg(test)]
            gate: Arc::new(parking_lot::Mutex::new(())),
        };
        let writer = Writer::new(path, file, &records, max_records, taken, batches);
        #[cfg(test)]
        let writer = writer.with_gate(journal.gate.clone());
        std::thread::Builder::new()
            .name("idlegate-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| JournalError::io(path, &e))?;
        Ok((journal, records))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` and returns once it is fsynced (or failed). Off the async runtime: the
    /// writer thread does the I/O.
    pub async fn append(&self, record: JournalRecord) -> Result<(), JournalError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Command::Append(record, reply))
            .await
            .map_err(|_| JournalError::Stopped)?;
        done.await.map_err(|_| JournalError::Stopped)?
    }

    /// Take before a snapshot's export; hand to [`Journal::snapshot_written`] once that
    /// snapshot is durably in place.
    pub fn mark(&self) -> Mark {
        Mark(self.taken.load(Ordering::Acquire))
    }

    /// A snapshot taken after `mark` is durably in place: drops the records the previous one
    /// already held. A failure is logged; the journal then keeps more than it needs.
    pub async fn snapshot_written(&self, mark: Mark) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Command::Fold(mark.0, reply)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// How many fsynced batches were written since open (group commit makes it fewer than
    /// the appends under a burst).
    pub fn batches_written(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

/// Reads and repairs the file (creating it when missing): the open file and its records.
fn open_file(path: &Path) -> Result<(File, Vec<JournalRecord>), JournalError> {
    let io_err = |e: io::Error| JournalError::io(path, &e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err)?;
    }
    let bytes = match read_bounded(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_err(e)),
    };
    if bytes.len() < HEADER_LEN {
        // Missing, or its creation was interrupted: no record was ever acknowledged from it.
        let file = create(path).map_err(io_err)?;
        return Ok((file, Vec::new()));
    }
    let (records, valid_len) = parse(&bytes).map_err(|reason| JournalError::Corrupt {
        path: path.to_path_buf(),
        reason,
    })?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err)?;
    if valid_len < bytes.len() {
        tracing::warn!(
            file = %path.display(),
            bytes = bytes.len() - valid_len,
            "revocation journal: cut off the torn tail of an interrupted append (never acknowledged)"
        );
        file.set_len(valid_len as u64).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
    }
    Ok((file, records))
}

/// The file's bytes, refusing a file larger than any journal idlegate writes.
fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let max = HEADER_LEN + (MAX_RECORDS + writer::MAX_BATCH) * RECORD_LEN;
    let len = fs::metadata(path)?.len();
    if len > max as u64 {
        return Err(io::Error::other(format!(
            "{len} bytes, larger than any revocation journal ({max} bytes at most)"
        )));
    }
    fs::read(path)
}

/// A fresh journal holding `records`: written to `<journal>.tmp`, fsynced, renamed into
/// place. Returns the open file (now the journal) and its length; the rename is made durable
/// by the caller's [`sync_dir`].
fn write_fresh(path: &Path, records: &[JournalRecord]) -> io::Result<(File, usize)> {
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

fn create(path: &Path) -> io::Result<File> {
    let (file, _) = write_fresh(path, &[])?;
    sync_dir(path)?;
    Ok(file)
}

/// Makes a rename in `path`'s folder durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

fn encode(r: &JournalRecord) -> [u8; RECORD_LEN] {
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
fn decode(chunk: &[u8]) -> Result<Option<JournalRecord>, String> {
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
fn parse(bytes: &[u8]) -> Result<(Vec<JournalRecord>, usize), String> {
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

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
