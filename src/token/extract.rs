//! Token extraction from headers, cookies and the query string.

use std::borrow::Cow;
use std::str::FromStr;

/// One configured token source (`tokens.sources`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `authorization`: `Authorization: Bearer <t>`.
    Authorization,
    /// `header:NAME` (name lowercased).
    Header(http::HeaderName),
    /// `cookie:NAME`.
    Cookie(String),
    /// `query:NAME`.
    Query(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid token source {source_text:?}: {reason}")]
pub struct SourceError {
    pub source_text: String,
    pub reason: String,
}

impl FromStr for TokenSource {
    type Err = SourceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| SourceError {
            source_text: s.to_string(),
            reason: reason.to_string(),
        };
        if s == "authorization" {
            return Ok(TokenSource::Authorization);
        }
        let Some((kind, name)) = s.split_once(':') else {
            return Err(fail(EXPECTED));
        };
        if name.is_empty() {
            return Err(fail("the name after `:` is empty"));
        }
        match kind {
            "header" => http::HeaderName::from_bytes(name.as_bytes())
                .map(TokenSource::Header)
                .map_err(|_| fail("not a valid HTTP header name")),
            "cookie" if name.bytes().all(is_cookie_name_byte) => {
                Ok(TokenSource::Cookie(name.to_string()))
            }
            "cookie" => Err(fail("not a valid cookie name")),
            "query" if name.bytes().all(is_query_name_byte) => {
                Ok(TokenSource::Query(name.to_string()))
            }
            "query" => Err(fail(
                "a query parameter name may not contain spaces, control characters or `&=#%+?`",
            )),
            _ => Err(fail(EXPECTED)),
        }
    }
}

const EXPECTED: &str = "expected `authorization`, `header:NAME`, `cookie:NAME` or `query:NAME`";

/// RFC 6265 cookie-name: a token (visible ASCII except separators).
fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

/// Query names are compared raw, so only characters a client sends unencoded are allowed.
fn is_query_name_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"&=#%+?".contains(&b)
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Authorization => f.write_str("authorization"),
            TokenSource::Header(n) => write!(f, "header:{n}"),
            TokenSource::Cookie(n) => write!(f, "cookie:{n}"),
            TokenSource::Query(n) => write!(f, "query:{n}"),
        }
    }
}

/// The first non-empty valid token from `sources`, tried in order. A value with bytes outside
/// RFC 6750's b64token set counts as no token. `query` is the raw query string without `?`.
pub fn extract<'a>(
    sources: &[TokenSource],
    headers: &'a http::HeaderMap,
    query: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    sources.iter().find_map(|source| match source {
        TokenSource::Authorization => from_authorization(headers).map(Cow::Borrowed),
        TokenSource::Header(name) => from_header(headers, name).map(Cow::Borrowed),
        TokenSource::Cookie(name) => from_cookie(headers, name).map(Cow::Borrowed),
        TokenSource::Query(name) => query.and_then(|q| from_query(q, name)),
    })
}

/// Longer values are refused: no legitimate access token is this large, and it bounds the
/// work done per request.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`,
/// at most [`MAX_TOKEN_LEN`] bytes. Returns the value as `str` when it qualifies.
fn as_token(value: &[u8]) -> Option<&str> {
    if value.len() > MAX_TOKEN_LEN {
        return None;
    }
    let body_len = value.len() - value.iter().rev().take_while(|&&b| b == b'=').count();
    let (body, _padding) = value.split_at(body_len);
    let valid = !body.is_empty()
        && body.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    // Valid bytes are ASCII, so this conversion cannot fail; it just avoids `unsafe`.
    valid.then(|| std::str::from_utf8(value).ok()).flatten()
}

/// The first `Authorization` header with scheme `Bearer` (any case), then its trimmed rest.
fn from_authorization(headers: &http::HeaderMap) -> Option<&str> {
    let credentials = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .find_map(|v| bearer_credentials(v.as_bytes()))?;
    as_token(credentials.trim_ascii())
}

/// The bytes after `Bearer` when the value uses that scheme (`Bearer` alone gives empty).
fn bearer_credentials(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii_start();
    let (scheme, rest) = value.split_at(value.len().min(6));
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    // The scheme must end here: `Bearerx abc` is another scheme.
    match rest.first() {
        None => Some(rest),
        Some(b' ' | b'\t') => Some(rest),
        Some(_) => None,
    }
}

fn from_header<'a>(headers: &'a http::HeaderMap, name: &http::HeaderName) -> Option<&'a str> {
    as_token(headers.get(name)?.as_bytes().trim_ascii())
}

/// The first cookie called `name` across all `Cookie` headers. Works on bytes: cookie
/// headers may carry non-UTF-8 bytes, which simply never form a valid token.
fn from_cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers
        .get_all(http::header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
        .find_map(|pair| cookie_value(pair, name.as_bytes()))?;
    as_token(value)
}

/// The value of `pair` (`name=value`, optionally quoted) when its name is `name`.
fn cookie_value<'a>(pair: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let pair = pair.trim_ascii();
    let eq = pair.iter().position(|&b| b == b'=')?;
    if pair[..eq].trim_ascii() != name {
        return None;
    }
    let value = pair[eq + 1..].trim_ascii();
    let unquoted = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(value);
    Some(unquoted)
}

/// The first `name=value` parameter of the raw query, percent-decoded (allocates only when
/// the value holds a `%`). `+` stays `+`: it is a b64token character, and form-decoding it to
/// a space would make every such token invalid.
fn from_query<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let raw = query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((n, v)) if n == name => Some(v),
            None if pair == name => Some(""),
            _ => None,
        })?;
    if raw.len() > MAX_TOKEN_LEN * 3 {
        return None;
    }
    match percent_encoding::percent_decode_str(raw).into() {
        Cow::Borrowed(bytes) => as_token(bytes).map(Cow::Borrowed),
        Cow::Owned(bytes) => as_token(&bytes).map(|t| Cow::Owned(t.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(s: &str) -> TokenSource {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_every_source_kind() {
        assert_eq!(src("authorization"), TokenSource::Authorization);
        assert_eq!(
            src("header:X-Access-Token"),
            TokenSource::Header(http::HeaderName::from_static("x-access-token"))
        );
        assert_eq!(src("cookie:session"), TokenSource::Cookie("session".into()));
        assert_eq!(
            src("query:access_token"),
            TokenSource::Query("access_token".into())
        );
        assert_eq!(src("header:X-Token").to_string(), "header:x-token");
        assert_eq!(src("cookie:sid").to_string(), "cookie:sid");
    }

    #[test]
    fn rejects_unknown_or_empty_sources() {
        for bad in [
            "",
            "Authorization",
            "bearer",
            "header:",
            "cookie:",
            "query:",
            "body:token",
            "header:bad name",
            "cookie:a=b",
            "cookie:a;b",
            "query:a&b",
            "query:a b",
        ] {
            let err = bad.parse::<TokenSource>().expect_err(bad);
            assert_eq!(err.source_text, bad);
            assert!(!err.reason.is_empty());
        }
    }

    fn headers(pairs: &[(&str, &[u8])]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    fn get(sources: &[&str], pairs: &[(&str, &[u8])], query: Option<&str>) -> Option<String> {
        let sources: Vec<TokenSource> = sources.iter().map(|s| src(s)).collect();
        extract(&sources, &headers(pairs), query).map(|t| t.into_owned())
    }

    fn bearer(value: &str) -> Option<String> {
        get(
            &["authorization"],
            &[("authorization", value.as_bytes())],
            None,
        )
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_rest_trimmed() {
        assert_eq!(
            bearer("Bearer abc.def-_~+/=="),
            Some("abc.def-_~+/==".into())
        );
        assert_eq!(bearer("bearer abc"), Some("abc".into()));
        assert_eq!(bearer("BEARER   abc  "), Some("abc".into()));
        assert_eq!(bearer("Bearer\tabc"), Some("abc".into()));
    }

    #[test]
    fn malformed_authorization_gives_no_token() {
        for bad in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer   ",
            "Bearer a b",
            "Bearerabc",
            "abc",
            "",
            "Bearer =abc",
            "Bearer ==",
            "Bearer a=b",
        ] {
            assert_eq!(bearer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn first_bearer_authorization_header_wins() {
        let pairs: &[(&str, &[u8])] = &[
            ("authorization", b"Basic eA=="),
            ("authorization", b"Bearer second"),
            ("authorization", b"Bearer third"),
        ];
        assert_eq!(get(&["authorization"], pairs, None), Some("second".into()));
    }

    #[test]
    fn invalid_characters_mean_no_token() {
        for bad in [
            "Bearer a,b",
            "Bearer a\"b",
            "Bearer a%20b",
            "Bearer é",
            "Bearer a;b",
        ] {
            assert_eq!(bearer(bad), None, "{bad:?}");
        }
        let non_utf8: &[(&str, &[u8])] = &[("authorization", b"Bearer ab\xffcd")];
        assert_eq!(get(&["authorization"], non_utf8, None), None);
    }

    #[test]
    fn token_longer_than_16_kib_is_invalid() {
        let ok = "a".repeat(MAX_TOKEN_LEN);
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            bearer(&format!("Bearer {ok}")).map(|t| t.len()),
            Some(MAX_TOKEN_LEN)
        );
        assert_eq!(bearer(&format!("Bearer {huge}")), None);
        assert_eq!(get(&["query:t"], &[], Some(&format!("t={huge}"))), None);
    }

    #[test]
    fn header_source_takes_trimmed_value() {
        let pairs: &[(&str, &[u8])] = &[("x-token", b"  tok123  ")];
        assert_eq!(get(&["header:X-Token"], pairs, None), Some("tok123".into()));
        assert_eq!(get(&["header:x-other"], pairs, None), None);
        let empty: &[(&str, &[u8])] = &[("x-token", b"   ")];
        assert_eq!(get(&["header:x-token"], empty, None), None);
    }

    #[test]
    fn first_cookie_of_that_name_across_cookie_headers() {
        let pairs: &[(&str, &[u8])] = &[
            ("cookie", b"a=1; other=x"),
            ("cookie", b"theme=dark;sid=first ; sid=second"),
            ("cookie", b"sid=third"),
        ];
        assert_eq!(get(&["cookie:sid"], pairs, None), Some("first".into()));
        assert_eq!(get(&["cookie:other"], pairs, None), Some("x".into()));
        assert_eq!(get(&["cookie:si"], pairs, None), None);
        let quoted: &[(&str, &[u8])] = &[("cookie", b"sid=\"q.v\"")];
        assert_eq!(get(&["cookie:sid"], quoted, None), Some("q.v".into()));
    }

    #[test]
    fn non_utf8_cookie_bytes_are_skipped_safely() {
        let pairs: &[(&str, &[u8])] = &[("cookie", b"junk=\xff\xfe; sid=good; x=\x80")];
        assert_eq!(get(&["cookie:sid"], pairs, None), Some("good".into()));
        let bad: &[(&str, &[u8])] = &[("cookie", b"sid=ab\xffcd")];
        assert_eq!(get(&["cookie:sid"], bad, None), None);
    }

    #[test]
    fn query_parameter_is_percent_decoded() {
        let q = |query: &str| {
            let sources = [src("query:access_token")];
            extract(&sources, &http::HeaderMap::new(), Some(query))
                .map(|t| (matches!(t, Cow::Owned(_)), t.into_owned()))
        };
        assert_eq!(
            q("x=1&access_token=abc&access_token=def"),
            Some((false, "abc".into()))
        );
        assert_eq!(
            q("access_token=ab%2Bc%2F%3D"),
            Some((true, "ab+c/=".into()))
        );
        assert_eq!(q("access_token=a%20b"), None);
        assert_eq!(q("access_token=%ff"), None);
        assert_eq!(q("access_token="), None);
        assert_eq!(q("access_token"), None);
        assert_eq!(q("xaccess_token=abc"), None);
    }

    #[test]
    fn sources_tried_in_order_and_invalid_values_skipped() {
        let pairs: &[(&str, &[u8])] = &[
            ("authorization", b"Bearer from-auth"),
            ("cookie", b"sid=from-cookie"),
        ];
        assert_eq!(
            get(&["cookie:sid", "authorization"], pairs, None),
            Some("from-cookie".into())
        );
        assert_eq!(
            get(&["authorization", "cookie:sid"], pairs, None),
            Some("from-auth".into())
        );
        let bad_auth: &[(&str, &[u8])] = &[
            ("authorization", b"Bearer a b"),
            ("cookie", b"sid=from-cookie"),
        ];
        assert_eq!(
            get(&["authorization", "cookie:sid"], bad_auth, None),
            Some("from-cookie".into())
        );
        assert_eq!(
            get(&["authorization", "query:t"], &[], Some("t=q")),
            Some("q".into())
        );
        assert_eq!(get(&["authorization", "query:t"], &[], None), None);
        assert_eq!(get(&[], pairs, None), None);
    }
}
