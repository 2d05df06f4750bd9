//! The `[timeout]` section with its `[[timeout.policies]]` (timeouts by group) and
//! `warn_before` (docs/reference.md, "Configuration"). The rules of one policy are public so
//! that the settings API checks a policy exactly as the file reader does.

use std::collections::HashSet;
use std::time::Duration;

use super::defaults;
use super::model::{Mode, TimeoutConfig, TimeoutPolicy};
use super::values;
use super::walk::{set, Field, Report, Section};

/// At most this many policies.
pub const MAX_POLICIES: usize = 32;
/// At most this many groups in one policy.
pub const MAX_POLICY_GROUPS: usize = 256;
/// Priorities run from 1 (first) to this.
pub const MAX_PRIORITY: i64 = 1000;

const KEYS: &[&str] = &[
    "enabled",
    "idle",
    "absolute",
    "mode",
    "resolution",
    "expose_remaining",
    "warn_before",
    "policies",
];
const POLICY_KEYS: &[&str] = &["name", "groups", "idle", "absolute", "priority"];
const SHORT: &str =
    "under 5 minutes; fine for tests, but production timeouts are 5 minutes to 8 hours";

/// Why `name` is not a valid policy name (`[a-z0-9-]{1,40}`), or None.
pub fn policy_name_problem(name: &str) -> Option<String> {
    let valid = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (!valid).then(|| {
        format!("invalid policy name {name:?}: 1 to 40 of lowercase letters, digits and '-'")
    })
}

/// Why `group` is not a valid group name, or None.
pub fn group_problem(group: &str) -> Option<String> {
    group
        .trim()
        .is_empty()
        .then(|| "a group name must not be empty".to_string())
}

/// Why a policy with `count` groups is refused, or None.
pub fn group_count_problem(count: usize) -> Option<String> {
    match count {
        0 => Some("list at least one group".to_string()),
        n if n > MAX_POLICY_GROUPS => Some(format!(
            "at most {MAX_POLICY_GROUPS} groups per policy, found {n}"
        )),
        _ => None,
    }
}

/// Why `priority` is out of range, or None.
pub fn priority_problem(priority: i64) -> Option<String> {
    (!(1..=MAX_PRIORITY).contains(&priority))
        .then(|| format!("must be between 1 and {MAX_PRIORITY}, found {priority}"))
}

/// First match by ascending priority: a stable sort keeps the given order among ties.
pub fn sort_by_priority(policies: &mut [TimeoutPolicy]) {
    policies.sort_by_key(|p| p.priority);
}

pub(crate) fn read_timeout(s: Option<&Section>, r: &mut Report) -> TimeoutConfig {
    let mut c = defaults::timeout();
    let Some(s) = s else { return c };
    s.reject_unknown(KEYS, r);
    let s = Some(s);
    set(s, "enabled", r, &mut c.enabled, Field::bool);
    set(s, "idle", r, &mut c.idle, values::duration);
    set(s, "absolute", r, &mut c.absolute, |f, r| {
        values::duration(f, r).map(Some)
    });
    let modes = [("enforce", Mode::Enforce), ("shadow", Mode::Shadow)];
    set(s, "mode", r, &mut c.mode, |f, r| {
        values::choice(f, r, &modes)
    });
    set(s, "resolution", r, &mut c.resolution, values::duration);
    set(
        s,
        "expose_remaining",
        r,
        &mut c.expose_remaining,
        Field::bool,
    );
    set(s, "warn_before", r, &mut c.warn_before, values::duration);
    set(s, "policies", r, &mut c.policies, read_policies);
    let field = |name: &str| s.and_then(|s| s.get(name));
    warn_short(field("idle").map(|f| (f, c.idle)), r, "idle timeout");
    if let (Some(absolute), Some(f)) = (c.absolute, field("absolute")) {
        warn_absolute(&f, r, absolute, Some(c.idle), "timeout.idle");
    }
    if let Some(f) = field("warn_before").filter(|_| c.warn_before >= c.idle) {
        f.warning(
            r,
            "not shorter than timeout.idle: the status endpoint warns from a token's first request",
        );
    }
    c
}

/// The warning for a timeout under 5 minutes.
fn warn_short(field: Option<(Field, Duration)>, r: &mut Report, what: &str) {
    if let Some((f, _)) = field.filter(|(_, d)| *d < defaults::WARN_BELOW) {
        f.warning(r, format!("{what} {SHORT}"));
    }
}

/// The warnings for an absolute lifetime: under 5 minutes, or shorter than its idle timeout.
fn warn_absolute(f: &Field, r: &mut Report, absolute: Duration, idle: Option<Duration>, of: &str) {
    warn_short(Some((f.clone(), absolute)), r, "absolute lifetime");
    if idle.is_some_and(|idle| absolute < idle) {
        f.warning(
            r,
            format!("shorter than {of}: tokens always reach the absolute lifetime first"),
        );
    }
}

fn read_policies(f: &Field, r: &mut Report) -> Option<Vec<TimeoutPolicy>> {
    let tables = f.tables(r)?;
    if tables.len() > MAX_POLICIES {
        let n = tables.len();
        f.error(r, format!("at most {MAX_POLICIES} policies, found {n}"));
        return None;
    }
    let mut names = HashSet::new();
    let mut policies = Vec::new();
    let mut ok = true;
    for t in &tables {
        let policy = read_policy(t, r);
        // A duplicate is reported even when the policy has other errors.
        if let Some(name_field) = t.get("name") {
            if let Some(name) = name_field.peek_str() {
                if !names.insert(name.to_string()) {
                    name_field.error(r, format!("duplicate policy name {name:?}"));
                    ok = false;
                }
            }
        }
        match policy {
            Some(p) => policies.push(p),
            None => ok = false,
        }
    }
    sort_by_priority(&mut policies);
    ok.then_some(policies)
}

fn read_policy(t: &Section, r: &mut Report) -> Option<TimeoutPolicy> {
    t.reject_unknown(POLICY_KEYS, r);
    let name = t.required("name", r).and_then(|f| {
        let name = f.str(r)?;
        match policy_name_problem(name) {
            Some(problem) => {
                f.error(r, problem);
                None
            }
            None => Some(name.to_string()),
        }
    });
    let groups = t.required("groups", r).and_then(|f| read_groups(&f, r));
    let idle_field = t.required("idle", r);
    let idle = idle_field.as_ref().and_then(|f| match f.peek_str() {
        Some("off") => Some(None),
        _ => values::duration(f, r).map(Some),
    });
    let absolute_field = t.get("absolute");
    let absolute = match &absolute_field {
        Some(f) => Some(values::duration(f, r)?),
        None => None,
    };
    let priority = t.required("priority", r).and_then(|f| {
        let p = f.integer(r)?;
        match priority_problem(p) {
            Some(problem) => {
                f.error(r, problem);
                None
            }
            None => u32::try_from(p).ok(),
        }
    });
    let idle = idle?;
    if let (Some(f), Some(d)) = (idle_field, idle) {
        warn_short(Some((f, d)), r, "idle timeout");
    }
    if let (Some(f), Some(a)) = (absolute_field, absolute) {
        warn_absolute(&f, r, a, idle, "this policy's idle");
    }
    Some(TimeoutPolicy {
        name: name?,
        groups: groups?,
        idle,
        absolute,
        priority: priority?,
    })
}

fn read_groups(f: &Field, r: &mut Report) -> Option<Vec<String>> {
    let items = f.strings(r)?;
    if let Some(problem) = group_count_problem(items.len()) {
        f.error(r, problem);
        return None;
    }
    let mut groups = Vec::with_capacity(items.len());
    let mut ok = true;
    for (item, text) in items {
        match group_problem(text) {
            Some(problem) => {
                item.error(r, problem);
                ok = false;
            }
            None => groups.push(text.to_string()),
        }
    }
    ok.then_some(groups)
}
