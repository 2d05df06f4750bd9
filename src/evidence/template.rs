//! Request URLs: splitting a HAR `request.url` into raw path and query, and the normalised
//! template used to group requests when no catalog is configured (docs/reference.md, "HAR
//! analysis"). Here, below both `idlegate har` and live evidence, so that the two group
//! requests by the same rule.

/// The raw path (never empty) and raw query (without `?`) of an absolute http(s) URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlParts {
    pub path: String,
    pub query: Option<String>,
}

/// Splits an absolute `http:`/`https:` URL; any other scheme (`data:`, `blob:`, `ws:`,
/// `chrome-extension:` …) or a relative URL is an error whose text is the skip reason.
pub fn split_url(url: &str) -> Result<UrlParts, String> {
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err("not an absolute URL".to_owned());
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err("not an absolute URL".to_owned());
    }
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "not an HTTP(S) URL (scheme {:?})",
            scheme.to_ascii_lowercase()
        ));
    }
    let Some(after_authority_start) = rest.strip_prefix("//") else {
        return Err("HTTP(S) URL without a host".to_owned());
    };
    let authority_end = after_authority_start
        .find(['/', '?', '#'])
        .unwrap_or(after_authority_start.len());
    if authority_end == 0 {
        return Err("HTTP(S) URL without a host".to_owned());
    }
    let target = &after_authority_start[authority_end..];
    let target = target.split_once('#').map_or(target, |(t, _)| t);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (target, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok(UrlParts {
        path: path.to_owned(),
        query,
    })
}

/// Replaces identifier-like segments with `{id}`: all digits, UUIDs, long hex, and segments
/// mixing letters and digits — except version segments such as `v2` or `v1.1`.
pub fn normalise_path(path: &str) -> String {
    let mut template = String::with_capacity(path.len());
    template_pieces(path, |piece| {
        template.push_str(piece);
        true
    });
    template
}

/// The normalised template of `path` as pieces whose concatenation is [`normalise_path`]:
/// segments (or `{id}`) and the `/` between them; `piece` answers false to stop.
fn template_pieces(path: &str, mut piece: impl FnMut(&str) -> bool) {
    let mut go_on = true;
    scan_segments(path, |start, end, identifier| {
        if go_on && start > 0 {
            go_on = piece("/");
        }
        if go_on {
            let seg = path.get(start..end).unwrap_or_default();
            go_on = piece(if identifier { "{id}" } else { seg });
        }
    });
}

/// Calls `segment(start, end, identifier)` for each `/`-separated segment of `path`, in order:
/// its byte range and whether it becomes `{id}` ([`is_identifier`]). One pass over the bytes:
/// the gateway's live evidence calls it on every request (docs/reference.md, "Live evidence").
pub fn scan_segments(path: &str, mut segment: impl FnMut(usize, usize, bool)) {
    let bytes = path.as_bytes();
    let (mut start, mut counts) = (0, Counts::default());
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'/' {
            let seg = path.get(start..i).unwrap_or_default();
            segment(start, i, counts.identifier(seg));
            (start, counts) = (i + 1, Counts::default());
        } else {
            counts.add(c);
        }
    }
    let seg = path.get(start..).unwrap_or_default();
    segment(start, bytes.len(), counts.identifier(seg));
}

/// Whether a path segment becomes `{id}` in a template: all digits, a UUID, 16 hex digits or
/// more, or letters mixed with digits — but not a version segment.
pub fn is_identifier(seg: &str) -> bool {
    let mut counts = Counts::default();
    seg.bytes().for_each(|c| counts.add(c));
    counts.identifier(seg)
}

const DIGIT: u8 = 1;
const HEX: u8 = 2;
const LETTER: u8 = 4;

/// What each byte is, for counting without branches.
const KIND: [u8; 256] = {
    let mut kind = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        kind[c] = if b.is_ascii_digit() {
            DIGIT | HEX
        } else if b.is_ascii_hexdigit() {
            LETTER | HEX
        } else if b.is_ascii_alphabetic() {
            LETTER
        } else {
            0
        };
        c += 1;
    }
    kind
};

/// A segment's digits, hex digits and letters.
#[derive(Default)]
struct Counts {
    digits: usize,
    hex: usize,
    letters: usize,
}

impl Counts {
    fn add(&mut self, c: u8) {
        let k = KIND[usize::from(c)];
        self.digits += usize::from(k & DIGIT);
        self.hex += usize::from((k & HEX) >> 1);
        self.letters += usize::from((k & LETTER) >> 2);
    }

    fn identifier(&self, seg: &str) -> bool {
        let n = seg.len();
        // A version starts with `v`, so it is never all digits.
        if n == 0 || (matches!(seg.as_bytes().first(), Some(b'v' | b'V')) && is_version(seg)) {
            return false;
        }
        self.digits == n
            || (n >= 16 && self.hex == n)
            || (self.letters > 0 && self.digits > 0)
            || is_uuid(seg)
    }
}

/// `v2`, `V10`, `v1.1`.
fn is_version(seg: &str) -> bool {
    let Some(rest) = seg.strip_prefix(['v', 'V']) else {
        return false;
    };
    !rest.is_empty()
        && rest
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Five groups of 8, 4, 4, 4 and 12 hex digits joined by `-` (checked in place: the request
/// path calls this).
fn is_uuid(seg: &str) -> bool {
    seg.len() == 36
        && seg.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_url_keeps_raw_path_and_query_and_drops_fragment() {
        let p = split_url("https://api.mypurecloud.com/api/v2/users/me?expand=presence#x").unwrap();
        assert_eq!(p.path, "/api/v2/users/me");
        assert_eq!(p.query.as_deref(), Some("expand=presence"));
        let p = split_url("HTTP://host:8080").unwrap();
        assert_eq!(p.path, "/");
        assert_eq!(p.query, None);
        let p = split_url("http://host?a=%20b").unwrap();
        assert_eq!(p.path, "/");
        assert_eq!(p.query.as_deref(), Some("a=%20b"));
    }

    #[test]
    fn non_http_schemes_are_rejected_with_the_scheme_named() {
        for (url, scheme) in [
            ("data:image/png;base64,AAAA", "data"),
            ("blob:https://apps.mypurecloud.com/1234", "blob"),
            ("wss://streaming.mypurecloud.com/channels/abc", "wss"),
            ("ws://localhost/socket", "ws"),
            ("chrome-extension://abcdef/script.js", "chrome-extension"),
        ] {
            let err = split_url(url).unwrap_err();
            assert!(err.contains(scheme), "{url}: {err}");
        }
        assert!(split_url("/relative/path").is_err());
        assert!(split_url("https:///nohost").is_err());
        assert!(split_url("").is_err());
    }

    #[test]
    fn identifier_segments_become_id_and_versions_stay() {
        assert_eq!(
            normalise_path(
                "/api/v2/users/3f1c2a8e-1b2c-4d5e-8f90-123456789abc/presences/purecloud"
            ),
            "/api/v2/users/{id}/presences/purecloud"
        );
        assert_eq!(
            normalise_path("/api/v2/orders/12345"),
            "/api/v2/orders/{id}"
        );
        assert_eq!(normalise_path("/blobs/0123456789abcdef0123"), "/blobs/{id}");
        assert_eq!(normalise_path("/a/x9k2/b"), "/a/{id}/b");
        assert_eq!(normalise_path("/api/v1.1/things"), "/api/v1.1/things");
        assert_eq!(normalise_path("/api/v2/users/me/"), "/api/v2/users/me/");
        assert_eq!(normalise_path("/"), "/");
    }

    #[test]
    fn pieces_join_to_the_template_and_uuids_need_their_exact_shape() {
        for path in ["/", "", "/a//b/", "/api/v2/users/12/x9k2", "noslash/42"] {
            let joined = (path.split('/'))
                .map(|seg| if is_identifier(seg) { "{id}" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            assert_eq!(normalise_path(path), joined);
        }
        assert_eq!(
            normalise_path("/api/v2/users/12/x9k2"),
            "/api/v2/users/{id}/{id}"
        );
        assert!(is_uuid("3f1c2a8e-1b2c-4d5e-8f90-123456789abc"));
        assert!(!is_uuid("3f1c2a8e-1b2c-4d5e-8f90-123456789ab"));
        assert!(!is_uuid("3f1c2a8e-1b2c-4d5e-8f9012-3456789abc"));
        assert!(!is_uuid("3f1c2a8e-1b2c-4d5e-8f90-123456789abz"));
        // The one-pass rules, against the rules written one by one.
        let words = [
            "",
            "v2",
            "V10",
            "v1.1",
            "v1.",
            "v",
            "va",
            "123",
            "abc",
            "a1",
            "beef",
            "0123456789abcdef",
            "0123456789abcdeg",
            "3f1c2a8e-1b2c-4d5e-8f90-123456789abc",
            "x-y",
            "é1",
            "1é",
            "-",
            "%20",
        ];
        for w in words {
            let slow = !w.is_empty()
                && !is_version(w)
                && (w.bytes().all(|c| c.is_ascii_digit())
                    || (w.len() >= 16 && w.bytes().all(|c| c.is_ascii_hexdigit()))
                    || is_uuid(w)
                    || (w.bytes().any(|c| c.is_ascii_alphabetic())
                        && w.bytes().any(|c| c.is_ascii_digit())));
            assert_eq!(is_identifier(w), slow, "{w:?}");
        }
    }

    #[test]
    fn short_hex_words_stay_literal() {
        assert_eq!(normalise_path("/api/v2/beef/cafe"), "/api/v2/beef/cafe");
    }
}
