//! The embedded backend's persistence: load the snapshot before serving, write it every
//! `state.snapshot_interval` and once more on shutdown. Writes run on a blocking thread: the
//! export takes each shard's lock briefly, encoding and fsync happen off every lock.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::app::App;
use crate::store::snapshot::{self, SnapshotError};

/// Loads the snapshot (if one is configured) into the app's store. An unreadable snapshot
/// refuses the start: serving without it would make revoked tokens valid again.
pub fn load_at_start(app: &App) -> Result<(), SnapshotError> {
    let config = app.config();
    let Some(path) = &config.state.snapshot else {
        return Ok(());
    };
    let live = app.live();
    let report = snapshot::load_snapshot(path, &app.store, app.clock.now_ms(), &live.timing)?;
    match &report.source {
        Some(source) => tracing::info!(
            file = %source.display(),
            tracked = report.tracked,
            revoked = report.revoked,
            "state loaded from snapshot"
        ),
        None => tracing::info!(file = %path.display(), "no snapshot yet: starting empty"),
    }
    Ok(())
}

/// Writes a snapshot every `interval` until `shutdown`, then a final one.
pub async fn run(
    app: Arc<App>,
    path: PathBuf,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => write(&app, &path).await,
            _ = &mut shutdown => break,
        }
    }
    write(&app, &path).await;
}

async fn write(app: &Arc<App>, path: &Path) {
    let (app2, path2) = (app.clone(), path.to_path_buf());
    let result =
        tokio::task::spawn_blocking(move || snapshot::write_snapshot(&path2, &app2.store)).await;
    match result {
        Ok(Ok(n)) => tracing::debug!(records = n, file = %path.display(), "snapshot written"),
        Ok(Err(e)) => tracing::error!(error = %e, "snapshot write failed"),
        Err(e) => tracing::error!(error = %e, "snapshot task failed"),
    }
}
