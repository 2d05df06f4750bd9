//! The hash key: from an env secret, or from `idlegate.key` (created once, mode 0600) so that
//! token ids stay stable across restarts (docs/reference.md, "Token keys").

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::key::{decode_hex, hex_lower, KeyError, Keyer};

pub(super) const KEY_FILE: &str = "idlegate.key";

/// The keyer for `run`, `token-id` and `har`: from env variable `env_name` when it is set and
/// non-empty; otherwise from `dir/idlegate.key` (created with 32 random bytes, hex, mode 0600,
/// when missing; `dir` is created mode 0700 when missing).
pub fn load_or_create_keyer(env_name: &str, dir: &Path) -> Result<Keyer, KeyError> {
    if let Some(secret) = std::env::var_os(env_name) {
        if !secret.is_empty() {
            return Ok(Keyer::from_secret(secret.as_bytes()));
        }
    }
    let path = dir.join(KEY_FILE);
    match read_key_file(&path) {
        Err(KeyError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            create_key_file(dir, &path)
        }
        other => other,
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads 64 hex digits; surrounding whitespace (the trailing newline) is ignored.
fn read_key_file(path: &Path) -> Result<Keyer, KeyError> {
    let text = fs::read_to_string(path).map_err(|source| match source.kind() {
        // Not UTF-8 at all: a malformed file, not an I/O failure.
        ErrorKind::InvalidData => KeyError::Malformed {
            path: path.to_path_buf(),
        },
        _ => io_error(path)(source),
    })?;
    let mut key = [0u8; 32];
    decode_hex(text.trim(), &mut key).ok_or_else(|| KeyError::Malformed {
        path: path.to_path_buf(),
    })?;
    Ok(Keyer::from_key_bytes(key))
}

/// Creates the key file with fresh random bytes. The content is written to a private
/// temporary file first and then hard-linked into place: linking fails when the name exists,
/// so two processes starting at once never clobber each other or read a half-written key.
fn create_key_file(dir: &Path, path: &Path) -> Result<Keyer, KeyError> {
    crate::files::create_private_dir(dir).map_err(io_error(dir))?;
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key)
        .map_err(|e| io_error(path)(std::io::Error::other(e.to_string())))?;
    let text = format!("{}\n", hex_lower(&key));

    let tmp = temp_path(dir)?;
    let linked = write_new_file(&tmp, &text).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(Keyer::from_key_bytes(key)),
        // Another process won the race: use its key.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read_key_file(path),
        // Filesystems without hard links: fall back to an exclusive create.
        Err(_) => match write_new_file(path, &text) {
            Ok(()) => Ok(Keyer::from_key_bytes(key)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => read_key_file(path),
            Err(e) => Err(io_error(path)(e)),
        },
    }
}

fn temp_path(dir: &Path) -> Result<PathBuf, KeyError> {
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| io_error(dir)(std::io::Error::other(e.to_string())))?;
    let name = format!(
        ".{KEY_FILE}.{}.{}.tmp",
        std::process::id(),
        u64::from_le_bytes(nonce)
    );
    Ok(dir.join(name))
}

fn write_new_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const NO_ENV: &str = "IDLEGATE_TEST_KEYFILE_UNSET_VARIABLE";

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn key_file_created_0600_with_64_hex_digits() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let keyer = load_or_create_keyer(NO_ENV, &dir).unwrap();
        let path = dir.join(KEY_FILE);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        assert!(text[..64].bytes().all(|b| b.is_ascii_hexdigit()));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let _ = keyer;
    }

    #[test]
    fn key_file_reused_on_next_start() {
        let tmp = tempfile::tempdir().unwrap();
        let first = load_or_create_keyer(NO_ENV, tmp.path()).unwrap();
        let second = load_or_create_keyer(NO_ENV, tmp.path()).unwrap();
        assert_eq!(first.key("tok"), second.key("tok"));
    }

    #[test]
    fn concurrent_creators_agree_on_one_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || load_or_create_keyer(NO_ENV, &dir).unwrap().key("t"))
            })
            .collect();
        let keys: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn existing_key_file_is_used_as_raw_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(KEY_FILE), format!("{}\n", "AB".repeat(32))).unwrap();
        let keyer = load_or_create_keyer(NO_ENV, tmp.path()).unwrap();
        assert_eq!(
            keyer.key("tok"),
            Keyer::from_key_bytes([0xab; 32]).key("tok")
        );
    }

    #[test]
    fn malformed_key_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(KEY_FILE);
        for bad in [&b"abc\n"[..], &[b'0'; 63], &[b'z'; 64], &[0xff; 64], b""] {
            fs::write(&path, bad).unwrap();
            let err = load_or_create_keyer(NO_ENV, tmp.path()).unwrap_err();
            assert!(matches!(err, KeyError::Malformed { .. }), "{err}");
        }
    }

    #[test]
    fn unreadable_key_file_is_an_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        // A directory where the file should be cannot be read as a key.
        fs::create_dir(tmp.path().join(KEY_FILE)).unwrap();
        let err = load_or_create_keyer(NO_ENV, tmp.path()).unwrap_err();
        assert!(matches!(err, KeyError::Io { .. }), "{err}");
    }

    #[test]
    fn env_secret_wins_over_key_file() {
        let env = "IDLEGATE_TEST_KEYFILE_SECRET";
        std::env::set_var(env, "s3cret");
        let tmp = tempfile::tempdir().unwrap();
        let keyer = load_or_create_keyer(env, tmp.path()).unwrap();
        assert_eq!(keyer.key("tok"), Keyer::from_secret(b"s3cret").key("tok"));
        assert!(!tmp.path().join(KEY_FILE).exists());
    }

    #[test]
    fn empty_env_secret_counts_as_unset() {
        let env = "IDLEGATE_TEST_KEYFILE_EMPTY";
        std::env::set_var(env, "");
        let tmp = tempfile::tempdir().unwrap();
        load_or_create_keyer(env, tmp.path()).unwrap();
        assert!(tmp.path().join(KEY_FILE).exists());
    }
}
