//! Writes the snapshot (docs/reference.md, "State and durability") without copying the
//! store: the records are encoded a bounded step at a time and streamed through fixed-size
//! buffers, so the memory a write needs stays the same at 10 thousand tokens and at 10
//! million (a copy of a large table used to add as much again to the process, and kept it:
//! the allocator cannot hand memory back between snapshots a few seconds apart).
//!
//! The bytes are `snapshot_format`'s version 3, the very bytes `encode` gives for the same
//! records. That format puts the record counts and the subjects table before the records,
//! and neither is known before every record has been seen; the table is variable-length,
//! so no placeholder can be reserved for it. The records therefore go to a spill file
//! first (unlinked, so it is never left behind); then the head, the tables and the spilled
//! records are written to the output in file order, hashed as they pass.

use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::memory::Store;
use super::snapshot_format::{
    put_head, put_revoked, put_subject, put_tracked, written_names, V2_REVOKED_LEN, V3_TRACKED_LEN,
};
use super::table::{Shard, SlotState};
use super::types::{TrackedRecord, MAX_SUBJECT_LEN};
use crate::token::TokenKey;

/// Capacity of each buffered reader and writer.
pub(super) const IO_BUF: usize = 64 * 1024;
/// Records encoded per shard lock: bounds both the lock's hold and the chunk buffer.
pub(super) const CHUNK_RECORDS: usize = 1024;
const CHUNK_BYTES: usize = CHUNK_RECORDS * V3_TRACKED_LEN;
const _: () = assert!(CHUNK_BYTES <= IO_BUF);

/// What was written: tracked and revoked records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Written {
    pub(super) tracked: u64,
    pub(super) revoked: u64,
}

/// Writes `store`'s snapshot to `out` (not flushed to disk: the caller syncs), using
/// `spill` (empty, readable and seekable) for the records. Only the export of a chunk holds
/// a store lock; no lock is held while `out` is written.
pub(super) fn write_to<S, W>(store: &Store, spill: S, out: W) -> io::Result<Written>
where
    S: Read + Write + Seek,
    W: Write,
{
    // The names and the ids they stand for must agree: a config applied meanwhile waits
    // until every record is encoded (docs/reference.md, "Identity").
    let names_guard = store.policy_names.lock();
    let policies = Arc::clone(&names_guard);
    let names = written_names(&policies);
    let mut records = Records::new(spill, names.len());
    records.tracked(store)?;
    records.revoked(store)?;
    drop(names_guard);
    let Records {
        out: spill,
        subjects,
        written,
        mut chunk,
        ..
    } = records;
    let mut spill = spill.into_inner().map_err(|e| e.into_error())?;
    spill.seek(SeekFrom::Start(0))?;

    let mut out = Hashing::new(BufWriter::with_capacity(IO_BUF, out));
    chunk.clear();
    let counts = (written.tracked, written.revoked);
    put_head(&mut chunk, counts, subjects.list.len() as u32, &names);
    out.write_all(&chunk)?;
    for subject in &subjects.list {
        chunk.clear();
        put_subject(&mut chunk, subject);
        out.write_all(&chunk)?;
    }
    copy_through(&mut spill, &mut out, &mut chunk)?;
    let (mut out, checksum) = out.finish();
    out.write_all(checksum.as_bytes())?;
    out.flush()?;
    Ok(written)
}

/// Copies `from` to `to` through `buf`, [`IO_BUF`] bytes at a time.
fn copy_through(from: &mut impl Read, to: &mut impl Write, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    buf.resize(IO_BUF, 0);
    loop {
        match from.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The records section, encoded a chunk at a time and buffered to the spill file.
struct Records<S: Write> {
    out: BufWriter<S>,
    /// Reused for every chunk and for the copy: [`IO_BUF`] bytes, never more.
    chunk: Vec<u8>,
    subjects: SubjectIds,
    n_names: usize,
    written: Written,
}

impl<S: Write> Records<S> {
    fn new(spill: S, n_names: usize) -> Self {
        Records {
            out: BufWriter::with_capacity(IO_BUF, spill),
            chunk: Vec::with_capacity(IO_BUF),
            subjects: SubjectIds::default(),
            n_names,
            written: Written::default(),
        }
    }

    /// Every shard in index order, each in slot order (the order `Store::export` gives),
    /// [`CHUNK_RECORDS`] records per read lock. A token tracked the whole time keeps its
    /// slot, so it is written exactly once; one tracked or dropped meanwhile may or may not
    /// be, as with any write that runs beside the traffic.
    fn tracked(&mut self, store: &Store) -> io::Result<()> {
        for shard in store.shards.iter() {
            let mut next = Some(0);
            while let Some(from) = next {
                next = self.fill_tracked(store, &shard.read(), from);
                self.out.write_all(&self.chunk)?;
                self.chunk.clear();
            }
        }
        Ok(())
    }

    /// Encodes live slots of `store`'s `shard` from slot number `from` until the chunk is
    /// full; returns where to go on, None at the end of the shard.
    fn fill_tracked(&mut self, store: &Store, shard: &Shard, from: u32) -> Option<u32> {
        let end = u32::try_from(shard.slab_len()).unwrap_or(u32::MAX);
        for idx in from..end {
            if self.chunk.len() == CHUNK_BYTES {
                return Some(idx);
            }
            let SlotState::Live(slot) = shard.state(idx) else {
                continue;
            };
            let ident = shard.ident(idx);
            let record = TrackedRecord {
                key: TokenKey(slot.key()),
                last_activity_ms: slot.last_ms(),
                first_seen_ms: slot.first_ms(),
                jwt_exp_ms: slot.exp_ms(),
                sig: ident.sig,
                policy: ident.policy,
                subject: None,
                trial_last_ms: (shard.trial(idx))
                    .and_then(|w| store.trial_record(w.load(Ordering::Relaxed))),
            };
            let subject = self.subjects.id(store.subjects.name(ident.subject));
            put_tracked(&mut self.chunk, &record, subject, self.n_names);
            self.written.tracked += 1;
        }
        None
    }

    /// The revoked set in its iteration order. Its locks cannot be let go midway, so a full
    /// chunk goes to the buffered spill under the set's read lock (an insert into that part
    /// of the set waits for one buffered write at most).
    fn revoked(&mut self, store: &Store) -> io::Result<()> {
        store.revoked.try_for_each(&store.subjects, |r| {
            let subject = self.subjects.id(r.subject.clone());
            put_revoked(&mut self.chunk, &r, subject);
            self.written.revoked += 1;
            if self.chunk.len() + V2_REVOKED_LEN > CHUNK_BYTES {
                self.out.write_all(&self.chunk)?;
                self.chunk.clear();
            }
            Ok::<(), io::Error>(())
        })?;
        self.out.write_all(&self.chunk)?;
        self.chunk.clear();
        Ok(())
    }
}

/// Subjects in order of first use, each once, as `encode` numbers them. Holds one
/// reference per distinct subject, which the store holds already.
#[derive(Default)]
struct SubjectIds {
    ids: HashMap<Arc<str>, u32>,
    list: Vec<Arc<str>>,
}

impl SubjectIds {
    fn id(&mut self, subject: Option<Arc<str>>) -> u32 {
        let Some(s) = subject.filter(|s| s.len() <= MAX_SUBJECT_LEN) else {
            return 0;
        };
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        self.list.push(Arc::clone(&s));
        let id = self.list.len() as u32;
        self.ids.insert(s, id);
        id
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: blake3::Hasher::new(),
        }
    }

    fn finish(self) -> (W, blake3::Hash) {
        let hash = self.hasher.finalize();
        (self.inner, hash)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
#[path = "snapshot_stream_tests.rs"]
mod tests;
