//! The journal's writer thread: the only code that writes the file. It takes every append
//! already waiting (group commit), writes them at the end of the known-good content with one
//! fsync and answers each; folds rewrite the file without the records two snapshots hold.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::format::{encode, sync_dir, write_fresh, JournalError, JournalRecord, RECORD_LEN};

/// Appends written with one fsync, at most.
pub(super) const MAX_BATCH: usize = 4096;

pub(super) enum Command {
    Append(JournalRecord, oneshot::Sender<Result<(), JournalError>>),
    /// A snapshot taken after this sequence number is in place.
    Fold(u64, oneshot::Sender<()>),
}

pub(super) struct Writer {
    path: PathBuf,
    file: File,
    /// End of the known-good content; appends are written here, over anything a failed
    /// append left behind.
    len: usize,
    /// What the file holds, with sequence numbers.
    records: Vec<(u64, JournalRecord)>,
    /// The mark of the last snapshot in place: records below it are dropped at the next fold.
    prev_mark: u64,
    /// An append failed and the file may hold part of it past `len`: rewrite before appending.
    dirty: bool,
    max_records: usize,
    taken: Arc<AtomicU64>,
    batches: Arc<AtomicU64>,
    #[cfg(test)]
    gate: Option<Arc<parking_lot::Mutex<()>>>,
}

impl Writer {
    pub(super) fn new(
        path: &Path,
        file: File,
        records: &[JournalRecord],
        max_records: usize,
        taken: Arc<AtomicU64>,
        batches: Arc<AtomicU64>,
    ) -> Writer {
        Writer {
            path: path.to_path_buf(),
            file,
            len: super::format::HEADER_LEN + records.len() * RECORD_LEN,
            records: (0u64..).zip(records.iter().copied()).collect(),
            prev_mark: 0,
            dirty: false,
            max_records,
            taken,
            batches,
            #[cfg(test)]
            gate: None,
        }
    }

    /// Tests hold the gate to let appends pile up before the writer takes them.
    #[cfg(test)]
    pub(super) fn with_gate(mut self, gate: Arc<parking_lot::Mutex<()>>) -> Writer {
        self.gate = Some(gate);
        self
    }

    /// Serves commands until every handle is dropped.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(command) = rx.blocking_recv() {
            #[cfg(test)]
            let gate = self.gate.clone();
            #[cfg(test)]
            let _held = gate.as_ref().map(|g| g.lock());
            let mut next = Some(command);
            while let Some(command) = next.take() {
                next = match command {
                    Command::Append(record, reply) => self.append_waiting(record, reply, &mut rx),
                    Command::Fold(mark, reply) => {
                        self.fold(mark);
                        let _ = reply.send(());
                        None
                    }
                };
            }
        }
    }

    /// Writes `first` and every append already queued behind it (up to [`MAX_BATCH`]) with
    /// one fsync, and answers each. Returns a fold met while draining, to run next.
    fn append_waiting(
        &mut self,
        first: JournalRecord,
        reply: oneshot::Sender<Result<(), JournalError>>,
        rx: &mut mpsc::Receiver<Command>,
    ) -> Option<Command> {
        let mut batch = vec![first];
        let mut replies = vec![reply];
        let mut other = None;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Command::Append(record, reply)) => {
                    batch.push(record);
                    replies.push(reply);
                }
                Ok(command) => {
                    other = Some(command);
                    break;
                }
                Err(_) => break,
            }
        }
        // Numbered after they were taken: a mark read before this never covers them.
        let first_seq = self.taken.fetch_add(batch.len() as u64, Ordering::AcqRel);
        let result = self.write_batch(first_seq, &batch);
        for reply in replies {
            let _ = reply.send(result.clone());
        }
        other
    }

    fn write_batch(&mut self, first_seq: u64, batch: &[JournalRecord]) -> Result<(), JournalError> {
        if self.records.len() + batch.len() > self.max_records {
            tracing::error!(
                file = %self.path.display(),
                "revocation journal full: snapshots are not folding it (are they failing?)"
            );
            return Err(JournalError::Full {
                path: self.path.clone(),
            });
        }
        let numbered = (first_seq..).zip(batch.iter().copied());
        if !self.dirty {
            let bytes: Vec<u8> = batch.iter().flat_map(encode).collect();
            let written = self
                .file
                .write_all_at(&bytes, self.len as u64)
                .and_then(|()| self.file.sync_data());
            match written {
                Ok(()) => {
                    self.len += bytes.len();
                    self.records.extend(numbered);
                    self.batches.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(file = %self.path.display(), error = %e, "revocation journal append failed; rewriting the file");
                    self.dirty = true;
                }
            }
        }
        // Part of the batch may sit past `len`: a fresh file with the batch in it replaces
        // the one the failed write left, and makes the batch durable after all.
        let mut all = self.records.clone();
        all.extend(numbered);
        self.rewrite(all).map_err(|e| {
            tracing::error!(file = %self.path.display(), error = %e, "revocation journal write failed");
            JournalError::io(&self.path, &e)
        })?;
        self.batches.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A snapshot taken after `mark` is in place; the one before it (now `<snapshot>.1`) holds
    /// every record below the previous mark, which are dropped.
    fn fold(&mut self, mark: u64) {
        let keep_from = std::mem::replace(&mut self.prev_mark, mark);
        let drop = self.records.partition_point(|(seq, _)| *seq < keep_from);
        if drop == 0 && !self.dirty {
            return;
        }
        let kept = self.records[drop..].to_vec();
        match self.rewrite(kept) {
            Ok(()) => {
                tracing::debug!(dropped = drop, file = %self.path.display(), "revocation journal folded")
            }
            Err(e) => {
                tracing::error!(file = %self.path.display(), error = %e, "revocation journal fold failed (it keeps the records)")
            }
        }
    }

    /// Replaces the file with one holding exactly `records`. Once the rename is done the new
    /// file is the journal, even when making the rename durable fails (then `dirty` asks for
    /// another rewrite before the next append).
    fn rewrite(&mut self, records: Vec<(u64, JournalRecord)>) -> std::io::Result<()> {
        let plain: Vec<JournalRecord> = records.iter().map(|(_, r)| *r).collect();
        let (file, len) = write_fresh(&self.path, &plain)?;
        self.file = file;
        self.len = len;
        self.records = records;
        self.dirty = true;
        sync_dir(&self.path)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::journal::{Journal, JournalRecord};
    use crate::store::RevokeReason;
    use crate::token::TokenKey;

    fn record(n: u8) -> JournalRecord {
        JournalRecord {
            key: TokenKey([n; 16]),
            reason: RevokeReason::Admin,
            at_ms: 1,
            until_ms: u64::MAX,
        }
    }

    #[test]
    fn a_failed_append_rewrites_the_file_with_the_batch_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.journal");
        drop(Journal::open(&path).unwrap());
        // A handle that cannot write: the append fails as on a failing disk.
        let read_only = File::open(&path).unwrap();
        let counters = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let mut w = Writer::new(&path, read_only, &[], 10, counters.0, counters.1);
        w.write_batch(0, &[record(1), record(2)]).unwrap();
        assert!(!w.dirty);
        w.write_batch(2, &[record(3)]).unwrap();
        let (_, records) = Journal::open(&path).unwrap();
        assert_eq!(records, vec![record(1), record(2), record(3)]);
    }
}
