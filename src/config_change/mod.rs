//! One way a config changes: a reload on SIGHUP, a change of the config file (folder watch)
//! and the admin API's `PUT /api/v1/settings` all go through [`change`], which validates,
//! applies and persists in that order.
//!
//! Layout:
//! - this module: [`ChangeSource`] and [`change`], which takes the writers' lock and hands the
//!   change to its source's path;
//! - `file`: a change read from the config file (reload): read → check → apply → remember;
//! - [`settings`]: a change of the admin settings: written into the file's text → check →
//!   apply → write → remember;
//! - `steps`: what both paths share: [`check`] (what `idlegate check` runs: every error and
//!   warning of the text, then [`catalog_lint`]), the swap, the text's [`digest`];
//! - [`catalog_lint`]: custom patterns that match no operation of the API catalog;
//! - `outcome`: [`Applied`] / [`Rejected`], [`Saved`], [`Trigger`], [`FieldError`].
//!
//! Every change holds `App::config_file` from validation to persist, so a reload and a Save
//! never interleave. The digest it guards is how a file event for idlegate's own write (or a
//! repeated event for one write) is told from an operator's edit: such an event changes
//! nothing and is not counted. SIGHUP always reloads.

pub(crate) mod catalog_lint;
mod file;
mod outcome;
pub(crate) mod settings;
mod steps;

use std::path::Path;

use crate::app::App;
use crate::config::Config;

pub use crate::config::text_digest as digest;
pub use outcome::{Applied, FieldError, Rejected, Saved, Trigger};
pub use settings::SettingsChange;
pub use steps::check;

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

/// The running config came from this file: its current text is not a change.
pub fn remember_file(app: &App, path: &Path) {
    if let Ok(text) = std::fs::read_to_string(path) {
        let mut last = app.config_file.lock();
        last.get_or_insert(digest(&text));
    }
}

#[cfg(test)]
mod tests;
