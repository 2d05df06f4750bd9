//! The trial list's listings across a restart (docs/reference.md, "Trial list"): beside the
//! snapshot, `<snapshot>.trial` holds the trial list they belong to, when it started and its
//! would-be revocations (token ids, never tokens). Written with the snapshot's interval when
//! something changed, and on the way out; read at start. A file of another trial list (the
//! config changed while down) is not used, and that trial starts over.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::trial::Listed;
use super::App;
use crate::config::Config;
use crate::pace::every;

/// The largest trial file read (1,000 listings of a few hundred bytes each fit many times).
const MAX_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct TrialFile {
    defaults: Vec<String>,
    custom: Vec<String>,
    since_ms: u64,
    listed: Vec<Listed>,
}

/// `<snapshot>.trial`.
pub(crate) fn path_beside(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".trial");
    PathBuf::from(name)
}

fn lists_of(config: &Config) -> (Vec<String>, Vec<String>) {
    let ex = &config.exclusions;
    let custom = ex
        .trial_custom
        .iter()
        .map(|p| p.text().to_string())
        .collect();
    (ex.trial_defaults.clone(), custom)
}

impl App {
    /// At start, after the snapshot: the listings of the same trial list come back; with
    /// another list (or none kept) a trial starts over, its timers from each token's last
    /// activity.
    pub(crate) fn load_trial_file(&self, path: &Path) {
        let config = self.config();
        if !config.exclusions.has_trial() {
            return;
        }
        let file = match crate::files::read_text(path, MAX_BYTES) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            read => match read
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<TrialFile>(&t).map_err(|e| e.to_string()))
            {
                Ok(file) => Some(file),
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "trial file unreadable: the trial starts over");
                    None
                }
            },
        };
        let (defaults, custom) = lists_of(&config);
        match file.filter(|f| f.defaults == defaults && f.custom == custom) {
            Some(f) => self.trial.restore(f.since_ms, f.listed),
            None => {
                let now_ms = self.clock.now_ms();
                self.state().set_trial(true, now_ms);
                self.trial.restart(Some(now_ms));
            }
        }
    }

    /// Writes the trial file when the listings changed since the last write (none without a
    /// trial: a file left from an earlier one is removed).
    pub(crate) fn save_trial_file(&self, path: &Path) {
        let Some((since_ms, listed)) = self.trial.take_changes() else {
            return;
        };
        let config = self.config();
        let result = match since_ms {
            None => std::fs::remove_file(path).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            }),
            Some(since_ms) => {
                let (defaults, custom) = lists_of(&config);
                let file = TrialFile {
                    defaults,
                    custom,
                    since_ms,
                    listed,
                };
                let bytes = serde_json::to_vec(&file).unwrap_or_default();
                crate::config::save::write_atomically(path, &bytes)
            }
        };
        if let Err(e) = result {
            tracing::error!(file = %path.display(), error = %e, "trial file not written");
            self.trial.mark_changed();
        }
    }
}

/// Saves the trial file every `interval` when it changed, and once more when `shutdown`
/// resolves.
pub(crate) async fn run(
    app: Arc<App>,
    path: PathBuf,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    every(interval, shutdown, || save_off_thread(&app, &path)).await;
}

async fn save_off_thread(app: &Arc<App>, path: &Path) {
    let (app, path) = (app.clone(), path.to_path_buf());
    let _ = tokio::task::spawn_blocking(move || app.save_trial_file(&path)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::trial::KeptAliveBy;

    #[test]
    fn an_unreadable_trial_file_starts_the_trial_over_without_failing() {
        let mut config = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
        config.exclusions.trial_custom = vec![crate::classify::Pattern::parse("GET /p").unwrap()];
        let clock = crate::clock::Clock::paused_at(1_000_000);
        let app = App::new(
            config,
            crate::token::Keyer::from_secret(b"k"),
            clock.clone(),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.trial");
        for bytes in [&b"\xff\xfe not json"[..], b"{\"defaults\": 3}", b""] {
            std::fs::write(&path, bytes).unwrap();
            clock.advance(Duration::from_secs(1));
            app.load_trial_file(&path);
            assert_eq!(app.trial.since_ms(), Some(clock.now_ms()));
            assert!(app.trial.listed().is_empty());
        }
    }

    #[test]
    fn a_trial_file_round_trips_and_names_no_token() {
        let file = TrialFile {
            defaults: vec!["presence".into()],
            custom: vec!["GET /poll".into()],
            since_ms: 5,
            listed: vec![Listed {
                token_id: "ab".repeat(16),
                subject: Some("alice".into()),
                at_ms: 9,
                kept_alive_by: vec![KeptAliveBy {
                    method: "GET".into(),
                    template: "/poll".into(),
                    count: 3,
                }],
            }],
        };
        let text = serde_json::to_string(&file).unwrap();
        assert_eq!(serde_json::from_str::<TrialFile>(&text).unwrap(), file);
        assert_eq!(
            path_beside(Path::new("/s/idlegate.state")),
            Path::new("/s/idlegate.state.trial")
        );
    }
}
