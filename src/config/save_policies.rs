//! Writing `[[timeout.policies]]` into the config text for a Save (docs/reference.md, "Reload
//! and Save"): when the policies differ from those in the file, the whole array of tables is
//! rewritten in priority order; when they are the same, not a byte changes.

use std::time::Duration;

use toml_edit::{Array, ArrayOfTables, Item, Table, TableLike, Value};

use super::model::TimeoutPolicy;
use super::policies::sort_by_priority;

/// Writes `policies` under the `[timeout]` table `t`, unless the file already holds them.
pub(crate) fn set_policies(t: &mut dyn TableLike, policies: &[TimeoutPolicy]) {
    let mut wanted = policies.to_vec();
    sort_by_priority(&mut wanted);
    match t.get("policies").map(written) {
        Some(Some(current)) if current == wanted => return,
        None if wanted.is_empty() => return,
        _ => {}
    }
    if wanted.is_empty() {
        t.remove("policies");
        return;
    }
    let mut tables = ArrayOfTables::new();
    for p in &wanted {
        tables.push(policy_table(p));
    }
    // An inline `[timeout]` table turns this into an array of inline tables.
    t.insert("policies", Item::ArrayOfTables(tables));
}

/// The policies as written in the file, in the order they are tried; None when the item is not
/// a readable list of policies (then it is rewritten).
fn written(item: &Item) -> Option<Vec<TimeoutPolicy>> {
    let tables: Vec<&dyn TableLike> = match item {
        Item::ArrayOfTables(a) => a.iter().map(|t| t as &dyn TableLike).collect(),
        Item::Value(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_inline_table().map(|t| t as &dyn TableLike))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let mut policies = tables
        .into_iter()
        .map(written_policy)
        .collect::<Option<Vec<_>>>()?;
    sort_by_priority(&mut policies);
    Some(policies)
}

fn written_policy(t: &dyn TableLike) -> Option<TimeoutPolicy> {
    let str_of = |key: &str| t.get(key).and_then(Item::as_str);
    let groups = t
        .get("groups")?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    let idle = match str_of("idle")? {
        "off" => None,
        text => Some(humantime::parse_duration(text).ok()?),
    };
    let absolute = match t.get("absolute") {
        Some(item) => Some(humantime::parse_duration(item.as_str()?).ok()?),
        None => None,
    };
    let priority = t.get("priority")?.as_integer()?;
    Some(TimeoutPolicy {
        name: str_of("name")?.to_string(),
        groups,
        idle,
        absolute,
        priority: u32::try_from(priority).ok()?,
    })
}

/// One `[[timeout.policies]]` table, keys in the documented order, a blank line before it.
fn policy_table(p: &TimeoutPolicy) -> Table {
    let mut t = Table::new();
    t.insert("name", Item::Value(Value::from(p.name.as_str())));
    let groups: Array = p.groups.iter().map(String::as_str).collect();
    t.insert("groups", Item::Value(Value::Array(groups)));
    let idle = p.idle.map_or("off".to_string(), duration_text);
    t.insert("idle", Item::Value(Value::from(idle)));
    if let Some(absolute) = p.absolute {
        t.insert(
            "absolute",
            Item::Value(Value::from(duration_text(absolute))),
        );
    }
    t.insert("priority", Item::Value(Value::from(i64::from(p.priority))));
    t.decor_mut().set_prefix("\n");
    t
}

/// `1h`, `1h 30m`: humantime's own format, which the config reader parses back.
fn duration_text(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs().max(1))).to_string()
}
