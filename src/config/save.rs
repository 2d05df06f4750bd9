//! Saving the operator's settings (admin API Save) into the config file: only
//! `[timeout] enabled/idle/mode/warn_before`, `[[timeout.policies]]` and
//! `[exclusions] enabled_defaults/custom/trial_defaults/trial_custom` are touched, with
//! `toml_edit` so that comments, key order and every other key stay byte for byte; the file
//! is replaced atomically (temp file in the same folder, fsync, rename, fsync of the folder).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::{Array, DocumentMut, Item, Table, TableLike, Value};

use super::model::{Config, Mode, TimeoutPolicy};
use super::save_policies::set_policies;

/// The settings the admin API can change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub idle: Duration,
    pub mode: Mode,
    /// Ids of the default groups switched on.
    pub enabled_defaults: Vec<String>,
    /// Custom patterns as written.
    pub custom: Vec<String>,
    /// `[[timeout.policies]]`, sorted by priority.
    pub policies: Vec<TimeoutPolicy>,
    /// `timeout.warn_before`.
    pub warn_before: Duration,
    /// The trial list: default group ids and custom patterns as written.
    pub trial_defaults: Vec<String>,
    pub trial_custom: Vec<String>,
}

impl Settings {
    pub fn of(config: &Config) -> Settings {
        Settings {
            enabled: config.timeout.enabled,
            idle: config.timeout.idle,
            mode: config.timeout.mode,
            enabled_defaults: config.exclusions.enabled_defaults.clone(),
            custom: config
                .exclusions
                .custom
                .iter()
                .map(|p| p.text().to_string())
                .collect(),
            policies: config.timeout.policies.clone(),
            warn_before: config.timeout.warn_before,
            trial_defaults: config.exclusions.trial_defaults.clone(),
            trial_custom: (config.exclusions.trial_custom.iter())
                .map(|p| p.text().to_string())
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot edit {path}: it is not valid TOML ({message})")]
    Syntax { path: PathBuf, message: String },
    #[error("cannot edit {path}: `{key}` is not a table")]
    NotATable { path: PathBuf, key: &'static str },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The config file with the settings written in, not yet written back: a change is validated
/// on this text before it is applied and saved.
#[derive(Clone, Debug)]
pub(crate) struct EditedFile {
    /// The path as configured (named in errors).
    pub path: PathBuf,
    /// Where the file really lives: a symlinked config (e.g. a mounted volume) is edited
    /// there, so the rename replaces the file rather than the link.
    pub real: PathBuf,
    pub old_text: String,
    pub new_text: String,
}

/// Reads the config file at `path` and writes `settings` into its text (in memory).
pub(crate) fn edit_file(path: &Path, settings: &Settings) -> Result<EditedFile, SaveError> {
    let read_error = |source| SaveError::Read {
        path: path.to_path_buf(),
        source,
    };
    let real = std::fs::canonicalize(path).map_err(read_error)?;
    let old_text = std::fs::read_to_string(&real).map_err(read_error)?;
    let new_text = edit_settings(&old_text, settings).map_err(|e| match e {
        EditError::Syntax(message) => SaveError::Syntax {
            path: path.to_path_buf(),
            message,
        },
        EditError::NotATable(key) => SaveError::NotATable {
            path: path.to_path_buf(),
            key,
        },
    })?;
    Ok(EditedFile {
        path: path.to_path_buf(),
        real,
        old_text,
        new_text,
    })
}

impl EditedFile {
    /// Replaces the file atomically with the new text; nothing is written when the text is
    /// unchanged.
    pub(crate) fn write(&self) -> Result<(), SaveError> {
        if self.new_text == self.old_text {
            return Ok(());
        }
        write_atomically(&self.real, self.new_text.as_bytes()).map_err(|source| SaveError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EditError {
    Syntax(String),
    NotATable(&'static str),
}

/// The config text with the settings written in. A key whose current value (or default,
/// when absent) already equals the setting is left exactly as it is (so `"1800s"` is not
/// rewritten as `"30m"`, and no key is added for a default).
pub(crate) fn edit_settings(text: &str, s: &Settings) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Syntax(e.message().to_string()))?;
    // toml_edit prints line ends as `\n`: compare against its own print of the untouched file.
    let untouched = doc.to_string();
    let created = ["timeout", "exclusions"].map(|k| !doc.contains_key(k));
    let timeout = table(&mut doc, "timeout")?;
    // Each closure reads the current value, `None` (absent) standing for the default.
    set_if_changed(timeout, "enabled", Value::from(s.enabled), |v| {
        v.map_or(Some(true), Value::as_bool) == Some(s.enabled)
    });
    set_if_changed(timeout, "idle", Value::from(idle_text(s.idle)), |v| {
        let text = v.map_or(Some("30m"), Value::as_str);
        text.and_then(|t| humantime::parse_duration(t).ok()) == Some(s.idle)
    });
    set_if_changed(timeout, "mode", Value::from(s.mode.as_str()), |v| {
        v.map_or(Some("enforce"), Value::as_str) == Some(s.mode.as_str())
    });
    let warn_before = Value::from(idle_text(s.warn_before));
    set_if_changed(timeout, "warn_before", warn_before, |v| {
        let text = v.map_or(Some("2m"), Value::as_str);
        text.and_then(|t| humantime::parse_duration(t).ok()) == Some(s.warn_before)
    });
    set_policies(timeout, &s.policies);
    let exclusions = table(&mut doc, "exclusions")?;
    set_strings(exclusions, "enabled_defaults", &s.enabled_defaults);
    set_strings(exclusions, "custom", &s.custom);
    // An emptied trial list leaves no key behind.
    for (key, items) in [
        ("trial_defaults", &s.trial_defaults),
        ("trial_custom", &s.trial_custom),
    ] {
        match items.is_empty() {
            true => drop(exclusions.remove(key)),
            false => set_strings(exclusions, key, items),
        }
    }
    // A table created for nothing (every setting at its default) is dropped again.
    for (key, created) in ["timeout", "exclusions"].into_iter().zip(created) {
        let empty = doc
            .get(key)
            .and_then(Item::as_table_like)
            .is_some_and(|t| t.is_empty());
        if created && empty {
            doc.remove(key);
        }
    }
    // A `[timeout]` created only to hold `[[timeout.policies]]` needs no header of its own.
    if let Some(t) = doc.get_mut("timeout").and_then(Item::as_table_mut) {
        if created[0] && t.iter().all(|(_, item)| !item.is_value()) {
            t.set_implicit(true);
        }
    }
    Ok(keep_line_ends(text, &untouched, doc.to_string()))
}

/// Unchanged settings give back `text` itself, so a save writes nothing. Otherwise the edited
/// text keeps the file's style: CRLF line ends when it used them, and no final newline when it
/// had none (toml_edit writes `\n` and always ends the last line).
fn keep_line_ends(text: &str, untouched: &str, edited: String) -> String {
    if edited == untouched {
        return text.to_string();
    }
    let edited = match edited.strip_suffix('\n') {
        Some(trimmed) if !text.is_empty() && !text.ends_with('\n') => trimmed.to_string(),
        _ => edited,
    };
    if text.contains("\r\n") {
        edited.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        edited
    }
}

/// `15m`, `1h 30m`, `90s`: humantime's own format, which the config reader parses back.
pub(crate) fn idle_text(idle: Duration) -> String {
    humantime::format_duration(Duration::from_secs(idle.as_secs().max(1))).to_string()
}

/// The table `key`, created (as a standard `[key]` table at the end) when missing.
fn table<'a>(
    doc: &'a mut DocumentMut,
    key: &'static str,
) -> Result<&'a mut dyn TableLike, EditError> {
    let item = doc
        .as_table_mut()
        .entry(key)
        .or_insert_with(|| Item::Table(Table::new()));
    item.as_table_like_mut().ok_or(EditError::NotATable(key))
}

/// Sets `key` unless `same(current value)` holds, keeping the old value's decoration (a
/// trailing `# comment` stays).
fn set_if_changed(
    t: &mut dyn TableLike,
    key: &str,
    mut new: Value,
    same: impl Fn(Option<&Value>) -> bool,
) {
    match t.get_mut(key) {
        Some(Item::Value(old)) => {
            if !same(Some(old)) {
                *new.decor_mut() = old.decor().clone();
                *old = new;
            }
        }
        Some(item) => *item = Item::Value(new),
        None => {
            if !same(None) {
                t.insert(key, Item::Value(new));
            }
        }
    }
}

/// Sets a string array, reusing the old elements' formatting (and their comments) for
/// strings that stay, and the old layout (one per line or inline) for new ones.
fn set_strings(t: &mut dyn TableLike, key: &str, items: &[String]) {
    let old = t.get(key).and_then(Item::as_array);
    let current: Vec<&str> = old
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if current == items.iter().map(String::as_str).collect::<Vec<_>>() {
        return;
    }
    let array = match old {
        Some(old) => rebuild(old, items),
        None => items.iter().map(String::as_str).collect::<Array>(),
    };
    match t.get_mut(key) {
        Some(Item::Value(v)) => {
            let decor = v.decor().clone();
            *v = Value::Array(array);
            *v.decor_mut() = decor;
        }
        _ => {
            t.insert(key, Item::Value(Value::Array(array)));
        }
    }
}

fn rebuild(old: &Array, items: &[String]) -> Array {
    let prefix = |v: &Value| {
        v.decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string()
    };
    let prefixes: Vec<String> = old.iter().map(prefix).collect();
    if !prefixes.iter().any(|p| p.contains('\n')) {
        return inline(old, items);
    }
    // One element per line. Whitespace and comments before an element's first newline belong
    // to the previous line (`"a",  # about a`), so each kept element takes that part with it.
    let trailing = old.trailing().as_str().unwrap_or("").to_string();
    let (first_head, _) = split_line(prefixes.first().map_or("", String::as_str));
    let (last_head, closing) = split_line(&trailing);
    let indent = prefixes
        .iter()
        .find_map(|p| p.rsplit_once('\n').map(|(_, i)| i.to_string()))
        .unwrap_or_default();
    let mut array = Array::new();
    let mut line_rest = first_head.to_string();
    for text in items {
        let found = old.iter().position(|v| v.as_str() == Some(text.as_str()));
        let (mut value, own, trailer) = match found {
            Some(i) => {
                let next = prefixes.get(i + 1).map_or(last_head, |p| split_line(p).0);
                (
                    old.get(i)
                        .cloned()
                        .unwrap_or_else(|| Value::from(text.as_str())),
                    split_line(&prefixes[i]).1.to_string(),
                    next.to_string(),
                )
            }
            None => (
                Value::from(text.as_str()),
                format!("\n{indent}"),
                String::new(),
            ),
        };
        value.decor_mut().set_prefix(format!("{line_rest}{own}"));
        array.push_formatted(value);
        line_rest = trailer;
    }
    array.set_trailing(format!("{line_rest}{closing}"));
    array.set_trailing_comma(true);
    array
}

/// Splits at the first newline: (the rest of the previous line, the newline and what follows).
fn split_line(text: &str) -> (&str, &str) {
    match text.find('\n') {
        Some(i) => text.split_at(i),
        None => (text, ""),
    }
}

/// `["a", "b"]`, keeping the old array's padding inside the brackets.
fn inline(old: &Array, items: &[String]) -> Array {
    let mut array = Array::new();
    for (i, text) in items.iter().enumerate() {
        let mut value = Value::from(text.as_str());
        value.decor_mut().set_prefix(if i == 0 { "" } else { " " });
        value.decor_mut().set_suffix("");
        array.push_formatted(value);
    }
    array.set_trailing(old.trailing().clone());
    array.set_trailing_comma(old.trailing_comma() && !items.is_empty());
    array
}

/// Temp file in the same folder, fsync, rename over, fsync of the folder. The temp file takes
/// the old file's permissions (a config may be deliberately unreadable to others).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let temp = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        sync_folder(folder)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(unix)]
fn sync_folder(folder: &Path) -> std::io::Result<()> {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_folder: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
#[path = "save_tests.rs"]
mod tests;
