//! The layers of docs/architecture.md hold: no two source files import each other, directly
//! or around a loop, and no module imports from a layer above its own. The check is
//! `scripts/import_graph.py`, which anyone can run by hand.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn no_import_loops_and_no_upward_imports() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/import_graph.py");
    let out = match Command::new("python3").arg(&script).output() {
        Ok(out) => out,
        Err(e) => {
            common::skip::skip(&format!("python3 cannot run ({e})"));
            return;
        }
    };
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.ends_with("0 problem(s)\n"), "{report}");
}
