//! `idlegate har`: analyse a HAR recording (SPEC §8, §10 HAR details).
//!
//! The recording is read as a stream ([`read_har`]); each entry is reduced to a compact record
//! (token, API template, classification under the current config and under each what-if),
//! then the records are sorted by time and analysed.

mod lenient;
mod reader;
mod template;
mod time;

pub use reader::{read_har, HarEntry, Skipped};
pub use template::{normalise_path, split_url, UrlParts};
pub use time::parse_rfc3339_ms;

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
    BadPattern(#[from] crate::classify::PatternError),
}
