//! Tests of the loaders (OpenAPI 3, Swagger 2, plain list) and their errors, through [`Catalog`].

use super::{Catalog, CatalogError};

fn ops(cat: &Catalog) -> Vec<(String, String, String)> {
    cat.operations()
        .iter()
        .map(|o| (o.method.clone(), o.path.clone(), o.summary.clone()))
        .collect()
}

/// The operations of a document that must load, sorted (method + path order is the
/// document's, which JSON object order does not pin).
fn sorted_ops(doc: &str) -> Vec<(String, String, String)> {
    let mut got = ops(&Catalog::from_json(doc, "x").unwrap());
    got.sort();
    got
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
    assert_eq!(
        sorted_ops(doc),
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
    assert_eq!(
        sorted_ops(doc),
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
