//! The binary's commands (docs/reference.md, "CLI") and its lifecycle (SIGTERM drain).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn idlegate() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_idlegate"));
    c.env_remove("IDLEGATE_HASH_KEY").env_remove("RUST_LOG");
    c
}

fn assert_success(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("idlegate.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn check_prints_the_policy_and_exits_0_on_a_valid_config() {
    let out = idlegate()
        .args(["check", "--config", "config/idlegate.toml"])
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("client-diagnostics"));
    assert!(stdout.contains("30m"));
}

#[test]
fn check_lists_every_error_with_file_line_column_and_exits_1() {
    let out = idlegate()
        .args([
            "check",
            "--config",
            "tests/fixtures/config/many-errors.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no policy when there are errors");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert!(errors.len() >= 10, "every error reported:\n{stderr}");
    assert!(stderr.contains("tests/fixtures/config/many-errors.toml:9:8: error: timeout.idle:"));
}

#[test]
fn check_warns_about_short_timeouts_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[proxy]\nupstream = \"http://127.0.0.1:9\"\n[timeout]\nidle = \"2s\"\n",
    );
    let out = idlegate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains(": warning: timeout.idle:"));
}

#[test]
fn check_refuses_a_jwks_file_that_cannot_verify_anything() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[proxy]\nupstream = \"http://127.0.0.1:9\"\n[identity]\njwks = \"jwks.json\"\n";
    let cfg = write_config(dir.path(), body);
    let cases = [
        ("not json", "JSON"),
        (r#"{"keys":[]}"#, "key"),
        (
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"a"}]}"#,
            "key",
        ),
    ];
    for (jwks, says) in cases {
        std::fs::write(dir.path().join("jwks.json"), jwks).unwrap();
        let out = idlegate()
            .args(["check", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{jwks}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("[identity] jwks") && stderr.contains(says),
            "{jwks}: {stderr}"
        );
    }
    std::fs::remove_file(dir.path().join("jwks.json")).unwrap();
    let out = idlegate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a missing file");
}

// Before: the defaults file was read whole, so a path at /dev/zero never finished.
#[test]
fn check_refuses_an_endless_defaults_file_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[proxy]\nupstream = \"http://127.0.0.1:9\"\n[exclusions]\ndefaults_file = \"/dev/zero\"\n",
    );
    let out = idlegate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("larger than 4194304 bytes"), "{stderr}");
}

// Before: `token-id -` read standard input to its end, however long.
#[test]
fn token_id_from_an_endless_standard_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "[proxy]\nupstream = \"http://127.0.0.1:9\"\n");
    let out = idlegate()
        .args(["token-id", "--config"])
        .arg(&cfg)
        .arg("-")
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("larger than 1048576 bytes"), "{stderr}");
}

#[test]
fn token_id_is_32_hex_stable_and_keyed_on_the_jws_signing_input() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "[proxy]\nupstream = \"http://127.0.0.1:9\"\n");
    let id = |token: &str| {
        let out = idlegate()
            .args(["token-id", "--config"])
            .arg(&cfg)
            .arg(token)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let a = id("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.sig-one");
    assert_eq!(a.len(), 33);
    assert!(a.ends_with('\n'));
    assert!(a[..32]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(
        a,
        id("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.sig-two"),
        "same signing input"
    );
    assert_ne!(
        a,
        id("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIyIn0.sig-one"),
        "other payload"
    );
    // The generated key file sits beside the config, mode 0600, and is reused.
    let key = dir.path().join("idlegate.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Standard input, trimmed.
    let mut child = idlegate()
        .args(["token-id", "--config"])
        .arg(&cfg)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"  eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.sig-three\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), a);
}

#[test]
fn token_id_uses_the_hash_key_env_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "[proxy]\nupstream = \"http://127.0.0.1:9\"\n");
    let run = |secret: &str| {
        let out = idlegate()
            .env("IDLEGATE_HASH_KEY", secret)
            .args(["token-id", "--config"])
            .arg(&cfg)
            .arg("tok")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("s1"), run("s1"));
    assert_ne!(run("s1"), run("s2"));
    assert!(
        !dir.path().join("idlegate.key").exists(),
        "no key file when the env is set"
    );
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_exits_0() {
    let up = common::upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let (proxy, admin) = (common::free_port(), common::free_port());
    let cfg = write_config(
        dir.path(),
        &format!(
            "[proxy]\nlisten = \"127.0.0.1:{proxy}\"\nupstream = \"http://{up}\"\n\
             [admin]\nlisten = \"127.0.0.1:{admin}\"\n"
        ),
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_idlegate"))
        .args(["run", "--config"])
        .arg(&cfg)
        .env("IDLEGATE_HASH_KEY", "k")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let ready_url: http::Uri = format!("http://127.0.0.1:{admin}/readyz").parse().unwrap();
    let mut ready = false;
    for _ in 0..250 {
        if let Ok(r) = client.get(ready_url.clone()).await {
            if r.status() == 200 {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ready, "gateway became ready");
    let slow_url: http::Uri = format!("http://127.0.0.1:{proxy}/slow/1000")
        .parse()
        .unwrap();
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.get(slow_url).await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    common::send_sigterm(child.id().unwrap());
    let status = in_flight
        .await
        .unwrap()
        .expect("in-flight request completes");
    assert_eq!(status, 200);
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
}
