//! File helpers: reading operator-supplied files and streams with a size bound (a config or
//! catalog path pointed at `/dev/zero` or a huge file by mistake gives a clear error instead
//! of filling memory), and the private folder that state files live in.

use std::fs::DirBuilder;
use std::io::{self, Read};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// Config files (the main file, the defaults file): far above any real one.
pub(crate) const CONFIG_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// API catalogs (the shipped Genesys catalog is 0.5 MB).
pub(crate) const CATALOG_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// A token on standard input (`idlegate token-id -`).
pub(crate) const STDIN_TOKEN_MAX_BYTES: u64 = 1024 * 1024;

/// Everything `input` holds, at most `max` bytes; more is an `InvalidData` error saying so.
pub(crate) fn read_all(input: impl Read, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// The file's bytes, at most `max`.
pub(crate) fn read_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_all(std::fs::File::open(path)?, max)
}

/// The file as UTF-8 text, at most `max` bytes.
pub(crate) fn read_text(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_file(path, max)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Creates `dir` and its missing parents with mode 0700 (state and key files are private).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// [`create_private_dir`] for the folder `path` sits in (nothing for a bare file name).
pub(crate) fn create_parent_dir(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => create_private_dir(dir),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_up_to_the_bound_is_read_whole() {
        assert_eq!(read_all(&b"abcd"[..], 4).unwrap(), b"abcd");
    }

    #[test]
    fn input_past_the_bound_is_an_error_saying_so() {
        let e = read_all(&b"abcde"[..], 4).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "larger than 4 bytes");
    }

    #[test]
    fn an_endless_stream_is_cut_at_the_bound() {
        let e = read_all(io::repeat(0), 1024).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn state_folders_are_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/state");
        create_parent_dir(&file).unwrap();
        let mode = std::fs::metadata(dir.path().join("a/b"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        create_parent_dir(Path::new("bare-name")).unwrap();
    }

    #[test]
    fn a_file_that_is_not_utf8_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert_eq!(
            read_text(&path, 10).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
