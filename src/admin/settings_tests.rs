use serde_json::json;

use super::*;
use crate::config_change::settings::{config_with, describe};

fn config() -> Config {
    let mut c = Config::with_upstream("http://127.0.0.1:9".parse().unwrap());
    c.exclusions.enabled_defaults = vec!["token-checks".into()];
    c
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn document_lists_every_group_with_its_switch() {
    let doc = SettingsDoc::of(&config());
    assert_eq!(doc.idle_seconds, 30 * 60);
    assert_eq!(doc.mode, "enforce");
    let on: Vec<&str> = doc
        .default_exclusions
        .iter()
        .filter(|g| g.enabled)
        .map(|g| g.id.as_str())
        .collect();
    assert_eq!(on, ["token-checks"]);
    assert!(doc.default_exclusions.iter().all(|g| !g.routes.is_empty()));
}

#[test]
fn put_of_the_get_document_changes_nothing() {
    let c = config();
    let body = serde_json::to_value(SettingsDoc::of(&c)).unwrap();
    let change = read_put(&body, &c).unwrap();
    assert!(describe(&Settings::of(&c), &change.settings).is_empty());
}

#[test]
fn every_error_is_listed_with_its_field() {
    let body = json!({
        "enabled": "yes",
        "idle_seconds": 0,
        "mode": "loud",
        "default_exclusions": [{"id": "nope", "enabled": true}, {"id": "token-checks"}],
        "custom_exclusions": ["GET /ok", "FETCH /x", "GET /a/{*rest}/b", 3],
    });
    let errors = read_put(&body, &config()).unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            "enabled",
            "idle_seconds",
            "mode",
            "default_exclusions[0].id",
            "default_exclusions[1].enabled",
            "custom_exclusions[1]",
            "custom_exclusions[2]",
            "custom_exclusions[3]",
        ]
    );
    assert!(errors[5].message.contains("FETCH /x"), "{:?}", errors[5]);
}

#[test]
fn duplicate_custom_pattern_is_an_error() {
    let body = json!({"custom_exclusions": ["GET /a", "GET /a"]});
    let errors = read_put(&body, &config()).unwrap_err();
    assert_eq!(fields(&errors), ["custom_exclusions[1]"]);
}

#[test]
fn missing_fields_keep_their_current_values() {
    let c = config();
    let change = read_put(&json!({"idle_seconds": 900}), &c).unwrap();
    assert_eq!(change.settings.idle.as_secs(), 900);
    assert_eq!(change.settings.enabled_defaults, ["token-checks"]);
    assert_eq!(
        describe(&Settings::of(&c), &change.settings),
        ["idle_seconds: 1800 -> 900"]
    );
}

#[test]
fn group_switches_yield_ids_in_file_order() {
    let c = config();
    let body = json!({"default_exclusions": [
        {"id": "presence-polling", "enabled": true},
        {"id": "client-diagnostics", "enabled": true},
        {"id": "token-checks", "enabled": false},
    ]});
    let change = read_put(&body, &c).unwrap();
    assert_eq!(
        change.settings.enabled_defaults,
        ["client-diagnostics", "presence-polling"]
    );
    let new = config_with(&c, &change);
    assert_eq!(
        new.exclusions.enabled_defaults,
        change.settings.enabled_defaults
    );
}

#[test]
fn custom_patterns_are_applied_as_parsed() {
    let c = config();
    let change = read_put(
        &json!({"custom_exclusions": ["GET /x/{id}"], "mode": "shadow"}),
        &c,
    )
    .unwrap();
    let new = config_with(&c, &change);
    assert_eq!(new.exclusions.custom[0].text(), "GET /x/{id}");
    assert_eq!(new.timeout.mode, Mode::Shadow);
}

#[test]
fn a_non_object_body_is_one_error() {
    let errors = read_put(&json!([1]), &config()).unwrap_err();
    assert_eq!(errors.len(), 1);
}

#[test]
fn config_diagnostics_are_named_by_settings_field() {
    let diag = |key: &str, severity| Diagnostic {
        file: "c.toml".into(),
        line: 3,
        column: 7,
        key: key.into(),
        message: "m".into(),
        severity,
    };
    let (errors, warnings) = field_errors(&[
        diag("timeout.idle", Severity::Warning),
        diag("exclusions.custom[2]", Severity::Warning),
        diag("exclusions.enabled_defaults[0]", Severity::Error),
        diag("proxy.listen", Severity::Error),
        diag("exclusions.customs", Severity::Error),
    ]);
    assert_eq!(fields(&warnings), ["idle_seconds", "custom_exclusions[2]"]);
    assert_eq!(
        fields(&errors),
        ["default_exclusions", "proxy.listen", "exclusions.customs"]
    );
    assert_eq!(warnings[0].message, "m");
    assert_eq!(errors[1].message, "c.toml:3:7: m");
}
