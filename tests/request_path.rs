//! The request path, end to end: real gateway on port 0 in front of a real upstream.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;

#[tokio::test]
async fn activity_keeps_a_token_alive_and_idle_revokes_it_with_rfc6750_401() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    assert_eq!(gw.get("/api/v2/users/me", Some("tok-a")).await.status, 200);
    gw.clock.advance(Duration::from_millis(1500));
    assert_eq!(
        gw.get("/api/v2/users/me", Some("tok-a")).await.status,
        200,
        "activity within idle"
    );
    gw.clock.advance(Duration::from_millis(1500));
    assert_eq!(
        gw.get("/api/v2/users/me", Some("tok-a")).await.status,
        200,
        "timer was reset"
    );
    gw.clock.advance(Duration::from_millis(2000));
    let r = gw.get("/api/v2/users/me", Some("tok-a")).await;
    assert_eq!(
        r.status, 401,
        "idle for exactly the timeout: revoked on the spot"
    );
    assert_eq!(
        r.headers["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"token revoked after inactivity\""
    );
    assert_eq!(r.json()["error"], "invalid_token");
    assert_eq!(
        r.json()["error_description"],
        "token revoked after inactivity"
    );
    // Stays revoked, and other tokens are unaffected.
    assert_eq!(gw.get("/x", Some("tok-a")).await.status, 401);
    assert_eq!(gw.get("/x", Some("tok-b")).await.status, 200);
    assert_eq!(
        gw.metric("idlegate_revocations_total{reason=\"inactivity\"}")
            .await,
        1.0
    );
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"rejected\"}")
            .await,
        2.0
    );
}

#[tokio::test]
async fn excluded_requests_are_forwarded_but_do_not_reset_the_timer() {
    let up = upstream().await;
    let mut c = config(up);
    c.exclusions.enabled_defaults = vec!["client-diagnostics".into()];
    let gw = gateway(c).await;
    assert_eq!(gw.get("/api/v2/users/me", Some("t")).await.status, 200);
    gw.clock.advance(Duration::from_millis(1500));
    let r = gw
        .call("POST", "/api/v2/diagnostics/trace", Some("t"))
        .await;
    assert_eq!(r.status, 200, "excluded request is still forwarded");
    gw.clock.advance(Duration::from_millis(600));
    assert_eq!(
        gw.call("POST", "/api/v2/diagnostics/trace", Some("t"))
            .await
            .status,
        401
    );
    assert_eq!(
        gw.metric("idlegate_excluded_requests_total{exclusion=\"client-diagnostics\"}")
            .await,
        1.0
    );
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"excluded\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn sweeper_revokes_idle_tokens_without_a_request() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    gw.get("/a", Some("sweep-me")).await;
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 1.0);
    gw.clock.advance(Duration::from_secs(3));
    let revoked = gw
        .eventually(Duration::from_secs(5), || async {
            gw.metric("idlegate_tokens_revoked").await == 1.0
        })
        .await;
    assert!(revoked, "the sweeper revokes within a few resolutions");
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 0.0);
}

#[tokio::test]
async fn anonymous_requests_are_forwarded_untouched() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let r = gw.get("/public?x=1", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["path"], "/public");
    assert_eq!(r.json()["query"], "x=1");
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"anonymous\"}")
            .await,
        1.0
    );
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 0.0);
}

#[tokio::test]
async fn upstream_401_never_starts_tracking_and_drops_a_tracked_token() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    assert_eq!(gw.get("/status/401", Some("garbage")).await.status, 401);
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 0.0);
    gw.get("/ok", Some("good")).await;
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 1.0);
    gw.get("/status/401", Some("good")).await;
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 0.0);
    // Other statuses, 5xx included, start tracking.
    gw.get("/status/503", Some("five")).await;
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 1.0);
}

#[tokio::test]
async fn track_all_tracks_on_first_sight_and_keeps_on_401() {
    let up = upstream().await;
    let mut c = config(up);
    c.tokens.track = idlegate::config::TrackMode::All;
    let gw = gateway(c).await;
    gw.get("/status/401", Some("seen")).await;
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 1.0);
}

#[tokio::test]
async fn every_token_source_is_read_in_order() {
    let up = upstream().await;
    let mut c = config(up);
    c.tokens.sources = [
        "header:x-api-token",
        "cookie:sid",
        "query:access_token",
        "authorization",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    c.timeout.expose_remaining = true;
    let gw = gateway(c).await;
    let send = |hdr: (&'static str, &'static str), path: &'static str| {
        let req = Request::get(gw.url(path))
            .header(hdr.0, hdr.1)
            .body(Full::new(Bytes::new()))
            .unwrap();
        gw.send(req)
    };
    for (hdr, path) in [
        (("x-api-token", " h-tok "), "/p"),
        (("cookie", "a=1; sid=c-tok; sid=c-tok"), "/p"),
        (("x-other", "1"), "/p?access_token=q%2Dtok"),
        (("authorization", "bEaReR a-tok"), "/p"),
    ] {
        let r = send(hdr, path).await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers.contains_key("idle-timeout-remaining"),
            "{hdr:?} {path} tracked"
        );
    }
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 4.0);
    // The token is forwarded where it was.
    let r = send(("cookie", "sid=c-tok"), "/p").await;
    assert_eq!(r.json()["headers"]["cookie"][0], "sid=c-tok");
    // The cookie id is the id of its value.
    let status = gw
        .running
        .app
        .state()
        .status(&keyer().key("c-tok"), gw.clock.now_ms());
    assert!(matches!(status, idlegate::store::Status::Active { .. }));
}

/// Another scheme or an empty `Bearer` is no token (forwarded as anonymous); a `Bearer` value
/// that is not one valid token is refused (see tests/hardening_tokens.rs for why).
#[tokio::test]
async fn other_schemes_are_anonymous_and_malformed_bearer_values_refused() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    for (auth, status) in [
        ("Basic dXNlcjpwYXNz", 200),
        ("Bearer", 200),
        ("Bearer ", 200),
        ("Bearer a b", 400),
        ("Bearer tok\u{0}", 400),
    ] {
        let Ok(req) = Request::get(gw.url("/p"))
            .header("authorization", auth)
            .body(Full::new(Bytes::new()))
        else {
            continue;
        };
        assert_eq!(gw.send(req).await.status, status, "{auth:?}");
    }
    let huge = "a".repeat(20_000);
    assert_eq!(gw.get("/p", Some(&huge)).await.status, 400);
    // Cookies are not a configured source here: their bytes are not looked at.
    let req = Request::get(gw.url("/p"))
        .header(
            "cookie",
            http::HeaderValue::from_bytes(b"sid=\xff\xfe; x=1").unwrap(),
        )
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(gw.send(req).await.status, 200);
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 0.0);
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"anonymous\"}")
            .await,
        4.0
    );
}

#[tokio::test]
async fn pattern_forms_classify_as_configured() {
    let up = upstream().await;
    let mut c = config(up);
    c.exclusions.custom = [
        "GET /api/v2/users/{userId}/presences/purecloud",
        "* /api/v2/diagnostics/{*rest}",
        "GET /api/v2/tokens/me?preserveIdleTTL=true",
    ]
    .iter()
    .map(|p| idlegate::classify::Pattern::parse(p).unwrap())
    .collect();
    let gw = gateway(c).await;
    gw.get("/start", Some("t")).await;
    let cases = [
        ("GET", "/api/v2/users/42/presences/purecloud", true),
        ("HEAD", "/api/v2/users/42/presences/purecloud", false),
        ("PUT", "/api/v2/diagnostics/trace/x", true),
        ("POST", "/api/v2/diagnostics", false),
        ("GET", "/api/v2/tokens/me?a=1&preserveIdleTTL=true", true),
        ("GET", "/api/v2/tokens/me", false),
    ];
    for (m, p, excluded) in cases {
        let before = gw
            .metric("idlegate_requests_total{class=\"excluded\"}")
            .await;
        gw.call(m, p, Some("t")).await;
        let after = gw
            .metric("idlegate_requests_total{class=\"excluded\"}")
            .await;
        assert_eq!(after - before, if excluded { 1.0 } else { 0.0 }, "{m} {p}");
    }
    assert_eq!(
        gw.metric("idlegate_excluded_requests_total{exclusion=\"* /api/v2/diagnostics/{*rest}\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn no_touch_header_excludes_and_is_not_forwarded() {
    let up = upstream().await;
    let mut c = config(up);
    c.tokens.no_touch_header = Some(http::HeaderName::from_static("x-idle-no-touch"));
    let gw = gateway(c).await;
    gw.get("/start", Some("t")).await;
    gw.clock.advance(Duration::from_millis(1500));
    let req = Request::get(gw.url("/poll"))
        .header("authorization", "Bearer t")
        .header("x-idle-no-touch", "")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = gw.send(req).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["headers"].get("x-idle-no-touch").is_none());
    assert_eq!(
        gw.metric("idlegate_excluded_requests_total{exclusion=\"no-touch-header\"}")
            .await,
        1.0
    );
    gw.clock.advance(Duration::from_millis(600));
    assert_eq!(gw.get("/poll", Some("t")).await.status, 401);
}

#[tokio::test]
async fn idle_timeout_remaining_is_exposed_on_tracked_responses_only() {
    let up = upstream().await;
    let mut c = config(up);
    c.timeout.expose_remaining = true;
    c.timeout.idle = Duration::from_secs(120);
    let gw = gateway(c).await;
    let first = gw.get("/a", Some("t")).await;
    assert_eq!(first.headers["idle-timeout-remaining"], "120");
    gw.clock.advance(Duration::from_millis(30_500));
    let r = gw.call("GET", "/a", Some("t")).await;
    assert_eq!(r.headers["idle-timeout-remaining"], "120");
    assert!(!gw
        .get("/a", None)
        .await
        .headers
        .contains_key("idle-timeout-remaining"));
    assert!(!gw
        .get("/status/401", Some("x"))
        .await
        .headers
        .contains_key("idle-timeout-remaining"));
}

#[tokio::test]
async fn absolute_lifetime_revokes_an_active_token() {
    let up = upstream().await;
    let mut c = config(up);
    c.timeout.absolute = Some(Duration::from_secs(3));
    let gw = gateway(c).await;
    gw.get("/a", Some("t")).await;
    for _ in 0..2 {
        gw.clock.advance(Duration::from_millis(1400));
        assert_eq!(gw.get("/a", Some("t")).await.status, 200);
    }
    gw.clock.advance(Duration::from_millis(300));
    let r = gw.get("/a", Some("t")).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["error_description"],
        "token revoked: absolute lifetime reached"
    );
    assert_eq!(
        gw.metric("idlegate_revocations_total{reason=\"absolute\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn shadow_mode_counts_once_serves_and_tracks_afresh() {
    let up = upstream().await;
    let mut c = config(up);
    c.timeout.mode = idlegate::config::Mode::Shadow;
    let gw = gateway(c).await;
    gw.get("/a", Some("t")).await;
    gw.clock.advance(Duration::from_secs(3));
    assert_eq!(
        gw.get("/a", Some("t")).await.status,
        200,
        "shadow never refuses"
    );
    assert_eq!(gw.get("/a", Some("t")).await.status, 200);
    assert_eq!(gw.metric("idlegate_shadow_revocations_total").await, 1.0);
    assert_eq!(gw.metric("idlegate_tokens_revoked").await, 0.0);
    assert_eq!(
        gw.metric("idlegate_tokens_tracked").await,
        1.0,
        "tracked afresh"
    );
}

#[tokio::test]
async fn disabled_timeout_is_a_plain_proxy() {
    let up = upstream().await;
    let mut c = config(up);
    c.timeout.enabled = false;
    let gw = gateway(c).await;
    gw.get("/a", Some("t")).await;
    gw.clock.advance(Duration::from_secs(10));
    assert_eq!(gw.get("/a", Some("t")).await.status, 200);
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 0.0);
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"activity\"}")
            .await,
        2.0
    );
}

#[tokio::test]
async fn runtime_idle_change_applies_to_tracked_tokens() {
    let up = upstream().await;
    let mut c = config(up);
    c.timeout.idle = Duration::from_secs(600);
    let gw = gateway(c).await;
    gw.get("/a", Some("t")).await;
    gw.clock.advance(Duration::from_secs(5));
    assert_eq!(gw.get("/a", Some("t")).await.status, 200);
    let mut shorter = (*gw.running.app.config()).clone();
    shorter.timeout.idle = Duration::from_secs(2);
    gw.running.app.apply(shorter);
    gw.clock.advance(Duration::from_secs(2));
    assert_eq!(gw.get("/a", Some("t")).await.status, 401);
}

#[tokio::test]
async fn max_tracked_bounds_the_table_and_counts_overflow() {
    let up = upstream().await;
    let mut c = config(up);
    c.tokens.max_tracked = 2;
    let gw = gateway(c).await;
    for t in ["a", "b", "c", "d"] {
        assert_eq!(gw.get("/x", Some(t)).await.status, 200);
    }
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 2.0);
    assert_eq!(gw.metric("idlegate_tracking_overflow_total").await, 2.0);
}
