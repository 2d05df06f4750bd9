//! Identity end to end (docs/reference.md, "Identity", "Session status", "Admin API"): the
//! real gateway with `[identity]` on a JWKS file of keys the test generates, against a real
//! local upstream. The gateway clock is advanced by hand; no test sleeps on a deadline.

mod admin_support;
mod common;
mod identity_support;

use std::time::Duration;

use admin_support::{admin, get as admin_get, with_admin_env, SECRET};
use common::*;
use identity_support::*;
use serde_json::json;

struct Setup {
    gw: Gateway,
    signer: Signer,
    _dir: tempfile::TempDir,
}

async fn setup(env: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let signer = Signer::new("k1");
    write_jwks(&jwks, &[&signer]);
    let upstream = upstream().await;
    let config = with_admin_env(with_identity(config(upstream), &jwks), env);
    let gw = gateway(config).await;
    // The first key set is loaded at start; /readyz says when.
    let ready = gw
        .eventually(Duration::from_secs(5), || async {
            let url = format!("http://{}/readyz", gw.running.admin_addr);
            gw.client
                .get(url.parse().unwrap())
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    assert!(ready, "the gateway loads its JWKS and becomes ready");
    Setup {
        gw,
        signer,
        _dir: dir,
    }
}

fn now(gw: &Gateway) -> u64 {
    gw.clock.now_ms()
}

#[tokio::test]
async fn a_verified_token_is_forwarded_and_tracked_with_its_subject_and_policy() {
    let s = setup("IDENTITY_T1").await;
    let token = s.signer.sign(&claims(now(&s.gw), "alice", &["supervisor"]));
    assert_eq!(s.gw.get("/api/x", Some(&token)).await.status, 200);
    let doc = admin_get(&s.gw, &format!("/api/v1/tokens/{}", token_id(&token)))
        .await
        .json();
    assert_eq!(doc["state"], "active");
    assert_eq!(doc["subject"], "alice");
    assert_eq!(doc["policy"], "supervisors");
    assert_eq!(
        s.gw.metric("idlegate_token_verifications_total{result=\"ok\"}")
            .await,
        1.0
    );
    assert_eq!(
        s.gw.metric("idlegate_policy_tokens{policy=\"supervisors\"}")
            .await,
        1.0
    );
    assert_eq!(s.gw.metric("idlegate_subjects").await, 1.0);
    // A known token with the same bytes is not verified again.
    assert_eq!(s.gw.get("/api/x", Some(&token)).await.status, 200);
    assert_eq!(
        s.gw.metric("idlegate_token_verifications_total{result=\"ok\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn a_forged_signature_on_a_real_tokens_header_and_payload_is_refused_and_touches_nothing() {
    let s = setup("IDENTITY_T2").await;
    let token = s.signer.sign(&claims(now(&s.gw), "alice", &[]));
    assert_eq!(s.gw.get("/api/x", Some(&token)).await.status, 200);
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signing_input}.AAAA{}", "B".repeat(82));
    assert_eq!(token_id(&forged), token_id(&token), "same token id");
    // 1.5 s later (idle is 2 s) the forged token must not reset the real one's timer.
    s.gw.clock.advance(Duration::from_millis(1500));
    let refused = s.gw.get("/api/x", Some(&forged)).await;
    assert_eq!(refused.status, 401);
    let challenge = refused.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer error=\"invalid_token\", error_description="));
    assert!(
        !refused.body.contains("\"path\""),
        "not forwarded: {}",
        refused.body
    );
    s.gw.clock.advance(Duration::from_millis(600));
    let after = s.gw.get("/api/x", Some(&token)).await;
    assert_eq!(
        after.status, 401,
        "the real token idled out: the forgery did not touch it"
    );
}

#[tokio::test]
async fn invalid_tokens_get_401_naming_why_and_are_never_tracked() {
    let s = setup("IDENTITY_T3").await;
    let t = now(&s.gw);
    let expired = s.signer.sign(&json!({
        "iss": "https://idp.test/", "aud": "api", "sub": "bob", "exp": t / 1000 - 10,
    }));
    let other_issuer = s.signer.sign(&json!({
        "iss": "https://evil.test/", "aud": "api", "sub": "bob", "exp": t / 1000 + 600,
    }));
    let stranger = Signer::new("k1").sign(&claims(t, "bob", &[]));
    for (token, why) in [
        (&expired, "expired"),
        (&other_issuer, "issuer"),
        (&stranger, "signature"),
    ] {
        let r = s.gw.get("/api/x", Some(token)).await;
        assert_eq!(r.status, 401, "{why}");
        assert_eq!(r.json()["error"], "invalid_token");
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .contains(why),
            "{why}: {}",
            r.body
        );
        let doc = admin_get(&s.gw, &format!("/api/v1/tokens/{}", token_id(token)))
            .await
            .json();
        assert_eq!(doc, json!({"state": "unknown"}), "{why}: never tracked");
    }
    // A token that is not a JWT stays opaque: forwarded, default policy.
    assert_eq!(s.gw.get("/api/x", Some("opaque-token-1")).await.status, 200);
}

#[tokio::test]
async fn the_status_endpoint_reports_without_resetting_and_extend_is_one_activity() {
    let s = setup("IDENTITY_T4").await;
    let token = s.signer.sign(&claims(now(&s.gw), "carol", &["supervisor"]));
    assert_eq!(s.gw.get("/api/x", Some(&token)).await.status, 200);
    s.gw.clock.advance(Duration::from_secs(10));
    let status = s.gw.get("/.idlegate/session", Some(&token)).await;
    assert_eq!(status.status, 200);
    let doc = status.json();
    assert_eq!(doc["state"], "active");
    assert_eq!(doc["policy"], "supervisors");
    assert_eq!(doc["idle_timeout_seconds"], 60);
    assert_eq!(doc["idle_remaining_seconds"], 50);
    assert_eq!(doc["warning"], false);
    // Polling did not touch: ten more seconds and 40 are left.
    s.gw.clock.advance(Duration::from_secs(10));
    let doc = s.gw.get("/.idlegate/session", Some(&token)).await.json();
    assert_eq!(doc["idle_remaining_seconds"], 40);
    // Within timeout.warn_before (2 minutes by default) of the deadline: warning.
    assert_eq!(doc["warning"], true);
    let extended =
        s.gw.call("POST", "/.idlegate/session/extend", Some(&token))
            .await;
    assert_eq!(extended.status, 200);
    assert_eq!(extended.json()["idle_remaining_seconds"], 60);
    // Reserved: other paths and methods are answered by idlegate, never forwarded.
    assert_eq!(
        s.gw.get("/.idlegate/session/other", Some(&token))
            .await
            .status,
        404
    );
    assert_eq!(
        s.gw.call("POST", "/.idlegate/session", Some(&token))
            .await
            .status,
        405
    );
    assert_eq!(s.gw.get("/.idlegate/session", None).await.status, 401);
}

#[tokio::test]
async fn a_policy_with_idle_off_is_never_revoked_for_inactivity() {
    let s = setup("IDENTITY_T5").await;
    let kiosk = s.signer.sign(&claims(now(&s.gw), "wall-1", &["wallboard"]));
    let plain = s.signer.sign(&claims(now(&s.gw), "dave", &[]));
    assert_eq!(s.gw.get("/api/x", Some(&kiosk)).await.status, 200);
    assert_eq!(s.gw.get("/api/x", Some(&plain)).await.status, 200);
    s.gw.clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(
        s.gw.get("/api/x", Some(&plain)).await.status,
        401,
        "default idle 2 s"
    );
    assert_eq!(
        s.gw.get("/api/x", Some(&kiosk)).await.status,
        200,
        "idle off"
    );
    let doc = s.gw.get("/.idlegate/session", Some(&kiosk)).await.json();
    assert_eq!(doc["policy"], "kiosks");
    assert_eq!(doc["idle_timeout_seconds"], serde_json::Value::Null);
    assert_eq!(doc["absolute_remaining_seconds"], 30 * 60);
    // Its absolute lifetime still ends it.
    s.gw.clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(s.gw.get("/api/x", Some(&kiosk)).await.status, 401);
}

#[tokio::test]
async fn an_operator_signs_a_subject_out_everywhere() {
    let s = setup("IDENTITY_T6").await;
    let t = now(&s.gw);
    let mut erins = Vec::new();
    for i in 0..3 {
        let mut c = claims(t, "erin@example.com", &["supervisor"]);
        c["jti"] = json!(i);
        erins.push(s.signer.sign(&c));
    }
    let franks = s.signer.sign(&claims(t, "frank", &[]));
    for token in erins.iter().chain([&franks]) {
        assert_eq!(s.gw.get("/api/x", Some(token)).await.status, 200);
    }
    let path = "/api/v1/subjects/erin%40example.com/tokens";
    let listed = admin_get(&s.gw, path).await.json();
    assert_eq!(listed["subject"], "erin@example.com");
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 3);
    assert_eq!(listed["tokens"][0]["policy"], "supervisors");
    let revoked = admin(&s.gw, "DELETE", path, Some(SECRET), None).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.json(), json!({"revoked": 3}));
    for token in &erins {
        let r = s.gw.get("/api/x", Some(token)).await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("administrator"), "{}", r.body);
    }
    assert_eq!(
        s.gw.get("/api/x", Some(&franks)).await.status,
        200,
        "another subject"
    );
    let listed = admin_get(&s.gw, path).await.json();
    let states: Vec<_> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["revoked", "revoked", "revoked"]);
    assert!(
        listed["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["policy"] == "supervisors"),
        "a revoked token keeps its policy: {listed}"
    );
    assert_eq!(s.gw.metric("idlegate_subjects").await, 2.0);
}
