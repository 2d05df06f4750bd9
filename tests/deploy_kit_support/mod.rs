//! Helpers of tests/deploy_kit.rs: the kit's files, the PromQL expressions of the dashboard
//! and the alert rules, and the metric names those expressions use. Running programs (the
//! checkers, the gateway on a read-only ConfigMap) is in `processes`.

pub mod processes;

pub use processes::*;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A path under the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The Kubernetes variants: each folder of deploy/kubernetes with a kustomization.
pub fn variants() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo("deploy/kubernetes"))
        .expect("deploy/kubernetes")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("kustomization.yaml").is_file())
        .collect();
    out.sort();
    out
}

/// Every Kubernetes object file of a variant (the kustomization itself is no object).
pub fn manifests(variant: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(variant)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .collect();
    out.sort();
    out
}

/// The `expr` of every rule in a Prometheus rules file: a one-line value, or a block scalar
/// (`>-`, `|`) made of the lines indented deeper than the `expr:` key.
pub fn rule_exprs(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(value) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if !matches!(value, ">" | ">-" | "|" | "|-") {
            out.push(value.to_string());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .map(|l| l.trim())
            .collect();
        out.push(block.join(" "));
    }
    out
}

/// Every PromQL expression of a Grafana dashboard: the panels' targets (rows included) and
/// the metric of each `label_values(metric, label)` variable.
pub fn dashboard_exprs(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for panel in all_panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(
                target["expr"]
                    .as_str()
                    .expect("a target's expr")
                    .to_string(),
            );
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(q) = var["query"]["query"].as_str() {
            let inner = q.strip_prefix("label_values(").expect("label_values(…)");
            out.push(inner.split(',').next().unwrap().to_string());
        }
    }
    out
}

/// The dashboard's panels, those inside rows included.
pub fn all_panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        out.push(panel);
        out.extend(panel["panels"].as_array().into_iter().flatten());
    }
    out
}

const KEYWORDS: [&str; 11] = [
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
];

/// The metric names a PromQL expression selects: identifiers that are not functions or
/// aggregations (followed by `(`), keywords, numbers, durations, Grafana `$variables`, label
/// names (in `{…}` and in `by (…)`-like lists) or strings.
pub fn metric_names(expr: &str) -> Vec<String> {
    let cleaned = strip_label_lists(&strip_enclosed(expr));
    let chars: Vec<char> = cleaned.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_ident(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let next = chars[i..].iter().find(|c| !c.is_whitespace());
        let variable = start > 0 && chars[start - 1] == '$';
        let numeric = word.starts_with(|c: char| c.is_ascii_digit());
        if next == Some(&'(') || variable || numeric || KEYWORDS.contains(&word.as_str()) {
            continue;
        }
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.'
}

/// Blanks out strings, `{label matchers}` and `[ranges]`.
fn strip_enclosed(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut closing: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match closing {
            Some(end) => {
                if end == '"' && !escaped && c == '\\' {
                    escaped = true;
                    continue;
                }
                if c == end && !escaped {
                    closing = None;
                }
                escaped = false;
                out.push(' ');
            }
            None => {
                closing = match c {
                    '"' => Some('"'),
                    '{' => Some('}'),
                    '[' => Some(']'),
                    _ => None,
                };
                out.push(if closing.is_some() { ' ' } else { c });
            }
        }
    }
    out
}

/// Blanks out `by`, `without`, `on`, `ignoring`, `group_left` and `group_right` with the
/// label list that follows them.
fn strip_label_lists(expr: &str) -> String {
    let mut out = expr.to_string();
    for kw in &KEYWORDS[3..9] {
        let mut from = 0;
        while let Some(at) = find_word(&out, kw, from) {
            let after = at + kw.len();
            let rest = &out[after..];
            let open = rest.len() - rest.trim_start().len();
            from = after;
            if !rest.trim_start().starts_with('(') {
                continue;
            }
            // The keyword goes too, so that `sum by (le) (…)` reads as the call `sum (…)`.
            let open_at = after + open;
            let end = out[open_at..]
                .find(')')
                .map_or(out.len(), |e| open_at + e + 1);
            out.replace_range(at..end, &" ".repeat(end - at));
        }
    }
    out
}

/// The next position of `word` as a whole word, from `from`.
fn find_word(text: &str, word: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(pos) = text[at..].find(word) {
        let start = at + pos;
        let end = start + word.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(start);
        }
        at = end;
    }
    None
}

/// The metric families of a Prometheus text exposition (its `# TYPE` lines).
pub fn families(exposition: &str) -> Vec<String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The names in `used` that are no family of `families`: a histogram's `_bucket`, `_sum` and
/// `_count` series count as their family.
pub fn unknown_names(used: &[String], families: &[String]) -> Vec<String> {
    let known = |name: &str| {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        families.iter().any(|f| f == name || f == family)
    };
    used.iter().filter(|n| !known(n)).cloned().collect()
}
