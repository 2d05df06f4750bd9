//! Parsing of catalog documents: OpenAPI 3, Swagger 2, or a plain `[{method, path, summary}]`
//! list. Every malformed input becomes a `CatalogError::Invalid` naming where it went wrong.

use serde_json::{Map, Value};

use super::{CatalogError, Operation};

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

#[cfg(test)]
mod tests {
    use super::super::{Catalog, CatalogError};

    fn ops(cat: &Catalog) -> Vec<(String, String, String)> {
        cat.operations()
            .iter()
            .map(|o| (o.method.clone(), o.path.clone(), o.summary.clone()))
            .collect()
    }

    fn triple(m: &str, p: &str, s: &str) -> (String, String, String) {
        (m.to_string(), p.to_string(), s.to_string())
    }

    fn error_message(text: &str) -> String {
        match Catalog::from_json(text, "test.json") {
            Err(CatalogError::Invalid { path, message }) => {
                assert_eq!(path, "test.json");
                message
            }
            Err(other) => panic!("unexpected error kind: {other}"),
            Ok(_) => panic!("accepted invalid input: {text}"),
        }
    }

    #[test]
    fn plain_list_loads_with_uppercased_methods() {
        let cat = Catalog::from_json(
            r#"[{"method":"get","path":"/a","summary":"A"},{"method":"POST","path":"/b"}]"#,
            "x",
        )
        .unwrap();
        assert_eq!(
            ops(&cat),
            vec![triple("GET", "/a", "A"), triple("POST", "/b", "")]
        );
    }

    #[test]
    fn openapi3_reads_methods_and_ignores_path_item_keys() {
        let doc = r#"{"openapi":"3.0.1","paths":{
            "/users/{userId}":{
                "summary":"path summary","parameters":[{"name":"userId"}],
                "get":{"summary":"Get user"},
                "delete":{"operationId":"deleteUser"},
                "patch":{}
            },
            "x-ext":{"get":{}}
        }}"#;
        let cat = Catalog::from_json(doc, "x").unwrap();
        let mut got = ops(&cat);
        got.sort();
        assert_eq!(
            got,
            vec![
                triple("DELETE", "/users/{userId}", "deleteUser"),
                triple("GET", "/users/{userId}", "Get user"),
                triple("PATCH", "/users/{userId}", ""),
            ]
        );
    }

    #[test]
    fn swagger2_prefixes_base_path() {
        let doc = r#"{"swagger":"2.0","basePath":"/api/v2/","paths":{
            "/users":{"get":{"summary":"List"}}, "/users/me":{"head":{}}}}"#;
        let mut got = ops(&Catalog::from_json(doc, "x").unwrap());
        got.sort();
        assert_eq!(
            got,
            vec![
                triple("GET", "/api/v2/users", "List"),
                triple("HEAD", "/api/v2/users/me", ""),
            ]
        );
    }

    #[test]
    fn swagger2_without_base_path_keeps_paths() {
        let doc = r#"{"swagger":"2.0","paths":{"/a":{"put":{"summary":"Put"}}}}"#;
        let got = ops(&Catalog::from_json(doc, "x").unwrap());
        assert_eq!(got, vec![triple("PUT", "/a", "Put")]);
    }

    #[test]
    fn duplicate_method_and_path_keep_the_first() {
        let cat = Catalog::from_json(
            r#"[{"method":"GET","path":"/a","summary":"one"},
                {"method":"get","path":"/a","summary":"two"},
                {"method":"POST","path":"/a","summary":"three"}]"#,
            "x",
        )
        .unwrap();
        assert_eq!(
            ops(&cat),
            vec![triple("GET", "/a", "one"), triple("POST", "/a", "three")]
        );
    }

    #[test]
    fn non_json_names_line_and_column() {
        let msg = error_message("[\n  {\"method\": GET}\n]");
        assert!(msg.contains("line 2, column"), "{msg}");
    }

    #[test]
    fn missing_field_names_the_index() {
        let msg = error_message(r#"[{"method":"GET","path":"/a"},{"method":"GET"}]"#);
        assert!(msg.contains("entry 1") && msg.contains("`path`"), "{msg}");
    }

    #[test]
    fn wrongly_typed_field_names_the_index() {
        let msg = error_message(r#"[{"method":7,"path":"/a"}]"#);
        assert!(msg.contains("entry 0") && msg.contains("`method`"), "{msg}");
    }

    #[test]
    fn non_object_entry_is_rejected() {
        let msg = error_message(r#"[{"method":"GET","path":"/a"}, "GET /b"]"#);
        assert!(msg.contains("entry 1"), "{msg}");
    }

    #[test]
    fn path_must_start_with_slash() {
        let msg = error_message(r#"[{"method":"GET","path":"a/b"}]"#);
        assert!(msg.contains("must start with `/`"), "{msg}");
    }

    #[test]
    fn wrong_top_level_shape_is_rejected() {
        assert!(error_message("42").contains("found a number"));
        assert!(error_message(r#"{"info":{}}"#).contains("OpenAPI 3"));
    }

    #[test]
    fn unsupported_versions_are_rejected() {
        assert!(error_message(r#"{"swagger":"1.2","paths":{}}"#).contains("swagger"));
        assert!(error_message(r#"{"openapi":"2.0","paths":{}}"#).contains("openapi"));
    }

    #[test]
    fn openapi_without_paths_object_is_rejected() {
        assert!(error_message(r#"{"openapi":"3.1.0"}"#).contains("`paths`"));
        assert!(error_message(r#"{"openapi":"3.1.0","paths":[]}"#).contains("`paths`"));
        let msg = error_message(r#"{"openapi":"3.1.0","paths":{"/a":{"get":true}}}"#);
        assert!(msg.contains("\"/a\"") && msg.contains("get"), "{msg}");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = Catalog::load(std::path::Path::new("/nonexistent/catalog.json")).unwrap_err();
        assert!(matches!(err, CatalogError::Io { .. }));
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.json");
        std::fs::write(&file, b"[{\"method\":\"GET\",\"path\":\"/\xff\"}]").unwrap();
        assert!(matches!(
            Catalog::load(&file),
            Err(CatalogError::Invalid { .. })
        ));
    }

    #[test]
    fn shipped_catalog_loads_every_operation() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config/catalog/genesys-cloud-apis.json");
        let cat = Catalog::load(&file).unwrap();
        assert_eq!(cat.len(), 3280);
    }
}
