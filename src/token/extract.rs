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
        let _ = s;
        todo!("TokenSource::from_str")
    }
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
    let _ = (sources, headers, query);
    todo!("extract")
}
