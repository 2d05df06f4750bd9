//! The default exclusion groups file (`[[group]]` tables, docs/reference.md, "Default exclusion groups") and the built-in copy.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use crate::classify::{Group, Pattern};

use super::diagnostic::{Diagnostic, Severity};
use super::values;
use super::walk::{parse_document, Field, Report, Section, Source};

/// The shipped file, compiled in.
const BUILTIN_TEXT: &str = include_str!("../../config/default-exclusions.toml");
/// The name diagnostics of the built-in list would carry.
const BUILTIN_NAME: &str = "<built-in>/default-exclusions.toml";

/// Reads a defaults file's text. Diagnostics name `file`.
pub(crate) fn parse_groups(text: &str, file: &Path) -> (Vec<Group>, Vec<Diagnostic>) {
    let source = Source::new(text, file);
    let mut report = Report::new(&source);
    let groups = match parse_document(text, &mut report) {
        Some(doc) => read_groups(&Section::root(doc.as_table()), &mut report),
        None => Vec::new(),
    };
    (groups, report.diagnostics)
}

/// The built-in groups. The shipped file is pinned valid by a test, so an error here cannot
/// happen in a release; should it, the list is empty (nothing excluded: the safe direction).
pub(crate) fn builtin() -> Vec<Group> {
    static GROUPS: OnceLock<Vec<Group>> = OnceLock::new();
    GROUPS
        .get_or_init(|| {
            let (groups, diags) = parse_groups(BUILTIN_TEXT, Path::new(BUILTIN_NAME));
            let ok = diags.iter().all(|d| d.severity != Severity::Error);
            if ok {
                groups
            } else {
                Vec::new()
            }
        })
        .clone()
}

fn read_groups(root: &Section, r: &mut Report) -> Vec<Group> {
    root.reject_unknown(&["group"], r);
    let Some(tables) = root.get("group").and_then(|f| f.tables(r)) else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut groups = Vec::new();
    for table in &tables {
        let group = read_group(table, r);
        // Duplicates are checked even when the group has other errors.
        if let Some(id_field) = table.get("id") {
            if let Some(id) = id_field.peek_str() {
                if !seen.insert(id.to_string()) {
                    id_field.error(r, format!("duplicate group id {id:?}"));
                    continue;
                }
            }
        }
        groups.extend(group);
    }
    groups
}

fn read_group(t: &Section, r: &mut Report) -> Option<Group> {
    t.reject_unknown(&["id", "title", "description", "routes", "caution"], r);
    let id = t.required("id", r).and_then(|f| {
        let id = values::name(&f, r)?;
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            f.error(r, "an id may hold only letters, digits, '-', '_' and '.'");
            return None;
        }
        Some(id)
    });
    let title = t.required("title", r).and_then(|f| values::name(&f, r));
    let description = t
        .required("description", r)
        .and_then(|f| values::name(&f, r));
    let routes = t.required("routes", r).and_then(|f| read_routes(&f, r));
    let caution = match t.get("caution") {
        Some(f) => Some(values::name(&f, r)?),
        None => None,
    };
    Some(Group {
        id: id?,
        title: title?,
        description: description?,
        routes: routes?,
        caution,
    })
}

fn read_routes(f: &Field, r: &mut Report) -> Option<Vec<Pattern>> {
    let strings = f.strings(r)?;
    if strings.is_empty() {
        f.error(r, "a group needs at least one route");
        return None;
    }
    let count = strings.len();
    let routes: Vec<Pattern> = strings
        .into_iter()
        .filter_map(|(field, text)| pattern(&field, text, r))
        .collect();
    (routes.len() == count).then_some(routes)
}

/// Parses one exclusion pattern, reporting an invalid one under its own key.
pub(crate) fn pattern(f: &Field, text: &str, r: &mut Report) -> Option<Pattern> {
    match Pattern::parse(text) {
        Ok(p) => Some(p),
        Err(e) => {
            f.error(r, e.to_string());
            None
        }
    }
}
