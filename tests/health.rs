//! `idlegate health` (docs/reference.md, "CLI"): what the container's HEALTHCHECK runs. Exit 0
//! when the admin listener's `/healthz` answers 200; 1 with a one-line reason when the port
//! is closed, the answer is not 200, or nothing answers within 2 s.

mod common;

use std::time::{Duration, Instant};

use common::*;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

async fn health(args: &[&str]) -> Outcome {
    let started = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_idlegate"))
        .arg("health")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// Exit 1 and exactly one line on stderr, starting `unhealthy: ` and holding `reason`.
fn assert_unhealthy(out: &Outcome, reason: &str) {
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", out.stderr);
    assert!(lines[0].starts_with("unhealthy: "), "{}", lines[0]);
    assert!(lines[0].contains(reason), "{} lacks {reason}", lines[0]);
}

#[tokio::test]
async fn a_running_gateway_is_healthy_by_url_and_by_config() {
    let gw = gateway(config(upstream().await)).await;
    let url = format!("http://{}/healthz", gw.running.admin_addr);
    let out = health(&["--url", &url]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("healthy"), "{}", out.stdout);

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("idlegate.toml");
    let text = format!(
        "[proxy]\nupstream = \"http://127.0.0.1:9\"\n[admin]\nlisten = \"{}\"\n",
        gw.running.admin_addr
    );
    std::fs::write(&cfg, text).unwrap();
    let out = health(&["--config", cfg.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[tokio::test]
async fn a_closed_port_is_unhealthy_saying_so() {
    let port = free_port();
    let out = health(&["--url", &format!("http://127.0.0.1:{port}/healthz")]).await;
    assert_unhealthy(&out, &format!("cannot connect to 127.0.0.1:{port}"));
}

#[tokio::test]
async fn an_answer_other_than_200_is_unhealthy_naming_the_status() {
    // The test upstream answers /status/NNN with NNN.
    let up = upstream().await;
    let out = health(&["--url", &format!("http://{up}/status/503")]).await;
    assert_unhealthy(&out, "answered 503 Service Unavailable");
}

#[tokio::test]
async fn a_listener_that_never_answers_is_unhealthy_within_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and holds the connection without a byte of answer.
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let out = health(&["--url", &format!("http://{addr}/healthz")]).await;
    assert_unhealthy(&out, "no answer within 2 s");
    assert!(out.took < Duration::from_secs(5), "took {:?}", out.took);
    held.abort();
}

#[tokio::test]
async fn a_bad_url_or_both_options_are_refused() {
    let out = health(&["--url", "https://127.0.0.1:9901/healthz"]).await;
    assert_unhealthy(&out, "only http://");
    let out = health(&["--url", "http://127.0.0.1:1/healthz", "--config", "x.toml"]).await;
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}
