use std::time::Duration;

use super::*;

fn settings() -> Settings {
    Settings {
        enabled: true,
        idle: Duration::from_secs(30 * 60),
        mode: Mode::Enforce,
        enabled_defaults: vec![],
        custom: vec![],
        policies: vec![],
        warn_before: Duration::from_secs(120),
        trial_defaults: vec![],
        trial_custom: vec![],
    }
}

const COMMENTED: &str = r#"# top comment
[proxy]
upstream = "http://127.0.0.1:9000" # where to

[timeout]
# the switch
enabled = true   # trailing
idle = "1800s"
mode = "enforce"

[exclusions]
# ids
enabled_defaults = ["client-diagnostics"]
custom = [
    "GET /a",  # keep me
    "GET /b",
]

[state]
backend = "memory"
"#;

/// Edit, then write: what a Save does to the file (the config change path runs the check
/// between the two).
fn save_settings(path: &Path, settings: &Settings) -> Result<String, SaveError> {
    let edited = edit_file(path, settings)?;
    edited.write()?;
    Ok(edited.new_text)
}

#[test]
fn unchanged_settings_leave_the_text_byte_for_byte() {
    let s = Settings {
        enabled_defaults: vec!["client-diagnostics".into()],
        custom: vec!["GET /a".into(), "GET /b".into()],
        ..settings()
    };
    assert_eq!(edit_settings(COMMENTED, &s).unwrap(), COMMENTED);
}

#[test]
fn a_file_without_a_final_newline_does_not_gain_one() {
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9000\"";
    assert_eq!(edit_settings(text, &settings()).unwrap(), text);
    let shadow = Settings {
        mode: Mode::Shadow,
        ..settings()
    };
    let edited = edit_settings(text, &shadow).unwrap();
    assert!(edited.ends_with("mode = \"shadow\""), "{edited:?}");
    assert!(edit_settings(COMMENTED, &shadow).unwrap().ends_with('\n'));
}

#[test]
fn crlf_line_ends_are_kept() {
    let text =
        "[proxy]\r\nupstream = \"http://127.0.0.1:9000\"\r\n\r\n[timeout]\r\nidle = \"30m\"\r\n";
    assert_eq!(edit_settings(text, &settings()).unwrap(), text);
    let mixed = "[proxy]\n\r\nupstream = \"http://127.0.0.1:9000\"\n";
    assert_eq!(edit_settings(mixed, &settings()).unwrap(), mixed);
    let shadow = Settings {
        mode: Mode::Shadow,
        ..settings()
    };
    let edited = edit_settings(text, &shadow).unwrap();
    assert!(edited.contains("mode = \"shadow\"\r\n"), "{edited:?}");
    assert!(!edited.replace("\r\n", "").contains('\n'), "{edited:?}");
}

#[test]
fn changes_keep_comments_key_order_and_other_keys() {
    let s = Settings {
        enabled: false,
        idle: Duration::from_secs(15 * 60),
        mode: Mode::Shadow,
        enabled_defaults: vec![],
        custom: vec!["GET /a".into(), "POST /c/{id}".into()],
        ..settings()
    };
    let out = edit_settings(COMMENTED, &s).unwrap();
    let expected = r#"# top comment
[proxy]
upstream = "http://127.0.0.1:9000" # where to

[timeout]
# the switch
enabled = false   # trailing
idle = "15m"
mode = "shadow"

[exclusions]
# ids
enabled_defaults = []
custom = [
    "GET /a",  # keep me
    "POST /c/{id}",
]

[state]
backend = "memory"
"#;
    assert_eq!(out, expected);
}

#[test]
fn missing_tables_and_keys_are_created() {
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n";
    let s = Settings {
        idle: Duration::from_secs(90),
        custom: vec!["GET /x".into(), "* /y/{*rest}".into()],
        ..settings()
    };
    let out = edit_settings(text, &s).unwrap();
    assert!(out.starts_with(text), "{out}");
    let doc: toml::Table = toml::from_str(&out).unwrap();
    assert_eq!(doc["timeout"]["idle"].as_str(), Some("1m 30s"));
    assert_eq!(
        doc["exclusions"]["custom"][1].as_str(),
        Some("* /y/{*rest}")
    );
    // Defaults are not written out.
    assert!(doc["timeout"].get("enabled").is_none());
    assert!(doc["timeout"].get("mode").is_none());
    assert!(doc["exclusions"].get("enabled_defaults").is_none());
}

#[test]
fn saved_text_reads_back_as_the_same_settings() {
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n[timeout]\nidle = \"2h\"\n";
    let s = Settings {
        enabled: false,
        idle: Duration::from_secs(3600 + 61),
        mode: Mode::Shadow,
        enabled_defaults: vec!["token-checks".into()],
        custom: vec!["GET /api/v2/users/{userId}?a=b".into()],
        ..settings()
    };
    let out = edit_settings(text, &s).unwrap();
    let loaded = crate::config::parse(&out, std::path::Path::new("x.toml")).unwrap();
    assert_eq!(Settings::of(&loaded.config), s);
}

#[test]
fn inline_timeout_table_is_edited_in_place() {
    let text = "timeout = { idle = \"5m\" }\n[proxy]\nupstream = \"http://u:1\"\n";
    let s = Settings {
        idle: Duration::from_secs(600),
        ..settings()
    };
    let out = edit_settings(text, &s).unwrap();
    assert_eq!(
        out,
        "timeout = { idle = \"10m\" }\n[proxy]\nupstream = \"http://u:1\"\n"
    );
}

#[test]
fn a_non_table_timeout_is_an_error_not_a_panic() {
    let s = settings();
    assert_eq!(
        edit_settings("timeout = 3\n", &s),
        Err(EditError::NotATable("timeout"))
    );
    assert!(matches!(
        edit_settings("[timeout\n", &s),
        Err(EditError::Syntax(_))
    ));
}

#[test]
fn save_replaces_the_file_atomically_and_keeps_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idlegate.toml");
    std::fs::write(&path, COMMENTED).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let s = Settings {
        mode: Mode::Shadow,
        enabled_defaults: vec!["client-diagnostics".into()],
        custom: vec!["GET /a".into(), "GET /b".into()],
        ..settings()
    };
    let written = save_settings(&path, &s).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    assert!(written.contains("mode = \"shadow\""));
    assert!(written.contains("# keep me"));
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temp file left behind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}

#[test]
fn save_of_a_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = save_settings(&dir.path().join("nope.toml"), &settings()).unwrap_err();
    assert!(matches!(err, SaveError::Read { .. }));
}

#[test]
fn removing_an_element_keeps_the_comments_of_the_others() {
    let text = "[exclusions]\ncustom = [\n  # first\n  \"GET /a\", # a\n  \"GET /b\", # b\n  \"GET /c\", # c\n]\n";
    let s = Settings {
        custom: vec!["GET /a".into(), "GET /c".into()],
        ..settings()
    };
    let out = edit_settings(text, &s).unwrap();
    assert_eq!(
        out,
        "[exclusions]\ncustom = [\n  # first\n  \"GET /a\", # a\n  \"GET /c\", # c\n]\n"
    );
}

#[test]
fn shipped_config_changes_only_the_edited_lines() {
    let text = include_str!("../../config/idlegate.toml");
    let s = Settings {
        idle: Duration::from_secs(15 * 60),
        enabled_defaults: vec!["client-diagnostics".into()],
        custom: vec!["GET /api/v2/x".into()],
        ..settings()
    };
    let out = edit_settings(text, &s).unwrap();
    let changed: Vec<(&str, &str)> = text
        .lines()
        .zip(out.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        [
            ("idle = \"30m\"", "idle = \"15m\""),
            (
                "enabled_defaults = []",
                "enabled_defaults = [\"client-diagnostics\"]"
            ),
            ("custom = []", "custom = [\"GET /api/v2/x\"]"),
        ]
    );
    assert_eq!(text.lines().count(), out.lines().count());
}

#[test]
fn a_trial_list_is_written_and_an_emptied_one_leaves_no_key() {
    let mut s = settings();
    s.trial_defaults = vec!["client-diagnostics".into()];
    s.trial_custom = vec!["GET /poll".into()];
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n";
    let with_trial = edit_settings(text, &s).unwrap();
    assert!(
        with_trial.contains("trial_defaults = [\"client-diagnostics\"]"),
        "{with_trial}"
    );
    assert!(
        with_trial.contains("trial_custom = [\"GET /poll\"]"),
        "{with_trial}"
    );
    s.trial_defaults.clear();
    s.trial_custom.clear();
    let cleared = edit_settings(&with_trial, &s).unwrap();
    assert!(!cleared.contains("trial"), "{cleared}");
}
