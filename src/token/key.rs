//! Token keys: a 128-bit keyed BLAKE3 hash of the token's signing input.

use std::fmt;
use std::path::Path;

/// The 128-bit key of a token. Its lowercase hex form is the token id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TokenKey(pub [u8; 16]);

impl TokenKey {
    /// 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        todo!()
    }

    /// Parses 32 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<TokenKey> {
        let _ = s;
        todo!()
    }
}

impl fmt::Display for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({})", self.to_hex())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("hash key file {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("hash key file {path} is malformed: expected 64 hex digits")]
    Malformed { path: std::path::PathBuf },
}

/// Keys tokens with a secret hash key.
#[derive(Clone)]
pub struct Keyer {
    _private: (),
}

impl Keyer {
    /// Derives the hash key from a secret (the env variable's value) with a KDF.
    pub fn from_secret(secret: &[u8]) -> Keyer {
        let _ = secret;
        todo!()
    }

    /// Uses 32 raw key bytes as they are (the key file's content).
    pub fn from_key_bytes(key: [u8; 32]) -> Keyer {
        let _ = key;
        todo!()
    }

    pub fn key(&self, token: &str) -> TokenKey {
        let _ = token;
        todo!()
    }
}

/// For a compact JWS (exactly three non-empty dot-separated segments) the first two segments
/// joined by `.`; otherwise the whole token.
pub fn signing_input(token: &str) -> &str {
    let _ = token;
    todo!()
}

/// The `exp` claim (Unix seconds) of a compact JWS, read without verification; None when the
/// token is not a JWS or has no numeric `exp`.
pub fn jwt_exp(token: &str) -> Option<u64> {
    let _ = token;
    todo!()
}

/// The keyer for `run`, `token-id` and `har`: from env variable `env_name` when it is set and
/// non-empty; otherwise from `dir/idlegate.key` (created with 32 random bytes, hex, mode 0600,
/// when missing; `dir` is created mode 0700 when missing).
pub fn load_or_create_keyer(env_name: &str, dir: &Path) -> Result<Keyer, KeyError> {
    let _ = (env_name, dir);
    todo!()
}
