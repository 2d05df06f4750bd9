//! The report's JSON shape, the candidates rule and order, classification and settings.

use std::time::Duration;

use super::tests::{evidence, token, tokens, T0};
use super::*;

const MIN: u64 = 60_000;

/// `n` tokens each calling `template` every minute, `polls` times.
fn poll(e: &Evidence, id: TemplateId, toks: &[TokenKey], polls: u64) {
    for p in 0..polls {
        for t in toks {
            e.record(id, t, T0 + p * MIN);
        }
    }
}

#[test]
fn report_json_has_exactly_the_agreed_fields() {
    let e = evidence(1);
    let poll_id = e.intern("GET", "/api/v2/poll", None);
    poll(&e, poll_id, &[token(1), token(2), token(3)], 6);
    let id = e.intern("POST", "/api/v2/analytics", Some("analytics"));
    e.record(id, &token(1), T0);
    let value = serde_json::to_value(e.report(T0 + 10 * MIN)).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&value), ["apis", "candidates", "since"]);
    assert_eq!(value["since"], "2025-12-31T01:00:00.000Z");
    let api_keys = [
        "class",
        "exclusion",
        "median_interval_seconds",
        "method",
        "periodic_tokens",
        "requests",
        "template",
        "tokens",
    ];
    assert_eq!(keys(&value["apis"][0]), api_keys);
    assert_eq!(value["apis"][0]["exclusion"], serde_json::Value::Null);
    assert_eq!(value["apis"][0]["median_interval_seconds"], 60.0);
    assert_eq!(value["apis"][1]["class"], "excluded");
    assert_eq!(value["apis"][1]["exclusion"], "analytics");
    assert_eq!(
        value["apis"][1]["median_interval_seconds"],
        serde_json::Value::Null
    );
    let candidate_keys = [
        "median_interval_seconds",
        "method",
        "periodic_tokens",
        "template",
    ];
    assert_eq!(keys(&value["candidates"][0]), candidate_keys);
}

#[test]
fn candidates_are_periodic_activity_for_min_tokens_busiest_first() {
    let e = evidence(1);
    let toks: Vec<TokenKey> = (0..4).map(token).collect();
    let quiet = e.intern("GET", "/quiet", None);
    poll(&e, quiet, &toks[..3], 5);
    let busy = e.intern("GET", "/busy", None);
    poll(&e, busy, &toks, 6);
    let two = e.intern("GET", "/two-tokens", None);
    poll(&e, two, &toks[..2], 20);
    let excluded = e.intern("GET", "/presence", Some("presence"));
    poll(&e, excluded, &toks, 20);
    let r = e.report(T0 + 30 * MIN);
    let names: Vec<&str> = r.candidates.iter().map(|c| c.template.as_str()).collect();
    assert_eq!(names, ["/busy", "/quiet"]);
    assert_eq!(r.candidates[0].periodic_tokens, 4);
    assert_eq!(r.candidates[0].median_interval_seconds, 60.0);
    let apis: Vec<&str> = r.apis.iter().map(|a| a.template.as_str()).collect();
    assert_eq!(apis, ["/presence", "/two-tokens", "/busy", "/quiet"]);
}

#[test]
fn classification_last_seen_wins() {
    let e = evidence(16);
    let id = e.intern("GET", "/a", Some("presence"));
    e.record(id, &tokens(&e, false, 1)[0], T0);
    assert_eq!(e.report(T0).apis[0].exclusion.as_deref(), Some("presence"));
    assert_eq!(e.intern("GET", "/a", None), id);
    let row = e.report(T0).apis.remove(0);
    assert_eq!((row.class, row.exclusion), ("activity", None));
    e.intern("GET", "/a", Some("GET /a"));
    let row = e.report(T0).apis.remove(0);
    assert_eq!(
        (row.class, row.exclusion.as_deref()),
        ("excluded", Some("GET /a"))
    );
}

#[test]
fn labels_beyond_the_limit_stay_excluded_without_label() {
    let e = evidence(16);
    for i in 0..limits::MAX_LABELS {
        e.intern("GET", "/a", Some(&format!("pattern {i}")));
    }
    let id = e.intern("GET", "/a", Some("one too many"));
    e.record(id, &token(1), T0);
    let row = e.report(T0).apis.remove(0);
    assert_eq!((row.class, row.exclusion), ("excluded", None));
}

#[test]
fn long_templates_are_cut_and_marked() {
    let e = evidence(16);
    let long = format!("/{}", "é".repeat(400));
    let id = e.intern("GET", &long, None);
    assert_ne!(
        id,
        e.intern("GET", &long[..511], None),
        "cut ≠ uncut prefix"
    );
    e.record(id, &token(1), T0);
    let t = e.report(T0).apis.remove(0).template;
    assert!(
        t.ends_with('…') && t.len() <= limits::MAX_TEMPLATE_BYTES + 3,
        "{t}"
    );
}

#[test]
fn settings_out_of_range_are_refused_with_the_reason() {
    let ok = EvidenceSettings::default();
    assert_eq!(ok.validate(), Ok(()));
    let bad = |s: EvidenceSettings| s.validate().unwrap_err().to_string();
    let window = |secs| EvidenceSettings {
        window: Duration::from_secs(secs),
        ..EvidenceSettings::default()
    };
    assert!(bad(window(90 * 60)).contains("whole hours from 1h to 7d"));
    assert!(bad(window(0)).contains("not 0s"));
    assert!(bad(window(8 * 24 * 3600)).contains("not 8days"));
    assert_eq!(window(7 * 24 * 3600).validate(), Ok(()));
    let sample = EvidenceSettings {
        sample: 0,
        ..ok.clone()
    };
    assert!(bad(sample).contains("evidence sample must be from 1"));
    let templates = EvidenceSettings {
        max_templates: 0,
        ..ok.clone()
    };
    assert!(bad(templates).contains("max_templates"));
    let min = EvidenceSettings {
        min_tokens: 300,
        ..ok.clone()
    };
    assert!(bad(min).contains("min_tokens must be from 1 to 256"));
    assert!(Evidence::new(EvidenceSettings { sample: 0, ..ok }).is_err());
}

#[test]
fn memory_bound_of_the_defaults_is_documented() {
    let mb = EvidenceSettings::default().memory_bound_bytes() as f64 / 1e6;
    assert!((33.0..=36.0).contains(&mb), "{mb} MB");
}
