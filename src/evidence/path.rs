//! The template of a request path that no catalog operation matches: the path normalised by
//! the HAR rule (`har::template_pieces`), written into a buffer on the stack, so that finding
//! a known template allocates nothing whatever the path (docs/reference.md, "Live evidence").

use super::limits::MAX_TEMPLATE_BYTES;

/// Room for a template cut at `MAX_TEMPLATE_BYTES`, plus the 3 bytes a character may straddle:
/// a template that does not fit leaves more than `MAX_TEMPLATE_BYTES` here, so interning it
/// still cuts it and marks it cut, exactly as the whole text would be.
const ROOM: usize = MAX_TEMPLATE_BYTES + 4;

pub(super) struct PathTemplate {
    buf: [u8; ROOM],
    len: usize,
}

impl PathTemplate {
    /// `path`'s normalised template, cut past `ROOM` bytes (on a character boundary).
    pub(super) fn of(path: &str) -> PathTemplate {
        let mut t = PathTemplate {
            buf: [0; ROOM],
            len: 0,
        };
        for piece in crate::har::template_pieces(path) {
            if !t.push(piece) {
                break;
            }
        }
        t
    }

    /// Appends `piece`, or as much of it as fits on a character boundary; false once full.
    fn push(&mut self, piece: &str) -> bool {
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
        end == piece.len()
    }

    pub(super) fn as_str(&self) -> &str {
        // Whole pieces and prefixes cut on character boundaries: always UTF-8.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::har::normalise_path;

    #[test]
    fn the_template_is_the_har_rules_and_a_long_one_keeps_more_than_the_cut() {
        let path = "/api/v2/users/3f1c2a8e-1b2c-4d5e-8f90-123456789abc/presences/42";
        assert_eq!(PathTemplate::of(path).as_str(), normalise_path(path));
        let long = format!("/{}", "é".repeat(400));
        let t = PathTemplate::of(&long);
        assert!(t.as_str().len() > MAX_TEMPLATE_BYTES && t.as_str().len() <= ROOM);
        assert!(normalise_path(&long).starts_with(t.as_str()));
        let many = "/abc".repeat(300);
        assert!(PathTemplate::of(&many).as_str().len() > MAX_TEMPLATE_BYTES);
    }
}
