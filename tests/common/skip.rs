//! Loud skips that stay visible: `cargo test` has no "skipped" outcome, so a test that cannot
//! run (no Redis, no Chromium) prints a banner and records itself in the file named by
//! `IDLEGATE_TEST_SKIPS`; `scripts/test` counts those lines as skipped, not passed. Under CI
//! a skip is a failure.

use std::io::Write;

/// Skips the calling test: fails under CI, otherwise prints `why` loudly and records it.
pub fn skip(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        "CI is set, so {test} must run, but {why}"
    );
    eprintln!();
    eprintln!("{}", "!".repeat(78));
    eprintln!("!!! SKIPPED: {test} did NOT run.");
    eprintln!("!!! {why}.");
    eprintln!("!!! (Under CI=1 this is a failure.)");
    eprintln!("{}", "!".repeat(78));
    eprintln!();
    if let Some(path) = std::env::var_os("IDLEGATE_TEST_SKIPS") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = writeln!(f, "{test}\t{why}");
        }
    }
}

/// Skips the calling test everywhere, CI included: for a service no machine of ours runs (a
/// Docker engine; CI machines have only the docker client), so that CI cannot provide it
/// either and `skip` would fail there for good. It still prints `why` loudly and records
/// itself, so `scripts/test` counts it as skipped, never as passed.
pub fn skip_unavailable_everywhere(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    eprintln!();
    eprintln!("{}", "!".repeat(78));
    eprintln!("!!! SKIPPED: {test} did NOT run.");
    eprintln!("!!! {why}.");
    eprintln!("!!! (Allowed under CI too: no machine of ours provides it.)");
    eprintln!("{}", "!".repeat(78));
    eprintln!();
    if let Some(path) = std::env::var_os("IDLEGATE_TEST_SKIPS") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = writeln!(f, "{test}\t{why}");
        }
    }
}
