//! schemathesis (PyPI) against a live gateway: thousands of generated requests from the
//! OpenAPI document, and every answer checked against it (status listed, media type, body
//! schema, headers) and for server errors. Request data the document allows but the server
//! refuses for reasons a schema cannot say (duplicate policy names) is not a failure here: the
//! checks are about answers. Skips loudly without schemathesis; `.ci/run` installs it.

mod admin_support;
mod common;

use std::process::Command;

use admin_support::*;
use common::*;

/// The `st` command, if installed.
fn schemathesis() -> Option<&'static str> {
    let answers = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ["st", "schemathesis"].into_iter().find(|c| answers(c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_get_only_documented_answers_and_no_server_error() {
    let Some(st) = schemathesis() else {
        common::skip::skip("schemathesis is not installed (pip install schemathesis)");
        return;
    };
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_TEST_ST_ADMIN")).await;
    let url = format!("http://{}/api/v1/openapi.json", gw.running.admin_addr);
    let auth = format!("Authorization: Bearer {}", admin_support::SECRET);
    let checks = "not_a_server_error,status_code_conformance,content_type_conformance,\
                  response_schema_conformance,response_headers_conformance";
    // schemathesis keeps a cache in its working folder: not in the repository.
    let scratch = tempfile::tempdir().unwrap();
    let cwd = scratch.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .current_dir(cwd)
            .args(["run", &url, "-H", &auth, "-c", checks])
            .args(["--max-examples", "25", "--seed", "1", "--no-color"])
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    // Every operation of the document (13: get_evidence_trial was the 13th) was tested.
    let total = (text.lines())
        .find_map(|l| l.trim().strip_prefix("Selected: ")?.split('/').nth(1))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no operation count:\n{text}"));
    assert_eq!(total, "13", "operations in the document:\n{text}");
    assert!(
        text.contains(&format!("Tested: {total}")),
        "every operation was tested:\n{text}"
    );
    gw.running.stop().await.unwrap();
}
