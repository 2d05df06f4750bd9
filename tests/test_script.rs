//! `scripts/test`, the README's test command: its closing line counts loudly skipped tests as
//! skipped (not passed), and under CI it fails when the browser test did not run.

use std::path::Path;
use std::process::Command;

const LOG: &str = "running 3 tests\n\
test a ... ok\n\
test operator_changes_exclusions_in_the_admin_ui ... ok\n\
test operator_tries_a_candidate_in_the_trial_and_promotes_it_in_the_admin_ui ... ok\n\
test result: ok. 7 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out\n\
test result: ok. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n";

fn summarize(log: &str, skips: &str, ci: bool) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, skips_path) = (dir.path().join("log"), dir.path().join("skips"));
    std::fs::write(&log_path, log).unwrap();
    std::fs::write(&skips_path, skips).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test");
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .arg("--summarize")
        .args([&log_path, &skips_path]);
    if ci {
        cmd.env("CI", "true");
    } else {
        cmd.env_remove("CI");
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn loud_skips_count_as_skipped_not_passed() {
    let skips = "redis_pair\tno Redis\nbrowser\tno chromium\nbrowser\tno chromium\n";
    let (ok, out) = summarize(LOG, skips, false);
    assert!(ok, "{out}");
    assert_eq!(
        out.lines().last(),
        Some("tests: 8 passed, 1 failed, 4 skipped")
    );
    assert!(out.contains("redis_pair\tno Redis"), "{out}");
}

#[test]
fn without_skips_the_totals_are_cargo_s() {
    let (_, out) = summarize(LOG, "", false);
    assert_eq!(
        out.lines().last(),
        Some("tests: 10 passed, 1 failed, 2 skipped")
    );
}

#[test]
fn under_ci_a_run_without_the_browser_test_fails() {
    let without = LOG.replace(
        "test operator_changes_exclusions_in_the_admin_ui ... ok\n",
        "",
    );
    let (ok, out) = summarize(&without, "", true);
    assert!(!ok, "{out}");
    assert!(out.contains("did not run and pass"), "{out}");
    let (ok, out) = summarize(LOG, "", true);
    assert!(ok, "{out}");
}
