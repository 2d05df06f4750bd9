//! Tests of the trial list's keys (docs/reference.md, "`[exclusions]`", "Trial list").

use std::path::Path;

use super::*;

fn parse_text(rest: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let text = format!("[proxy]\nupstream = \"http://127.0.0.1:9000\"\n{rest}");
    parse(&text, Path::new("cfg/idlegate.toml"))
}

fn errors(rest: &str) -> Vec<(String, String)> {
    match parse_text(rest) {
        Ok(_) => panic!("expected errors"),
        Err(diags) => (diags.into_iter())
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.key, d.message))
            .collect(),
    }
}

#[test]
fn a_trial_list_is_read_and_set_only_when_one_of_its_keys_holds_something() {
    let loaded = parse_text(
        "[exclusions]\ntrial_defaults = [\"token-checks\"]\ntrial_custom = [\"GET /poll\"]\n",
    )
    .unwrap();
    let ex = &loaded.config.exclusions;
    assert_eq!(ex.trial_defaults, ["token-checks"]);
    assert_eq!(ex.trial_custom[0].text(), "GET /poll");
    assert!(ex.has_trial());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let none = parse_text("[exclusions]\ntrial_custom = []\n").unwrap();
    assert!(!none.config.exclusions.has_trial());
}

#[test]
fn a_bad_trial_entry_is_an_error_at_its_item() {
    let found = errors("[exclusions]\ntrial_defaults = [\"nope\"]\ntrial_custom = [\"FETCH\"]\n");
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["exclusions.trial_defaults[0]", "exclusions.trial_custom[0]"]
    );
    assert!(found[0].1.contains("unknown default group"), "{found:?}");
}

#[test]
fn a_trial_entry_enforced_already_is_a_warning() {
    let loaded = parse_text(
        "[exclusions]\nenabled_defaults = [\"token-checks\"]\ncustom = [\"GET /a\"]\n\
         trial_defaults = [\"token-checks\"]\ntrial_custom = [\"GET /a\"]\n",
    )
    .unwrap();
    let keys: Vec<&str> = loaded.warnings.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        ["exclusions.trial_defaults", "exclusions.trial_custom"]
    );
    assert!(loaded.warnings[0].message.contains("enforced already"));
}

#[test]
fn a_trial_list_needs_live_evidence() {
    let found =
        errors("[exclusions]\ntrial_custom = [\"GET /poll\"]\n[evidence]\nenabled = false\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "exclusions.trial_custom");
    assert!(
        found[0].1.contains("[evidence] enabled = true"),
        "{found:?}"
    );
}
