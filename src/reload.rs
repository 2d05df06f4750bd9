//! Live reload of the config file (docs/reference.md, "Reload and Save"): on SIGHUP and on a change of the file.
//!
//! The watch covers the config's folder, not the file, so that both in-place writes and
//! rename-over writes (editors, idlegate's own Save) are seen; events are debounced (200 ms).
//! The new file is validated aside and swapped in only when valid; otherwise the running
//! config stays and the errors are logged and counted. Requests in flight keep the policy
//! they started with (the swap replaces an `Arc`, it never mutates a policy in use).
//!
//! Validating, applying and remembering the file's text is [`config_change`]'s, the one path
//! of every config change: a file event for the text idlegate last read or wrote (its own
//! Save, or a repeated event for one write) changes nothing and is not counted. SIGHUP always
//! reloads.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::app::App;
use crate::config::Diagnostic;
use crate::config_change::{self, ChangeSource, Rejected};

pub use crate::config_change::Trigger;

/// Quiet time after the last file event before reloading: an editor's save is often several
/// events (truncate, write, rename).
pub const DEBOUNCE: Duration = Duration::from_millis(200);

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Swapped in; these changed keys need a restart to take effect.
    Applied { restart: Vec<&'static str> },
    /// Invalid (or unreadable): the old config keeps running.
    Rejected(Vec<Diagnostic>),
    /// A file event for text already read or written (idlegate's own Save): nothing to do.
    Unchanged,
}

/// Reads, validates and (when valid) applies the config file, through the one path of every
/// config change ([`config_change::change`]). Counted in `idlegate_config_reloads_total`
/// unless `Unchanged`.
pub fn reload(app: &App, path: &Path, trigger: Trigger) -> Outcome {
    match config_change::change(app, ChangeSource::File { path, trigger }) {
        Ok(applied) if !applied.changed => Outcome::Unchanged,
        Ok(applied) => Outcome::Applied {
            restart: applied.restart,
        },
        Err(Rejected::Config(diagnostics)) => Outcome::Rejected(diagnostics),
        // A file change has no settings request to refuse.
        Err(Rejected::Settings(_)) => Outcome::Rejected(Vec::new()),
    }
}

/// The reload machinery of a running gateway: the folder watch and the SIGHUP stream, set up
/// by [`Reloader::start`] before the gateway reports ready, driven by [`Reloader::run`].
pub struct Reloader {
    app: Arc<App>,
    path: PathBuf,
    events: mpsc::Receiver<()>,
    /// Dropping it stops the watch.
    _watcher: Option<RecommendedWatcher>,
    hangups: Hangups,
}

impl Reloader {
    /// Starts watching now (needs a tokio runtime for the signal stream).
    pub fn start(app: Arc<App>, path: PathBuf) -> Reloader {
        config_change::remember_file(&app, &path);
        let (tx, events) = mpsc::channel::<()>(1);
        Reloader {
            _watcher: watch_folder(&path, tx),
            hangups: hangup_signals(),
            app,
            path,
            events,
        }
    }

    /// Reloads on SIGHUP and on changes of the file until `shutdown`; the watch stops then.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let trigger = tokio::select! {
                _ = &mut shutdown => return,
                Some(()) = self.events.recv() => Trigger::FileChange,
                true = next_hangup(&mut self.hangups) => Trigger::Signal,
            };
            if trigger == Trigger::FileChange {
                // Debounce: wait until the folder has been quiet for DEBOUNCE.
                loop {
                    tokio::select! {
                        _ = &mut shutdown => return,
                        Some(()) = self.events.recv() => continue,
                        _ = tokio::time::sleep(DEBOUNCE) => break,
                    }
                }
            } else {
                tracing::info!("SIGHUP: reloading the config");
            }
            let (app, path) = (self.app.clone(), self.path.clone());
            let _ = tokio::task::spawn_blocking(move || reload(&app, &path, trigger)).await;
        }
    }
}

/// Watches the config's folder; events that name the config file (or `..data`, the link a
/// Kubernetes ConfigMap volume swaps) are passed on. None (logged) when watching fails:
/// SIGHUP still reloads.
fn watch_folder(path: &Path, tx: mpsc::Sender<()>) -> Option<RecommendedWatcher> {
    let name = path.file_name()?.to_os_string();
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        let relevant_kind = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any
        );
        let names_file = event.paths.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| n == name.as_os_str() || n == "..data")
        });
        if relevant_kind && names_file {
            // A full channel already holds a pending change: coalesced.
            let _ = tx.try_send(());
        }
    };
    let started = notify::recommended_watcher(handler)
        .and_then(|mut w| w.watch(&folder, RecursiveMode::NonRecursive).map(|()| w));
    match started {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(
                folder = %folder.display(),
                error = %e,
                "cannot watch the config folder; reload with SIGHUP"
            );
            None
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

#[cfg(unix)]
fn hangup_signals() -> Hangups {
    use tokio::signal::unix::{signal, SignalKind};
    signal(SignalKind::hangup())
        .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP"))
        .ok()
}

#[cfg(not(unix))]
fn hangup_signals() -> Hangups {
    None
}

/// Resolves `true` on the next SIGHUP; never resolves when signals are unavailable.
async fn next_hangup(hangups: &mut Hangups) -> bool {
    #[cfg(unix)]
    if let Some(s) = hangups {
        return s.recv().await.is_some();
    }
    let _ = hangups;
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config;
    use crate::token::Keyer;

    const GOOD: &str = "[proxy]\nupstream = \"http://127.0.0.1:9\"\nlisten = \"127.0.0.1:18080\"\n";

    fn app_from(path: &Path) -> Arc<App> {
        let loaded = config::load(path).unwrap();
        App::new(loaded.config, Keyer::from_secret(b"k"), Clock::new())
    }

    #[test]
    fn invalid_file_is_rejected_and_the_old_config_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, GOOD).unwrap();
        let app = app_from(&path);
        std::fs::write(&path, format!("{GOOD}[timeout]\nidle = \"soon\"\n")).unwrap();
        assert!(matches!(
            reload(&app, &path, Trigger::Signal),
            Outcome::Rejected(_)
        ));
        assert_eq!(app.config().timeout.idle, Duration::from_secs(1800));
    }

    #[test]
    fn listen_change_is_applied_with_a_restart_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, GOOD).unwrap();
        let app = app_from(&path);
        let changed = GOOD.replace("18080", "18081") + "[timeout]\nidle = \"10m\"\n";
        std::fs::write(&path, changed).unwrap();
        assert_eq!(
            reload(&app, &path, Trigger::FileChange),
            Outcome::Applied {
                restart: vec!["proxy.listen"]
            }
        );
        assert_eq!(app.config().timeout.idle, Duration::from_secs(600));
    }

    // Before: these two were read only at start, yet a reload changing them warned of nothing.
    #[test]
    fn state_intervals_read_at_start_are_named_as_needing_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, GOOD).unwrap();
        let app = app_from(&path);
        for extra in ["snapshot_interval = \"9s\"\n", "sync_interval = \"3s\"\n"] {
            std::fs::write(&path, format!("{GOOD}[state]\n{extra}")).unwrap();
            assert_eq!(
                reload(&app, &path, Trigger::Signal),
                Outcome::Applied {
                    restart: vec!["state"]
                },
                "{extra}"
            );
            std::fs::write(&path, GOOD).unwrap();
            reload(&app, &path, Trigger::Signal);
        }
    }

    #[test]
    fn file_event_for_known_text_is_skipped_but_sighup_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, GOOD).unwrap();
        let app = app_from(&path);
        config_change::remember_file(&app, &path);
        assert_eq!(reload(&app, &path, Trigger::FileChange), Outcome::Unchanged);
        assert_eq!(
            reload(&app, &path, Trigger::Signal),
            Outcome::Applied { restart: vec![] }
        );
    }
}
