//! Admin revocations are durable before they are acknowledged (memory backend with a
//! snapshot): the revocation journal beside the snapshot, checked against the real binary
//! killed with SIGKILL, and against torn and damaged journal files.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use idlegate::config::Config;
use idlegate::store::journal::RECORD_LEN;
use idlegate::token::Keyer;

const ADMIN_SECRET: &str = "journal-admin-secret";
/// The binary's hash key (`IDLEGATE_HASH_KEY`).
const HASH_KEY: &str = "journal-test";
/// Magic and version.
const HEADER_LEN: usize = 12;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `METHOD url` with a bearer token: status and body.
async fn send(client: &HttpClient, method: &str, url: &str, bearer: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {bearer}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = client.request(req).await.expect("gateway answers");
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The real binary on fixed ports, memory backend, snapshots every hour (so only the journal
/// can carry a revocation across a kill).
struct Binary {
    cfg: PathBuf,
    proxy: u16,
    admin: u16,
    client: HttpClient,
}

impl Binary {
    fn configure(dir: &Path, upstream: std::net::SocketAddr) -> Binary {
        let (proxy, admin) = (free_port(), free_port());
        let cfg = dir.join("idlegate.toml");
        std::fs::write(
            &cfg,
            format!(
                "[proxy]\nlisten = \"127.0.0.1:{proxy}\"\nupstream = \"http://{upstream}\"\n\
                 [admin]\nlisten = \"127.0.0.1:{admin}\"\ntoken_env = \"JOURNAL_TEST_ADMIN\"\n\
                 [timeout]\nidle = \"1h\"\nresolution = \"100ms\"\n\
                 [state]\nsnapshot = \"idlegate.state\"\nsnapshot_interval = \"1h\"\n"
            ),
        )
        .unwrap();
        Binary {
            cfg,
            proxy,
            admin,
            client: client(),
        }
    }

    /// Starts it and waits until ready (bounded).
    async fn start(&self) -> tokio::process::Child {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_idlegate"))
            .args(["run", "--config"])
            .arg(&self.cfg)
            .env("IDLEGATE_HASH_KEY", HASH_KEY)
            .env("JOURNAL_TEST_ADMIN", ADMIN_SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url: http::Uri = format!("http://127.0.0.1:{}/readyz", self.admin)
            .parse()
            .unwrap();
        for _ in 0..250 {
            if let Ok(r) = self.client.get(url.clone()).await {
                if r.status() == 200 {
                    return child;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("gateway not ready");
    }

    async fn proxy_get(&self, token: &str) -> StatusCode {
        let url = format!("http://127.0.0.1:{}/a", self.proxy);
        send(&self.client, "GET", &url, token).await.0
    }

    async fn admin(&self, method: &str, id: &str) -> (StatusCode, String) {
        let url = format!("http://127.0.0.1:{}/api/v1/tokens/{id}", self.admin);
        send(&self.client, method, &url, ADMIN_SECRET).await
    }

    async fn state_of(&self, id: &str) -> String {
        let (status, body) = self.admin("GET", id).await;
        assert_eq!(status, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        doc["state"].as_str().unwrap_or_default().to_owned()
    }
}

fn binary_id(token: &str) -> String {
    Keyer::from_secret(HASH_KEY.as_bytes()).key(token).to_hex()
}

async fn kill_9(mut child: tokio::process::Child) {
    child.start_kill().unwrap();
    let _ = child.wait().await;
}

#[tokio::test]
async fn acknowledged_admin_revocation_survives_kill_9_right_after_the_204() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Binary::configure(dir.path(), up);
    let child = gw.start().await;
    assert_eq!(gw.proxy_get("victim").await, 200, "tracked");
    let (status, body) = gw.admin("DELETE", &binary_id("victim")).await;
    assert_eq!(status, 204, "{body}");
    kill_9(child).await;
    assert!(
        !dir.path().join("idlegate.state").exists(),
        "no snapshot yet"
    );

    let _child = gw.start().await;
    assert_eq!(gw.state_of(&binary_id("victim")).await, "revoked");
    assert_eq!(
        gw.proxy_get("victim").await,
        401,
        "an acknowledged revocation is never served again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_concurrent_deletes_is_all_durable_before_kill_9() {
    // As many at once as the admin listener serves (`admin::listen::MAX_CONNECTIONS`): one more
    // would wait until one of the client's keep-alive connections closed, a minute later.
    const N: usize = 32;
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = std::sync::Arc::new(Binary::configure(dir.path(), up));
    let child = gw.start().await;
    let deletes: Vec<_> = (0..N)
        .map(|i| {
            let gw = gw.clone();
            tokio::spawn(async move { gw.admin("DELETE", &binary_id(&format!("t{i}"))).await })
        })
        .collect();
    for d in deletes {
        let (status, body) = d.await.unwrap();
        assert_eq!(status, 204, "{body}");
    }
    kill_9(child).await;

    let _child = gw.start().await;
    for i in 0..N {
        let id = binary_id(&format!("t{i}"));
        assert_eq!(gw.state_of(&id).await, "revoked", "t{i}");
    }
}

/// An in-process gateway with a snapshot and an admin token (its own env variable).
fn persisted(up: std::net::SocketAddr, snapshot: &Path, env: &str, interval: Duration) -> Config {
    std::env::set_var(env, ADMIN_SECRET);
    let mut c = config(up);
    c.admin.token_env = env.to_owned();
    c.state.snapshot = Some(snapshot.to_path_buf());
    c.state.snapshot_interval = interval;
    c
}

async fn admin(gw: &Gateway, method: &str, token: &str) -> (StatusCode, String) {
    let url = format!(
        "http://{}/api/v1/tokens/{}",
        gw.running.admin_addr,
        token_id(token)
    );
    send(&gw.client, method, &url, ADMIN_SECRET).await
}

/// Revokes `tokens` through the API and stops gracefully: the journal keeps them (the one
/// snapshot written holds them, but `<snapshot>.1` does not), then the snapshots are removed
/// so that only the journal carries them.
async fn journal_only(c: &Config, snapshot: &Path, tokens: &[&str]) -> PathBuf {
    let gw = gateway(c.clone()).await;
    for t in tokens {
        assert_eq!(admin(&gw, "DELETE", t).await.0, 204);
    }
    gw.running.stop().await.unwrap();
    std::fs::remove_file(snapshot).unwrap();
    let _ = std::fs::remove_file(idlegate::store::snapshot::previous_path(snapshot));
    let journal = idlegate::store::journal::journal_path(snapshot);
    let len = std::fs::metadata(&journal).unwrap().len() as usize;
    assert_eq!(len, HEADER_LEN + tokens.len() * RECORD_LEN);
    journal
}

#[tokio::test]
async fn a_torn_journal_tail_is_ignored_and_cut_off_at_start() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("idlegate.state");
    let c = persisted(up, &snapshot, "JOURNAL_T_TORN", Duration::from_secs(3600));
    let journal = journal_only(&c, &snapshot, &["tok-a", "tok-b"]).await;
    let good = std::fs::read(&journal).unwrap();
    // kill -9 in the middle of an append: part of a record, never acknowledged.
    let mut torn = good.clone();
    torn.extend_from_slice(&good[HEADER_LEN..HEADER_LEN + 30]);
    std::fs::write(&journal, &torn).unwrap();

    let gw = gateway(c).await;
    for t in ["tok-a", "tok-b"] {
        assert_eq!(gw.get("/x", Some(t)).await.status, 401, "{t}");
    }
    assert_eq!(std::fs::read(&journal).unwrap(), good, "tail cut off");
    assert_eq!(gw.get("/x", Some("tok-c")).await.status, 200);
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_damaged_journal_record_refuses_the_start_naming_the_file() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("idlegate.state");
    let c = persisted(
        up,
        &snapshot,
        "JOURNAL_T_DAMAGED",
        Duration::from_secs(3600),
    );
    let journal = journal_only(&c, &snapshot, &["tok-a", "tok-b"]).await;
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[HEADER_LEN + 5] ^= 0x40;
    std::fs::write(&journal, &bytes).unwrap();

    let gw = gateway(c).await;
    let text = gw
        .running
        .stop()
        .await
        .expect_err("start refused")
        .to_string();
    assert!(text.contains("idlegate.state.journal"), "{text}");
    assert!(text.contains("move"), "{text}");
}

#[tokio::test]
async fn snapshots_fold_the_journal_and_keep_its_revocations() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("idlegate.state");
    let c = persisted(up, &snapshot, "JOURNAL_T_FOLD", Duration::from_millis(100));
    let journal = idlegate::store::journal::journal_path(&snapshot);
    let gw = gateway(c.clone()).await;
    assert_eq!(gw.get("/x", Some("tok-a")).await.status, 200);
    assert_eq!(admin(&gw, "DELETE", "tok-a").await.0, 204);
    let len = || std::fs::metadata(&journal).map_or(0, |m| m.len() as usize);
    assert!(
        len() >= HEADER_LEN + RECORD_LEN,
        "journalled before the 204"
    );
    let folded = gw
        .eventually(Duration::from_secs(5), || async { len() == HEADER_LEN })
        .await;
    assert!(folded, "two snapshots later the journal is empty");
    gw.running.stop().await.unwrap();

    let gw = gateway(c).await;
    assert_eq!(
        gw.get("/x", Some("tok-a")).await.status,
        401,
        "in the snapshot"
    );
    gw.running.stop().await.unwrap();
}
