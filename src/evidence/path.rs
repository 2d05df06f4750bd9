//! The template of a request path that no catalog operation matches: the path normalised by
//! the HAR rule (identifier segments become `{id}`: `template::scan_segments`, one pass), without allocating whatever the
//! path (docs/reference.md, "Live evidence"). A path without an identifier is its own template
//! and is not copied; otherwise the runs between identifiers are copied into a buffer on the
//! stack.

use super::limits::MAX_TEMPLATE_BYTES;
use super::template::scan_segments;

/// Room for a template cut at `MAX_TEMPLATE_BYTES`, plus the 3 bytes a character may straddle:
/// a template that does not fit leaves more than `MAX_TEMPLATE_BYTES` here, so interning it
/// still cuts it and marks it cut, exactly as the whole text would be.
const ROOM: usize = MAX_TEMPLATE_BYTES + 4;

/// `f` of the normalised template of `path` (cut past `ROOM` bytes, on a character boundary).
pub(super) fn with_template<R>(path: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut built: Option<Built> = None;
    let mut run = 0;
    scan_segments(path, |start, end, identifier| {
        if identifier {
            let b = built.get_or_insert_with(Built::new);
            b.push(path.get(run..start).unwrap_or_default());
            b.push("{id}");
            run = end;
        }
    });
    match &mut built {
        None => f(path),
        Some(b) => {
            b.push(path.get(run..).unwrap_or_default());
            f(b.as_str())
        }
    }
}

struct Built {
    buf: [u8; ROOM],
    len: usize,
    /// A piece was cut: nothing more goes after it.
    full: bool,
}

impl Built {
    fn new() -> Built {
        Built {
            buf: [0; ROOM],
            len: 0,
            full: false,
        }
    }

    /// Appends `piece`, or as much of it as fits on a character boundary (and then nothing
    /// more).
    fn push(&mut self, piece: &str) {
        if self.full {
            return;
        }
        let room = ROOM - self.len;
        let mut end = piece.len().min(room);
        while !piece.is_char_boundary(end) {
            end -= 1;
        }
        let (start, stop) = (self.len, self.len + end);
        if let (Some(to), Some(from)) = (self.buf.get_mut(start..stop), piece.get(..end)) {
            to.copy_from_slice(from.as_bytes());
            self.len = stop;
        }
        self.full = end < piece.len();
    }

    fn as_str(&self) -> &str {
        // Whole runs and prefixes cut on character boundaries: always UTF-8.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::template::normalise_path;

    fn template(path: &str) -> String {
        with_template(path, str::to_owned)
    }

    #[test]
    fn the_template_is_the_har_rules_and_a_long_one_keeps_more_than_the_cut() {
        for path in [
            "/api/v2/users/3f1c2a8e-1b2c-4d5e-8f90-123456789abc/presences/42",
            "/api/v2/users/me",
            "/12/34/",
            "//a1//",
            "",
            "*",
            "noslash/42/x",
        ] {
            assert_eq!(template(path), normalise_path(path), "{path}");
        }
        let long = format!("/{}/1", "é".repeat(400));
        let t = template(&long);
        assert!(t.len() > MAX_TEMPLATE_BYTES && t.len() <= ROOM);
        assert!(normalise_path(&long).starts_with(&t));
        let many = "/1".repeat(300);
        assert!(template(&many).len() > MAX_TEMPLATE_BYTES);
        assert!(normalise_path(&many).starts_with(&template(&many)));
    }
}
