//! `PUT /api/v1/settings` goes the one way a config changes: the resulting file is checked
//! exactly as `idlegate check` checks it, and the answer carries what the check reports.

mod admin_support;
mod common;

use std::path::Path;
use std::time::Duration;

use admin_support::{admin, file_gateway, write_config, SECRET};
use common::*;
use serde_json::json;

/// What `idlegate check` warns about in the resulting file, the PUT answer carries: here a
/// short idle timeout (config validation) and a custom pattern matching no catalog operation
/// (catalog check). Before, PUT ran only its own field checks and reported neither.
#[tokio::test]
async fn put_reports_the_warnings_check_reports_for_the_resulting_file() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), up, "IDLEGATE_ADMIN_TOKEN_T_WARN");
    let catalog =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/catalog/genesys-cloud-apis.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let with_catalog = text.replace(
        "[timeout]",
        &format!(
            "[catalog]\nopenapi = {:?}\n\n[timeout]",
            catalog.display().to_string()
        ),
    );
    std::fs::write(&path, with_catalog).unwrap();
    let gw = file_gateway(&path).await;
    let body = json!({"idle_seconds": 120, "custom_exclusions": ["GET /no/such/operation"]});
    let r = admin(&gw, "PUT", "/api/v1/settings", Some(SECRET), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.json();
    assert_eq!(answer["saved"], true);
    let warnings = answer["warnings"].as_array().expect("a warnings array");
    let fields: Vec<&str> = warnings
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["idle_seconds", "custom_exclusions[0]"],
        "{}",
        r.body
    );
    assert!(warnings[0]["message"]
        .as_str()
        .unwrap()
        .contains("under 5 minutes"));
    assert!(warnings[1]["message"]
        .as_str()
        .unwrap()
        .contains("matches no operation"));
    // Exactly what `idlegate check` reports for the file now on disk.
    let saved = std::fs::read_to_string(&path).unwrap();
    let checked = idlegate::config_change::check(&saved, &path).unwrap();
    let keys: Vec<&str> = checked.warnings.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["timeout.idle", "exclusions.custom[0]"]);
    assert_eq!(
        gw.running.app.config().timeout.idle,
        Duration::from_secs(120)
    );
}

/// An error `idlegate check` would report for the resulting file refuses the PUT, even when
/// it sits outside the settings: named by its config key, with its file position.
#[tokio::test]
async fn put_onto_a_file_check_rejects_is_refused_and_applies_nothing() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), up, "IDLEGATE_ADMIN_TOKEN_T_BROKEN");
    let gw = file_gateway(&path).await;
    // Another file name, so that the folder watch does not reload it.
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replace("listen = \"127.0.0.1:18080\"", "listen = \"nowhere\"");
    let other = dir.path().join("other.toml");
    std::fs::write(&other, &broken).unwrap();
    let mut config = gw.running.app.config().as_ref().clone();
    config.path = Some(other.clone());
    gw.running.app.apply(config);
    let body = json!({"mode": "shadow"});
    let r = admin(&gw, "PUT", "/api/v1/settings", Some(SECRET), Some(body)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let errors = r.json()["errors"].clone();
    assert_eq!(errors[0]["field"], "proxy.listen", "{}", r.body);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("other.toml:4:"));
    assert_eq!(gw.running.app.config().timeout.mode.as_str(), "enforce");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), broken);
}
