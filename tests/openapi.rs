//! The admin listener's OpenAPI document (docs/reference.md, "Admin API", "OpenAPI
//! document"): `docs/openapi.json` is exactly what the gateway serves and `idlegate openapi`
//! prints, and every documented operation, called on real gateways for every status a client
//! can provoke, answers a status the document lists, with a body its JSON Schema accepts.
//! Every documented answer is exercised here or listed in `NOT_PROVOKED` with the reason.
//!
//! Regenerate the file after changing the API: `IDLEGATE_WRITE_OPENAPI=1 cargo test --test
//! openapi` (or `idlegate openapi > docs/openapi.json`).

mod admin_support;
mod common;
mod identity_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use admin_support::spec::{Answer, Spec};
use admin_support::{with_admin_env, SECRET};
use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use identity_support::{claims, with_identity, write_jwks, Signer};
use idlegate::config::{Backend, Config, OnError};
use serde_json::{json, Value};

/// Documented answers no client can provoke over HTTP, and why.
const NOT_PROVOKED: &[(&str, &str, &str, &str)] = &[(
    "put",
    "/api/v1/settings",
    "500",
    "only a panic while applying the change answers it (pinned in src/admin/error.rs)",
)];

const SUBJECT: &str = "erin@example.com";
const SUBJECT_PATH: &str = "/api/v1/subjects/erin%40example.com/tokens";

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json")
}

fn file_document() -> Value {
    let text = std::fs::read_to_string(doc_path()).expect("docs/openapi.json");
    serde_json::from_str(&text).expect("docs/openapi.json is JSON")
}

/// `method path` on the admin listener, with an optional token and `Host`.
async fn send(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: Option<&str>,
    host: Option<&str>,
    body: impl Into<Bytes>,
) -> Reply {
    let url = format!("http://{}{}", gw.running.admin_addr, path);
    let mut b = Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if let Some(h) = host {
        b = b.header("host", h);
    }
    gw.send(b.body(Full::new(body.into())).unwrap()).await
}

/// `method path` with the admin token, checked against the document.
async fn call(spec: &Spec, gw: &Gateway, method: &str, template: &str, path: &str) -> Value {
    call_with(spec, gw, method, template, path, "").await
}

async fn call_with(
    spec: &Spec,
    gw: &Gateway,
    method: &str,
    template: &str,
    path: &str,
    body: impl Into<Bytes>,
) -> Value {
    let upper = method.to_ascii_uppercase();
    let reply = send(gw, &upper, path, Some(SECRET), None, body).await;
    spec.check(method, template, &reply)
}

/// A concrete path for a template.
fn concrete(template: &str) -> String {
    template
        .replace("{token_id}", &"0".repeat(32))
        .replace("{subject}", "alice")
}

async fn ready(gw: &Gateway, want: u16) -> bool {
    gw.eventually(Duration::from_secs(5), || async {
        send(gw, "GET", "/readyz", None, None, "").await.status == want
    })
    .await
}

/// A gateway with `[identity]` on `jwks`, the admin token in `env`, and `tweak` applied.
async fn identity_gateway(jwks: &Path, env: &str, tweak: impl FnOnce(&mut Config)) -> Gateway {
    let mut c = with_admin_env(with_identity(config(upstream().await), jwks), env);
    tweak(&mut c);
    gateway(c).await
}

#[tokio::test]
async fn docs_openapi_json_is_what_the_gateway_serves() {
    let gw = gateway(config(upstream().await)).await;
    let served = send(&gw, "GET", "/api/v1/openapi.json", None, None, "").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.headers["content-type"], "application/json");
    if std::env::var_os("IDLEGATE_WRITE_OPENAPI").is_some() {
        std::fs::write(doc_path(), &served.body).unwrap();
        return;
    }
    let file = std::fs::read_to_string(doc_path()).unwrap_or_default();
    assert!(
        file == served.body,
        "docs/openapi.json differs from the document the code builds; regenerate it with \
         `IDLEGATE_WRITE_OPENAPI=1 cargo test --test openapi` (or `idlegate openapi > \
         docs/openapi.json`) and review the diff"
    );
}

#[test]
fn the_cli_prints_the_same_document() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idlegate"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = std::fs::read(doc_path()).unwrap_or_default();
    assert!(
        out.stdout == file,
        "`idlegate openapi` and docs/openapi.json differ: regenerate the file (see the top of \
         tests/openapi.rs)"
    );
}

/// The oracle can fail: a body of the wrong shape is refused, and the request example is a
/// valid request.
#[test]
fn schemas_refuse_wrong_bodies_and_accept_the_example() {
    let spec = Spec::new(file_document());
    let status = spec.component("TokenStatusDoc");
    assert!(spec
        .errors(&status, &json!({"state": "unknown"}))
        .is_empty());
    assert!(!spec.errors(&status, &json!({"state": "active"})).is_empty());
    assert!(!spec.errors(&status, &json!({"state": "gone"})).is_empty());
    let invalid = spec.component("InvalidBody");
    assert!(!spec
        .errors(&invalid, &json!({"errors": [{"field": 1}]}))
        .is_empty());
    let put = spec.operation("put", "/api/v1/settings");
    let request = &put["requestBody"]["content"]["application/json"];
    let errors = spec.errors(&request["schema"], &request["example"]);
    assert!(
        request["example"].is_object() && errors.is_empty(),
        "{errors:?}"
    );
    let bad = json!({"mode": "loose", "idle_seconds": 0});
    assert_eq!(spec.errors(&request["schema"], &bad).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_answer_is_provoked_and_matches_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let signer = Signer::new("k1");
    write_jwks(&jwks, &[&signer]);
    let gw = identity_gateway(&jwks, "IDLEGATE_ADMIN_TOKEN_T_OPENAPI", |c| {
        let catalog = "config/catalog/genesys-cloud-apis.json";
        c.catalog.openapi = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(catalog));
    })
    .await;
    assert!(ready(&gw, 200).await, "the gateway becomes ready");
    let reply = send(&gw, "GET", "/api/v1/openapi.json", None, None, "").await;
    let spec = Spec::new(serde_json::from_str(&reply.body).unwrap());
    spec.check("get", "/api/v1/openapi.json", &reply);

    probes(&spec, &gw).await;
    refusals(&spec, &gw).await;
    settings(&spec, &gw).await;
    catalog_and_stats(&spec, &gw).await;
    tokens_and_subjects(&spec, &gw, &signer).await;
    evidence(&spec, &gw, &jwks).await;
    redis_down(&spec, &jwks, &signer).await;

    let not_provoked: BTreeSet<Answer> = NOT_PROVOKED
        .iter()
        .map(|(m, p, s, _)| (m.to_string(), p.to_string(), s.to_string()))
        .collect();
    let (documented, exercised) = (spec.documented(), spec.exercised());
    assert!(not_provoked.is_subset(&documented), "NOT_PROVOKED is stale");
    let missed: Vec<_> = documented
        .difference(&exercised)
        .filter(|a| !not_provoked.contains(*a))
        .collect();
    assert!(
        missed.is_empty(),
        "documented answers never exercised: {missed:?}"
    );
}

async fn probes(spec: &Spec, gw: &Gateway) {
    for path in ["/healthz", "/readyz", "/metrics"] {
        let reply = send(gw, "GET", path, None, None, "").await;
        assert_eq!(reply.status, 200, "{path}");
        spec.check("get", path, &reply);
    }
}

/// 401 (no token, wrong token) and 403 (no token configured) on every operation that needs
/// the admin token; 421 on every operation that checks the `Host`.
async fn refusals(spec: &Spec, gw: &Gateway) {
    let unset = "IDLEGATE_ADMIN_TOKEN_T_OPENAPI_UNSET";
    let mut c = config(upstream().await);
    c.admin.token_env = unset.into();
    std::env::remove_var(unset);
    let unconfigured = gateway(c).await;
    let paths = spec.doc["paths"].as_object().unwrap().clone();
    for (template, item) in &paths {
        for (method, op) in item.as_object().unwrap() {
            let (upper, path) = (method.to_ascii_uppercase(), concrete(template));
            if op.get("security").is_some() {
                for token in [None, Some("wrong")] {
                    let reply = send(gw, &upper, &path, token, None, "").await;
                    assert_eq!(reply.status, 401, "{method} {template}");
                    assert_eq!(reply.headers["www-authenticate"], "Bearer");
                    spec.check(method, template, &reply);
                }
                let reply = send(&unconfigured, &upper, &path, Some("x"), None, "").await;
                assert_eq!(reply.status, 403, "{method} {template}");
                spec.check(method, template, &reply);
            }
            if op["responses"].get("421").is_some() {
                let host = Some("evil.example");
                let reply = send(gw, &upper, &path, Some(SECRET), host, "").await;
                assert_eq!(reply.status, 421, "{method} {template}");
                spec.check(method, template, &reply);
            }
        }
    }
}

async fn settings(spec: &Spec, gw: &Gateway) {
    let path = "/api/v1/settings";
    let doc = call(spec, gw, "get", path, path).await;
    assert_eq!(doc["policies"][0]["name"], "supervisors");
    let put = spec.operation("put", path);
    let example = put["requestBody"]["content"]["application/json"]["example"].clone();
    let answer = call_with(spec, gw, "put", path, path, example.to_string()).await;
    assert_eq!(answer["idle_seconds"], example["idle_seconds"], "{answer}");
    // The GET document can be sent back as is.
    let answer = call_with(spec, gw, "put", path, path, answer.to_string()).await;
    assert_eq!(answer["saved"], false, "no config file");
    for bad in ["{", r#"{"mode":1,"policies":[{"name":"X"}]}"#, "[]"] {
        let body = call_with(spec, gw, "put", path, path, bad).await;
        assert!(body["errors"][0]["message"].is_string(), "{bad}: {body}");
    }
    let huge = vec![b' '; 3 * 1024 * 1024];
    let body = call_with(spec, gw, "put", path, path, huge).await;
    assert_eq!(body["error"], "body_too_large");
}

async fn catalog_and_stats(spec: &Spec, gw: &Gateway) {
    let template = "/api/v1/apis";
    let hits = call(spec, gw, "get", template, "/api/v1/apis?q=presence&limit=5").await;
    assert_eq!(hits.as_array().map(Vec::len), Some(5), "{hits}");
    let limit = call(spec, gw, "get", template, "/api/v1/apis?limit=x").await;
    assert_eq!(limit["errors"][0]["field"], "limit");
    // A query string that does not decode is refused the same way, as JSON.
    let twice = call(spec, gw, "get", template, "/api/v1/apis?q=a&q=b").await;
    assert!(twice["errors"][0]["message"].is_string(), "{twice}");
    let stats = call(spec, gw, "get", "/api/v1/stats", "/api/v1/stats").await;
    assert!(stats["catalog_operations"].as_u64().unwrap() > 0, "{stats}");
}

async fn tokens_and_subjects(spec: &Spec, gw: &Gateway, signer: &Signer) {
    let token = signer.sign(&claims(gw.clock.now_ms(), SUBJECT, &["supervisor"]));
    assert_eq!(gw.get("/api/x", Some(&token)).await.status, 200);
    let (one, id) = ("/api/v1/tokens/{token_id}", token_id(&token));
    let path = format!("/api/v1/tokens/{id}");
    let active = call(spec, gw, "get", one, &path).await;
    assert_eq!(
        (&active["state"], &active["subject"]),
        (&json!("active"), &json!(SUBJECT))
    );
    let unknown = call(spec, gw, "get", one, &concrete(one)).await;
    assert_eq!(unknown, json!({"state": "unknown"}));
    for bad in ["/api/v1/tokens/abc", "/api/v1/tokens/%FF"] {
        for method in ["get", "delete"] {
            let body = call(spec, gw, method, one, bad).await;
            assert_eq!(body["errors"][0]["field"], "token_id", "{method} {bad}");
        }
    }

    let all = "/api/v1/subjects/{subject}/tokens";
    let listed = call(spec, gw, "get", all, SUBJECT_PATH).await;
    assert_eq!(listed["tokens"][0]["state"], "active", "{listed}");
    let revoked = call(spec, gw, "delete", all, SUBJECT_PATH).await;
    assert_eq!(revoked, json!({"revoked": 1}));
    let listed = call(spec, gw, "get", all, SUBJECT_PATH).await;
    assert_eq!(listed["tokens"][0]["reason"], "admin", "{listed}");
    let status = call(spec, gw, "get", one, &path).await;
    assert_eq!(status["state"], "revoked", "{status}");
    let long = format!("/api/v1/subjects/{}/tokens", "a".repeat(257));
    for bad in [long.as_str(), "/api/v1/subjects/%FF/tokens"] {
        for method in ["get", "delete"] {
            let body = call(spec, gw, method, all, bad).await;
            assert_eq!(body["errors"][0]["field"], "subject", "{method} {bad}");
        }
    }
    let deleted = call(spec, gw, "delete", one, &path).await;
    assert_eq!(deleted, Value::Null, "204 has no body");
}

/// Live evidence of the traffic above and the trial report (200), and a gateway with evidence
/// off (404).
async fn evidence(spec: &Spec, gw: &Gateway, jwks: &Path) {
    let path = "/api/v1/evidence";
    let report = call(spec, gw, "get", path, path).await;
    let apis = report["apis"].as_array().unwrap();
    assert!(apis.iter().any(|a| a["template"] == "/api/x"), "{report}");
    let off = identity_gateway(jwks, "IDLEGATE_ADMIN_TOKEN_T_OPENAPI_OFF", |c| {
        c.evidence.enabled = false;
    })
    .await;
    let body = call(spec, &off, "get", path, path).await;
    assert_eq!(body["error"], "evidence_disabled", "{body}");
    let trial = "/api/v1/evidence/trial";
    let report = call(spec, gw, "get", trial, trial).await;
    assert!(report["would_revoke"].is_array(), "{report}");
    let body = call(spec, &off, "get", trial, trial).await;
    assert_eq!(body["error"], "evidence_disabled", "{body}");
}

/// A gateway whose Redis never answers: not ready, and an admin revocation is enforced here
/// but not stored, so it answers 503 (after the bounded wait for Redis).
async fn redis_down(spec: &Spec, jwks: &Path, signer: &Signer) {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let gw = identity_gateway(jwks, "IDLEGATE_ADMIN_TOKEN_T_OPENAPI_DOWN", |c| {
        c.state.backend = Backend::Redis;
        c.state.redis_url = Some(url);
        c.state.on_error = OnError::Open;
    })
    .await;
    let reply = send(&gw, "GET", "/readyz", None, None, "").await;
    assert_eq!(reply.status, 503, "never ready without Redis");
    spec.check("get", "/readyz", &reply);

    let token = signer.sign(&claims(gw.clock.now_ms(), SUBJECT, &[]));
    assert_eq!(gw.get("/api/x", Some(&token)).await.status, 200);
    let all = "/api/v1/subjects/{subject}/tokens";
    let body = call(spec, &gw, "delete", all, SUBJECT_PATH).await;
    assert_eq!(body["error"], "revocation_not_stored", "{body}");
    let one = "/api/v1/tokens/{token_id}";
    let body = call(spec, &gw, "delete", one, &concrete(one)).await;
    assert_eq!(body["error"], "revocation_not_stored", "{body}");
}
