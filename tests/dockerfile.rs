//! The container build. Statically, without a Docker engine (none runs on the build machines,
//! CI included): the build context leaves out `target/` (several GB); the runtime image is
//! distroless (no shell, no curl), its health check is `idlegate health`, and its numeric
//! non-root user owns the config folder (Save in the admin UI writes the config beside itself)
//! and the state volume. Where an engine answers, the image is built and run until healthy.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const CONFIG_DIR: &str = "/etc/idlegate";
const STATE_DIR: &str = "/var/lib/idlegate";

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The lines of the last stage, continuation lines joined.
fn runtime_stage(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let start = joined.rfind("\nFROM ").expect("a FROM line");
    joined[start + 1..].lines().map(str::to_owned).collect()
}

/// `USER` of the runtime stage: (user, group) as written.
fn runtime_user(dockerfile: &str) -> (String, String) {
    let user = runtime_stage(dockerfile)
        .iter()
        .find_map(|l| l.trim().strip_prefix("USER ").map(str::to_owned))
        .expect("a USER line in the runtime stage");
    let user = user.trim();
    match user.split_once(':') {
        Some((u, g)) => (u.to_owned(), g.to_owned()),
        None => (user.to_owned(), user.to_owned()),
    }
}

fn assert_not_root(user: &str) {
    assert!(
        user != "root" && user.parse::<u32>() != Ok(0),
        "runs as {user}"
    );
}

/// Whether the runtime stage gives `dir` to `user:group` before switching to it.
fn owned_before_user(dockerfile: &str, dir: &str) {
    let (user, group) = runtime_user(dockerfile);
    let stage = runtime_stage(dockerfile);
    let user_at = stage.iter().position(|l| l.starts_with("USER ")).unwrap();
    let chown = format!("--chown={user}:{group}");
    let owned_at = stage.iter().position(|l| {
        let copy = l.starts_with("COPY ") && l.contains(&chown);
        copy && l.trim_end().trim_end_matches('/').ends_with(dir)
    });
    let owned_at = owned_at.unwrap_or_else(|| panic!("{dir} not copied {chown}"));
    assert!(owned_at < user_at, "{dir} is owned before switching user");
}

#[test]
fn build_context_leaves_out_target_and_local_state() {
    let ignore = read(".dockerignore");
    let lines: Vec<&str> = ignore.lines().map(str::trim).collect();
    for needed in ["target/", ".git/", "*.state", "*.key"] {
        assert!(lines.contains(&needed), ".dockerignore lacks {needed}");
    }
}

#[test]
fn a_numeric_non_root_user_owns_the_config_folder_it_saves_into_and_the_state_volume() {
    let dockerfile = read("Dockerfile");
    let (user, group) = runtime_user(&dockerfile);
    assert_not_root(&user);
    assert_not_root(&group);
    // Kubernetes' runAsNonRoot can only verify a numeric user.
    assert!(user.parse::<u32>().is_ok(), "USER {user} is not numeric");
    owned_before_user(&dockerfile, CONFIG_DIR);
    owned_before_user(&dockerfile, STATE_DIR);
    let stage = runtime_stage(&dockerfile);
    assert!(stage
        .iter()
        .any(|l| l.contains("VOLUME") && l.contains(STATE_DIR)));
    assert!(stage.iter().any(|l| l.trim() == "EXPOSE 8080 9901"));
    let cmd = stage.last().unwrap();
    assert!(cmd.contains("/etc/idlegate/idlegate.toml"), "{cmd}");
}

#[test]
fn the_health_check_is_the_binarys_own_and_no_curl_is_needed() {
    let dockerfile = read("Dockerfile");
    let stage = runtime_stage(&dockerfile);
    let check = stage
        .iter()
        .find(|l| l.starts_with("HEALTHCHECK "))
        .expect("a HEALTHCHECK");
    // Exec form: the runtime image has no shell to run a command line.
    assert!(check.contains(r#"CMD ["idlegate", "health""#), "{check}");
    let instructions = dockerfile
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'));
    let curl = instructions
        .filter(|l| l.contains("curl"))
        .collect::<Vec<_>>();
    assert!(curl.is_empty(), "the image needs no curl: {curl:?}");
}

#[test]
fn the_runtime_image_has_no_shell_so_the_config_is_checked_in_the_build_stage() {
    let dockerfile = read("Dockerfile");
    let stage = runtime_stage(&dockerfile);
    assert!(stage[0].contains("distroless"), "{}", stage[0]);
    assert!(
        stage.iter().all(|l| !l.starts_with("RUN ")),
        "RUN needs a shell"
    );
    let build = &dockerfile[..dockerfile.rfind("\nFROM ").unwrap()];
    assert!(
        build.contains("idlegate check --config"),
        "the config is checked"
    );
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes the container and the image, however the test ends.
struct Cleanup {
    container: Option<String>,
    image: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(id) = &self.container {
            let _ = docker(&["rm", "-f", id]);
        }
        let _ = docker(&["rmi", "-f", &self.image]);
    }
}

#[test]
fn the_image_builds_and_runs_healthy_as_a_non_root_user() {
    let engine = Command::new("docker").arg("info").output();
    if !engine.is_ok_and(|o| o.status.success()) {
        common::skip::skip_unavailable_everywhere("no Docker engine answers `docker info`");
        return;
    }
    let image = format!("idlegate-test:{}", std::process::id());
    let mut cleanup = Cleanup {
        container: None,
        image: image.clone(),
    };
    let built = docker(&["build", "-t", &image, "."]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = docker(&["run", "-d", "-e", "IDLEGATE_HASH_KEY=docker-test", &image]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let id = text(&run);
    cleanup.container = Some(id.clone());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = text(&docker(&["inspect", "-f", "{{.State.Health.Status}}", &id]));
        if status == "healthy" {
            break;
        }
        let logs = || String::from_utf8_lossy(&docker(&["logs", &id]).stderr).into_owned();
        assert!(status != "unhealthy", "unhealthy:\n{}", logs());
        assert!(
            Instant::now() < deadline,
            "not healthy within 120 s ({status}):\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let user = text(&docker(&["inspect", "-f", "{{.Config.User}}", &image]));
    let uid = user.split(':').next().unwrap_or_default();
    assert_not_root(uid);
    assert!(!uid.is_empty(), "the image names its user");
}
