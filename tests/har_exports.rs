//! `idlegate har` on what real tools export: one recording per exporter quirk in
//! tests/fixtures/har/exports (made by generate.py there: byte-order marks, IE11's cookie
//! objects, local offsets, 7 fractional digits, private `_` fields, nulls and odd types), and
//! the strictness kept where it matters.

use std::path::PathBuf;
use std::process::Command;

use idlegate::config::Config;
use idlegate::har::{analyze_file, analyze_reader, HarError, HarOptions, Report};
use idlegate::token::Keyer;

mod har_support;
use har_support::{api, config, root};

fn export(name: &str) -> PathBuf {
    root().join("tests/fixtures/har/exports").join(name)
}

const FROM_COOKIE: &str = "[tokens]\nsources = [\"cookie:sid\"]\n";

fn analyze(path: &std::path::Path, cfg: &Config) -> Report {
    let keyer = Keyer::from_secret(b"har-exports");
    analyze_file(path, &HarOptions::default(), cfg, &keyer, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// File, extra config, entries, diagnostics uploads, whether times have milliseconds.
/// Every file holds one anonymous page load, a first token (two login calls and the uploads)
/// and a refreshed token (two presence calls from 08:10:00.123), the first at 08:00:01.123 UTC.
const EXPORTS: [(&str, &str, usize, u64, bool); 17] = [
    ("chrome.har", "", 9, 4, true),
    ("chrome-windows-bom.har", "", 8, 3, true),
    ("edge-bom.har", "", 10, 5, true),
    ("firefox.har", "", 7, 2, true),
    ("safari.har", "", 8, 3, true),
    ("ie11.har", FROM_COOKIE, 9, 4, true),
    ("fiddler2-bom.har", "", 7, 2, true),
    ("fiddler4-bom.har", "", 8, 3, true),
    ("fiddler5-bom.har", "", 10, 5, true),
    ("charles.har", "", 9, 4, true),
    ("mitmproxy.har", "", 8, 3, true),
    ("insomnia.har", "", 7, 2, false),
    ("webpagetest.har", "", 11, 6, false),
    ("playwright.har", "", 10, 5, true),
    ("pollyjs.har", "", 8, 3, true),
    ("browsertime.har", "", 9, 4, true),
    ("firebug.har", "", 7, 2, true),
];

#[test]
fn every_export_is_analysed_with_no_entry_skipped() {
    for (name, extra, entries, uploads, millis) in EXPORTS {
        let r = analyze(&export(name), &config(extra));
        assert!(r.skipped.is_empty(), "{name}: {:?}", r.skipped);
        assert_eq!(r.requests_without_token, 1, "{name}");
        assert_eq!(r.tokens.len(), 2, "{name}");
        let requests: Vec<u64> = r.tokens.iter().map(|t| t.requests).collect();
        assert_eq!(requests, [2 + uploads, 2], "{name}");
        assert_eq!(1 + requests.iter().sum::<u64>(), entries as u64, "{name}");
        let first = if millis {
            "08:00:01.123Z"
        } else {
            "08:00:01.000Z"
        };
        assert_eq!(r.tokens[0].first, format!("2024-06-03T{first}"), "{name}");
        assert_eq!(
            r.tokens[1].first,
            format!("2024-06-03T{}", first.replacen("08:00:01", "08:10:00", 1)),
            "{name}"
        );
        let trace = api(&r, "/api/v2/diagnostics/trace");
        assert_eq!(trace.map(|a| a.count), Some(uploads), "{name}");
    }
}

#[test]
fn the_byte_order_mark_fixtures_really_start_with_one() {
    for (name, ..) in EXPORTS {
        let bytes = std::fs::read(export(name)).unwrap();
        let has_bom = bytes.starts_with(b"\xEF\xBB\xBF");
        assert_eq!(has_bom, name.ends_with("-bom.har"), "{name}");
    }
}

/// IE11 writes cookies as an object; with tokens read from a cookie, they are found there.
#[test]
fn ie11_cookie_objects_carry_the_token() {
    let r = analyze(&export("ie11.har"), &config(FROM_COOKIE));
    assert_eq!(r.tokens.len(), 2);
    // Read with the default sources the same file has no token, and still skips nothing.
    let r = analyze(&export("ie11.har"), &config(""));
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!((r.tokens.len(), r.requests_without_token), (0, 9));
}

fn analyze_text(text: &str, extra: &str) -> Result<Report, HarError> {
    let keyer = Keyer::from_secret(b"har-exports");
    analyze_reader(
        text.as_bytes(),
        &HarOptions::default(),
        &config(extra),
        &keyer,
        None,
    )
}

fn entry_with(request_fields: &str) -> String {
    format!(
        r#"{{"log":{{"entries":[{{"startedDateTime":"2024-05-01T10:00:00Z",
        "request":{{"method":"GET","url":"https://h/a",{request_fields}}}}}]}}}}"#
    )
}

/// Cookies that cannot be read drop the entry only when the token may be in one of them.
#[test]
fn unreadable_cookies_skip_an_entry_only_when_tokens_come_from_cookies() {
    let bearer = r#""headers":[{"name":"Authorization","value":"Bearer abc"}]"#;
    let text = entry_with(&format!(r#"{bearer},"cookies":"sid=abc""#));
    let r = analyze_text(&text, "").unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.tokens.len(), 1);

    let r = analyze_text(&text, FROM_COOKIE).unwrap();
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(
        r.skipped[0].to_string(),
        "entry 0: request.cookies: expected an array or an object, found a string"
    );

    // A Cookie header stands in for them.
    let text = entry_with(r#""headers":[{"name":"Cookie","value":"sid=abc"}],"cookies":5"#);
    let r = analyze_text(&text, FROM_COOKIE).unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.tokens.len(), 1);
}

/// A token header written as a JSON number is still the token.
#[test]
fn a_numeric_header_value_is_read_as_text() {
    let text = entry_with(r#""headers":[{"name":"X-Session","value":918273645}]"#);
    let r = analyze_text(&text, "[tokens]\nsources = [\"header:x-session\"]\n").unwrap();
    assert_eq!((r.tokens.len(), r.requests_without_token), (1, 0));
}

#[test]
fn a_bom_in_front_of_what_is_not_har_is_still_an_error() {
    let bom = "\u{FEFF}";
    let err = analyze_text(&format!("{bom}<html><body>Sign in</body></html>"), "");
    match err {
        Err(e @ HarError::NotJson { .. }) => {
            assert!(
                e.to_string().starts_with("not JSON (line 1, column 1)"),
                "{e}"
            )
        }
        other => panic!("{:?}", other.map(|r| r.tokens.len())),
    }
    let err = analyze_text(&format!(r#"{bom}{{"log":{{"pages":[]}}}}"#), "");
    assert!(matches!(err, Err(HarError::NotHar { .. })));
    let err = analyze_text(&format!(r#"{bom}{{"log":{{"entries":"none"}}}}"#), "");
    assert!(matches!(err, Err(HarError::NotHar { .. })));
}

/// The command itself, as the bug report ran it: a Fiddler export with a byte-order mark.
#[test]
fn the_har_command_reads_a_fiddler_export() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("idlegate.toml");
    std::fs::write(&cfg, "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_idlegate"))
        .arg("har")
        .arg(export("fiddler4-bom.har"))
        .arg("--json")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["tokens"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["skipped"], serde_json::json!([]));
    assert_eq!(json["requests_without_token"], 1);
}
