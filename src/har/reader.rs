//! Streaming HAR reader: walks `{"log": {"entries": [ … ]}}` with serde visitors and hands each
//! entry to a callback as soon as it is parsed, so a recording is never held in memory.
//! Only the fields the analysis needs are kept; bodies and timings are skipped unread.
//!
//! Every field is read leniently (a wrong JSON type is remembered, not an error) so that one
//! odd entry becomes a counted skip instead of aborting the whole file. Only the fields the
//! analysis needs (time, method, URL, headers) can make an entry a skip; whatever an exporter
//! writes elsewhere (private `_` fields, null or missing `response`, odd `timings` …) is drained.

use std::fmt;
use std::io::{BufReader, Read};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess};

use super::input::without_bom;
use super::lenient::{MapFields, Obj, Scalar, Text, Val};
use super::pairs::Pairs;
use super::template::split_url;
use super::time::parse_rfc3339_ms;
use super::walk::{RootSeed, Sink};
use super::HarError;

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

/// Reads a HAR document from `input`, calling `on_entry` once per element of `log.entries`,
/// in file order. Returns the number of entries seen. A UTF-8 byte-order mark in front is
/// skipped. Not JSON, no `log.entries` array, or a syntax error inside an entry (naming it) is
/// an error.
pub fn read_har<R, F>(input: R, mut on_entry: F) -> Result<usize, HarError>
where
    R: Read,
    F: FnMut(Result<HarEntry, Skipped>),
{
    let mut sink = Sink {
        on_entry: &mut on_entry,
        seen: 0,
        found_entries: false,
        in_entries: false,
    };
    let input = without_bom(input)?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, input));
    let parsed = RootSeed(&mut sink)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Err(e) = parsed {
        return Err(json_error(&e, sink.in_entries.then_some(sink.seen)));
    }
    if !sink.found_entries {
        return Err(HarError::NotHar {
            reason: "no `log.entries` array".to_owned(),
        });
    }
    Ok(sink.seen)
}

fn json_error(e: &serde_json::Error, entry: Option<usize>) -> HarError {
    if e.is_io() {
        return HarError::Read {
            message: e.to_string(),
        };
    }
    let message = e.to_string();
    match entry {
        Some(entry) => HarError::Malformed {
            entry,
            line: e.line(),
            column: e.column(),
            message,
        },
        None if e.is_eof() || e.is_syntax() => HarError::NotJson {
            line: e.line(),
            column: e.column(),
            message,
        },
        None => HarError::NotHar { reason: message },
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

impl MapFields for RawEntry {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "startedDateTime" => self.started = Some(map.next_value()?),
            "request" => self.request = Some(map.next_value()?),
            "response" => self.response = Some(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl MapFields for RawRequest {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "method" => self.method = Some(map.next_value()?),
            "url" => self.url = Some(map.next_value()?),
            "headers" => self.headers = Some(map.next_value()?),
            "cookies" => self.cookies = Some(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl MapFields for RawResponse {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "status" => self.status = Some(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

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

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
