//! Shared by the admin API test files: a gateway with an admin token, admin calls, and a
//! commented config file in a temp folder for Save and reload.
#![allow(dead_code)]

pub mod spec;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use idlegate::config::{self, Config};
use serde_json::Value;

use crate::common::*;

pub const SECRET: &str = "admin-s3cret";

pub fn with_admin_env(mut c: Config, env: &str) -> Config {
    std::env::set_var(env, SECRET);
    c.admin.token_env = env.to_string();
    c
}

pub async fn admin(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let url = format!("http://{}{}", gw.running.admin_addr, path);
    let mut b = Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
    gw.send(b.body(Full::new(body)).unwrap()).await
}

pub async fn get(gw: &Gateway, path: &str) -> Reply {
    admin(gw, "GET", path, Some(SECRET), None).await
}

/// A config file with comments in a temp folder, for Save and reload.
pub const FILE: &str = r#"# operator notes: keep this comment
[proxy]
upstream = "http://UPSTREAM"
listen = "127.0.0.1:18080"

[admin]
token_env = "ENV"

[timeout]
# two seconds for tests
idle = "2s"
resolution = "100ms"

[exclusions]
custom = [] # none yet
"#;

pub fn write_config(dir: &Path, upstream: std::net::SocketAddr, env: &str) -> PathBuf {
    let path = dir.join("idlegate.toml");
    let text = FILE
        .replace("UPSTREAM", &upstream.to_string())
        .replace("ENV", env);
    std::fs::write(&path, text).unwrap();
    std::env::set_var(env, SECRET);
    path
}

/// A gateway on a config file, once ready (its config watch is then in place).
pub async fn file_gateway(path: &Path) -> Gateway {
    let gw = gateway(config::load(path).unwrap().config).await;
    let app = gw.running.app.clone();
    let ready = gw.eventually(Duration::from_secs(5), || {
        let app = app.clone();
        async move { app.is_ready() }
    });
    assert!(ready.await);
    gw
}
