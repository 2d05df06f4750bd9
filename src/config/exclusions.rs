//! The `[exclusions]` section: the default groups (from the defaults file or built in), the
//! ids switched on, and the custom patterns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::classify::{Group, Pattern};

use super::diagnostic::{Diagnostic, Severity};
use super::model::*;
use super::walk::{set, Field, Report, Section};
use super::{defaults, groups, values};

pub(crate) fn read_exclusions(
    s: Option<&Section>,
    r: &mut Report,
    base: &Path,
    other_files: &mut Vec<Diagnostic>,
) -> ExclusionsConfig {
    if let Some(s) = s {
        let known = [
            "defaults_file",
            "enabled_defaults",
            "custom",
            "trial_defaults",
            "trial_custom",
        ];
        s.reject_unknown(&known, r);
    }
    let file_field = s.and_then(|s| s.get("defaults_file"));
    let mut c = match &file_field {
        Some(f) => match values::path(f, r, base) {
            Some(path) => read_defaults_file(f, path, r, other_files),
            None => defaults::exclusions(Vec::new()),
        },
        None => defaults::exclusions(groups::builtin()),
    };
    let groups_known = !other_files.iter().any(|d| d.severity == Severity::Error)
        && (file_field.is_none() || c.defaults_file.is_some());
    set(s, "enabled_defaults", r, &mut c.enabled_defaults, |f, r| {
        read_enabled(f, r, &c.groups, groups_known)
    });
    set(s, "custom", r, &mut c.custom, read_custom);
    set(s, "trial_defaults", r, &mut c.trial_defaults, |f, r| {
        let ids = read_enabled(f, r, &c.groups, groups_known)?;
        for id in ids.iter().filter(|id| c.enabled_defaults.contains(id)) {
            f.warning(
                r,
                format!("group {id:?} is enforced already: the trial adds nothing"),
            );
        }
        Some(ids)
    });
    set(s, "trial_custom", r, &mut c.trial_custom, |f, r| {
        let patterns = read_custom(f, r)?;
        for p in patterns.iter().filter(|p| c.custom.contains(p)) {
            let text = p.text();
            f.warning(
                r,
                format!("{text:?} is enforced already: the trial adds nothing"),
            );
        }
        Some(patterns)
    });
    c
}

/// A trial list names APIs by their live-evidence templates: it needs `[evidence]` on.
pub(crate) fn check_trial_needs_evidence(
    s: Option<&Section>,
    exclusions: &ExclusionsConfig,
    evidence_on: bool,
    r: &mut Report,
) {
    if evidence_on || !exclusions.has_trial() {
        return;
    }
    let field = s.and_then(|s| s.get("trial_defaults").or_else(|| s.get("trial_custom")));
    if let Some(f) = field {
        let msg = "a trial list needs [evidence] enabled = true (it names the APIs that kept \
                   tokens alive by their evidence templates)";
        f.error(r, msg);
    }
}

fn read_defaults_file(
    f: &Field,
    path: PathBuf,
    r: &mut Report,
    other_files: &mut Vec<Diagnostic>,
) -> ExclusionsConfig {
    match crate::files::read_text(&path, crate::files::CONFIG_MAX_BYTES) {
        Ok(text) => {
            let (groups, diags) = groups::parse_groups(&text, &path);
            other_files.extend(diags);
            ExclusionsConfig {
                defaults_file: Some(path),
                ..defaults::exclusions(groups)
            }
        }
        Err(e) => {
            f.error(
                r,
                format!("cannot read defaults file {}: {e}", path.display()),
            );
            defaults::exclusions(Vec::new())
        }
    }
}

fn read_enabled(f: &Field, r: &mut Report, groups: &[Group], known: bool) -> Option<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    for (field, id) in f.strings(r)? {
        if ids.iter().any(|i| i == id) {
            field.warning(r, format!("group {id:?} is listed twice"));
        } else if known && !groups.iter().any(|g| g.id == id) {
            let all: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
            let msg = format!("unknown default group {id:?} (known: {})", all.join(", "));
            field.error(r, msg);
        } else {
            ids.push(id.to_string());
        }
    }
    Some(ids)
}

fn read_custom(f: &Field, r: &mut Report) -> Option<Vec<Pattern>> {
    let mut first_seen: HashMap<&str, String> = HashMap::new();
    let mut patterns = Vec::new();
    for (field, text) in f.strings(r)? {
        let Some(pattern) = groups::pattern(&field, text, r) else {
            continue;
        };
        if let Some(first) = first_seen.get(text) {
            field.warning(r, format!("duplicate pattern {text:?} (also {first})"));
            continue;
        }
        first_seen.insert(text, field.key.clone());
        patterns.push(pattern);
    }
    Some(patterns)
}
