//! Replays a HAR recording through the real gateway at the recorded times
//! (tests/evidence_replay.rs): each entry is sent when the gateway's paused clock reads its
//! `startedDateTime`, with the headers that carry its token.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use idlegate::catalog::Catalog;
use idlegate::classify::Classifier;
use idlegate::clock::Clock;
use idlegate::config::{self, Config};
use idlegate::har::{analyze_file, normalise_path, parse_rfc3339_ms, split_url};
use idlegate::har::{HarOptions, Report};
use idlegate::token::extract;
use serde_json::Value;

use crate::admin_support::with_admin_env;
use crate::common::{gateway_on, keyer, Gateway};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/har").join(name)
}

/// One recorded request, as the replay sends it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub time_ms: u64,
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The headers that carry a token (`Authorization`, `Cookie`) and the no-touch header.
    pub headers: Vec<(String, String)>,
}

/// The config both sides use: the operator's text `extra` (after `[proxy]`), the shipped
/// catalog, every token sampled, one periodic token enough for a candidate, and an admin
/// token in the environment variable `admin_env`.
pub fn config(upstream: std::net::SocketAddr, extra: &str, admin_env: &str) -> Config {
    let text = format!("[proxy]\nupstream = \"http://{upstream}\"\n{extra}");
    let path = fixture("idlegate.toml");
    let mut c = match config::parse(&text, &path) {
        Ok(loaded) => loaded.config,
        Err(errors) => panic!("test config invalid: {errors:?}"),
    };
    c.catalog.openapi = Some(root().join("config/catalog/genesys-cloud-apis.json"));
    c.evidence.settings.sample = 1;
    c.evidence.settings.min_tokens = 1;
    with_admin_env(c, admin_env)
}

/// `idlegate har FILE [--enable …]` under `cfg`, as the CLI runs it: the config's catalog and
/// the gateway's hash key.
pub fn analyze(file: &Path, cfg: &Config, enable: &[&str]) -> Report {
    let catalog = (cfg.catalog.openapi.as_ref()).map(|p| Catalog::load(p).expect("catalog"));
    let opts = HarOptions {
        enable: enable.iter().map(|g| g.to_string()).collect(),
        ..HarOptions::default()
    };
    analyze_file(file, &opts, cfg, &keyer(), catalog.as_ref()).expect("analysis")
}

/// A value of a name/value pair: browsers write strings, some tools numbers or booleans.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

/// Name/value pairs from an array of `{"name","value"}` or an object (IE11).
fn pairs(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Array(items) => (items.iter())
            .filter_map(|p| Some((p["name"].as_str()?.to_owned(), text(&p["value"])?)))
            .collect(),
        Value::Object(map) => (map.iter())
            .filter_map(|(n, v)| Some((n.clone(), text(v)?)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The entry's headers named in `carried` (lower case); a `Cookie` header is built from the
/// `cookies` list when the headers have none, as browsers send it.
fn carried_headers(request: &Value, carried: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs(&request["headers"])
        .into_iter()
        .filter(|(n, _)| carried.contains(&n.to_ascii_lowercase().as_str()))
        .collect();
    let has_cookie = out.iter().any(|(n, _)| n.eq_ignore_ascii_case("cookie"));
    let cookies = pairs(&request["cookies"]);
    if carried.contains(&"cookie") && !has_cookie && !cookies.is_empty() {
        let joined: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        out.push(("cookie".to_owned(), joined.join("; ")));
    }
    out
}

/// The recording's HTTP(S) entries in `startedDateTime` order (entries with the same time keep
/// file order, as `idlegate har` takes them); `carried` are the header names sent along.
pub fn read_recording(file: &Path, carried: &[&str]) -> Vec<Recorded> {
    let bytes = std::fs::read(file).expect("recording");
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let doc: Value = serde_json::from_slice(bytes).expect("HAR is JSON");
    let entries = doc["log"]["entries"].as_array().expect("log.entries");
    let mut out: Vec<Recorded> = entries
        .iter()
        .filter_map(|e| {
            let request = &e["request"];
            let url = split_url(request["url"].as_str()?).ok()?;
            let target = match url.query {
                Some(q) => format!("{}?{q}", url.path),
                None => url.path,
            };
            Some(Recorded {
                time_ms: parse_rfc3339_ms(e["startedDateTime"].as_str()?)?,
                method: request["method"].as_str()?.to_owned(),
                target,
                headers: carried_headers(request, carried),
            })
        })
        .collect();
    out.sort_by_key(|r| r.time_ms);
    out
}

/// The header names a replay under `cfg` sends along.
pub fn carried(cfg: &Config) -> Vec<String> {
    let mut names = vec!["authorization".to_owned(), "cookie".to_owned()];
    if let Some(h) = &cfg.tokens.no_touch_header {
        names.push(h.as_str().to_owned());
    }
    names
}

/// A gateway under `cfg` whose clock is paused at the recording's first request: it moves only
/// when the replay moves it, so that every request is handled at its recorded millisecond.
pub async fn gateway_for(cfg: Config, recording: &[Recorded]) -> Gateway {
    let first = recording.first().expect("a request").time_ms;
    gateway_on(cfg, &Clock::paused_at(first)).await
}

/// Sends every request when the gateway's clock reads its recorded time; the answers' status,
/// in order.
pub async fn replay(gw: &Gateway, recording: &[Recorded]) -> Vec<StatusCode> {
    let mut statuses = Vec::with_capacity(recording.len());
    for r in recording {
        let now = gw.clock.now_ms();
        assert!(r.time_ms >= now, "the paused clock is past {}", r.time_ms);
        gw.clock.advance(Duration::from_millis(r.time_ms - now));
        let mut b = Request::builder()
            .method(r.method.as_str())
            .uri(gw.url(&r.target));
        for (name, value) in &r.headers {
            b = b.header(name.as_str(), value.as_str());
        }
        let reply = gw.send(b.body(Full::new(Bytes::new())).unwrap()).await;
        statuses.push(reply.status);
    }
    statuses
}

/// A recorded request as the gateway sees it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub time_ms: u64,
    /// Its token's id; `None` without a token.
    pub token_id: Option<String>,
    /// Method and evidence template (the catalog's operation, else the normalised path).
    pub api: (String, String),
    /// The exclusion label that matched under `classifier`; `None` is activity.
    pub label: Option<String>,
}

/// Each request of `recording` as the gateway under `cfg` sees it, classified by `classifier`.
pub fn seen(recording: &[Recorded], cfg: &Config, classifier: &Classifier) -> Vec<Seen> {
    let catalog = (cfg.catalog.openapi.as_ref()).map(|p| Catalog::load(p).expect("catalog"));
    let no_touch = cfg.tokens.no_touch_header.as_ref();
    (recording.iter())
        .map(|r| {
            let (path, query) = match r.target.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (r.target.as_str(), None),
            };
            let mut headers = http::HeaderMap::new();
            for (n, v) in &r.headers {
                let name = http::HeaderName::from_bytes(n.as_bytes()).expect("header name");
                headers.append(name, v.parse().expect("header value"));
            }
            let token = extract(&cfg.tokens.sources, &headers, query);
            let template = (catalog.as_ref())
                .and_then(|c| c.match_path(&r.method, path))
                .map_or_else(|| normalise_path(path), |op| op.path.clone());
            let method: http::Method = r.method.parse().expect("method");
            let touch = no_touch.is_some_and(|h| headers.contains_key(h));
            let label = (classifier.classify(&method, path, query, touch))
                .and_then(|id| classifier.labels().get(id).cloned());
            Seen {
                time_ms: r.time_ms,
                token_id: token.map(|t| keyer().key(&t).to_hex()),
                api: (r.method.clone(), template),
                label,
            }
        })
        .collect()
}
