//! A private Sentinel set: a master, one replica and one Sentinel (quorum 1, master down
//! after 1 s), each a `redis-server` child on a free port, for the Sentinel mode tests.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{answers, connect, missing, REDIS_SERVER};

/// The name the Sentinel monitors the master under.
pub const MASTER_NAME: &str = "m";

pub use crate::common::free_port;

/// Whether redis-server is installed (else skip loudly; under CI it fails).
pub fn redis_server_available() -> bool {
    Path::new(REDIS_SERVER).exists() || missing(REDIS_SERVER)
}

pub struct SentinelSet {
    pub master_port: u16,
    pub replica_port: u16,
    pub sentinel_port: u16,
    master: Option<Child>,
    replica: Child,
    sentinel: Child,
    /// Holds the Sentinel's config file (it rewrites it) and the servers' working folders.
    _dir: tempfile::TempDir,
}

impl SentinelSet {
    /// None (after a loud skip message) when redis-server is missing; under CI it fails.
    pub async fn start() -> Option<SentinelSet> {
        Self::start_with_sentinel_on(free_port()).await
    }

    /// As [`SentinelSet::start`], with the Sentinel on a port chosen beforehand.
    pub async fn start_with_sentinel_on(sentinel_port: u16) -> Option<SentinelSet> {
        if !redis_server_available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let (master_port, replica_port) = (free_port(), free_port());
        let master = server(master_port, &[], dir.path());
        wait_answers(master_port).await;
        let replicaof = ["--replicaof", "127.0.0.1", &master_port.to_string()].map(String::from);
        let replica = server(replica_port, &replicaof, dir.path());
        wait_answers(replica_port).await;
        wait_replica_in_sync(replica_port).await;
        // Started once the replica is attached, so its first look at the master finds it.
        let conf = dir.path().join("sentinel.conf");
        let text = format!(
            "port {sentinel_port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 5000\n",
            dir = dir.path().display()
        );
        std::fs::write(&conf, text).expect("the sentinel config");
        let sentinel = Command::new(REDIS_SERVER)
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server --sentinel starts");
        let set = SentinelSet {
            master_port,
            replica_port,
            sentinel_port,
            master: Some(master),
            replica,
            sentinel,
            _dir: dir,
        };
        wait_answers(sentinel_port).await;
        set.wait_sentinel_knows_the_replica().await;
        Some(set)
    }

    /// `redis+sentinel://127.0.0.1:S/m`.
    pub fn url(&self) -> String {
        format!(
            "redis+sentinel://127.0.0.1:{}/{MASTER_NAME}",
            self.sentinel_port
        )
    }

    pub fn master_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.master_port)
    }

    pub fn replica_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.replica_port)
    }

    /// The master's port as the Sentinel names it now.
    pub async fn named_master_port(&self) -> Option<u16> {
        let mut conn = connect(&format!("redis://127.0.0.1:{}", self.sentinel_port)).await;
        let reply: Option<(String, String)> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(MASTER_NAME)
            .query_async(&mut conn)
            .await
            .ok()?;
        reply.and_then(|(_, port)| port.parse().ok())
    }

    /// SIGKILLs the master (no goodbye to its clients).
    pub fn kill_master(&mut self) {
        if let Some(mut child) = self.master.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Swaps the roles behind the Sentinel's back: the replica becomes a master and the
    /// master its replica, keeping its clients (as a demoted master may).
    pub async fn demote_master(&self) {
        replicaof(&self.replica_url(), None).await;
        replicaof(&self.master_url(), Some(self.replica_port)).await;
    }

    /// Undoes [`SentinelSet::demote_master`].
    pub async fn restore_master(&self) {
        replicaof(&self.master_url(), None).await;
        replicaof(&self.replica_url(), Some(self.master_port)).await;
    }

    /// Waits (at most `within`) until the Sentinel names the replica as the master.
    pub async fn wait_promoted(&self, within: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.named_master_port().await == Some(self.replica_port) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// The Sentinel lists the replica as healthy (else a failover would have nobody to
    /// promote).
    async fn wait_sentinel_knows_the_replica(&self) {
        let mut conn = connect(&format!("redis://127.0.0.1:{}", self.sentinel_port)).await;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let replicas: Vec<Vec<String>> = redis::cmd("SENTINEL")
                .arg("REPLICAS")
                .arg(MASTER_NAME)
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            let port = self.replica_port.to_string();
            let field = |r: &[String], name: &str| {
                r.chunks(2)
                    .find(|kv| kv[0] == name)
                    .map(|kv| kv.get(1).cloned().unwrap_or_default())
            };
            // Known, connected, and not down: a replica the Sentinel can promote.
            let ready = |r: &Vec<String>| {
                field(r, "port").as_deref() == Some(port.as_str())
                    && field(r, "flags").as_deref() == Some("slave")
            };
            if replicas.iter().any(ready) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the Sentinel did not discover the replica within 10 s");
    }
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        self.kill_master();
        for child in [&mut self.replica, &mut self.sentinel] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `REPLICAOF 127.0.0.1 <port>`, or `REPLICAOF NO ONE`.
async fn replicaof(url: &str, port: Option<u16>) {
    let mut conn = connect(url).await;
    let mut cmd = redis::cmd("REPLICAOF");
    match port {
        Some(port) => cmd.arg("127.0.0.1").arg(port),
        None => cmd.arg("NO").arg("ONE"),
    };
    let _: () = cmd.query_async(&mut conn).await.expect("REPLICAOF");
}

fn server(port: u16, extra: &[String], dir: &Path) -> Child {
    Command::new(REDIS_SERVER)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts")
}

async fn wait_answers(port: u16) {
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..250 {
        if answers(&url).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("redis-server on port {port} did not answer");
}

/// The replica's link to the master is up (its first sync is done).
async fn wait_replica_in_sync(port: u16) {
    let mut conn = connect(&format!("redis://127.0.0.1:{port}")).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        if info.contains("master_link_status:up") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the replica on port {port} did not sync within 10 s");
}
