//! Loud skips that stay visible: `cargo test` has no "skipped" outcome, so a test that cannot
//! run (no Redis, no Chromium) prints a banner and records itself in the file named by
//! `IDLEGATE_TEST_SKIPS`; `scripts/test` counts those lines as skipped, not passed. Under CI
//! a skip is a failure.

use std::io::Write;

/// Skips the calling test: fails under CI, otherwise prints `why` loudly and records it.
pub fn skip(why: &str) {
    let test = current_test();
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        "CI is set, so {test} must run, but {why}"
    );
    announce(&test, why, "(Under CI=1 this is a failure.)");
}

/// Skips the calling test everywhere, CI included: for a service no machine of ours runs (a
/// Docker engine; CI machines have only the docker client), so that CI cannot provide it
/// either and `skip` would fail there for good. It still prints `why` loudly and records
/// itself, so `scripts/test` counts it as skipped, never as passed.
pub fn skip_unavailable_everywhere(why: &str) {
    let test = current_test();
    announce(
        &test,
        why,
        "(Allowed under CI too: no machine of ours provides it.)",
    );
}

fn current_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string()
}

/// The banner, and the line `scripts/test` counts.
fn announce(test: &str, why: &str, under_ci: &str) {
    eprintln!();
    eprintln!("{}", "!".repeat(78));
    eprintln!("!!! SKIPPED: {test} did NOT run.");
    eprintln!("!!! {why}.");
    eprintln!("!!! {under_ci}");
    eprintln!("{}", "!".repeat(78));
    eprintln!();
    if let Some(path) = std::env::var_os("IDLEGATE_TEST_SKIPS") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            // One write of the whole line: `writeln!` on a file writes each piece apart, and
            // two tests skipping at once interleaved their pieces into a line that counted
            // one skip as a pass. Appends of one write do not interleave.
            let _ = f.write_all(format!("{test}\t{why}\n").as_bytes());
        }
    }
}
