//! Journal format, torn tails, damage, folding into snapshots, group commit and the bound.

use std::io::Write;
use std::time::Duration;

use super::format::*;
use super::*;
use crate::clock::UnixMs;
use crate::store::snapshot::{load_snapshot, previous_path, write_snapshot};
use crate::store::{RevokeReason, Status, Store, Timing};
use crate::token::TokenKey;

const T0: UnixMs = 1_700_000_000_000;
const DAY: u64 = 86_400_000;

fn timing() -> Timing {
    Timing::simple(60_000, None, true, DAY)
}

fn key(n: u8) -> TokenKey {
    TokenKey([n; 16])
}

fn record(n: u8) -> JournalRecord {
    JournalRecord {
        key: key(n),
        reason: RevokeReason::Admin,
        at_ms: T0 + u64::from(n),
        until_ms: T0 + DAY,
    }
}

/// What a fresh open of the file replays.
fn reopen(path: &Path) -> Result<Vec<JournalRecord>, JournalError> {
    Journal::open(path).map(|(_, records)| records)
}

async fn journal_with(path: &Path, n: u8) -> Journal {
    let (journal, _) = Journal::open(path).unwrap();
    for i in 1..=n {
        journal.append(record(i)).await.unwrap();
    }
    journal
}

#[tokio::test]
async fn appended_records_are_replayed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("s.journal");
    drop(journal_with(&path, 3).await);
    assert_eq!(
        reopen(&path).unwrap(),
        vec![record(1), record(2), record(3)]
    );
    let len = fs::metadata(&path).unwrap().len() as usize;
    assert_eq!(len, HEADER_LEN + 3 * RECORD_LEN);
}

#[tokio::test]
async fn torn_tail_is_ignored_and_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.journal");
    drop(journal_with(&path, 2).await);
    let good_len = fs::metadata(&path).unwrap().len();
    // An interrupted batch: one whole record with a bad checksum, then half a record.
    let mut torn = encode(&record(3)).to_vec();
    torn[40] ^= 0xff;
    torn.extend_from_slice(&encode(&record(4))[..20]);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&torn).unwrap();
    drop(f);

    let (journal, records) = Journal::open(&path).unwrap();
    assert_eq!(records, vec![record(1), record(2)]);
    assert_eq!(fs::metadata(&path).unwrap().len(), good_len, "cut off");
    // Appends go after the good records: the next start reads them all.
    journal.append(record(5)).await.unwrap();
    drop(journal);
    assert_eq!(
        reopen(&path).unwrap(),
        vec![record(1), record(2), record(5)]
    );
}

#[tokio::test]
async fn damaged_record_before_a_good_one_refuses_the_open_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idlegate.state.journal");
    drop(journal_with(&path, 3).await);
    let mut bytes = fs::read(&path).unwrap();
    bytes[HEADER_LEN + RECORD_LEN + 3] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let err = reopen(&path).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("idlegate.state.journal"), "{text}");
    assert!(text.contains("record 2") && text.contains("move"), "{text}");
    assert_eq!(fs::read(&path).unwrap(), bytes, "left as it was");
}

#[test]
fn foreign_file_refuses_the_open_and_a_short_one_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.journal");
    fs::write(&path, b"this is not a journal at all").unwrap();
    assert!(reopen(&path).unwrap_err().to_string().contains("bad magic"));
    // Shorter than the header: its creation was interrupted, nothing was acknowledged.
    fs::write(&path, b"IDLG").unwrap();
    assert_eq!(reopen(&path).unwrap(), vec![]);
    assert_eq!(fs::metadata(&path).unwrap().len() as usize, HEADER_LEN);
}

#[tokio::test]
async fn checksum_valid_record_with_an_unknown_reason_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.journal");
    drop(journal_with(&path, 1).await);
    let mut rec = encode(&record(2));
    rec[16] = 9;
    let sum = blake3::hash(&rec[..BODY_LEN]);
    rec[BODY_LEN..].copy_from_slice(&sum.as_bytes()[..SUM_LEN]);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&rec).unwrap();
    drop(f);
    let text = reopen(&path).unwrap_err().to_string();
    assert!(text.contains("unknown revocation reason 9"), "{text}");
}

/// A revocation enforced in the store and journalled, as the DELETE handler does.
async fn revoke(store: &Store, journal: &Journal, n: u8) {
    store.revoke(&key(n), RevokeReason::Admin, T0, &timing());
    journal.append(record(n)).await.unwrap();
}

/// A snapshot cycle as `persist::write` runs it (mark, export and write, fold), with
/// revocation `during` made after the export and before the fold: the snapshot misses it.
async fn snapshot_cycle(path: &Path, store: &Store, journal: &Journal, during: Option<u8>) {
    let mark = journal.mark();
    write_snapshot(path, store).unwrap();
    if let Some(n) = during {
        revoke(store, journal, n).await;
    }
    journal.snapshot_written(mark).await;
}

fn revoked_after_load(snapshot: &Path, journal: &Path, n: u8) -> bool {
    let store = Store::new(100, 1000, T0);
    load_snapshot(snapshot, &store, T0, &timing()).unwrap();
    let records = reopen(journal).unwrap();
    crate::store::persist::replay(&store, &records, T0);
    matches!(store.status(&key(n), T0, &timing()), Status::Revoked { .. })
}

#[tokio::test]
async fn snapshots_fold_the_journal_without_losing_a_revocation_made_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s");
    let jpath = journal_path(&snap);
    let store = Store::new(100, 1000, T0);
    let (journal, _) = Journal::open(&jpath).unwrap();
    revoke(&store, &journal, 1).await;
    // Revocation 2 is journalled while the snapshot is written: it is not in it.
    snapshot_cycle(&snap, &store, &journal, Some(2)).await;
    assert_eq!(reopen(&jpath).unwrap(), vec![record(1), record(2)]);
    snapshot_cycle(&snap, &store, &journal, Some(3)).await;
    // Record 1 is in both snapshot generations now; 2 and 3 came after the first mark.
    assert_eq!(reopen(&jpath).unwrap(), vec![record(2), record(3)]);
    for n in 1..=3 {
        assert!(
            revoked_after_load(&snap, &jpath, n),
            "newest + journal: {n}"
        );
        let previous = previous_path(&snap);
        assert!(
            revoked_after_load(&previous, &jpath, n),
            ".1 + journal: {n}"
        );
    }
    snapshot_cycle(&snap, &store, &journal, None).await;
    assert_eq!(reopen(&jpath).unwrap(), vec![record(3)]);
    snapshot_cycle(&snap, &store, &journal, None).await;
    assert_eq!(reopen(&jpath).unwrap(), vec![], "folded away");
    assert_eq!(fs::metadata(&jpath).unwrap().len() as usize, HEADER_LEN);
    // Appends after a fold go to the new file.
    revoke(&store, &journal, 4).await;
    assert_eq!(reopen(&jpath).unwrap(), vec![record(4)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_waiting_together_share_one_fsync() {
    const N: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.journal");
    let (journal, _) = Journal::open(&path).unwrap();
    let journal = Arc::new(journal);
    let held = journal.gate.lock();
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let journal = journal.clone();
            let mut r = record(1);
            r.key.0[..8].copy_from_slice(&(i as u64).to_le_bytes());
            tokio::spawn(async move { journal.append(r).await })
        })
        .collect();
    // Bounded wait until every append is queued (the writer holds at most one, at the gate).
    let queued = |j: &Journal| j.tx.max_capacity() - j.tx.capacity();
    for _ in 0..500 {
        if queued(&journal) >= N - 1 {
            break;
        }
        // A plain sleep: the spawned appends run on the runtime's workers meanwhile.
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(queued(&journal) >= N - 1, "appends queued");
    drop(held);
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(journal.batches_written(), 1, "one write and one fsync");
    drop(journal);
    assert_eq!(reopen(&path).unwrap().len(), N);
}

#[tokio::test]
async fn a_full_journal_refuses_appends_until_snapshots_fold_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.journal");
    let (journal, _) = Journal::open_with_limit(&path, 2).unwrap();
    journal.append(record(1)).await.unwrap();
    journal.append(record(2)).await.unwrap();
    let err = journal.append(record(3)).await.unwrap_err();
    assert!(matches!(err, JournalError::Full { .. }), "{err}");
    for _ in 0..2 {
        let mark = journal.mark();
        journal.snapshot_written(mark).await;
    }
    journal.append(record(3)).await.unwrap();
    drop(journal);
    assert_eq!(reopen(&path).unwrap(), vec![record(3)]);
}
