//! The embedded backend's persistence: load the snapshot and replay the revocation journal
//! before serving, write the snapshot every `state.snapshot_interval` and once more on
//! shutdown, and fold the journal into each snapshot written. Writes run on a blocking
//! thread: a shard's lock is held while one chunk of its records is encoded, file writes
//! and fsync happen off every lock.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Backend, Config};
use crate::pace::every;
use crate::store::journal::{self, Journal, JournalError, JournalRecord};
use crate::store::snapshot::{self, SnapshotError};
use crate::store::state::TokenState;
use crate::store::Store;

/// Why the state could not be loaded; the start is refused.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Loads the snapshot (if one is configured) into the state's store, then replays the
/// revocation journal on top and attaches it (memory backend; with Redis, Redis holds
/// revocations). An unreadable snapshot or journal refuses the start: serving without it
/// would make revoked tokens valid again.
pub(crate) fn load_at_start(state: &TokenState, config: &Config) -> Result<(), StateError> {
    let Some(path) = &config.state.snapshot else {
        return Ok(());
    };
    let (store, clock) = (&state.local.store, &state.local.clock);
    let timing = state.local.policy().timing;
    let report = snapshot::load_snapshot(path, store, clock.now_ms(), &timing)?;
    match &report.source {
        Some(source) => tracing::info!(
            file = %source.display(),
            tracked = report.tracked,
            revoked = report.revoked,
            "state loaded from snapshot"
        ),
        None => tracing::info!(file = %path.display(), "no snapshot yet: starting empty"),
    }
    if config.state.backend == Backend::Memory {
        let (journal, records) = Journal::open(&journal::journal_path(path))?;
        let replayed = replay(store, &records, clock.now_ms());
        if !records.is_empty() {
            tracing::info!(
                file = %journal.path().display(),
                records = records.len(),
                replayed,
                "revocation journal replayed"
            );
        }
        // A store gets its journal once; a second start of the same app keeps the first.
        let _ = store.attach_journal(journal);
    }
    Ok(())
}

/// Applies journalled revocations still in force (idempotent: replaying twice changes
/// nothing). Returns how many were.
pub(crate) fn replay(store: &Store, records: &[JournalRecord], now_ms: u64) -> usize {
    let mut applied = 0;
    for r in records.iter().filter(|r| r.until_ms > now_ms) {
        store.mark_revoked(&r.key, r.reason, r.until_ms, now_ms);
        applied += 1;
    }
    applied
}

/// Writes a snapshot every `interval` until `shutdown`, then a final one.
pub(crate) async fn run(
    state: TokenState,
    path: PathBuf,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    every(interval, shutdown, || write(&state, &path)).await;
}

/// One snapshot, then the journal fold. The journal's mark is taken before the export, so
/// a revocation journalled while the snapshot is written stays in the journal.
pub(crate) async fn write(state: &TokenState, path: &Path) {
    let store = &state.local.store;
    let mark = store.journal().map(Journal::mark);
    let (local, path2) = (state.local.clone(), path.to_path_buf());
    let result =
        tokio::task::spawn_blocking(move || snapshot::write_snapshot(&path2, &local.store)).await;
    match result {
        Ok(Ok(n)) => {
            tracing::debug!(records = n, file = %path.display(), "snapshot written");
            if let (Some(journal), Some(mark)) = (store.journal(), mark) {
                journal.snapshot_written(mark).await;
            }
        }
        Ok(Err(e)) => tracing::error!(error = %e, "snapshot write failed"),
        Err(e) => tracing::error!(error = %e, "snapshot task failed"),
    }
}
