use serde_json::json;

use super::*;
use crate::config::TimeoutPolicy;
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
    assert_eq!(doc.mode, ModeName::Enforce);
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

fn policy(name: &str, idle: Option<u64>, priority: u32) -> TimeoutPolicy {
    TimeoutPolicy {
        name: name.into(),
        groups: vec![format!("g-{name}")],
        idle: idle.map(Duration::from_secs),
        absolute: None,
        priority,
    }
}

fn with_policies() -> Config {
    let mut c = config();
    c.timeout.policies = vec![
        TimeoutPolicy {
            absolute: Some(Duration::from_secs(43200)),
            ..policy("supervisors", Some(3600), 1)
        },
        policy("wallboards", None, 5),
    ];
    c
}

#[test]
fn document_lists_policies_with_null_for_off_and_warn_before() {
    let doc = serde_json::to_value(SettingsDoc::of(&with_policies())).unwrap();
    assert_eq!(
        doc["policies"],
        json!([
            {"name": "supervisors", "groups": ["g-supervisors"], "idle_seconds": 3600,
             "absolute_seconds": 43200, "priority": 1},
            {"name": "wallboards", "groups": ["g-wallboards"], "idle_seconds": null,
             "absolute_seconds": null, "priority": 5},
        ])
    );
    assert_eq!(doc["warn_before_seconds"], 120);
}

#[test]
fn put_of_a_document_with_policies_changes_nothing() {
    let c = with_policies();
    let body = serde_json::to_value(SettingsDoc::of(&c)).unwrap();
    let change = read_put(&body, &c).unwrap();
    assert!(describe(&Settings::of(&c), &change.settings).is_empty());
}

#[test]
fn put_policies_are_sorted_by_priority_and_applied_live() {
    let c = config();
    let body = json!({"warn_before_seconds": 60, "policies": [
        {"name": "late", "groups": ["a"], "idle_seconds": 600, "priority": 9},
        {"name": "first", "groups": ["b"], "idle_seconds": null, "absolute_seconds": 7200,
         "priority": 1},
        {"name": "tie", "groups": ["c"], "idle_seconds": 900, "priority": 9},
    ]});
    let change = read_put(&body, &c).unwrap();
    let names: Vec<&str> = change
        .settings
        .policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["first", "late", "tie"]);
    let new = config_with(&c, &change);
    assert_eq!(new.timeout.policies, change.settings.policies);
    assert_eq!(new.timeout.policies[0].idle, None);
    assert_eq!(
        new.timeout.policies[0].absolute,
        Some(Duration::from_secs(7200))
    );
    assert_eq!(new.timeout.warn_before, Duration::from_secs(60));
}

#[test]
fn every_policy_error_is_listed_with_its_field() {
    let body = json!({"warn_before_seconds": 0, "policies": [
        {"name": "Bad_Name", "groups": [], "idle_seconds": 0, "priority": 0},
        {"name": "ok", "groups": ["", 3], "priority": 1001, "absolute_seconds": "1h"},
        {"name": "ok", "groups": ["g"], "idle_seconds": null, "priority": 2},
        "not an object",
    ]});
    let errors = read_put(&body, &config()).unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            "policies[0].name",
            "policies[0].groups",
            "policies[0].idle_seconds",
            "policies[0].priority",
            "policies[1].groups[0]",
            "policies[1].groups[1]",
            "policies[1].idle_seconds",
            "policies[1].absolute_seconds",
            "policies[1].priority",
            "policies[2].name",
            "policies[3]",
            "warn_before_seconds",
        ]
    );
    assert!(errors[9].message.contains("duplicate"), "{:?}", errors[9]);
}

#[test]
fn more_than_32_policies_is_an_error() {
    let many: Vec<_> = (0..33)
        .map(|i| json!({"name": format!("p{i}"), "groups": ["g"], "idle_seconds": 600, "priority": 1}))
        .collect();
    let errors = read_put(&json!({"policies": many}), &config()).unwrap_err();
    assert_eq!(fields(&errors), ["policies"]);
}

#[test]
fn absent_policies_and_warn_before_keep_their_current_values() {
    let c = with_policies();
    let change = read_put(&json!({"mode": "shadow"}), &c).unwrap();
    assert_eq!(change.settings.policies, c.timeout.policies);
    assert_eq!(change.settings.warn_before, c.timeout.warn_before);
}

#[test]
fn describe_lists_added_removed_changed_and_reordered_policies() {
    let c = with_policies();
    let old = Settings::of(&c);
    let mut new = old.clone();
    new.policies[0].idle = Some(Duration::from_secs(60));
    new.policies.remove(1);
    new.policies.push(policy("agents", Some(900), 7));
    new.warn_before = Duration::from_secs(30);
    assert_eq!(
        describe(&old, &new),
        [
            "warn_before_seconds: 120 -> 30",
            "policies: ~\"supervisors\"",
            "policies: +\"agents\"",
            "policies: -\"wallboards\"",
        ]
    );
    let mut swapped = old.clone();
    swapped.policies.reverse();
    assert_eq!(describe(&old, &swapped), ["policies: reordered"]);
}

#[test]
fn policy_diagnostics_of_the_file_are_named_by_settings_field() {
    let diag = |key: &str| Diagnostic {
        file: "c.toml".into(),
        line: 1,
        column: 1,
        key: key.into(),
        message: "m".into(),
        severity: Severity::Warning,
    };
    let (_, warnings) = field_errors(&[
        diag("timeout.policies[2].idle"),
        diag("timeout.policies[0].absolute"),
        diag("timeout.policies[1].groups[3]"),
        diag("timeout.policies"),
        diag("timeout.warn_before"),
    ]);
    assert_eq!(
        fields(&warnings),
        [
            "policies[2].idle_seconds",
            "policies[0].absolute_seconds",
            "policies[1].groups[3]",
            "policies",
            "warn_before_seconds",
        ]
    );
}

#[test]
fn a_put_of_policies_is_applied_and_saved_in_the_file() {
    use crate::config_change::{change, ChangeSource, Saved};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let text =
        "[proxy]\nupstream = \"http://127.0.0.1:9\" # kept\n\n[identity]\njwks = \"j.json\"\n";
    std::fs::write(&path, text).unwrap();
    let loaded = crate::config::load(&path).unwrap();
    let keyer = crate::token::Keyer::from_secret(b"k");
    let app = crate::app::App::new(loaded.config, keyer, crate::clock::Clock::new());
    let body = json!({"warn_before_seconds": 300, "policies": [
        {"name": "agents", "groups": ["agent"], "idle_seconds": 900, "priority": 2},
        {"name": "kiosks", "groups": ["kiosk"], "idle_seconds": null, "priority": 1},
    ]});
    let read = |current: &Config| {
        read_put(&body, current).map_err(crate::config_change::Rejected::Settings)
    };
    let applied = change(
        &app,
        ChangeSource::Settings {
            read: &read,
            who: "test",
        },
    )
    .unwrap();
    assert!(applied.changed && applied.restart.is_empty());
    assert_eq!(applied.saved, Saved::InFile);
    let live = app.config();
    assert_eq!(live.timeout.policies[0].name, "kiosks");
    assert_eq!(live.timeout.warn_before, Duration::from_secs(300));
    let saved = crate::config::load(&path).unwrap().config;
    assert_eq!(saved.timeout.policies, live.timeout.policies);
    assert_eq!(saved.timeout.warn_before, Duration::from_secs(300));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("[proxy]\nupstream = \"http://127.0.0.1:9\" # kept\n"));
}
