//! The audit file (docs/reference.md, "Audit events"): the real binary with `[audit] file`,
//! revocations by an admin and by inactivity, each one JSON line with exactly the documented
//! fields; no raw token; a file renamed away is followed by a new one at the path; a graceful
//! stop leaves every line written; `"-"` writes the lines to stdout.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use idlegate::token::Keyer;
use serde_json::Value;

const ADMIN_SECRET: &str = "audit-file-admin-secret-0f9e8d";
const HASH_KEY: &str = "audit-file-test";
const REPLICA: &str = "gw-audit-test";

const REVOCATION_FIELDS: [&str; 11] = [
    "schema",
    "event",
    "token_id",
    "subject",
    "policy",
    "reason",
    "revoked_at",
    "last_activity",
    "idle_seconds",
    "shadow",
    "replica",
];

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Binary {
    dir: tempfile::TempDir,
    cfg: PathBuf,
    proxy: u16,
    admin: u16,
    client: HttpClient,
}

impl Binary {
    /// A config with a 1 s idle timeout and the given `[audit]` lines.
    async fn configure(audit: &str) -> Binary {
        let up = upstream().await;
        let dir = tempfile::tempdir().unwrap();
        let (proxy, admin) = (free_port(), free_port());
        let cfg = dir.path().join("idlegate.toml");
        std::fs::write(
            &cfg,
            format!(
                "[proxy]\nlisten = \"127.0.0.1:{proxy}\"\nupstream = \"http://{up}\"\n\
                 [admin]\nlisten = \"127.0.0.1:{admin}\"\ntoken_env = \"AUDIT_TEST_ADMIN\"\n\
                 [timeout]\nidle = \"1s\"\nresolution = \"100ms\"\n\
                 [audit]\n{audit}\n"
            ),
        )
        .unwrap();
        Binary {
            dir,
            cfg,
            proxy,
            admin,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    /// Starts it (stdout piped) and waits until ready (bounded).
    async fn start(&self) -> tokio::process::Child {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_idlegate"))
            .args(["run", "--log-format", "json", "--config"])
            .arg(&self.cfg)
            .env("IDLEGATE_HASH_KEY", HASH_KEY)
            .env("AUDIT_TEST_ADMIN", ADMIN_SECRET)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.dir.path().join("stderr.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{}/readyz", self.admin);
        for _ in 0..250 {
            if let Ok(r) = self.client.get(url.parse().unwrap()).await {
                if r.status() == 200 {
                    return child;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("gateway not ready");
    }

    async fn send(&self, method: &str, url: &str, bearer: &str) -> StatusCode {
        let req = Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", format!("Bearer {bearer}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = self.client.request(req).await.expect("gateway answers");
        let status = resp.status();
        let _ = resp.into_body().collect().await;
        status
    }

    async fn proxy_get(&self, token: &str) -> StatusCode {
        let url = format!("http://127.0.0.1:{}/a", self.proxy);
        self.send("GET", &url, token).await
    }

    async fn revoke(&self, id: &str) {
        let url = format!("http://127.0.0.1:{}/api/v1/tokens/{id}", self.admin);
        assert_eq!(self.send("DELETE", &url, ADMIN_SECRET).await, 204);
    }
}

fn binary_id(token: &str) -> String {
    Keyer::from_secret(HASH_KEY.as_bytes()).key(token).to_hex()
}

/// Every line of the file, each parsed (a line that is not JSON fails the test).
fn lines_of(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    parse_lines(&text)
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn revocation_of<'a>(lines: &'a [Value], id: &str) -> Option<&'a Value> {
    lines
        .iter()
        .find(|l| l["event"] == "revocation" && l["token_id"] == id)
}

/// Polls the file every 20 ms for at most 10 s until `id` has a revocation line.
async fn wait_for_revocation(path: &Path, id: &str) -> Value {
    for _ in 0..500 {
        if let Some(line) = revocation_of(&lines_of(path), id) {
            return line.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no revocation line for {id} in {}", path.display());
}

async fn sigterm(mut child: tokio::process::Child) -> tokio::process::Child {
    send_sigterm(child.id().unwrap());
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stops within 20 s")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    child
}

fn keys(line: &Value) -> BTreeSet<&str> {
    line.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// `2026-12-06T22:39:54.123Z`: RFC 3339, UTC, milliseconds.
fn assert_rfc3339_ms(v: &Value) {
    let text = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let ok = text.len() == 24
        && text.ends_with('Z')
        && text.as_bytes()[10] == b'T'
        && text.as_bytes()[19] == b'.'
        && humantime::parse_rfc3339(text).is_ok();
    assert!(ok, "not RFC 3339 UTC with milliseconds: {text}");
}

fn assert_revocation_line(line: &Value, reason: &str, tracked: bool) {
    let expected: BTreeSet<&str> = REVOCATION_FIELDS.into_iter().collect();
    assert_eq!(keys(line), expected, "{line}");
    assert_eq!(line["schema"], 1);
    assert_eq!(line["reason"], reason);
    assert_eq!(line["replica"], REPLICA);
    assert_eq!(line["shadow"], false);
    // No [identity]: no subject or policy, written as null.
    assert!(
        line["subject"].is_null() && line["policy"].is_null(),
        "{line}"
    );
    let id = line["token_id"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_rfc3339_ms(&line["revoked_at"]);
    if tracked {
        assert_rfc3339_ms(&line["last_activity"]);
        assert!(line["idle_seconds"].is_u64(), "{line}");
    } else {
        assert!(line["last_activity"].is_null() && line["idle_seconds"].is_null());
    }
}

#[tokio::test]
async fn revocations_by_inactivity_and_by_an_admin_are_json_lines_with_the_documented_fields() {
    let bin = Binary::configure(&format!("file = \"audit.jsonl\"\nreplica = \"{REPLICA}\"")).await;
    let child = bin.start().await;
    let path = bin.audit_path();
    let (idle, held, never) = (
        "idle-token-5d1c0e7a9b",
        "held-token-77c2ab19f0",
        "never-seen-token-3e4f",
    );
    assert_eq!(bin.proxy_get(idle).await, 200);
    assert_eq!(bin.proxy_get(held).await, 200);
    let line = wait_for_revocation(&path, &binary_id(idle)).await;
    assert_revocation_line(&line, "inactivity", true);
    assert!(line["idle_seconds"].as_u64().unwrap() >= 1, "{line}");
    bin.revoke(&binary_id(never)).await;
    let line = wait_for_revocation(&path, &binary_id(never)).await;
    assert_revocation_line(&line, "admin", false);
    sigterm(child).await;

    let text = std::fs::read_to_string(&path).unwrap();
    for raw in [idle, held, never, ADMIN_SECRET] {
        assert!(!text.contains(raw), "a raw token in the audit file");
    }
    let lines = parse_lines(&text);
    let admin = lines
        .iter()
        .find(|l| l["event"] == "admin_revocation")
        .expect("an admin_revocation line");
    let expected: BTreeSet<&str> = ["schema", "event", "at", "who", "token_id", "replica"].into();
    assert_eq!(keys(admin), expected, "{admin}");
    assert_eq!(admin["token_id"], binary_id(never));
    assert_eq!(admin["who"].as_str().map(str::len), Some(12), "{admin}");
    assert_rfc3339_ms(&admin["at"]);
    // The log stream's event carries `revoked_at` and `replica` too.
    let logs = std::fs::read_to_string(bin.dir.path().join("stderr.log")).unwrap();
    let logged = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["target"] == "audit" && l["token_id"] == binary_id(idle))
        .expect("a revocation event in the log");
    assert_eq!(logged["replica"], REPLICA, "{logged}");
    assert_rfc3339_ms(&logged["revoked_at"]);
    for line in &lines {
        assert_eq!(line["schema"], 1, "{line}");
        assert_eq!(line["replica"], REPLICA, "{line}");
        if line["event"] == "revocation" {
            let tracked = !line["last_activity"].is_null();
            assert_revocation_line(line, line["reason"].as_str().unwrap(), tracked);
        }
    }
}

#[tokio::test]
async fn a_file_renamed_away_is_followed_by_a_new_one_at_the_path_and_no_line_is_lost() {
    let bin = Binary::configure("file = \"audit.jsonl\"").await;
    let child = bin.start().await;
    let path = bin.audit_path();
    let rotated = bin.dir.path().join("audit.jsonl.1");
    let first = binary_id("before-rotation");
    bin.revoke(&first).await;
    wait_for_revocation(&path, &first).await;
    std::fs::rename(&path, &rotated).unwrap();
    // The path is looked at at most once a second: revocations right after the rename may
    // still reach the old file; within a few seconds one must reach the new file. A line is
    // written up to 10 ms after its revocation answered, so every id so far is looked for.
    let mut ids = vec![first];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let id = binary_id(&format!("after-rotation-{}", ids.len()));
        bin.revoke(&id).await;
        ids.push(id);
        let new_file = lines_of(&path);
        if ids[1..]
            .iter()
            .any(|id| revocation_of(&new_file, id).is_some())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new file at the path"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sigterm(child).await;
    let mut all = lines_of(&rotated);
    all.extend(lines_of(&path));
    for id in &ids {
        let n = all
            .iter()
            .filter(|l| l["event"] == "revocation" && l["token_id"] == *id)
            .count();
        assert_eq!(n, 1, "{id} has {n} revocation lines across both files");
    }
    assert!(revocation_of(&lines_of(&rotated), &ids[0]).is_some());
}

#[tokio::test]
async fn a_graceful_stop_writes_out_every_buffered_line() {
    // The audit file is a FIFO that is read only once the stop has begun: the writer thread is
    // stuck behind it, so most lines still wait in the buffer when SIGTERM arrives.
    let bin = Binary::configure("file = \"audit.fifo\"").await;
    let fifo = bin.dir.path().join("audit.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        // Opening blocks until the gateway opens the FIFO for writing.
        let mut file = std::fs::File::open(&fifo).unwrap();
        let _ = wait_for_go.recv();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        text
    });
    let mut child = bin.start().await;
    // Some 170 KB of lines, more than a pipe holds (64 KiB).
    let ids: Vec<String> = (0..400).map(|i| binary_id(&format!("stop-{i}"))).collect();
    // 16 at a time: the admin listener serves 32 connections at once.
    for chunk in ids.chunks(16) {
        futures_util::future::join_all(chunk.iter().map(|id| bin.revoke(id))).await;
    }
    send_sigterm(child.id().unwrap());
    // The admin listener closes at the end of the stop: from then on only the exit's flush
    // can bring the buffered lines out.
    let admin = format!("127.0.0.1:{}", bin.admin);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(&admin).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "admin still open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    go.send(()).unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stops within 20 s")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    let lines = parse_lines(&reader.join().unwrap());
    for id in &ids {
        assert!(revocation_of(&lines, id).is_some(), "{id} lost at the stop");
    }
    let admin = lines
        .iter()
        .filter(|l| l["event"] == "admin_revocation")
        .count();
    assert_eq!(admin, ids.len());
}

#[tokio::test]
async fn dash_writes_the_lines_to_stdout_and_leaves_the_logs_on_stderr() {
    let bin = Binary::configure("file = \"-\"").await;
    let child = bin.start().await;
    let id = binary_id("stdout-token");
    bin.revoke(&id).await;
    let child = sigterm(child).await;
    let out = child.wait_with_output().await.unwrap();
    let lines = parse_lines(&String::from_utf8(out.stdout).unwrap());
    assert!(revocation_of(&lines, &id).is_some(), "{lines:?}");
    assert!(
        lines.iter().all(|l| l["schema"] == 1),
        "only audit lines on stdout"
    );
    assert!(!bin.audit_path().exists());
}

#[test]
fn check_names_an_audit_file_in_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("idlegate.toml");
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9\"\n\
                [audit]\nfile = \"logs/audit.jsonl\"\n";
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_idlegate"))
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let folder = dir.path().join("logs");
    assert!(stderr.contains(":4:8: error: audit.file: "), "{stderr}");
    let reason = format!("the folder {} does not exist", folder.display());
    assert!(stderr.contains(&reason), "{stderr}");
}
