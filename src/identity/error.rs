//! Why a JSON Web Key Set could not be loaded (docs/reference.md, "Identity"), and the bounds
//! that the messages name.

use std::path::PathBuf;
use std::time::Duration;

/// A JWKS larger than this is refused: real sets are a few KiB.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// The whole fetch (connect, answer, body) of a JWKS URL.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a JWKS could not be loaded. The texts name the problem, never a token.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("JWKS larger than {} bytes", MAX_JWKS_BYTES)]
    TooLarge,
    #[error("not a JSON Web Key Set: not JSON ({0})")]
    NotJson(String),
    #[error("not a JSON Web Key Set: no \"keys\" array")]
    NoKeysArray,
    #[error("JWKS has no usable key ({skipped} skipped: {reasons})")]
    NoUsableKey { skipped: usize, reasons: String },
    #[error("JWKS request failed: {0}")]
    Http(String),
    #[error("JWKS request answered HTTP {0}")]
    Status(u16),
    #[error("JWKS request timed out after {} s", FETCH_TIMEOUT.as_secs())]
    Timeout,
}
