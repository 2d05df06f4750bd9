//! One way a config changes: a reload on SIGHUP, a change of the config file (folder watch)
//! and the admin API's `PUT /api/v1/settings` all go through [`change`], which validates,
//! applies and persists in that order.
//!
//! Layout:
//! - [`check`]: the validation `idlegate check` runs: every error and warning of the text,
//!   then the custom patterns that match no operation of the catalog ([`catalog_lint`]);
//! - [`file`]: a change read from the config file (reload): read → check → apply → remember;
//! - [`settings`]: a change of the admin settings: written into the file's text → check →
//!   apply → write → remember;
//! - this module: the sources, the outcome, and the digest of the file text last read or
//!   written.
//!
//! Every change holds `App::config_file` from validation to persist, so a reload and a Save
//! never interleave. The digest it guards is how a file event for idlegate's own write (or a
//! repeated event for one write) is told from an operator's edit: such an event changes
//! nothing and is not counted. SIGHUP always reloads.

pub mod catalog_lint;
mod file;
pub mod settings;

use std::path::Path;

use serde::Serialize;

use crate::app::App;
use crate::config::{self, Config, Diagnostic, Loaded};

pub use settings::SettingsChange;

/// What made the gateway re-read its config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Signal,
    FileChange,
}

/// Where a change comes from.
#[derive(Clone, Copy)]
pub enum ChangeSource<'a> {
    /// The config file at `path`, read again.
    File { path: &'a Path, trigger: Trigger },
    /// The admin API's settings, sent by the admin `who` (named in the audit event). `read`
    /// validates the request against the live config under the writers' lock, so that a
    /// field the request leaves out keeps the value live when the change is applied.
    Settings {
        read: &'a dyn Fn(&Config) -> Result<SettingsChange, Rejected>,
        who: &'a str,
    },
}

/// A change that passed validation.
#[derive(Debug)]
pub struct Applied {
    /// False when there was nothing to apply: a file event for text already read or written,
    /// or settings equal to the live ones. Nothing was swapped in, written or counted then.
    pub changed: bool,
    /// Changed keys that take effect only after a restart.
    pub restart: Vec<&'static str>,
    /// What `idlegate check` would warn about in the resulting file.
    pub warnings: Vec<Diagnostic>,
    pub saved: Saved,
}

/// Whether the config file holds the live config's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    InFile,
    /// The gateway runs without a config file: the change is live only.
    NoFile,
    /// Applied live, but the file could not be edited or written (why).
    Failed(String),
}

/// A change that failed validation. The running config stays.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// Every error of the resulting config text (and the warnings found with them).
    #[error("config change rejected ({} diagnostics)", .0.len())]
    Config(Vec<Diagnostic>),
    /// The settings request itself, field by field (no text was built).
    #[error("settings rejected ({} errors)", .0.len())]
    Settings(Vec<FieldError>),
}

/// One problem with one field of a settings request: `field` is a JSON path such as
/// `custom_exclusions[2]` (empty for the request as a whole).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Validates, applies and persists one change (see the module doc). Does blocking file I/O:
/// call it off the async workers.
pub fn change(app: &App, source: ChangeSource) -> Result<Applied, Rejected> {
    let mut last_text = app.config_file.lock();
    match source {
        ChangeSource::File { path, trigger } => file::reload(app, &mut last_text, path, trigger),
        ChangeSource::Settings { read, who } => {
            let change = read(&app.config())?;
            settings::save(app, &mut last_text, &change, who)
        }
    }
}

/// Every error and warning `idlegate check` reports for config `text` read from `path`.
pub fn check(text: &str, path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let mut loaded = config::parse(text, path)?;
    let catalog = catalog_lint::warnings(&loaded.config, text);
    loaded.warnings.extend(catalog);
    Ok(loaded)
}

/// The digest by which a config file text is recognised.
pub fn digest(text: &str) -> [u8; 32] {
    *blake3::hash(text.as_bytes()).as_bytes()
}

/// The running config came from this file: its current text is not a change.
pub fn remember_file(app: &App, path: &Path) {
    if let Ok(text) = std::fs::read_to_string(path) {
        let mut last = app.config_file.lock();
        last.get_or_insert(digest(&text));
    }
}

/// Swaps the validated config in and warns about the keys that need a restart.
fn apply(app: &App, config: Config) -> Vec<&'static str> {
    let restart = app.apply(config);
    for key in &restart {
        tracing::warn!(
            key,
            "config reload: {key} changed; the new value takes effect after a restart"
        );
    }
    restart
}

#[cfg(test)]
mod tests;
