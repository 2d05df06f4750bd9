//! Unit tests of the streaming HAR reader.

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
        "url":"http://h/","headers":[{"name":"a","value":"b"},{"name":1},"x",{"value":"v"},
        {"name":"Content-Length","value":0,"comment":null}]},
        "response":{"status":"200"}}"#
            .into(),
    ]);
    let (ok, _) = read(&text).unwrap();
    assert_eq!(
        ok[0].headers,
        vec![
            ("a".into(), "b".into()),
            ("Content-Length".into(), "0".into())
        ]
    );
    assert_eq!(ok[0].status, Some(200));
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
    let seeds: [&[u8]; 3] = [
        include_bytes!("../../fuzz/seeds/har_reader/three-entries.har"),
        include_bytes!("../../fuzz/seeds/har_reader/fiddler2-bom.har"),
        include_bytes!("../../fuzz/seeds/har_reader/ie11.har"),
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3_000 {
        let mut bytes = seeds[round % seeds.len()].to_vec();
        if round % 3 == 0 {
            bytes.truncate((next() as usize) % bytes.len());
        }
        for _ in 0..(1 + next() % 4) {
            // One round in five hits the first bytes, where the byte-order mark is.
            let span = if round % 5 == 0 { 4 } else { bytes.len() };
            let at = (next() as usize) % span.clamp(1, bytes.len().max(1));
            if let Some(b) = bytes.get_mut(at) {
                *b = b"{}[]\",:0aZ-\xff\xef\xbb\xbf"[(next() % 15) as usize];
            }
        }
        let mut count = 0;
        if let Ok(seen) = read_har(bytes.as_slice(), |_| count += 1) {
            assert_eq!(seen, count);
        }
    }
}

const BOM: &str = "\u{FEFF}";

#[test]
fn a_utf8_bom_in_front_of_the_document_is_skipped() {
    let text = format!(
        "{BOM}{}",
        har(&[entry("2024-05-01T10:00:00Z", "https://h/a")])
    );
    assert_eq!(&text.as_bytes()[..3], b"\xEF\xBB\xBF");
    let (ok, skipped) = read(&text).unwrap();
    assert_eq!((ok.len(), skipped.len()), (1, 0));
    assert_eq!(ok[0].headers[0].1, "Bearer abc");
}

#[test]
fn a_bom_does_not_make_other_input_acceptable() {
    for text in ["", "<html>", "not json", BOM, "\u{FEFF}\u{FEFF}{}"] {
        let text = format!("{BOM}{text}");
        assert!(
            matches!(read(&text), Err(HarError::NotJson { .. })),
            "{text:?}"
        );
    }
    for text in [r#"{"log":{}}"#, "[]", r#"{"log":{"entries":null}}"#] {
        let text = format!("{BOM}{text}");
        assert!(
            matches!(read(&text), Err(HarError::NotHar { .. })),
            "{text:?}"
        );
    }
    // The mark counts only in front of the document.
    let text = format!(" {BOM}{}", har(&[]));
    assert!(matches!(read(&text), Err(HarError::NotJson { .. })));
}

/// IE11's F12 tools write `request.cookies` as an object mapping names to values.
#[test]
fn cookies_as_an_object_are_read_as_cookies() {
    let text = har(&[
        r#"{"startedDateTime":"2024-05-01T10:00:00.123-07:00","request":{
        "method":"GET","url":"https://h/a","headers":[],
        "cookies":{"sid":"tok.en","theme":"dark","n":7,"odd":null}}}"#
            .into(),
    ]);
    let (ok, skipped) = read(&text).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let want: Vec<(String, String)> = [("sid", "tok.en"), ("theme", "dark"), ("n", "7")]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(ok[0].cookies, want);
    assert_eq!(ok[0].unreadable_cookies, None);
}

/// Whatever exporters write in fields the analysis does not read, the entry is kept.
#[test]
fn fields_the_analysis_does_not_use_never_skip_an_entry() {
    let quirks = [
        r#""response":null"#,
        r#""response":{"status":"200","headers":null,"content":null}"#,
        r#""response":{"status":-1,"_error":"net::ERR_FAILED"}"#,
        r#""response":{"status":0},"timings":"n/a""#,
        r#""response":[],"cache":null,"time":"12""#,
        r#""_initiator":{"type":"script","stack":{"callFrames":[]}},"_resourceType":"xhr""#,
        r#""_frameref":7,"_monotonicTime":1.5e3,"_securityDetails":null,"_x":[true,false]"#,
        r#""pageref":null,"connection":443,"serverIPAddress":["::1"],"comment":null"#,
    ];
    let entries: Vec<String> = quirks
        .iter()
        .map(|q| {
            format!(
                r#"{{"startedDateTime":"2024-05-01T10:00:00.1234567+01:00","request":{{
                "method":"POST","url":"https://h/a","queryString":null,"postData":"x=1",
                "headers":[{{"name":"Authorization","value":"Bearer t","comment":null}}],
                "cookies":"sid=1","_fromType":{{}}}},{q}}}"#
            )
        })
        .collect();
    let (ok, skipped) = read(&har(&entries)).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(ok.len(), quirks.len());
    let status: Vec<Option<u16>> = ok.iter().map(|e| e.status).collect();
    assert_eq!(status[..4], [None, Some(200), None, Some(0)]);
    // Unreadable cookies are remembered for the analysis to judge, not a skip here.
    let why = ok[0].unreadable_cookies.as_ref().expect("remembered");
    assert_eq!(why.field, "request.cookies");
    assert!(why.reason.contains("found a string"), "{}", why.reason);
}

#[test]
fn null_or_absent_headers_and_cookies_are_none() {
    let text = har(&[
        r#"{"startedDateTime":"2024-05-01T10:00:00Z","request":{"method":"GET",
        "url":"https://h/a","headers":null,"cookies":null}}"#
            .into(),
        r#"{"startedDateTime":"2024-05-01T10:00:00Z",
        "request":{"method":"GET","url":"https://h/a"}}"#
            .into(),
    ]);
    let (ok, skipped) = read(&text).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    assert!(ok
        .iter()
        .all(|e| e.headers.is_empty() && e.cookies.is_empty()));
}
