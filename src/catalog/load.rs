//! Parsing of catalog documents: OpenAPI 3, Swagger 2, or a plain `[{method, path, summary}]`
//! list. Every malformed input becomes a `CatalogError::Invalid` naming where it went wrong.

use serde_json::{Map, Value};

use super::operation::{CatalogError, Operation};

/// The HTTP methods an OpenAPI / Swagger path item may hold; any other key of a path item
/// (`parameters`, `summary`, `servers`, `$ref`, `x-…`) is not an operation.
const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Parses a catalog document from raw bytes (UTF-8 errors are reported with their position).
pub(super) fn parse_operations(bytes: &[u8], origin: &str) -> Result<Vec<Operation>, CatalogError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        invalid(
            origin,
            format!(
                "not valid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let ops = match &doc {
        Value::Array(items) => plain_list(items, origin)?,
        Value::Object(obj) if obj.contains_key("openapi") => openapi3(obj, origin)?,
        Value::Object(obj) if obj.contains_key("swagger") => swagger2(obj, origin)?,
        Value::Object(_) => {
            return Err(invalid(
                origin,
                "expected an OpenAPI 3 document (an `openapi` key), a Swagger 2 document \
                 (`swagger: \"2.0\"`) or a list of {method, path, summary}",
            ))
        }
        other => {
            return Err(invalid(
                origin,
                format!(
                    "expected a JSON object or array at the top level, found {}",
                    kind(other)
                ),
            ))
        }
    };
    Ok(dedupe(ops))
}

fn plain_list(items: &[Value], origin: &str) -> Result<Vec<Operation>, CatalogError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| list_entry(item, index, origin))
        .collect()
}

fn list_entry(item: &Value, index: usize, origin: &str) -> Result<Operation, CatalogError> {
    let obj = item.as_object().ok_or_else(|| {
        invalid(
            origin,
            format!(
                "entry {index}: expected an object {{method, path, summary}}, found {}",
                kind(item)
            ),
        )
    })?;
    let method = required_str(obj, "method", index, origin)?;
    let path = required_str(obj, "path", index, origin)?;
    // The summary is descriptive only, so a missing or null one is tolerated.
    let summary = match obj.get("summary") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(invalid(
                origin,
                format!(
                    "entry {index}: field `summary` must be a string, found {}",
                    kind(other)
                ),
            ))
        }
    };
    check_method(method, origin, &format!("entry {index}"))?;
    check_path(path, origin, &format!("entry {index}"))?;
    Ok(Operation {
        method: method.to_ascii_uppercase(),
        path: path.to_string(),
        summary,
    })
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    index: usize,
    origin: &str,
) -> Result<&'a str, CatalogError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s),
        None => Err(invalid(
            origin,
            format!("entry {index}: missing field `{field}`"),
        )),
        Some(other) => Err(invalid(
            origin,
            format!(
                "entry {index}: field `{field}` must be a string, found {}",
                kind(other)
            ),
        )),
    }
}

fn openapi3(obj: &Map<String, Value>, origin: &str) -> Result<Vec<Operation>, CatalogError> {
    match obj.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.") => {}
        Some(v) => {
            return Err(invalid(
                origin,
                format!("unsupported `openapi` version {v} (expected 3.x)"),
            ))
        }
        None => {}
    }
    operations_of_paths(obj, "", origin)
}

fn swagger2(obj: &Map<String, Value>, origin: &str) -> Result<Vec<Operation>, CatalogError> {
    match obj.get("swagger") {
        Some(Value::String(v)) if v == "2.0" => {}
        Some(v) => {
            return Err(invalid(
                origin,
                format!("unsupported `swagger` version {v} (expected \"2.0\")"),
            ))
        }
        None => {}
    }
    let base = match obj.get("basePath") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.trim_end_matches('/'),
        Some(other) => {
            return Err(invalid(
                origin,
                format!("`basePath` must be a string, found {}", kind(other)),
            ))
        }
    };
    if !base.is_empty() && !base.starts_with('/') {
        return Err(invalid(
            origin,
            format!("`basePath` {base:?} must start with `/`"),
        ));
    }
    operations_of_paths(obj, base, origin)
}

/// Walks `paths` → path item → method → operation, shared by OpenAPI 3 and Swagger 2.
fn operations_of_paths(
    doc: &Map<String, Value>,
    base: &str,
    origin: &str,
) -> Result<Vec<Operation>, CatalogError> {
    let paths = match doc.get("paths") {
        Some(Value::Object(paths)) => paths,
        None => return Err(invalid(origin, "missing `paths` object")),
        Some(other) => {
            return Err(invalid(
                origin,
                format!("`paths` must be an object, found {}", kind(other)),
            ))
        }
    };
    let mut ops = Vec::new();
    for (path, item) in paths {
        // Specification extensions may sit beside the paths.
        if path.starts_with("x-") {
            continue;
        }
        check_path(path, origin, &format!("paths[{path:?}]"))?;
        let item = item.as_object().ok_or_else(|| {
            invalid(
                origin,
                format!(
                    "paths[{path:?}]: expected a path item object, found {}",
                    kind(item)
                ),
            )
        })?;
        for (key, op) in item {
            let lower = key.to_ascii_lowercase();
            if !OPERATION_KEYS.contains(&lower.as_str()) {
                continue;
            }
            let op = op.as_object().ok_or_else(|| {
                invalid(
                    origin,
                    format!(
                        "paths[{path:?}].{key}: expected an operation object, found {}",
                        kind(op)
                    ),
                )
            })?;
            ops.push(Operation {
                method: lower.to_ascii_uppercase(),
                path: format!("{base}{path}"),
                summary: operation_summary(op),
            });
        }
    }
    Ok(ops)
}

/// `summary`, else `operationId`, else empty: the type-ahead needs some text but never fails
/// for want of it.
fn operation_summary(op: &Map<String, Value>) -> String {
    ["summary", "operationId"]
        .iter()
        .filter_map(|k| op.get(*k).and_then(Value::as_str))
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

fn check_method(method: &str, origin: &str, at: &str) -> Result<(), CatalogError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid(
            origin,
            format!("{at}: method {method:?} is not an HTTP method"),
        ));
    }
    Ok(())
}

fn check_path(path: &str, origin: &str, at: &str) -> Result<(), CatalogError> {
    if !path.starts_with('/') {
        return Err(invalid(
            origin,
            format!("{at}: path {path:?} must start with `/`"),
        ));
    }
    Ok(())
}

/// Keeps the first of each method + path pair, in source order.
pub(super) fn dedupe(ops: Vec<Operation>) -> Vec<Operation> {
    let mut seen = hashbrown::HashSet::with_capacity(ops.len());
    ops.into_iter()
        .filter(|op| seen.insert((op.method.clone(), op.path.clone())))
        .collect()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn invalid(origin: &str, message: impl Into<String>) -> CatalogError {
    CatalogError::Invalid {
        path: origin.to_string(),
        message: message.into(),
    }
}
