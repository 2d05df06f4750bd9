//! One check per parser of outside input, shared by the fuzz targets (`fuzz/`) and the corpus
//! replay test (`tests/fuzz_corpus.rs`), so a committed corpus file is a regression test in the
//! normal test run. Each check feeds arbitrary bytes to the parser and asserts what must hold
//! for every input (round trips, agreement with a simpler reference); a failed assertion or a
//! panic is a finding. Not part of the product API.

mod files;
mod identity;
mod request_head;
mod stored;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::classify::{Classifier, Group, Pattern, Segment};
use crate::token::{self, Extracted, Keyer, TokenKey, TokenSource, MAX_TOKEN_LEN};

pub use files::{config, har};
pub use identity::identity;
pub use request_head::request_head;
pub use stored::{redis, snapshot};

/// One check: arbitrary bytes in, a panic on a finding.
pub type Check = fn(&[u8]);

/// Every target by name: `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("patterns", patterns),
    ("tokens", tokens),
    ("config", config),
    ("har_reader", har),
    ("snapshot", snapshot),
    ("redis", redis),
    ("identity", identity),
    ("request_head", request_head),
];

/// Exclusion patterns and the classifier. Input: lines; the last is the request
/// (`METHOD /path?query`), the others are custom patterns, except the flags `!groups` (every
/// built-in group on) and `!no-touch` (a no-touch header configured and present).
/// A parsed pattern prints as written, parses back equal, and matches a request made from its
/// own template; the classifier's trie agrees with trying every pattern in precedence order.
pub fn patterns(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines: Vec<&str> = text.split('\n').collect();
    let request = lines.pop().unwrap_or_default();
    let groups = if lines.contains(&"!groups") {
        crate::config::builtin_groups()
    } else {
        Vec::new()
    };
    let no_touch = lines.contains(&"!no-touch");
    let mut custom = Vec::new();
    for line in lines.into_iter().filter(|l| !l.starts_with('!')).take(64) {
        match Pattern::parse(line) {
            Ok(p) => {
                check_pattern(&p, line);
                custom.push(p);
            }
            Err(e) => {
                assert_eq!(e.pattern, line);
                assert!(!e.reason.is_empty() && e.to_string().contains(&e.reason));
            }
        }
    }
    let enabled: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let classifier = Classifier::new(&groups, &enabled, &custom, no_touch);
    assert_eq!(
        classifier.labels().len(),
        usize::from(no_touch) + groups.len() + custom.len()
    );
    let (method, path, query) = split_request(request);
    let expected = reference_classify(&groups, &custom, no_touch, &method, path, query);
    assert_eq!(
        classifier.classify(&method, path, query, no_touch),
        expected
    );
    let first_custom = usize::from(no_touch) + groups.len();
    for (i, p) in custom.iter().enumerate() {
        let (m, path, query) = example_request(p);
        let got = classifier.classify(&m, &path, query, false);
        assert!(got.is_some_and(|id| id <= first_custom + i), "{p}: {got:?}");
    }
}

fn check_pattern(p: &Pattern, text: &str) {
    assert_eq!(p.to_string(), text);
    assert_eq!(Pattern::parse(&p.to_string()).as_ref(), Ok(p));
    let (m, path, query) = example_request(p);
    assert!(p.matches(&m, &path, query), "{p} vs {path}");
}

/// A request the pattern must match: each parameter replaced by `x`, its own conditions as
/// the query, its method (GET for `*`).
fn example_request(p: &Pattern) -> (Method, String, Option<&str>) {
    let mut words = p.text().split_ascii_whitespace();
    let method = words
        .next()
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
    let path = p.segments().iter().fold(String::new(), |acc, s| match s {
        Segment::Literal(text) => acc + "/" + text,
        Segment::Param | Segment::Rest => acc + "/x",
    });
    let query = words.next().and_then(|t| t.split_once('?')).map(|(_, q)| q);
    (
        method.filter(|m| m != "*").unwrap_or(Method::GET),
        path,
        query,
    )
}

fn split_request(line: &str) -> (Method, &str, Option<&str>) {
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    match target.split_once('?') {
        Some((path, query)) => (method, path, Some(query)),
        None => (method, target, None),
    }
}

/// The classifier's rule without the trie: the first label (no-touch, groups in order, custom
/// patterns in order) with a matching pattern.
fn reference_classify(
    groups: &[Group],
    custom: &[Pattern],
    no_touch: bool,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<usize> {
    if no_touch {
        return Some(0);
    }
    let sets = groups.iter().map(|g| g.routes.as_slice());
    sets.chain(custom.iter().map(std::slice::from_ref))
        .position(|set| set.iter().any(|p| p.matches(method, path, query)))
}

/// Token extraction and keying. Input: lines; the first lists token sources separated by
/// spaces (the defaults when none is valid), a line `?...` is the query, the others are
/// `name: value` headers. One credential per request: the token found is the one every
/// source that has a token carries, a conflict is one that a source alone shows or two sources
/// disagreeing on; an extracted token is a b64token of at most 16 KiB, and its id is stable,
/// the same for its signing input, and hex round-trips.
pub fn tokens(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let first = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let mut sources: Vec<TokenSource> = first.split(' ').filter_map(|s| s.parse().ok()).collect();
    for s in &sources {
        assert_eq!(s.to_string().parse::<TokenSource>().as_ref(), Ok(s));
    }
    if sources.is_empty() {
        sources = [
            "authorization",
            "header:x-token",
            "cookie:sid",
            "query:access_token",
        ]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    }
    let mut headers = HeaderMap::new();
    let mut query = None;
    for line in lines {
        if let Some(q) = line.strip_prefix(b"?") {
            query = Some(String::from_utf8_lossy(q).into_owned());
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = HeaderName::from_bytes(&line[..colon]);
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii_start());
            if let (Ok(name), Ok(value)) = (name, value) {
                headers.append(name, value);
            }
        }
    }
    let query = query.as_deref();
    let all = token::extract_checked(&sources, &headers, query);
    let each: Vec<Extracted> = sources
        .iter()
        .map(|s| token::extract_checked(std::slice::from_ref(s), &headers, query))
        .collect();
    let tokens: Vec<&str> = each
        .iter()
        .filter_map(|e| match e {
            Extracted::One(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    let conflict_in_one = each.iter().any(|e| matches!(e, Extracted::Conflict(_)));
    match &all {
        // One credential: every source that has a token has this one.
        Extracted::One(t) => {
            assert!(!conflict_in_one && !tokens.is_empty());
            assert!(tokens.iter().all(|x| x == t));
            check_token(t);
        }
        Extracted::None => assert!(!conflict_in_one && tokens.is_empty()),
        // More than one credential, or a malformed one: a source alone says so, or two
        // sources carry different tokens.
        Extracted::Conflict(_) => {
            assert!(conflict_in_one || tokens.windows(2).any(|w| w[0] != w[1]));
        }
    }
    assert_eq!(
        token::extract(&sources, &headers, query),
        all.clone().token()
    );
}

fn check_token(t: &str) {
    let body = t.trim_end_matches('=');
    assert!(t.len() <= MAX_TOKEN_LEN && !body.is_empty(), "{t:?}");
    assert!(body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)));
    let keyer = Keyer::from_secret(b"fuzz");
    let key = keyer.key(t);
    assert_eq!(Keyer::from_secret(b"fuzz").key(t), key);
    let signing_input = token::signing_input(t);
    assert_eq!(keyer.key(signing_input), key);
    if signing_input != t {
        // A re-signed compact JWS keeps its id.
        assert_eq!(keyer.key(&format!("{signing_input}.resigned")), key);
    } else {
        assert_eq!(token::jwt_exp(t), None);
    }
    let hex = key.to_hex();
    assert!(hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert_eq!(TokenKey::from_hex(&hex), Some(key));
}
