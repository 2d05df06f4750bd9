//! The `"policies"` part of the settings document (docs/reference.md, "Admin API",
//! "Settings"): timeouts by group as JSON, and a `PUT`'s list checked with the same rules as
//! `[[timeout.policies]]` in the config file, every error named by its field.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::FieldError;
use crate::config::{
    group_count_problem, group_problem, policy_name_problem, priority_problem, sort_by_priority,
    TimeoutPolicy, MAX_POLICIES,
};

/// One policy of the settings document; `idle_seconds` null = `idle = "off"`,
/// `absolute_seconds` null = `timeout.absolute`.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub(crate) struct PolicyDoc {
    /// 1 to 40 of `a-z`, `0-9`, `-`; unique.
    #[schema(pattern = "^[a-z0-9-]{1,40}$")]
    pub name: String,
    /// 1 to 256 non-empty group names.
    #[schema(min_items = 1, max_items = 256)]
    pub groups: Vec<String>,
    /// Null = no idle timeout. A `PUT` takes 1 to 316224000.
    #[schema(required = true)]
    pub idle_seconds: Option<u64>,
    /// Null (or, in a `PUT`, absent) = `timeout.absolute`. A `PUT` takes 1 to 316224000.
    pub absolute_seconds: Option<u64>,
    #[schema(minimum = 1, maximum = 1000)]
    pub priority: u32,
}

/// One policy in a `PUT` body: as in the settings document, with the bounds a change must keep.
// Only the OpenAPI document uses this type (`read_policies` reads the body field by field);
// names must also be unique, and the list is at most 32 long.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct PolicyChangeDoc {
    #[schema(pattern = "^[a-z0-9-]{1,40}$")]
    name: String,
    /// 1 to 256 group names, each with a character other than white space.
    #[schema(min_items = 1, max_items = 256)]
    groups: Vec<GroupName>,
    /// Null = no idle timeout.
    #[schema(required = true, minimum = 1, maximum = 316224000)]
    idle_seconds: Option<u64>,
    /// Null or absent = `timeout.absolute`.
    #[schema(minimum = 1, maximum = 316224000)]
    absolute_seconds: Option<u64>,
    #[schema(minimum = 1, maximum = 1000)]
    priority: u32,
}

/// A group name as a token's groups claim carries it.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "\\S")]
#[allow(dead_code)]
pub(crate) struct GroupName(String);

impl PolicyDoc {
    pub(crate) fn of(p: &TimeoutPolicy) -> PolicyDoc {
        PolicyDoc {
            name: p.name.clone(),
            groups: p.groups.clone(),
            idle_seconds: p.idle.map(|d| d.as_secs()),
            absolute_seconds: p.absolute.map(|d| d.as_secs()),
            priority: p.priority,
        }
    }
}

fn err(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError::new(field, message));
}

/// The complete new list of policies, sorted by priority (ties keep the list's order); None
/// when any is invalid (each error is in `errors`). `max_seconds` bounds every duration.
pub(crate) fn read_policies(
    v: &Value,
    max_seconds: u64,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<TimeoutPolicy>> {
    let Some(items) = v.as_array() else {
        let shape = "must be a list of {\"name\", \"groups\", \"idle_seconds\", \"priority\"}";
        err(errors, "policies", shape);
        return None;
    };
    if items.len() > MAX_POLICIES {
        let n = items.len();
        err(
            errors,
            "policies",
            format!("at most {MAX_POLICIES} policies, found {n}"),
        );
        return None;
    }
    let before = errors.len();
    let mut names = HashSet::new();
    let mut policies = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("policies[{i}]");
        let Some(obj) = item.as_object() else {
            err(
                errors,
                field,
                format!("must be a policy object (got {item})"),
            );
            continue;
        };
        if let Some(name) = obj.get("name").and_then(Value::as_str) {
            if !names.insert(name) {
                let msg = format!("duplicate policy name {name:?}");
                err(errors, format!("{field}.name"), msg);
            }
        }
        policies.extend(read_policy(obj, &field, max_seconds, errors));
    }
    if errors.len() != before {
        return None;
    }
    sort_by_priority(&mut policies);
    Some(policies)
}

fn read_policy(
    obj: &Map<String, Value>,
    field: &str,
    max_seconds: u64,
    errors: &mut Vec<FieldError>,
) -> Option<TimeoutPolicy> {
    let before = errors.len();
    let name = obj.get("name").and_then(Value::as_str);
    let name_problem = match name {
        Some(name) => policy_name_problem(name),
        None => Some("must be a string".to_string()),
    };
    if let Some(problem) = name_problem {
        err(errors, format!("{field}.name"), problem);
    }
    let groups = read_groups(obj.get("groups"), field, errors);
    let idle = match obj.get("idle_seconds") {
        None => {
            let msg = "required: a number of seconds, or null for no idle timeout";
            err(errors, format!("{field}.idle_seconds"), msg);
            None
        }
        Some(v) => seconds(v, &format!("{field}.idle_seconds"), max_seconds, errors),
    };
    let absolute = obj
        .get("absolute_seconds")
        .and_then(|v| seconds(v, &format!("{field}.absolute_seconds"), max_seconds, errors));
    let priority = obj.get("priority").and_then(Value::as_i64);
    match priority {
        Some(p) => {
            if let Some(problem) = priority_problem(p) {
                err(errors, format!("{field}.priority"), problem);
            }
        }
        None => err(
            errors,
            format!("{field}.priority"),
            "must be a whole number from 1 to 1000",
        ),
    }
    if errors.len() != before {
        return None;
    }
    Some(TimeoutPolicy {
        name: name?.to_string(),
        groups: groups?,
        idle: idle?,
        absolute: absolute.flatten(),
        priority: u32::try_from(priority?).ok()?,
    })
}

/// `null` → `Some(None)`; a whole number in `1..=max` → `Some(Some(duration))`; else an error.
fn seconds(
    v: &Value,
    field: &str,
    max: u64,
    errors: &mut Vec<FieldError>,
) -> Option<Option<Duration>> {
    if v.is_null() {
        return Some(None);
    }
    match v.as_u64().filter(|n| (1..=max).contains(n)) {
        Some(n) => Some(Some(Duration::from_secs(n))),
        None => {
            let msg =
                format!("must be null or a whole number of seconds from 1 to {max} (got {v})");
            err(errors, field, msg);
            None
        }
    }
}

fn read_groups(
    v: Option<&Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<String>> {
    let field = format!("{field}.groups");
    let Some(items) = v.and_then(Value::as_array) else {
        err(errors, field, "must be a list of group names");
        return None;
    };
    if let Some(problem) = group_count_problem(items.len()) {
        err(errors, field, problem);
        return None;
    }
    let before = errors.len();
    let mut groups = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str().map(|g| (g, group_problem(g))) {
            Some((g, None)) => groups.push(g.to_string()),
            Some((_, Some(problem))) => err(errors, format!("{field}[{i}]"), problem),
            None => err(
                errors,
                format!("{field}[{i}]"),
                format!("must be a string (got {item})"),
            ),
        }
    }
    (errors.len() == before).then_some(groups)
}
