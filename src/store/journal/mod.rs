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

mod format;
mod writer;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use format::{create, parse, with_suffix, HEADER_LEN};
pub use format::{JournalError, JournalRecord, MAX_RECORDS, RECORD_LEN};
use writer::{Command, Writer};

/// Appends and folds waiting for the writer, at most; senders wait beyond.
const QUEUE: usize = 8192;

/// The position in the journal before a snapshot's export: every record below it was in
/// the store before the export began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(u64);

/// `<snapshot>.journal`.
pub fn journal_path(snapshot: &Path) -> PathBuf {
    with_suffix(snapshot, ".journal")
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
    crate::files::create_parent_dir(path).map_err(io_err)?;
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

#[cfg(test)]
mod tests;
