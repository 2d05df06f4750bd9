//! The admin API's error answers, byte for byte: status, content type and body of every
//! refusal a client can provoke over HTTP (401, 403, 404, 421, 400). The 503s of an admin
//! revocation and the bare 500 are pinned in `src/admin/error.rs`, where they can be built.

mod common;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use idlegate::config::Config;

const SECRET: &str = "admin-errors-s3cret";

fn with_env(mut c: Config, env: &str, value: &str) -> Config {
    std::env::set_var(env, value);
    c.admin.token_env = env.to_string();
    c
}

async fn call(gw: &Gateway, method: &str, path: &str, host: &str, body: &str) -> Reply {
    let url = format!("http://{}{}", gw.running.admin_addr, path);
    let req = Request::builder()
        .method(method)
        .uri(url)
        .header("host", host)
        .header("authorization", format!("Bearer {SECRET}"))
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    gw.send(req).await
}

fn assert_json(reply: &Reply, status: u16, body: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.body, body);
}

#[tokio::test]
async fn refusals_keep_their_exact_bodies() {
    let up = upstream().await;
    let gw = gateway(with_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_ERR", SECRET)).await;

    let r = call(&gw, "GET", "/api/v1/settings", "evil.example", "").await;
    let misdirected = "{\"error\":\"misdirected_request\",\"error_description\":\"this Host is \
        not in admin.allowed_hosts; add the name you use to reach the admin listener there\"}";
    assert_json(&r, 421, misdirected);

    let url = format!("http://{}/api/v1/stats", gw.running.admin_addr);
    let req = Request::builder().uri(url).body(Full::default()).unwrap();
    let r = gw.send(req).await;
    let unauthorized = "{\"error\":\"unauthorized\",\"message\":\"missing or wrong admin token \
        (Authorization: Bearer <token>)\"}";
    assert_json(&r, 401, unauthorized);
    assert_eq!(r.headers["www-authenticate"], "Bearer");

    let r = call(&gw, "GET", "/api/v1/apis?limit=x", "localhost", "").await;
    let limit = "{\"errors\":[{\"field\":\"limit\",\"message\":\"limit must be a whole number \
        (got \\\"x\\\")\"}]}";
    assert_json(&r, 400, limit);

    let r = call(&gw, "GET", "/api/v1/tokens/abc", "localhost", "").await;
    let bad_id = "{\"errors\":[{\"field\":\"token_id\",\"message\":\"a token id is 32 hex \
        digits (got 3 characters)\"}]}";
    assert_json(&r, 400, bad_id);
    let r = call(&gw, "DELETE", "/api/v1/tokens/abc", "localhost", "").await;
    assert_json(&r, 400, bad_id);

    let r = call(&gw, "PUT", "/api/v1/settings", "localhost", "{").await;
    let not_json = "{\"errors\":[{\"field\":\"\",\"message\":\"the body is not valid JSON: EOF \
        while parsing an object at line 1 column 1\"}]}";
    assert_json(&r, 400, not_json);

    let r = call(&gw, "PUT", "/api/v1/settings", "localhost", "{\"mode\":1}").await;
    let mode = "{\"errors\":[{\"field\":\"mode\",\"message\":\"must be \\\"enforce\\\" or \
        \\\"shadow\\\" (got 1)\"}]}";
    assert_json(&r, 400, mode);
}

#[tokio::test]
async fn no_admin_token_keeps_its_exact_body() {
    let up = upstream().await;
    let gw = gateway(with_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_ERR_UNSET", "")).await;
    let r = call(&gw, "GET", "/api/v1/settings", "localhost", "").await;
    let body = "{\"error\":\"admin_token_not_configured\",\"message\":\"the admin API is \
        disabled because no admin token is configured: set the environment variable \
        IDLEGATE_ADMIN_TOKEN_T_ERR_UNSET (named by admin.token_env) to a secret value, restart \
        idlegate, and send \\\"Authorization: Bearer <that value>\\\"\"}";
    assert_json(&r, 403, body);
}

#[tokio::test]
async fn evidence_off_keeps_its_exact_body() {
    let up = upstream().await;
    let mut c = with_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_ERR_EVIDENCE", SECRET);
    c.evidence.enabled = false;
    let gw = gateway(c).await;
    let r = call(&gw, "GET", "/api/v1/evidence", "localhost", "").await;
    let body = "{\"error\":\"evidence_disabled\",\"message\":\"live evidence is off: set \
        enabled = true in [evidence] (or remove the key) and restart idlegate\"}";
    assert_json(&r, 404, body);
}
