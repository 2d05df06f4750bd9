//! `idlegate demo`: a sample agent-desktop upstream and the gateway in front of it with a
//! short timeout, for first contact. Prints the commands to try.

use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::server::Running;
use crate::token::Keyer;

/// The demo's idle timeout: short enough to watch a token expire.
pub const DEMO_IDLE: Duration = Duration::from_secs(20);

/// A tiny stand-in for an agent-desktop API. Any bearer token is accepted except `invalid`.
pub fn sample_upstream() -> Router {
    Router::new()
        .route(
            "/api/v2/users/me",
            get(|h: HeaderMap| async move {
                answer(&h, json!({"id": "agent-1", "name": "Demo Agent"}))
            }),
        )
        .route(
            "/api/v2/users/{id}/presences/purecloud",
            get(|h: HeaderMap, Path(id): Path<String>| async move {
                answer(&h, json!({"userId": id, "presence": "Available"}))
            }),
        )
        .route(
            "/api/v2/users/{id}/routingstatus",
            get(|h: HeaderMap, Path(id): Path<String>| async move {
                answer(&h, json!({"userId": id, "status": "IDLE"}))
            }),
        )
        .route(
            "/api/v2/diagnostics/trace",
            post(|h: HeaderMap| async move { answer(&h, json!({"accepted": true})) }),
        )
        .route(
            "/api/v2/conversations",
            get(|h: HeaderMap| async move { answer(&h, json!({"entities": []})) }),
        )
        .route(
            "/api/v2/tokens/me",
            get(|h: HeaderMap| async move { answer(&h, json!({"valid": true})) }),
        )
}

fn answer(headers: &HeaderMap, body: serde_json::Value) -> (StatusCode, Json<serde_json::Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth.is_empty() || auth.ends_with(" invalid") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unauthorized"})),
        );
    }
    (StatusCode::OK, Json(body))
}

/// The env variable holding the demo's admin token.
pub const DEMO_ADMIN_TOKEN_ENV: &str = "IDLEGATE_DEMO_ADMIN_TOKEN";

/// The gateway config of the demo.
pub fn demo_config(upstream: http::Uri) -> Config {
    let mut config = Config::with_upstream(upstream);
    config.admin.token_env = DEMO_ADMIN_TOKEN_ENV.into();
    // The type-ahead of the admin UI, when run from a checkout.
    let catalog = std::path::Path::new("config/catalog/genesys-cloud-apis.json");
    if catalog.exists() {
        config.catalog.openapi = Some(catalog.to_path_buf());
    }
    config.timeout.idle = DEMO_IDLE;
    config.timeout.expose_remaining = true;
    config.exclusions.enabled_defaults =
        vec!["client-diagnostics".into(), "presence-polling".into()];
    config
}

async fn listen(preferred: &str) -> std::io::Result<TcpListener> {
    match TcpListener::bind(preferred).await {
        Ok(l) => Ok(l),
        Err(_) => TcpListener::bind("127.0.0.1:0").await,
    }
}

pub fn run() -> i32 {
    // Set before any thread starts: the admin API reads it on each request.
    let admin_token = std::env::var(DEMO_ADMIN_TOKEN_ENV)
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "demo-admin".to_string());
    std::env::set_var(DEMO_ADMIN_TOKEN_ENV, &admin_token);
    let rt = match crate::cli::runtime(0) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    rt.block_on(async {
        match serve().await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        }
    })
}

async fn serve() -> std::io::Result<()> {
    let upstream_listener = TcpListener::bind("127.0.0.1:0").await?;
    let upstream_addr = upstream_listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(upstream_listener, sample_upstream()).await;
    });
    let upstream: http::Uri = format!("http://{upstream_addr}")
        .parse()
        .map_err(|e| std::io::Error::other(format!("{e}")))?;
    let config = demo_config(upstream);
    let proxy = listen("127.0.0.1:8080").await?;
    let admin = listen("127.0.0.1:9901").await?;
    // The demo keeps nothing: a fresh random hash key each time.
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    let running = Running::start(
        proxy,
        admin,
        config,
        Keyer::from_key_bytes(key),
        Clock::new(),
    )
    .await?;
    let admin_token = std::env::var(DEMO_ADMIN_TOKEN_ENV).unwrap_or_default();
    print_instructions(
        running.proxy_addr,
        running.admin_addr,
        upstream_addr,
        &admin_token,
    );
    crate::cli::shutdown_signal().await;
    let _ = running.stop().await;
    Ok(())
}

fn print_instructions(
    proxy: std::net::SocketAddr,
    admin: std::net::SocketAddr,
    upstream: std::net::SocketAddr,
    admin_token: &str,
) {
    let idle = DEMO_IDLE.as_secs();
    println!(
        r#"idlegate demo
  sample upstream  http://{upstream}
  gateway          http://{proxy}   (idle timeout {idle}s; excluded: client-diagnostics, presence-polling)
  admin UI         http://{admin}/   (admin token: {admin_token})

1. An active token survives: call a normal API now and then (each call resets the timer).
   curl -i -H 'Authorization: Bearer agent-a' http://{proxy}/api/v2/users/me
   (the Idle-Timeout-Remaining header shows the seconds left)

2. Background calls do not keep a token alive: start a second token, then only poll.
   curl -s -o /dev/null -w '%{{http_code}}\n' -H 'Authorization: Bearer agent-b' http://{proxy}/api/v2/users/me
   for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{{http_code}} ' -X POST -H 'Authorization: Bearer agent-b' http://{proxy}/api/v2/diagnostics/trace; sleep 6; done; echo
   The polls answer 200 until {idle}s after the last normal call, then 401: the token was revoked.
   curl -i -H 'Authorization: Bearer agent-b' http://{proxy}/api/v2/users/me     # 401 token revoked after inactivity

3. Watch it happen:
   curl -s http://{admin}/metrics | grep -E 'idlegate_(requests|revocations|tokens)'
   Each revocation is printed below as it happens: an audit line with its token id.

4. Change the policy live in the admin UI (sign in with the admin token): switch groups,
   add or remove custom APIs, Save.

Ctrl-C stops the demo."#
    );
}
