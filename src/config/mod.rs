//! Configuration: the TOML file → a validated [`Config`] (SPEC §5, §10).
//!
//! `parse` walks the document itself (not serde) so that it can report *every* error with
//! file, line and column, reject unknown keys, and fill in the defaults of SPEC §10.

mod defaults;
mod exclusions;
mod groups;
mod model;
mod policy;
pub mod save;
mod validate;
mod values;
mod walk;

pub use model::*;

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One error or warning, printed as `FILE:LINE:COLUMN: error: table.key: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// Dotted key, e.g. `timeout.idle` or `exclusions.custom[2]`.
    pub key: String,
    pub message: String,
    pub severity: Severity,
}

impl Diagnostic {
    /// The one error of a config file that cannot be read at all.
    pub fn unreadable(path: &Path, error: &std::io::Error) -> Diagnostic {
        Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            key: String::new(),
            message: format!("cannot read config file: {error}"),
            severity: Severity::Error,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let (file, line, column) = (self.file.display(), self.line, self.column);
        write!(f, "{file}:{line}:{column}: {sev}: ")?;
        // A syntax error belongs to no key.
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// A valid config and the warnings found while reading it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates a config file. `Err` holds every error (and may hold warnings too).
pub fn load(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(e) => Err(vec![Diagnostic::unreadable(path, &e)]),
    }
}

/// Validates config text as if it were read from `path` (relative paths resolve against
/// `path`'s folder).
pub fn parse(text: &str, path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    match validate::read_config(text, path) {
        (Some(config), warnings) => Ok(Loaded { config, warnings }),
        (None, diagnostics) => Err(diagnostics),
    }
}

/// The built-in default groups (the shipped `config/default-exclusions.toml`, compiled in).
pub fn builtin_groups() -> Vec<Group> {
    groups::builtin()
}

impl Config {
    /// A config with every default of SPEC §10 and the given upstream (for `demo` and tests).
    pub fn with_upstream(upstream: http::Uri) -> Config {
        defaults::config(upstream)
    }

    /// The human-readable effective policy that `idlegate check` prints.
    pub fn effective_policy(&self) -> String {
        policy::render(self)
    }
}

#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod tests;
