//! The container build, checked without a Docker engine (none runs on the build machines): the
//! build context leaves out `target/` (several GB), and the non-root runtime user owns the
//! config folder, so Save in the admin UI can write the config beside itself.

use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
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
fn runtime_user_owns_the_config_folder_it_saves_into() {
    let dockerfile = read("Dockerfile");
    let user = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("USER "))
        .expect("a USER line")
        .trim();
    assert_ne!(user, "root");
    let chown = format!("chown -R {user}:{user} /etc/idlegate");
    let chown_at = dockerfile.find(&chown).expect("config folder chowned");
    let user_at = dockerfile.find(&format!("USER {user}")).unwrap();
    assert!(chown_at < user_at, "chown runs before switching user");
    let cmd = dockerfile.lines().last().unwrap();
    assert!(cmd.contains("/etc/idlegate/idlegate.toml"), "{cmd}");
}
