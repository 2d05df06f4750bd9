//! Tests of saving `[[timeout.policies]]` and `timeout.warn_before` (docs/reference.md,
//! "Reload and Save").

use std::path::Path;
use std::time::Duration;

use super::save::{edit_settings, Settings};
use super::*;

const HEAD: &str = r#"# top comment
[proxy]
upstream = "http://127.0.0.1:9000" # where to

[timeout]
# the switch
enabled = true   # trailing
idle = "1800s"
"#;

const POLICIES: &str = r#"
# wallboards never time out
[[timeout.policies]]
name = "wallboards"
groups = ["wallboard"]
idle = "off"
priority = 5

[[timeout.policies]]
name = "supervisors"   # the managers
groups = ["supervisor", "admin"]
idle = "60m"
absolute = "12h"
priority = 1
"#;

const TAIL: &str = r#"
# exclusions follow
[exclusions]
custom = [
    "GET /a",  # keep me
]

[identity]
jwks = "jwks.json"
"#;

fn text() -> String {
    [HEAD, POLICIES, TAIL].concat()
}

fn settings_of(text: &str) -> Settings {
    match parse(text, Path::new("cfg/idlegate.toml")) {
        Ok(loaded) => Settings::of(&loaded.config),
        Err(diags) => panic!("unexpected errors: {diags:#?}\n{text}"),
    }
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

#[test]
fn unchanged_policies_leave_the_text_byte_for_byte_even_out_of_priority_order() {
    let text = text();
    let s = settings_of(&text);
    assert_eq!(s.policies[0].name, "supervisors");
    assert_eq!(edit_settings(&text, &s).unwrap(), text);
}

#[test]
fn changed_policies_are_rewritten_whole_in_priority_order_keeping_the_rest() {
    let text = text();
    let mut s = settings_of(&text);
    s.policies.push(policy("agents", Some(900), 3));
    let edited = edit_settings(&text, &s).unwrap();
    assert!(edited.starts_with(HEAD), "{edited}");
    assert!(edited.ends_with(TAIL), "{edited}");
    let names: Vec<usize> = ["\"supervisors\"", "\"agents\"", "\"wallboards\""]
        .iter()
        .map(|n| edited.find(n).unwrap())
        .collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{edited}");
    assert!(edited.contains(
        "[[timeout.policies]]\nname = \"agents\"\ngroups = [\"g-agents\"]\nidle = \"15m\"\npriority = 3\n"
    ));
}

#[test]
fn settings_round_trip_through_the_file() {
    let text = text();
    let mut s = settings_of(&text);
    s.policies = vec![
        policy("b", None, 2),
        TimeoutPolicy {
            absolute: Some(Duration::from_secs(5400)),
            ..policy("a", Some(3600), 1)
        },
        policy("c", Some(7200), 2),
    ];
    s.warn_before = Duration::from_secs(300);
    let edited = edit_settings(&text, &s).unwrap();
    let mut expected = s.clone();
    sort_by_priority(&mut expected.policies);
    assert_eq!(settings_of(&edited), expected);
    assert_eq!(edit_settings(&edited, &expected).unwrap(), edited);
}

#[test]
fn removing_every_policy_removes_the_tables() {
    let text = text();
    let s = Settings {
        policies: Vec::new(),
        ..settings_of(&text)
    };
    let edited = edit_settings(&text, &s).unwrap();
    assert!(!edited.contains("policies"), "{edited}");
    assert!(settings_of(&edited).policies.is_empty());
}

#[test]
fn policies_are_added_to_a_file_without_any() {
    let text = [HEAD, TAIL].concat();
    let mut s = settings_of(&text);
    s.policies = vec![policy("p", Some(600), 1)];
    let edited = edit_settings(&text, &s).unwrap();
    assert!(
        edited.starts_with(HEAD) && edited.ends_with(TAIL),
        "{edited}"
    );
    assert_eq!(settings_of(&edited).policies, s.policies);
}

#[test]
fn warn_before_is_written_only_when_it_changed_or_was_in_the_file() {
    let text = [HEAD, TAIL].concat();
    let s = settings_of(&text);
    assert_eq!(edit_settings(&text, &s).unwrap(), text, "default not added");
    let with = text.replace(
        "idle = \"1800s\"\n",
        "idle = \"1800s\"\nwarn_before = \"120s\"\n",
    );
    assert_eq!(
        edit_settings(&with, &s).unwrap(),
        with,
        "same value kept as written"
    );
    let changed = Settings {
        warn_before: Duration::from_secs(60),
        ..s
    };
    let edited = edit_settings(&with, &changed).unwrap();
    assert!(edited.contains("warn_before = \"1m\"\n"), "{edited}");
    let added = edit_settings(&text, &changed).unwrap();
    assert_eq!(settings_of(&added).warn_before, Duration::from_secs(60));
}
#[test]
fn policies_in_a_file_without_timeout_table_add_no_empty_header() {
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n";
    let mut s = settings_of(&format!("{text}[identity]\njwks = \"j.json\"\n"));
    s.policies = vec![policy("p", Some(600), 1)];
    let edited = edit_settings(text, &s).unwrap();
    assert!(!edited.contains("[timeout]"), "{edited}");
    assert!(
        edited.contains("[[timeout.policies]]\nname = \"p\""),
        "{edited}"
    );
}
