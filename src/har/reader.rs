//! Streaming HAR reader: walks `{"log": {"entries": [ … ]}}` with serde visitors and hands each
//! entry to a callback as soon as it is parsed, so a recording is never held in memory.
//! Only the fields the analysis needs are kept; bodies and timings are skipped unread.
//!
//! Every field is read leniently (a wrong JSON type is remembered, not an error) so that one
//! odd entry becomes a counted skip instead of aborting the whole file.

use std::fmt;
use std::io::{BufReader, Read};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess};

use super::lenient::{List, MapFields, Num, Obj, Text, Val};
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
    /// `request.cookies` as `(name, value)`, in order.
    pub cookies: Vec<(String, String)>,
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
/// in file order. Returns the number of entries seen. Not JSON, no `log.entries` array, or a
/// syntax error inside an entry (naming it) is an error.
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
    headers: Option<List<Pair>>,
    cookies: Option<List<Pair>>,
}

#[derive(Default)]
struct RawResponse {
    status: Option<Num>,
}

#[derive(Default)]
struct Pair {
    name: Option<Text>,
    value: Option<Text>,
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

impl MapFields for Pair {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = Some(map.next_value()?),
            "value" => self.value = Some(map.next_value()?),
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

/// Name/value pairs; elements that are not objects with two strings are dropped (a browser
/// never writes them, and one odd header must not hide the request).
fn pairs(
    v: Option<List<Pair>>,
    entry: usize,
    field: &str,
) -> Result<Vec<(String, String)>, Skipped> {
    let items = match v.map(|l| l.0) {
        None => return Ok(Vec::new()),
        Some(Val::Wrong(kind)) => {
            return Err(skip(
                entry,
                field,
                format!("expected an array, found {kind}"),
            ))
        }
        Some(Val::Value(items)) => items,
    };
    Ok(items
        .into_iter()
        .filter_map(|item| match item {
            Val::Value(Pair {
                name: Some(Text(Val::Value(n))),
                value: Some(Text(Val::Value(v))),
            }) => Some((n, v)),
            _ => None,
        })
        .collect())
}

fn status(v: Option<Obj<RawResponse>>) -> Option<u16> {
    let Some(Obj(Val::Value(resp))) = v else {
        return None;
    };
    match resp.status.map(|n| n.0) {
        Some(Val::Value(n)) if (0.0..1000.0).contains(&n) && n.fract() == 0.0 => Some(n as u16),
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
        Ok(HarEntry {
            index,
            started_ms,
            method,
            path: parts.path,
            query: parts.query,
            headers: pairs(request.headers, index, "request.headers")?,
            cookies: pairs(request.cookies, index, "request.cookies")?,
            status: status(self.response),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<(Vec<HarEntry>, Vec<Skipped>), HarError> {
        let mut ok = Vec::new();
        let mut skipped = Vec::new();
        read_har(text.as_bytes(), |r| match r {
            Ok(e) => ok.push(e),
            Err(s) => skipped.push(s),
        })?;
        Ok((ok, skipped))
    }

    fn entry(time: &str, url: &str) -> String {
        format!(
            r#"{{"startedDateTime":"{time}","time":12.5,"request":{{"method":"GET","url":"{url}",
            "httpVersion":"HTTP/1.1","headers":[{{"name":"Authorization","value":"Bearer abc"}}],
            "cookies":[{{"name":"sid","value":"s1","httpOnly":true}}],"queryString":[],"headersSize":-1,
            "bodySize":0}},"response":{{"status":200,"content":{{"size":3,"text":"{{}}\n"}}}},
            "timings":{{"send":1,"wait":2,"receive":3}}}}"#
        )
    }

    fn har(entries: &[String]) -> String {
        format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"WebInspector","version":"537.36"}},
            "pages":[],"entries":[{}]}}}}"#,
            entries.join(",")
        )
    }

    #[test]
    fn entries_stream_with_only_needed_fields() {
        let text = har(&[entry(
            "2024-05-01T10:00:00.000Z",
            "https://h/api/v2/users/me?x=1",
        )]);
        let (ok, skipped) = read(&text).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(ok.len(), 1);
        let e = &ok[0];
        assert_eq!(e.index, 0);
        assert_eq!(e.started_ms, 1_714_557_600_000);
        assert_eq!(e.method, http::Method::GET);
        assert_eq!(e.path, "/api/v2/users/me");
        assert_eq!(e.query.as_deref(), Some("x=1"));
        assert_eq!(
            e.headers,
            vec![("Authorization".into(), "Bearer abc".into())]
        );
        assert_eq!(e.cookies, vec![("sid".into(), "s1".into())]);
        assert_eq!(e.status, Some(200));
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(matches!(
            read("this is not json"),
            Err(HarError::NotJson { .. })
        ));
        assert!(matches!(read(""), Err(HarError::NotJson { .. })));
        assert!(matches!(read(r#"{"log":"#), Err(HarError::NotJson { .. })));
    }

    #[test]
    fn json_without_log_entries_is_not_har() {
        for text in [
            r#"{}"#,
            r#"[]"#,
            r#"{"log":{}}"#,
            r#"{"log":{"entries":{}}}"#,
            "42",
        ] {
            assert!(matches!(read(text), Err(HarError::NotHar { .. })), "{text}");
        }
    }

    #[test]
    fn syntax_error_inside_entries_names_the_entry() {
        let good = entry("2024-05-01T10:00:00Z", "https://h/a");
        let text = format!(r#"{{"log":{{"entries":[{good},{{"request": }}]}}}}"#);
        match read(&text) {
            Err(HarError::Malformed { entry, .. }) => assert_eq!(entry, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let text = format!("{} x", har(&[]));
        assert!(read(&text).is_err());
    }

    #[test]
    fn bad_fields_are_skipped_with_entry_and_field() {
        let text = har(&[
            entry("yesterday", "https://h/a"),
            entry("2024-05-01T10:00:00Z", "data:image/png;base64,AAAA"),
            entry("2024-05-01T10:00:00Z", "wss://h/socket"),
            r#"{"startedDateTime":"2024-05-01T10:00:00Z","request":{"method":"GET"}}"#.into(),
            r#"{"startedDateTime":"2024-05-01T10:00:00Z","request":[1]}"#.into(),
            r#"{"startedDateTime":5,"request":{}}"#.into(),
            r#""just a string""#.into(),
            r#"{"startedDateTime":"2024-05-01T10:00:00Z","request":{"method":"G T","url":"http://h/"}}"#
                .into(),
            entry("2024-05-01T10:00:01Z", "https://h/ok"),
        ]);
        let (ok, skipped) = read(&text).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].index, 8);
        let got: Vec<(usize, &str)> = skipped
            .iter()
            .map(|s| (s.entry, s.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "startedDateTime"),
                (1, "request.url"),
                (2, "request.url"),
                (3, "request.url"),
                (4, "request"),
                (5, "startedDateTime"),
                (6, "entry"),
                (7, "request.method"),
            ]
        );
        assert!(skipped[1].reason.contains("data"));
        assert!(skipped[3].reason.contains("missing"));
    }

    #[test]
    fn odd_headers_are_dropped_not_fatal() {
        let text = har(&[
            r#"{"startedDateTime":"2024-05-01T10:00:00Z","request":{"method":"GET",
            "url":"http://h/","headers":[{"name":"a","value":"b"},{"name":1},"x",{"value":"v"}]},
            "response":{"status":"200"}}"#
                .into(),
        ]);
        let (ok, _) = read(&text).unwrap();
        assert_eq!(ok[0].headers, vec![("a".into(), "b".into())]);
        assert_eq!(ok[0].status, None);
    }

    #[test]
    fn headers_of_the_wrong_type_skip_the_entry() {
        let text = har(&[
            r#"{"startedDateTime":"2024-05-01T10:00:00Z","request":{"method":"GET",
            "url":"http://h/","headers":"Authorization: Bearer x"}}"#
                .into(),
        ]);
        let (ok, skipped) = read(&text).unwrap();
        assert!(ok.is_empty());
        assert_eq!(skipped[0].field, "request.headers");
    }

    #[test]
    fn deep_nesting_is_drained_without_recursion() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!(r#"{{"log":{{"entries":[{{"request":{deep}}}]}}}}"#);
        let (_, skipped) = read(&text).unwrap();
        assert_eq!(skipped.len(), 1);
        let unbalanced = format!(
            r#"{{"log":{{"entries":[{{"request":{}"#,
            "[".repeat(100_000)
        );
        assert!(read(&unbalanced).is_err());
    }

    /// A tiny deterministic stand-in for the cargo-fuzz target: truncations and byte flips of
    /// a real recording never panic, and every entry is either accepted or skipped.
    #[test]
    fn mutated_recordings_never_panic() {
        let seed = include_bytes!("../../fuzz/seeds/har_reader/three-entries.har");
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..3_000 {
            let mut bytes = seed.to_vec();
            if round % 3 == 0 {
                bytes.truncate((next() as usize) % bytes.len());
            }
            for _ in 0..(1 + next() % 4) {
                let at = (next() as usize) % bytes.len().max(1);
                if let Some(b) = bytes.get_mut(at) {
                    *b = b"{}[]\",:0aZ-\xff"[(next() % 12) as usize];
                }
            }
            let mut count = 0;
            if let Ok(seen) = read_har(bytes.as_slice(), |_| count += 1) {
                assert_eq!(seen, count);
            }
        }
    }
}
