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

/// What the configured sources found in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted<'a> {
    /// No source carries a valid token: the request is anonymous.
    None,
    /// One token (repeated copies with the same value included).
    One(Cow<'a, str>),
    /// More than one credential: the gateway cannot know which one the upstream will read,
    /// so the request is refused rather than forwarded.
    Conflict(Conflict),
}

impl<'a> Extracted<'a> {
    /// The token, when there is exactly one.
    pub fn token(self) -> Option<Cow<'a, str>> {
        match self {
            Extracted::One(token) => Some(token),
            Extracted::None | Extracted::Conflict(_) => None,
        }
    }
}

/// Why a request carries more than one credential. The text never includes a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("more than one Authorization header")]
    AuthorizationRepeated,
    #[error("more than one credential in the Authorization header")]
    AuthorizationList,
    #[error("the token header is repeated with different values")]
    HeaderRepeated,
    #[error("the token cookie is repeated with different values")]
    CookieRepeated,
    #[error("the token query parameter is repeated with different values")]
    QueryRepeated,
    #[error("a token value holds a comma-separated list")]
    ValueList,
    #[error("two token sources carry different tokens")]
    SourcesDisagree,
    #[error("a token value is not one bearer token (RFC 6750 b64token, at most 16 KiB)")]
    Malformed,
}

/// Every configured source is read, and the request must carry at most one credential: a
/// single source repeated with different values, a comma-joined list, or two sources with
/// different tokens is a [`Conflict`] (an upstream that reads another copy than ours would
/// accept a token the gateway never checked). Otherwise the token as in [`extract`].
///
/// `Authorization` is checked whatever the sources say: HTTP allows that field once, and an
/// upstream may take any credential in it. On the common path (one source, one header) this
/// does not allocate.
pub fn extract_checked<'a>(
    sources: &[TokenSource],
    headers: &'a http::HeaderMap,
    query: Option<&'a str>,
) -> Extracted<'a> {
    match checked(sources, headers, query) {
        Ok(Some(token)) => Extracted::One(token),
        Ok(None) => Extracted::None,
        Err(conflict) => Extracted::Conflict(conflict),
    }
}

/// The request's one token from `sources`, tried in order; `None` when it has none, more
/// than one credential, or a value that is not one valid token (the proxy refuses such a
/// request, so it belongs to no token). `query` is the raw query string without `?`.
pub fn extract<'a>(
    sources: &[TokenSource],
    headers: &'a http::HeaderMap,
    query: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    extract_checked(sources, headers, query).token()
}

fn checked<'a>(
    sources: &[TokenSource],
    headers: &'a http::HeaderMap,
    query: Option<&'a str>,
) -> Result<Option<Cow<'a, str>>, Conflict> {
    let authorization = from_authorization(headers)?;
    let mut found: Option<Cow<'a, str>> = None;
    for source in sources {
        let token = match source {
            TokenSource::Authorization => authorization.map(Cow::Borrowed),
            TokenSource::Header(name) => from_header(headers, name)?.map(Cow::Borrowed),
            TokenSource::Cookie(name) => from_cookie(headers, name)?.map(Cow::Borrowed),
            TokenSource::Query(name) => match query {
                Some(q) => from_query(q, name)?,
                None => None,
            },
        };
        match (&found, token) {
            (_, None) => {}
            (None, Some(token)) => found = Some(token),
            (Some(first), Some(token)) => {
                if !same(first.as_bytes(), token.as_bytes()) {
                    return Err(Conflict::SourcesDisagree);
                }
            }
        }
    }
    Ok(found)
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
    // Without an early exit per byte the check vectorises: a 64-byte chunk at a time, it
    // took a 400-byte token from 12 instructions a byte (17 % of a proxied request's
    // instructions, callgrind) to about 1.
    let valid = !body.is_empty()
        && body
            .chunks(64)
            .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & is_b64token_byte(b)));
    // Valid bytes are ASCII, so this conversion cannot fail; it just avoids `unsafe`.
    valid.then(|| std::str::from_utf8(value).ok()).flatten()
}

/// A byte of a `b64token` before its padding, without branches.
fn is_b64token_byte(b: u8) -> bool {
    let lower = b | 0x20;
    (lower.wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

/// A valid token; no token when the value is empty; `list` when the value is a comma-joined
/// list (a b64token has no comma, so a comma means more than one credential, or an attempt to
/// look like one); otherwise [`Conflict::Malformed`]. A malformed value is refused rather than
/// forwarded as anonymous: an upstream that reads `Bearer REVOKED junk` leniently (splits on
/// the space, decodes `%2E`, ignores what follows) would accept a token the gateway never
/// checked, and a token over the length bound would never be tracked at all.
fn token_or_list(value: &[u8], list: Conflict) -> Result<Option<&str>, Conflict> {
    match as_token(value) {
        Some(token) => Ok(Some(token)),
        None if value.is_empty() => Ok(None),
        None if value.contains(&b',') => Err(list),
        None => Err(Conflict::Malformed),
    }
}

/// Values that are credentials are compared without an early exit on the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// The `Bearer` token of the one `Authorization` header. A second header (whatever its
/// scheme or value, an empty one included) or a list of credentials in the value is a
/// conflict; another scheme alone is no token.
fn from_authorization(headers: &http::HeaderMap) -> Result<Option<&str>, Conflict> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Conflict::AuthorizationRepeated);
    }
    let value = value.as_bytes();
    match bearer_credentials(value) {
        Some(credentials) => token_or_list(credentials.trim_ascii(), Conflict::AuthorizationList),
        // `Basic x, Bearer y`: an upstream that reads the value as a list finds a token.
        None if value
            .split(|&b| b == b',')
            .skip(1)
            .any(|part| bearer_credentials(part).is_some()) =>
        {
            Err(Conflict::AuthorizationList)
        }
        None => Ok(None),
    }
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

/// The trimmed value of the header; repeated with another value is a conflict. A name
/// spelled with `_` for `-` counts as the same header: CGI-style upstreams (WSGI, Rack, PHP)
/// read `x_token` and `x-token` both as `HTTP_X_TOKEN`.
fn from_header<'a>(
    headers: &'a http::HeaderMap,
    name: &http::HeaderName,
) -> Result<Option<&'a str>, Conflict> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| same_header_name(n.as_str(), name.as_str()))
        .map(|(_, v)| v.as_bytes().trim_ascii());
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|v| !same(v, first)) {
        return Err(Conflict::HeaderRepeated);
    }
    token_or_list(first, Conflict::ValueList)
}

/// Equal lowercase names, `-` and `_` being the same character.
fn same_header_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x == y || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_')))
}

/// The cookie called `name` across all `Cookie` headers; present again with another value is
/// a conflict. Pairs are split on `,` as well as `;`: old (RFC 2965) parsers still found in
/// servers split on both, and would see a second cookie where a `;`-only reader sees none.
/// Works on bytes: cookie headers may carry non-UTF-8 bytes, which never form a valid token.
fn from_cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Result<Option<&'a str>, Conflict> {
    let mut found: Option<&[u8]> = None;
    let values = headers
        .get_all(http::header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';' || b == b','))
        .filter_map(|pair| cookie_value(pair, name.as_bytes()));
    for value in values {
        match found {
            None => found = Some(value),
            Some(first) if !same(first, value) => return Err(Conflict::CookieRepeated),
            Some(_) => {}
        }
    }
    match found {
        Some(value) => token_or_list(value, Conflict::ValueList),
        None => Ok(None),
    }
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

/// The `name=value` parameter of the raw query, percent-decoded (allocates only when the
/// value holds a `%`); present again with another decoded value is a conflict. `+` stays
/// `+`: it is a b64token character, and form-decoding it to a space would make every such
/// token invalid.
fn from_query<'a>(query: &'a str, name: &str) -> Result<Option<Cow<'a, str>>, Conflict> {
    let mut values = query.split('&').filter_map(|pair| query_value(pair, name));
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|v| !same_decoded(first, v)) {
        return Err(Conflict::QueryRepeated);
    }
    if first.len() > MAX_TOKEN_LEN * 3 {
        return Err(Conflict::Malformed);
    }
    Ok(match percent_encoding::percent_decode_str(first).into() {
        Cow::Borrowed(bytes) => token_or_list(bytes, Conflict::ValueList)?.map(Cow::Borrowed),
        Cow::Owned(bytes) => {
            token_or_list(&bytes, Conflict::ValueList)?.map(|t| Cow::Owned(t.to_owned()))
        }
    })
}

/// The raw value of `pair` when its name, percent-decoded, is `name`: an upstream decodes
/// names, so `access%5Ftoken` is the same parameter as `access_token`.
fn query_value<'a>(pair: &'a str, name: &str) -> Option<&'a str> {
    let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
    let named =
        n == name || (n.contains('%') && percent_encoding::percent_decode_str(n).eq(name.bytes()));
    named.then_some(v)
}

/// Whether two raw query values decode to the same bytes (`a` and `%61` do), without an
/// early exit on the first differing byte.
fn same_decoded(a: &str, b: &str) -> bool {
    let mut a = percent_encoding::percent_decode_str(a);
    let mut b = percent_encoding::percent_decode_str(b);
    let mut diff = 0u8;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) => diff |= x ^ y,
            (None, None) => return diff == 0,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests;
