//! The admin listener answers only the names in `admin.allowed_hosts` (421 otherwise), so a
//! DNS-rebinding page cannot read the UI, the API or the metrics; probes answer any host.

mod common;

use bytes::Bytes;
use common::*;
use http::{Request, StatusCode};
use http_body_util::Full;

const SECRET: &str = "host-check-s3cret";

async fn admin_get(gw: &Gateway, path: &str, host: &str) -> Reply {
    let url = format!("http://{}{}", gw.running.admin_addr, path);
    let req = Request::get(url)
        .header("host", host)
        .header("authorization", format!("Bearer {SECRET}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    gw.send(req).await
}

async fn gateway_with_admin(env: &str, allowed: Option<&[&str]>) -> Gateway {
    std::env::set_var(env, SECRET);
    let mut c = config(upstream().await);
    c.admin.token_env = env.to_string();
    if let Some(hosts) = allowed {
        c.admin.allowed_hosts = hosts.iter().map(|h| h.to_string()).collect();
    }
    gateway(c).await
}

#[tokio::test]
async fn a_rebinding_host_gets_421_from_ui_api_and_metrics() {
    let gw = gateway_with_admin("IDLEGATE_TEST_HOST_A", None).await;
    for path in ["/", "/metrics", "/api/v1/settings"] {
        let reply = admin_get(&gw, path, "evil.example:9901").await;
        assert_eq!(reply.status, StatusCode::MISDIRECTED_REQUEST, "{path}");
        assert_eq!(reply.json()["error"], "misdirected_request", "{path}");
        assert!(!reply.body.contains("idlegate_requests_total"), "{path}");
    }
}

#[tokio::test]
async fn loopback_names_reach_the_admin_listener() {
    let gw = gateway_with_admin("IDLEGATE_TEST_HOST_B", None).await;
    let port = gw.running.admin_addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "[::1]".into(),
    ] {
        let reply = admin_get(&gw, "/api/v1/settings", &host).await;
        assert_eq!(reply.status, StatusCode::OK, "{host}");
        let metrics = admin_get(&gw, "/metrics", &host).await;
        assert!(metrics.body.contains("idlegate_requests_total"), "{host}");
    }
}

#[tokio::test]
async fn probes_answer_any_host() {
    let gw = gateway_with_admin("IDLEGATE_TEST_HOST_C", None).await;
    for path in ["/healthz", "/readyz"] {
        let reply = admin_get(&gw, path, "10.20.30.40:9901").await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn configured_hosts_are_allowed_and_the_defaults_are_replaced() {
    let gw = gateway_with_admin("IDLEGATE_TEST_HOST_D", Some(&["gateway.internal"])).await;
    let reply = admin_get(&gw, "/metrics", "Gateway.Internal:9901").await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = admin_get(&gw, "/metrics", "localhost").await;
    assert_eq!(reply.status, StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn two_host_headers_get_421() {
    let gw = gateway_with_admin("IDLEGATE_TEST_HOST_E", None).await;
    let url = format!("http://{}/metrics", gw.running.admin_addr);
    let req = Request::get(url)
        .header("host", "localhost")
        .header("host", "evil.example")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(gw.send(req).await.status, StatusCode::MISDIRECTED_REQUEST);
}
