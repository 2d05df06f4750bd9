//! `METHOD /path/{param}/{*rest}?name=value` patterns (docs/reference.md, "Exclusion patterns").

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    /// `*`: any method.
    Any,
}

impl PatternMethod {
    fn parse(text: &str) -> Option<PatternMethod> {
        Some(match text {
            "GET" => PatternMethod::Get,
            "HEAD" => PatternMethod::Head,
            "POST" => PatternMethod::Post,
            "PUT" => PatternMethod::Put,
            "PATCH" => PatternMethod::Patch,
            "DELETE" => PatternMethod::Delete,
            "OPTIONS" => PatternMethod::Options,
            "*" => PatternMethod::Any,
            _ => return None,
        })
    }

    /// Exact method comparison: `GET` does not match `HEAD`.
    pub fn matches(self, method: &http::Method) -> bool {
        match self {
            PatternMethod::Any => true,
            PatternMethod::Get => method == http::Method::GET,
            PatternMethod::Head => method == http::Method::HEAD,
            PatternMethod::Post => method == http::Method::POST,
            PatternMethod::Put => method == http::Method::PUT,
            PatternMethod::Patch => method == http::Method::PATCH,
            PatternMethod::Delete => method == http::Method::DELETE,
            PatternMethod::Options => method == http::Method::OPTIONS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

/// One segment of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Must equal the request segment byte for byte (may be empty: `/a/` ends in one).
    Literal(String),
    /// `{name}`: exactly one non-empty segment.
    Param,
    /// `{*rest}`: the non-empty remainder of the path; always last.
    Rest,
}

/// A parsed exclusion pattern. Keeps its text as written (the metric label).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    method: PatternMethod,
    /// The path template as written, without the query conditions.
    path: String,
    segments: Vec<Segment>,
    /// Raw `name=value` pairs that must all appear in the request query.
    conditions: Vec<String>,
}

const METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or *";

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let fail = |reason: String| PatternError {
            pattern: text.to_string(),
            reason,
        };
        let mut words = text.split_ascii_whitespace();
        let Some(method_text) = words.next() else {
            return Err(fail("the pattern is empty; expected `METHOD /path`".into()));
        };
        let method = match PatternMethod::parse(method_text) {
            Some(m) => m,
            None if method_text.starts_with('/') => {
                return Err(fail(format!(
                    "missing method before the path (one of {METHODS})"
                )))
            }
            None => {
                return Err(fail(format!(
                    "unknown method {method_text:?} (expected {METHODS}, uppercase)"
                )))
            }
        };
        let Some(target) = words.next() else {
            return Err(fail("missing path after the method".into()));
        };
        if words.next().is_some() {
            return Err(fail(
                "unexpected text after the path; expected `METHOD /path`".into(),
            ));
        }
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let segments = parse_path(path).map_err(fail)?;
        let conditions = match query {
            Some(q) => parse_conditions(q).map_err(fail)?,
            None => Vec::new(),
        };
        Ok(Pattern {
            text: text.to_string(),
            method,
            path: path.to_string(),
            segments,
            conditions,
        })
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn method(&self) -> PatternMethod {
        self.method
    }

    /// The path template without the query conditions, e.g. `/api/v2/users/{userId}`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn matches(&self, method: &http::Method, path: &str, query: Option<&str>) -> bool {
        self.method.matches(method)
            && path_matches(&self.segments, path)
            && query_matches(&self.conditions, query)
    }

    /// Whether the request query satisfies this pattern's `?name=value` conditions.
    pub(crate) fn query_matches(&self, query: Option<&str>) -> bool {
        query_matches(&self.conditions, query)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Path segments a pattern may have. Real API paths have about ten; the bound keeps the
/// classifier's trie shallow, because it is walked and dropped recursively (a pattern of
/// thousands of segments overflowed the stack).
pub(super) const MAX_SEGMENTS: usize = 64;

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(body) = path.strip_prefix('/') else {
        return Err(format!("the path {path:?} must start with `/`"));
    };
    let raw: Vec<&str> = body.split('/').collect();
    if raw.len() > MAX_SEGMENTS {
        return Err(format!(
            "the path has {} segments; at most {MAX_SEGMENTS} are allowed",
            raw.len()
        ));
    }
    let mut segments = Vec::with_capacity(raw.len());
    for (i, seg) in raw.iter().enumerate() {
        let is_last = i + 1 == raw.len();
        segments.push(parse_segment(seg, is_last)?);
    }
    Ok(segments)
}

fn parse_segment(seg: &str, is_last: bool) -> Result<Segment, String> {
    if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        if let Some(name) = inner.strip_prefix('*') {
            check_param_name(name, seg)?;
            if !is_last {
                return Err(format!("{seg} must be the last segment of the path"));
            }
            return Ok(Segment::Rest);
        }
        check_param_name(inner, seg)?;
        return Ok(Segment::Param);
    }
    if seg.contains(['{', '}', '*']) {
        return Err(format!(
            "literal segment {seg:?} may not contain `{{`, `}}` or `*` \
             (a parameter is a whole segment: `{{name}}` or a final `{{*rest}}`)"
        ));
    }
    Ok(Segment::Literal(seg.to_string()))
}

fn check_param_name(name: &str, seg: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("parameter {seg} needs a name"));
    }
    if name.contains(['{', '}', '*']) {
        return Err(format!(
            "parameter {seg} has a name containing `{{`, `}}` or `*`"
        ));
    }
    Ok(())
}

fn parse_conditions(query: &str) -> Result<Vec<String>, String> {
    if query.is_empty() {
        return Err("empty query after `?`; expected `?name=value&...`".into());
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if !name.is_empty() => Ok(pair.to_string()),
            Some(_) => Err(format!("query condition {pair:?} has no name")),
            None if pair.is_empty() => Err("empty query condition between `&`".into()),
            None => Err(format!(
                "query condition {pair:?} needs a value: write `{pair}=value`"
            )),
        })
        .collect()
}

/// Splits off the next segment: `("a", Some("b/c"))` for `"a/b/c"`, `("c", None)` at the end.
pub(crate) fn next_segment(rest: &str) -> (&str, Option<&str>) {
    // A byte scan: segments are short, and `str::find('/')` set up a char searcher each time,
    // ~150 instructions a segment, 4 segments a request (callgrind).
    match rest.bytes().position(|b| b == b'/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    }
}

fn path_matches(segments: &[Segment], path: &str) -> bool {
    let Some(mut remaining) = path.strip_prefix('/') else {
        return false;
    };
    for (i, seg) in segments.iter().enumerate() {
        let (head, tail) = next_segment(remaining);
        let ok = match seg {
            Segment::Rest => return !remaining.is_empty(),
            Segment::Literal(lit) => lit == head,
            Segment::Param => !head.is_empty(),
        };
        if !ok {
            return false;
        }
        match tail {
            Some(t) => remaining = t,
            // The request path ended: a match only if the template ended too.
            None => return i + 1 == segments.len(),
        }
    }
    false
}

/// Every condition must appear as a raw `name=value` pair; other pairs and order don't matter.
pub(crate) fn query_matches(conditions: &[String], query: Option<&str>) -> bool {
    if conditions.is_empty() {
        return true;
    }
    let Some(query) = query else {
        return false;
    };
    conditions
        .iter()
        .all(|cond| query.split('&').any(|pair| pair == cond))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn p(text: &str) -> Pattern {
        Pattern::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn reason(text: &str) -> String {
        Pattern::parse(text).expect_err(text).reason
    }

    #[test]
    fn parses_method_path_and_keeps_text() {
        let pat = p("GET   /api/v2/users/{userId}/presences?a=1");
        assert_eq!(pat.method(), PatternMethod::Get);
        assert_eq!(pat.path(), "/api/v2/users/{userId}/presences");
        assert_eq!(pat.text(), "GET   /api/v2/users/{userId}/presences?a=1");
        assert_eq!(pat.to_string(), pat.text());
        for (m, want) in [
            ("HEAD", PatternMethod::Head),
            ("POST", PatternMethod::Post),
            ("PUT", PatternMethod::Put),
            ("PATCH", PatternMethod::Patch),
            ("DELETE", PatternMethod::Delete),
            ("OPTIONS", PatternMethod::Options),
            ("*", PatternMethod::Any),
        ] {
            assert_eq!(p(&format!("{m} /x")).method(), want);
        }
        assert_eq!(p("GET /").path(), "/");
        assert_eq!(p("GET /a/{*rest}").path(), "/a/{*rest}");
    }

    #[test]
    fn invalid_patterns_name_their_reason() {
        assert!(reason("").contains("empty"));
        assert!(reason("   ").contains("empty"));
        assert!(reason("get /a").contains("unknown method"));
        assert!(reason("FETCH /a").contains("unknown method"));
        assert!(reason("/a").contains("missing method"));
        assert!(reason("GET").contains("missing path"));
        assert!(reason("GET a/b").contains("start with `/`"));
        assert!(reason("GET /a /b").contains("unexpected text"));
        assert!(reason("GET /a/{*rest}/b").contains("last segment"));
        assert!(reason("GET /a/{}").contains("needs a name"));
        assert!(reason("GET /a/{*}").contains("needs a name"));
        assert!(reason("GET /a/x{id}").contains("literal segment"));
        assert!(reason("GET /a/*").contains("literal segment"));
        assert!(reason("GET /a/{id").contains("literal segment"));
        assert!(reason("GET /a/{i{d}").contains("name containing"));
        assert!(reason("GET /a?flag").contains("needs a value"));
        assert!(reason("GET /a?").contains("empty query"));
        assert!(reason("GET /a?x=1&&y=2").contains("empty query condition"));
        assert!(reason("GET /a?=1").contains("no name"));
        let deepest = "/a".repeat(MAX_SEGMENTS);
        assert_eq!(p(&format!("GET {deepest}")).segments().len(), MAX_SEGMENTS);
        assert!(reason(&format!("GET {deepest}/a")).contains("at most 64 are allowed"));
        let err = Pattern::parse("FETCH /a").unwrap_err();
        assert!(err.to_string().contains("FETCH /a"));
    }

    #[test]
    fn param_matches_exactly_one_non_empty_segment() {
        let pat = p("GET /users/{userId}/presences");
        assert!(pat.matches(&Method::GET, "/users/42/presences", None));
        assert!(!pat.matches(&Method::GET, "/users//presences", None));
        assert!(!pat.matches(&Method::GET, "/users/4/2/presences", None));
        assert!(!pat.matches(&Method::GET, "/users/42", None));
    }

    #[test]
    fn rest_param_needs_one_or_more_chars() {
        let pat = p("GET /a/{*rest}");
        assert!(pat.matches(&Method::GET, "/a/x", None));
        assert!(pat.matches(&Method::GET, "/a/x/y", None));
        assert!(pat.matches(&Method::GET, "/a/x/", None));
        assert!(!pat.matches(&Method::GET, "/a", None));
        assert!(!pat.matches(&Method::GET, "/a/", None));
        assert!(!pat.matches(&Method::GET, "/b/x", None));
    }

    #[test]
    fn any_method_matches_everything_and_get_is_not_head() {
        let any = p("* /x");
        for m in [
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::from_bytes(b"PROPFIND").unwrap(),
        ] {
            assert!(any.matches(&m, "/x", None));
        }
        let get = p("GET /x");
        assert!(!get.matches(&Method::HEAD, "/x", None));
        assert!(p("HEAD /x").matches(&Method::HEAD, "/x", None));
        assert!(!p("HEAD /x").matches(&Method::GET, "/x", None));
    }

    #[test]
    fn query_conditions_any_order_with_extra_params() {
        let pat = p("GET /tokens/me?preserveIdleTTL=true&b=2");
        assert!(pat.matches(
            &Method::GET,
            "/tokens/me",
            Some("b=2&x=1&preserveIdleTTL=true")
        ));
        assert!(!pat.matches(&Method::GET, "/tokens/me", Some("preserveIdleTTL=true")));
        assert!(!pat.matches(&Method::GET, "/tokens/me", Some("preserveIdleTTL=TRUE&b=2")));
        assert!(!pat.matches(&Method::GET, "/tokens/me", None));
        // Raw comparison: an encoded value is a different pair.
        assert!(!p("GET /a?x=a%20b").matches(&Method::GET, "/a", Some("x=a+b")));
        assert!(p("GET /a?x=a%20b").matches(&Method::GET, "/a", Some("x=a%20b")));
        assert!(p("GET /a?x=").matches(&Method::GET, "/a", Some("x=")));
        // No conditions: any query is fine.
        assert!(p("GET /a").matches(&Method::GET, "/a", Some("z=9")));
    }

    #[test]
    fn trailing_slash_and_case_are_significant() {
        let pat = p("GET /a/b");
        assert!(pat.matches(&Method::GET, "/a/b", None));
        assert!(!pat.matches(&Method::GET, "/a/b/", None));
        assert!(!pat.matches(&Method::GET, "/A/b", None));
        assert!(!pat.matches(&Method::GET, "/a//b", None));
        assert!(!pat.matches(&Method::GET, "/a/./b", None));
        let slash = p("GET /a/");
        assert!(slash.matches(&Method::GET, "/a/", None));
        assert!(!slash.matches(&Method::GET, "/a", None));
        assert!(p("GET /").matches(&Method::GET, "/", None));
        assert!(!p("GET /").matches(&Method::GET, "", None));
        assert!(!p("GET /a").matches(&Method::GET, "*", None));
    }
}
