//! What the `idlegate har` tests share (tests/har.rs, tests/har_exports.rs): where the fixtures
//! are, a config as an operator would write it, and finding one API row of a report.

use std::path::PathBuf;

use idlegate::config::{self, Config};
use idlegate::har::{ApiRow, Report};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A config as an operator would write it; `extra` is appended after `[proxy]`.
pub fn config(extra: &str) -> Config {
    let text = format!("[proxy]\nupstream = \"http://127.0.0.1:9000\"\n{extra}");
    let path = root().join("tests/fixtures/har/idlegate.toml");
    match config::parse(&text, &path) {
        Ok(loaded) => loaded.config,
        Err(errors) => panic!("test config invalid: {errors:?}"),
    }
}

/// The report's row of the API `template`, if it was seen.
pub fn api<'r>(report: &'r Report, template: &str) -> Option<&'r ApiRow> {
    report.apis.iter().find(|a| a.template == template)
}
