//! Tests of `[[timeout.policies]]` and `timeout.warn_before` (docs/reference.md,
//! "Configuration").

use std::path::Path;
use std::time::Duration;

use super::*;

const HEAD: &str = "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n\
                    [identity]\njwks = \"jwks.json\"\n";

fn parse_text(rest: &str) -> Result<Loaded, Vec<Diagnostic>> {
    parse(&format!("{HEAD}{rest}"), Path::new("cfg/idlegate.toml"))
}

fn ok(rest: &str) -> Loaded {
    parse_text(rest).unwrap_or_else(|d| panic!("unexpected errors: {d:#?}"))
}

fn error_keys(rest: &str) -> Vec<String> {
    match parse_text(rest) {
        Ok(_) => panic!("expected errors"),
        Err(diags) => diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.key)
            .collect(),
    }
}

fn warning_keys(loaded: &Loaded) -> Vec<&str> {
    loaded.warnings.iter().map(|d| d.key.as_str()).collect()
}

fn policy(name: &str, priority: u32, extra: &str) -> String {
    format!(
        "[[timeout.policies]]\nname = \"{name}\"\ngroups = [\"g-{name}\"]\nidle = \"1h\"\n\
         priority = {priority}\n{extra}"
    )
}

#[test]
fn policies_are_read_with_every_key() {
    let text =
        "[[timeout.policies]]\nname = \"supervisors\"\ngroups = [\"supervisor\", \"admin\"]\n\
                idle = \"60m\"\nabsolute = \"12h\"\npriority = 1\n";
    let c = ok(text).config;
    let expected = TimeoutPolicy {
        name: "supervisors".into(),
        groups: vec!["supervisor".into(), "admin".into()],
        idle: Some(Duration::from_secs(3600)),
        absolute: Some(Duration::from_secs(12 * 3600)),
        priority: 1,
    };
    assert_eq!(c.timeout.policies, [expected]);
}

#[test]
fn idle_off_means_never_revoked_for_inactivity() {
    let text = "[[timeout.policies]]\nname = \"wallboards\"\ngroups = [\"wallboard\"]\n\
                idle = \"off\"\npriority = 5\n";
    assert_eq!(ok(text).config.timeout.policies[0].idle, None);
}

#[test]
fn policies_sort_by_ascending_priority_and_ties_keep_file_order() {
    let text = [
        policy("c", 3, ""),
        policy("a1", 1, ""),
        policy("b", 2, ""),
        policy("a2", 1, ""),
    ]
    .concat();
    let names: Vec<String> = ok(&text)
        .config
        .timeout
        .policies
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["a1", "a2", "b", "c"]);
}

#[test]
fn policy_names_must_match_the_pattern_and_be_unique() {
    let long = "a".repeat(41);
    for bad in ["Upper", "under_score", "", long.as_str()] {
        let text = policy(bad, 1, "");
        assert_eq!(error_keys(&text), ["timeout.policies[0].name"], "{bad:?}");
    }
    let text = [policy("same", 1, ""), policy("same", 2, "")].concat();
    assert_eq!(error_keys(&text), ["timeout.policies[1].name"]);
    assert!(parse_text(&policy(&"a".repeat(40), 1, "")).is_ok());
}

#[test]
fn groups_must_be_a_non_empty_list_of_non_empty_names() {
    let head = "[[timeout.policies]]\nname = \"p\"\nidle = \"1h\"\npriority = 1\n";
    assert_eq!(
        error_keys(&format!("{head}groups = []\n")),
        ["timeout.policies[0].groups"]
    );
    assert_eq!(
        error_keys(&format!("{head}groups = [\"a\", \" \"]\n")),
        ["timeout.policies[0].groups[1]"]
    );
    let many: Vec<String> = (0..257).map(|i| format!("\"g{i}\"")).collect();
    assert_eq!(
        error_keys(&format!("{head}groups = [{}]\n", many.join(","))),
        ["timeout.policies[0].groups"]
    );
}

#[test]
fn name_groups_idle_and_priority_are_required() {
    let keys = error_keys("[[timeout.policies]]\nabsolute = \"2h\"\n");
    let expected =
        ["name", "groups", "idle", "priority"].map(|k| format!("timeout.policies[0].{k}"));
    assert_eq!(keys, expected);
}

#[test]
fn priority_runs_from_1_to_1000() {
    assert_eq!(
        error_keys(&policy("p", 0, "")),
        ["timeout.policies[0].priority"]
    );
    assert_eq!(
        error_keys(&policy("p", 1001, "")),
        ["timeout.policies[0].priority"]
    );
    assert!(parse_text(&policy("p", 1000, "")).is_ok());
}

#[test]
fn at_most_32_policies() {
    let text: String = (0..33).map(|i| policy(&format!("p{i}"), 1, "")).collect();
    assert_eq!(error_keys(&text), ["timeout.policies"]);
    let text: String = (0..32).map(|i| policy(&format!("p{i}"), 1, "")).collect();
    assert_eq!(ok(&text).config.timeout.policies.len(), 32);
}

#[test]
fn unknown_policy_key_is_an_error_at_its_position() {
    let diags = parse_text(&policy("p", 1, "colour = \"red\"\n")).unwrap_err();
    let d = &diags[0];
    assert_eq!(
        (d.key.as_str(), d.line, d.column),
        ("timeout.policies[0].colour", 10, 1)
    );
}

#[test]
fn short_policy_timeouts_warn_like_timeout_idle() {
    let text = "[[timeout.policies]]\nname = \"p\"\ngroups = [\"g\"]\nidle = \"30s\"\n\
                absolute = \"20s\"\npriority = 1\n";
    let loaded = ok(text);
    assert_eq!(
        warning_keys(&loaded),
        [
            "timeout.policies[0].idle",
            "timeout.policies[0].absolute",
            "timeout.policies[0].absolute"
        ]
    );
    assert_eq!(
        error_keys(
            "[[timeout.policies]]\nname = \"p\"\ngroups = [\"g\"]\nidle = \"0s\"\npriority = 1\n"
        ),
        ["timeout.policies[0].idle"]
    );
}

#[test]
fn policies_without_identity_warn_that_they_never_match() {
    let text = format!(
        "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n{}",
        policy("p", 1, "")
    );
    let loaded = parse(&text, Path::new("c.toml")).unwrap();
    assert_eq!(warning_keys(&loaded), ["timeout.policies"]);
    assert!(loaded.warnings[0].message.contains("[identity]"));
    assert!(ok(&policy("p", 1, "")).warnings.is_empty());
}

#[test]
fn warn_before_defaults_to_two_minutes() {
    assert_eq!(ok("").config.timeout.warn_before, Duration::from_secs(120));
    let c = ok("[timeout]\nwarn_before = \"5m\"\n").config;
    assert_eq!(c.timeout.warn_before, Duration::from_secs(300));
}

#[test]
fn warn_before_zero_is_an_error_and_not_below_idle_a_warning() {
    assert_eq!(
        error_keys("[timeout]\nwarn_before = \"0s\"\n"),
        ["timeout.warn_before"]
    );
    let loaded = ok("[timeout]\nidle = \"10m\"\nwarn_before = \"10m\"\n");
    assert_eq!(warning_keys(&loaded), ["timeout.warn_before"]);
}

#[test]
fn policy_for_picks_the_first_policy_with_a_common_group() {
    let text = [
        policy("b", 2, "").replace("[\"g-b\"]", "[\"x\", \"y\"]"),
        policy("a", 1, "").replace("[\"g-a\"]", "[\"y\"]"),
    ]
    .concat();
    let t = ok(&text).config.timeout;
    assert_eq!(t.policy_for(&["y".into()]), Some(0));
    assert_eq!(t.policies[0].name, "a");
    assert_eq!(t.policy_for(&["x".into()]), Some(1));
    assert_eq!(t.policy_for(&["z".into()]), None);
}

#[test]
fn check_lists_identity_settings_and_policies_in_priority_order() {
    // Keys before the first table header still belong to HEAD's `[identity]`.
    let text = [
        "audience = [\"api\", \"web\"]\nissuer = \"https://idp/\"\non_invalid = \"pass\"\n",
        &policy("second", 2, "absolute = \"12h\"\n"),
        &policy("first", 1, "").replace("idle = \"1h\"", "idle = \"off\""),
        "[timeout]\nwarn_before = \"3m\"\n",
    ]
    .concat();
    let policy_text = ok(&text).config.effective_policy();
    let expected = "  warn_before        3m\n\
                    \x20 policies           2 by group, first match wins:\n\
                    \x20      1  first                    idle off, absolute timeout.absolute\n\
                    \x20         groups: g-first\n\
                    \x20      2  second                   idle 1h, absolute 12h\n\
                    \x20         groups: g-second\n";
    assert!(policy_text.contains(expected), "{policy_text}");
    let identity = "[identity]\n\
                    \x20 jwks               file cfg/jwks.json\n\
                    \x20 issuer             https://idp/\n\
                    \x20 audience           api, web\n\
                    \x20 algorithms         RS256, ES256\n\
                    \x20 subject_claim      sub\n\
                    \x20 groups_claim       groups\n\
                    \x20 refresh            10m\n\
                    \x20 leeway             1m\n\
                    \x20 on_invalid         pass (forwarded as an opaque token)\n";
    assert!(policy_text.contains(identity), "{policy_text}");
    assert!(policy_text.contains("status_path        /.idlegate/session\n"));
}
