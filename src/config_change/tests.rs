use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::clock::Clock;
use crate::config::save::Settings;
use crate::config::{self, Severity};
use crate::token::Keyer;

const GOOD: &str = "[proxy]\nupstream = \"http://127.0.0.1:9\"\n";

fn app_on(text: &str) -> (tempfile::TempDir, std::path::PathBuf, Arc<App>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, text).unwrap();
    let loaded = config::load(&path).unwrap();
    let app = App::new(loaded.config, Keyer::from_secret(b"k"), Clock::new());
    (dir, path, app)
}

fn idle(app: &App, seconds: u64) -> SettingsChange {
    let mut settings = Settings::of(&app.config());
    settings.idle = Duration::from_secs(seconds);
    let patterns = app.config().exclusions.custom.clone();
    SettingsChange {
        settings,
        patterns,
        trial_patterns: Vec::new(),
    }
}

fn save(app: &App, change: &SettingsChange) -> Result<Applied, Rejected> {
    let read = |_: &Config| Ok(change.clone());
    change_settings(app, &read)
}

fn change_settings(
    app: &App,
    read: &dyn Fn(&Config) -> Result<SettingsChange, Rejected>,
) -> Result<Applied, Rejected> {
    change(app, ChangeSource::Settings { read, who: "test" })
}

#[test]
fn a_saved_setting_is_checked_applied_written_and_remembered() {
    let (_dir, path, app) = app_on(GOOD);
    let applied = save(&app, &idle(&app, 60)).unwrap();
    assert!(applied.changed);
    assert_eq!(applied.saved, Saved::InFile);
    let keys: Vec<&str> = applied.warnings.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["timeout.idle"], "the short-timeout warning of check");
    assert_eq!(app.config().timeout.idle, Duration::from_secs(60));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("idle = \"1m\""), "{text}");
    // The file watch sees idlegate's own write as no change.
    let again = change(
        &app,
        ChangeSource::File {
            path: &path,
            trigger: Trigger::FileChange,
        },
    );
    assert!(!again.unwrap().changed);
}

#[test]
fn a_file_check_rejects_refuses_the_setting_and_writes_nothing() {
    let broken = format!("{GOOD}[tokens]\nsources = []\n");
    let (_dir, path, app) = app_on(GOOD);
    std::fs::write(&path, &broken).unwrap();
    let Err(Rejected::Config(diags)) = save(&app, &idle(&app, 600)) else {
        panic!("expected the file's error");
    };
    assert!(diags
        .iter()
        .any(|d| d.severity == Severity::Error && d.key == "tokens.sources"));
    assert_eq!(app.config().timeout.idle, Duration::from_secs(1800));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn the_request_is_read_against_the_live_config_under_the_lock() {
    let (_dir, _path, app) = app_on(GOOD);
    let refused = |_: &Config| Err(Rejected::Settings(vec![FieldError::new("mode", "no")]));
    assert_eq!(
        change_settings(&app, &refused).unwrap_err(),
        Rejected::Settings(vec![FieldError::new("mode", "no")])
    );
}

#[test]
fn unchanged_settings_apply_and_write_nothing() {
    let (_dir, path, app) = app_on(GOOD);
    let same = idle(&app, 1800);
    let applied = save(&app, &same).unwrap();
    assert!(!applied.changed);
    assert_eq!(applied.saved, Saved::InFile);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), GOOD);
}

#[test]
fn without_a_file_the_setting_is_live_only() {
    let config = Config::with_upstream("http://127.0.0.1:9".parse().unwrap());
    let app = App::new(config, Keyer::from_secret(b"k"), Clock::new());
    let applied = save(&app, &idle(&app, 900)).unwrap();
    assert_eq!(applied.saved, Saved::NoFile);
    assert_eq!(app.config().timeout.idle, Duration::from_secs(900));
}

#[test]
fn an_unreadable_file_is_rejected_and_counted() {
    let (_dir, path, app) = app_on(GOOD);
    std::fs::remove_file(&path).unwrap();
    let source = ChangeSource::File {
        path: &path,
        trigger: Trigger::Signal,
    };
    let Err(Rejected::Config(diags)) = change(&app, source) else {
        panic!("expected the read error");
    };
    assert!(diags[0].message.contains("cannot read config file"));
}
