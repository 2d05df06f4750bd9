//! One token per request: a request carrying more than one credential is refused with 400
//! and never reaches the upstream, where a revoked token could ride past the gateway beside
//! a fresh one. Real gateway, real upstream that records what it received.

mod common;
#[path = "hardening/support.rs"]
mod support;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use idlegate::store::RevokeReason;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A gateway in front of a recording upstream, with `sources` and the token `revoked`
/// revoked by an administrator.
async fn setup(sources: &[&str]) -> (Gateway, Recorder) {
    let (up, recorder) = recording_upstream().await;
    let mut c = config(up);
    c.tokens.sources = sources.iter().map(|s| s.parse().unwrap()).collect();
    let gw = gateway(c).await;
    gw.running.app.state().revoke(
        &keyer().key("revoked"),
        RevokeReason::Admin,
        gw.clock.now_ms(),
    );
    (gw, recorder)
}

/// `GET path` with the given header lines, through the client library.
async fn send(gw: &Gateway, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut b = Request::get(gw.url(path));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    gw.send(b.body(Full::new(Bytes::new())).unwrap()).await
}

fn assert_refused(r: &Reply, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.body);
    assert_eq!(r.json()["error"], "invalid_request", "{what}");
    assert!(
        r.json()["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{what}"
    );
    assert_eq!(
        r.headers["www-authenticate"], "Bearer error=\"invalid_request\"",
        "{what}"
    );
}

#[tokio::test]
async fn more_than_one_authorization_header_is_refused_and_not_forwarded() {
    let (gw, recorder) = setup(&["authorization"]).await;
    let cases: [&[(&str, &str)]; 4] = [
        &[
            ("authorization", "Bearer fresh"),
            ("authorization", "Bearer revoked"),
        ],
        &[
            ("authorization", "Basic eDp5"),
            ("authorization", "Bearer revoked"),
        ],
        &[("authorization", ""), ("authorization", "Bearer revoked")],
        &[
            ("authorization", "Bearer revoked"),
            ("authorization", "Bearer revoked"),
        ],
    ];
    for headers in cases {
        assert_refused(&send(&gw, "/two", headers).await, &format!("{headers:?}"));
    }
    assert!(recorder.seen().is_empty(), "nothing was forwarded");
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"rejected\"}")
            .await,
        4.0
    );
    // One fresh token alone still passes.
    let r = send(&gw, "/one", &[("authorization", "Bearer fresh")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(recorder.seen().len(), 1);
}

#[tokio::test]
async fn header_names_in_any_case_are_one_header_and_the_connection_stays_usable() {
    let (gw, recorder) = setup(&["authorization"]).await;
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    s.write_all(
        b"GET /case HTTP/1.1\r\nHost: x\r\nauthorization: Bearer fresh\r\n\
          AUTHORIZATION: Bearer revoked\r\n\r\n",
    )
    .await
    .unwrap();
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(!r.closes(), "a refused head leaves the connection usable");
    s.write_all(b"GET /next HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer fresh\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut s).await.status, 200);
    let paths: Vec<String> = recorder.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/next"]);
}

#[tokio::test]
async fn comma_joined_credentials_are_refused() {
    let (gw, recorder) = setup(&["authorization"]).await;
    for value in [
        "Bearer fresh, Bearer revoked",
        "Bearer fresh,revoked",
        "Basic eDp5, Bearer revoked",
    ] {
        assert_refused(
            &send(&gw, "/list", &[("authorization", value)]).await,
            value,
        );
    }
    assert!(recorder.seen().is_empty());
}

#[tokio::test]
async fn a_token_header_repeated_with_another_value_is_refused() {
    let (gw, recorder) = setup(&["header:x-token"]).await;
    let r = send(&gw, "/h", &[("x-token", "fresh"), ("X-Token", "revoked")]).await;
    assert_refused(&r, "two x-token values");
    let r = send(&gw, "/h", &[("x-token", "fresh"), ("x_token", "revoked")]).await;
    assert_refused(
        &r,
        "x-token and x_token, one header to a CGI-style upstream",
    );
    let r = send(&gw, "/h", &[("x_token", "revoked")]).await;
    assert_eq!(r.status, 401, "x_token alone is read as the token");
    let r = send(&gw, "/h", &[("x-token", "")]).await;
    assert_eq!(r.status, 200, "an empty header alone is no token");
    let r = send(&gw, "/same", &[("x-token", "fresh"), ("x-token", "fresh")]).await;
    assert_eq!(r.status, 200, "the same value twice is one token");
    let paths: Vec<String> = recorder.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/h", "/same"]);
}

#[tokio::test]
async fn a_token_cookie_repeated_with_another_value_is_refused() {
    let (gw, recorder) = setup(&["cookie:sid"]).await;
    for cookies in [
        &[("cookie", "sid=fresh; sid=revoked")][..],
        &[
            ("cookie", "sid=fresh"),
            ("cookie", "theme=dark; sid=revoked"),
        ],
        &[("cookie", "sid=; sid=revoked")],
        &[("cookie", "sid=fresh, sid=revoked")],
    ] {
        assert_refused(&send(&gw, "/c", cookies).await, &format!("{cookies:?}"));
    }
    assert!(recorder.seen().is_empty());
    let same = [("cookie", "sid=fresh"), ("cookie", "sid=\"fresh\"")];
    assert_eq!(send(&gw, "/same", &same).await.status, 200);
}

#[tokio::test]
async fn a_token_query_parameter_repeated_with_another_value_is_refused() {
    let (gw, recorder) = setup(&["query:access_token"]).await;
    for query in [
        "access_token=fresh&access_token=revoked",
        "access_token&access_token=revoked",
        "access_token=fresh&access%5Ftoken=revoked",
    ] {
        let r = gw.get(&format!("/q?{query}"), None).await;
        assert_refused(&r, query);
    }
    assert!(recorder.seen().is_empty());
    // The same value, percent-encoded or not, is one token.
    let r = gw
        .get("/q?access_token=fresh&access_token=%66resh", None)
        .await;
    assert_eq!(r.status, 200);
    // A revoked token behind an encoded name is still seen, and refused as revoked.
    let r = gw.get("/q?access%5Ftoken=revoked", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(recorder.seen().len(), 1);
}

#[tokio::test]
async fn two_sources_with_different_tokens_are_refused() {
    let (gw, recorder) = setup(&["authorization", "cookie:sid"]).await;
    let r = send(
        &gw,
        "/s",
        &[("authorization", "Bearer fresh"), ("cookie", "sid=revoked")],
    )
    .await;
    assert_refused(&r, "authorization and cookie disagree");
    assert!(recorder.seen().is_empty());
    let r = send(
        &gw,
        "/s",
        &[("authorization", "Bearer fresh"), ("cookie", "sid=fresh")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 1.0);
}

// Before: a value that was not one valid token counted as no token and was forwarded as
// anonymous, so an upstream that reads `Bearer REVOKED junk` leniently (first word, decoded
// `%2E`, a token past the length bound) accepted a token the gateway never checked.
#[tokio::test]
async fn a_malformed_credential_is_refused_not_forwarded_as_anonymous() {
    let (gw, recorder) = setup(&["authorization", "cookie:sid", "query:access_token"]).await;
    let huge = format!("Bearer {}", "a".repeat(16 * 1024 + 1));
    let header_cases = [
        ("authorization", "Bearer revoked junk"),
        ("authorization", "Bearer revoked\tjunk"),
        ("authorization", huge.as_str()),
        ("cookie", "sid=rev%6Fked"),
    ];
    for (name, value) in header_cases {
        let r = send(&gw, "/malformed", &[(name, value)]).await;
        assert_refused(&r, &value[..value.len().min(40)]);
        assert_eq!(
            r.json()["error_description"],
            "a token value is not one bearer token (RFC 6750 b64token, at most 16 KiB)"
        );
    }
    let r = send(&gw, "/q?access_token=revoked%20junk", &[]).await;
    assert_refused(&r, "query");
    assert!(recorder.seen().is_empty(), "nothing was forwarded");
    // An empty value and another scheme are still no token: forwarded as anonymous.
    for (name, value) in [
        ("authorization", "Bearer "),
        ("authorization", "Basic eDp5"),
    ] {
        assert_eq!(send(&gw, "/anon", &[(name, value)]).await.status, 200);
    }
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"anonymous\"}")
            .await,
        2.0
    );
}
