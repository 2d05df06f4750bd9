//! The metrics registry: every family exposed at start, the fresh exposition pinned, the
//! exclusion series following the live labels.

use super::*;

#[test]
fn every_family_and_label_value_is_exposed_at_start() {
    let m = Metrics::new();
    m.set_exclusions(&["client-diagnostics".into()]);
    let text = m.encode();
    for sample in [
        "idlegate_requests_total{class=\"activity\"} 0",
        "idlegate_requests_total{class=\"excluded\"} 0",
        "idlegate_requests_total{class=\"anonymous\"} 0",
        "idlegate_requests_total{class=\"rejected\"} 0",
        "idlegate_excluded_requests_total{exclusion=\"client-diagnostics\"} 0",
        "idlegate_tokens_tracked 0",
        "idlegate_tokens_revoked 0",
        "idlegate_tracking_overflow_total 0",
        "idlegate_revocations_total{reason=\"inactivity\"} 0",
        "idlegate_revocations_total{reason=\"absolute\"} 0",
        "idlegate_revocations_total{reason=\"admin\"} 0",
        "idlegate_shadow_revocations_total 0",
        "idlegate_upstream_request_duration_seconds_count 0",
        "idlegate_upstream_errors_total{kind=\"connect\"} 0",
        "idlegate_upstream_errors_total{kind=\"timeout\"} 0",
        "idlegate_upstream_errors_total{kind=\"other\"} 0",
        "idlegate_config_reloads_total{result=\"ok\"} 0",
        "idlegate_config_reloads_total{result=\"error\"} 0",
        "idlegate_revocation_hook_total{hook=\"webhook\",result=\"ok\"} 0",
        "idlegate_revocation_hook_total{hook=\"rfc7009\",result=\"error\"} 0",
        "idlegate_state_sync_lag_seconds 0",
        "idlegate_upstream_connections 0",
        "idlegate_connections_open 0",
        "idlegate_connections_rejected_total 0",
        "idlegate_state_errors_total{op=\"read\"} 0",
    ] {
        assert!(text.contains(sample), "missing {sample} in\n{text}");
    }
    assert!(!text.contains("# EOF"));
    assert!(text.contains("# TYPE idlegate_requests_total counter"));
}

/// The exposition of a fresh gateway, byte for byte up to the order of series inside a
/// family (a family is a hash map: that order differs from run to run).
#[test]
fn fresh_exposition_is_unchanged() {
    let expected = include_str!("fresh_metrics.txt");
    let text = Metrics::new().encode();
    if std::env::var_os("IDLEGATE_WRITE_FRESH_METRICS").is_some() {
        std::fs::write("src/telemetry/fresh_metrics.txt", &text).unwrap();
    }
    let meta = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(meta(&text), meta(expected));
    let sorted = |t: &str| -> Vec<String> {
        let mut lines: Vec<String> = t.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&text), sorted(expected));
    assert!(text.ends_with('\n') && !text.ends_with("\n\n"));
}

#[test]
fn exclusion_series_follow_the_live_labels() {
    let m = Metrics::new();
    let handles = m.set_exclusions(&["a".into(), "GET /x".into()]);
    handles[1].inc();
    m.set_exclusions(&["GET /x".into()]);
    let text = m.encode();
    assert!(!text.contains("exclusion=\"a\""));
    assert!(text.contains("idlegate_excluded_requests_total{exclusion=\"GET /x\"} 1"));
}
