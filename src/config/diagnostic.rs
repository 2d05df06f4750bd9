//! What reading a config reports: one error or warning with its file, line, column and key.
//! The bottom of `config`: every other file of the module may use it, it uses none of them.

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
