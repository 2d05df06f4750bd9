//! The `date` header value, rendered at most once a second per proxy thread (as hyper does):
//! formatting a date on every response would cost more than the rest of the head.

use std::cell::RefCell;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(super) const DATE_LEN: usize = 29;

struct Cached {
    text: [u8; DATE_LEN],
    /// The rendered second, as seconds since the epoch.
    second: u64,
}

thread_local! {
    static CACHED: RefCell<Cached> = const {
        RefCell::new(Cached {
            text: [b' '; DATE_LEN],
            second: u64::MAX,
        })
    };
}

impl Cached {
    /// The value for `now`, rendered again only when the second has changed.
    fn at(&mut self, now: SystemTime) -> &[u8; DATE_LEN] {
        let second = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        if second != self.second {
            self.second = second;
            let whole = UNIX_EPOCH + Duration::from_secs(second);
            let mut out = &mut self.text[..];
            // Always 29 bytes for any date from 1970 to 9999.
            let _ = write!(out, "{}", httpdate::HttpDate::from(whole));
        }
        &self.text
    }
}

/// Appends the current date's value to `out`.
pub(super) fn extend(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    CACHED.with(|c| out.extend_from_slice(c.borrow_mut().at(now)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Cached {
        Cached {
            text: [b' '; DATE_LEN],
            second: u64::MAX,
        }
    }

    #[test]
    fn the_date_is_rfc_9110_imf_fixdate() {
        let at = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(fresh().at(at), b"Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn the_date_is_rendered_again_only_when_the_second_changes() {
        let mut c = fresh();
        let at = UNIX_EPOCH + Duration::from_secs(784_111_777);
        c.at(at);
        // Scribbled over: a call within the same second returns the cache untouched.
        c.text[0] = b'X';
        assert_eq!(c.at(at + Duration::from_millis(999))[0], b'X');
        assert_eq!(
            c.at(at + Duration::from_secs(1)),
            b"Sun, 06 Nov 1994 08:49:38 GMT"
        );
    }

    #[test]
    fn extend_appends_a_whole_date() {
        let mut out = b"date: ".to_vec();
        extend(&mut out);
        assert_eq!(out.len(), 6 + DATE_LEN);
        assert!(out.ends_with(b" GMT"), "{}", String::from_utf8_lossy(&out));
    }
}
