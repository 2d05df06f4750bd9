//! Programs the deployment kit's tests run: the external checkers (promtool,
//! kubernetes-validate, kubectl), and the real gateway serving a config laid out as the
//! kubelet mounts a ConfigMap (the file a link through `..data` to a timestamped folder),
//! mounted read-only in a mount namespace of its own (`unshare -m`): what Save does there.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `program args…`; `None` when the program is not installed.
pub fn run(program: &str, args: &[&str], dir: &Path) -> Option<Output> {
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{program}: {e}"),
    }
}

/// Standard output and standard error together, for failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// kubernetes-validate, run as a module so that it is found whatever the PATH's shims know.
pub const KUBERNETES_VALIDATE: [&str; 2] = ["-m", "kubernetes_validate"];

pub fn kubernetes_validate_installed() -> bool {
    let args = [KUBERNETES_VALIDATE[0], KUBERNETES_VALIDATE[1], "--version"];
    run("python3", &args, Path::new(".")).is_some_and(|out| out.status.success())
}

/// `kubernetes-validate --strict` over `files` (or `-`, standard input): passes only when
/// every object was validated against a schema, with no warning (an unknown `kind` is a
/// warning there, not an error).
pub fn assert_valid_kubernetes(files: &[&str], stdin: Option<&[u8]>, what: &str) {
    use std::io::Write;
    let mut args = KUBERNETES_VALIDATE.to_vec();
    args.push("--strict");
    args.extend_from_slice(files);
    let mut child = std::process::Command::new("python3")
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubernetes-validate starts");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let report = text(&out);
    assert!(out.status.success(), "{what}:\n{report}");
    let bad: Vec<&str> = report.lines().filter(|l| !l.starts_with("INFO ")).collect();
    assert!(bad.is_empty(), "{what}:\n{}", bad.join("\n"));
    assert!(
        report.contains("passed"),
        "{what}: nothing validated\n{report}"
    );
}

pub fn kubectl_installed() -> bool {
    run("kubectl", &["version", "--client"], Path::new(".")).is_some()
}

pub const ADMIN_TOKEN: &str = "configmap-admin-token";

/// Writes `text` as `dir/idlegate.toml` → `..data/idlegate.toml` → `..2026_12_06/idlegate.toml`.
pub fn lay_out(dir: &Path, text: &str) -> PathBuf {
    let data = dir.join("..2026_12_06");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("idlegate.toml"), text).unwrap();
    std::os::unix::fs::symlink("..2026_12_06", dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/idlegate.toml", dir.join("idlegate.toml")).unwrap();
    dir.join("idlegate.toml")
}

/// The shell steps that mount `$1` read-only over itself, in the new mount namespace only.
const MOUNT_READ_ONLY: &str = r#"mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1""#;

/// Whether this machine lets the test mount a folder read-only in a namespace of its own;
/// otherwise why not.
pub fn read_only_mounts_work(dir: &Path) -> Result<(), String> {
    let script = format!(r#"{MOUNT_READ_ONLY} && ! touch "$1/probe" 2>/dev/null"#);
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(dir)
        .output();
    match out {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "unshare -m with a read-only bind mount failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("unshare: {e}")),
    }
}

/// The gateway's process; ended when dropped.
pub struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `idlegate run` on `dir/idlegate.toml`, with `dir` mounted read-only.
pub fn run_read_only(dir: &Path) -> Gateway {
    let script = format!(r#"{MOUNT_READ_ONLY} && exec "$2" run --config "$1/idlegate.toml""#);
    let child = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_idlegate"))
        .env("IDLEGATE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("IDLEGATE_HASH_KEY", "configmap-hash-key")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("unshare starts");
    Gateway(child)
}

/// One HTTP/1.1 exchange on a new connection: the status and the body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// Polls `GET /readyz` every 20 ms for at most `within`.
pub fn ready_within(port: u16, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if http(port, "GET", "/readyz", "").is_some_and(|(s, _)| s == 200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
