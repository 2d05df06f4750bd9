//! Redis test support: reachability checks that skip loudly (or fail under CI), unique key
//! prefixes with cleanup, a private `redis-server` child that can be stopped and restarted on
//! its port, and pairs of gateways sharing one clock.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use idlegate::config::{Backend, Config, OnError};

use crate::common::{self, Gateway};

pub mod cluster;
pub mod cut;
pub mod sentinel;

pub const SHARED_URL: &str = "redis://127.0.0.1:6379";
const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// Skips (returns false) loudly when `what` is missing; under CI it fails.
fn missing(what: &str) -> bool {
    common::skip::skip(&format!(
        "{what} is not available (start redis-server, or run .ci/run, which starts it)"
    ));
    false
}

/// Whether a Redis answers PING at `url`.
pub async fn answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let fut = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), fut).await,
        Ok(Ok(_))
    )
}

/// The shared Redis on 6379 is reachable (else skip loudly / fail under CI).
pub async fn shared_redis() -> bool {
    answers(SHARED_URL).await || missing("a Redis at 127.0.0.1:6379")
}

/// `idlegate-test-<random>`: each test owns its keys.
pub fn unique_prefix() -> String {
    let mut b = [0u8; 6];
    getrandom::getrandom(&mut b).expect("random bytes");
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("idlegate-test-{hex}")
}

/// `<prefix>:u:{<32 hex of blake3(subject)>}`: the set of a subject's token ids.
pub fn subject_set(prefix: &str, subject: &str) -> String {
    let hash = blake3::hash(subject.as_bytes());
    let hex: String = hash.as_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}:u:{{{hex}}}")
}

pub async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("test connection to Redis")
}

/// Deletes every key of `prefix`.
pub async fn cleanup(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}

/// The ids of the gateways' connections (named `idlegate:<prefix>`) on the server at `url`.
pub async fn gateway_connection_ids(url: &str, prefix: &str) -> Vec<String> {
    let mut conn = connect(url).await;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut conn)
        .await
        .unwrap();
    let name = format!("name=idlegate:{prefix} ");
    list.lines()
        .filter(|l| l.contains(&name))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
        .collect()
}

/// Kills the gateways' connections (named `idlegate:<prefix>`), nobody else's.
pub async fn kill_gateway_connections(url: &str, prefix: &str) -> usize {
    let ids = gateway_connection_ids(url, prefix).await;
    let mut conn = connect(url).await;
    for id in &ids {
        let _: redis::RedisResult<i64> = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut conn)
            .await;
    }
    ids.len()
}

/// A private redis-server on a free port, for tests that stop and restart Redis.
pub struct Server {
    pub port: u16,
    child: Option<Child>,
}

impl Server {
    /// None (after a loud skip message) when the binary is missing; under CI it fails.
    pub async fn start() -> Option<Server> {
        if !Path::new(REDIS_SERVER).exists() {
            missing(REDIS_SERVER);
            return None;
        }
        let port = common::free_port();
        let mut server = Server { port, child: None };
        server.restart().await;
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and waits until it answers.
    pub async fn restart(&mut self) {
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let url = self.url();
        for _ in 0..250 {
            if answers(&url).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("redis-server on port {} did not answer", self.port);
    }

    /// Kills it (SIGKILL: no goodbye to clients) and waits for the exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Test config on Redis: 2 s idle, 100 ms resolution, 100 ms sync interval.
pub fn config(upstream: std::net::SocketAddr, url: &str, prefix: &str) -> Config {
    let mut c = common::config(upstream);
    c.state.backend = Backend::Redis;
    c.state.redis_url = Some(url.to_owned());
    c.state.prefix = prefix.to_owned();
    c.state.sync_interval = Duration::from_millis(100);
    c.state.on_error = OnError::Open;
    c
}

/// A gateway on the given clock (replicas in one test share it, so time moves for all).
pub use common::gateway_on;

/// The gateway's Redis backend (it must have one).
fn redis_backend(gw: &Gateway) -> std::sync::Arc<idlegate::store::redis::Shared> {
    gw.running
        .app
        .state()
        .redis()
        .cloned()
        .expect("redis backend")
}

/// Waits until the gateway is connected to Redis (at most 5 s).
pub async fn connected(gw: &Gateway) -> bool {
    let shared = redis_backend(gw);
    shared.wait_up(Duration::from_secs(5)).await
}

/// Waits until the gateway noticed Redis is gone (at most 5 s).
pub async fn disconnected(gw: &Gateway) -> bool {
    let shared = redis_backend(gw);
    gw.eventually(Duration::from_secs(5), || {
        let up = shared.is_up();
        async move { !up }
    })
    .await
}

pub async fn readyz(gw: &Gateway) -> u16 {
    let url = format!("http://{}/readyz", gw.running.admin_addr);
    let resp = gw.client.get(url.parse().unwrap()).await.unwrap();
    resp.status().as_u16()
}

/// Revokes as an admin would on this replica (store + report: audit, hooks, Redis).
pub fn admin_revoke(gw: &Gateway, token: &str) {
    let app = &gw.running.app;
    let key = common::keyer().key(token);
    app.state().revoke(
        &key,
        idlegate::store::RevokeReason::Admin,
        app.clock.now_ms(),
    );
}

/// Polls the gateway until it refuses `token` with 401, at most `within`; the time it took.
pub async fn refused_within(gw: &Gateway, token: &str, within: Duration) -> Option<Duration> {
    let started = std::time::Instant::now();
    while started.elapsed() <= within {
        if gw.get("/x", Some(token)).await.status == 401 {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Waits until the gateway is connected to Redis, at most `within`.
pub async fn connected_within(gw: &Gateway, within: Duration) -> bool {
    redis_backend(gw).wait_up(within).await
}
