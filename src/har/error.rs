//! Why a recording could not be analysed: the one error type of `idlegate har`.

use crate::classify::PatternError;

/// Why a recording could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("read error: {message}")]
    Read { message: String },
    #[error("not JSON (line {line}, column {column}): {message}")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not a HAR file: {reason}")]
    NotHar { reason: String },
    #[error("malformed HAR at entry {entry} (line {line}, column {column}): {message}")]
    Malformed {
        entry: usize,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("unknown default group {0:?} (see `idlegate check` for the list)")]
    UnknownGroup(String),
    #[error(transparent)]
    BadPattern(#[from] PatternError),
}
