//! One HAR entry: the fields the analysis keeps ([`HarEntry`]), why an entry is left out
//! ([`Skipped`]), and the lenient raw shape it is read from ([`RawEntry`]). Below both the
//! reader and the walk, which hand entries from one to the other.

use std::fmt;

use super::lenient::{map_fields, Obj, Scalar, Text, Val};
use super::pairs::Pairs;
use super::time::parse_rfc3339_ms;
use crate::evidence::template::split_url;

/// One usable request of the recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HarEntry {
    /// 0-based position in `log.entries`.
    pub index: usize,
    pub started_ms: u64,
    pub method: http::Method,
    /// Raw path of the URL (never empty).
    pub path: String,
    /// Raw query without `?`.
    pub query: Option<String>,
    /// `request.headers` as `(name, value)`, in order.
    pub headers: Vec<(String, String)>,
    /// `request.cookies` as `(name, value)`, in order (from an array of `{name, value}` or
    /// from an object `{name: value}`).
    pub cookies: Vec<(String, String)>,
    /// Why `request.cookies` could not be read (it was a string, a number …). The entry is
    /// skipped for it only when tokens are read from a cookie the headers do not carry.
    pub unreadable_cookies: Option<Skipped>,
    /// `response.status` when present and a valid status code (0 = no response).
    pub status: Option<u16>,
}

/// An entry left out of the analysis, and why (`"skipped"` in the report).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub entry: usize,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}: {}", self.entry, self.field, self.reason)
    }
}

/// Fields of one entry that matter.
#[derive(Default)]
pub(super) struct RawEntry {
    started: Option<Text>,
    request: Option<Obj<RawRequest>>,
    response: Option<Obj<RawResponse>>,
}

#[derive(Default)]
struct RawRequest {
    method: Option<Text>,
    url: Option<Text>,
    headers: Option<Pairs>,
    cookies: Option<Pairs>,
}

#[derive(Default)]
struct RawResponse {
    status: Option<Scalar>,
}

map_fields!(RawEntry {
    "startedDateTime" => started,
    "request" => request,
    "response" => response,
});

map_fields!(RawRequest {
    "method" => method,
    "url" => url,
    "headers" => headers,
    "cookies" => cookies,
});

map_fields!(RawResponse { "status" => status });

pub(super) fn skip(entry: usize, field: &str, reason: impl Into<String>) -> Skipped {
    Skipped {
        entry,
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A required text field, or the skip saying what is wrong with it.
fn required_text(v: Option<Text>, entry: usize, field: &str) -> Result<String, Skipped> {
    match v.map(|t| t.0) {
        None => Err(skip(entry, field, "missing")),
        Some(Val::Wrong(kind)) => Err(skip(
            entry,
            field,
            format!("expected a string, found {kind}"),
        )),
        Some(Val::Value(s)) => Ok(s),
    }
}

/// Name/value pairs (absent or `null`: none), or what the field held instead.
fn pairs(v: Option<Pairs>) -> Result<Vec<(String, String)>, &'static str> {
    match v.map(|p| p.0) {
        None => Ok(Vec::new()),
        Some(Val::Value(pairs)) => Ok(pairs),
        Some(Val::Wrong(kind)) => Err(kind),
    }
}

/// `response.status` as a number or as text (`"200"`); anything else (missing, `null`, `-1`
/// for "no response") is no status.
fn status(v: Option<Obj<RawResponse>>) -> Option<u16> {
    let Some(Obj(Val::Value(resp))) = v else {
        return None;
    };
    match resp.status.map(|n| n.0) {
        Some(Val::Value(text)) => text.trim().parse::<u16>().ok().filter(|&n| n < 1000),
        _ => None,
    }
}

impl RawEntry {
    pub(super) fn into_entry(self, index: usize) -> Result<HarEntry, Skipped> {
        let started = required_text(self.started, index, "startedDateTime")?;
        let started_ms = parse_rfc3339_ms(&started).ok_or_else(|| {
            skip(
                index,
                "startedDateTime",
                "not an RFC 3339 timestamp (1970–9999)",
            )
        })?;
        let request = match self.request.map(|o| o.0) {
            None => return Err(skip(index, "request", "missing")),
            Some(Val::Wrong(kind)) => {
                return Err(skip(
                    index,
                    "request",
                    format!("expected an object, found {kind}"),
                ))
            }
            Some(Val::Value(r)) => r,
        };
        let method = required_text(request.method, index, "request.method")?;
        let method = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| skip(index, "request.method", "not an HTTP method"))?;
        let url = required_text(request.url, index, "request.url")?;
        let parts = split_url(&url).map_err(|reason| skip(index, "request.url", reason))?;
        let headers = pairs(request.headers).map_err(|kind| {
            let reason = format!("expected an array of name/value objects, found {kind}");
            skip(index, "request.headers", reason)
        })?;
        let (cookies, unreadable_cookies) = match pairs(request.cookies) {
            Ok(cookies) => (cookies, None),
            Err(kind) => {
                let reason = format!("expected an array or an object, found {kind}");
                (Vec::new(), Some(skip(index, "request.cookies", reason)))
            }
        };
        Ok(HarEntry {
            index,
            started_ms,
            method,
            path: parts.path,
            query: parts.query,
            headers,
            cookies,
            unreadable_cookies,
            status: status(self.response),
        })
    }
}
