//! Tests of matching concrete paths to templates, through [`Catalog`].

use super::{Catalog, Operation};

fn catalog(ops: &[(&str, &str)]) -> Catalog {
    Catalog::from_operations(
        ops.iter()
            .map(|(m, p)| Operation {
                method: m.to_string(),
                path: p.to_string(),
                summary: String::new(),
            })
            .collect(),
    )
}

fn matched<'a>(cat: &'a Catalog, method: &str, path: &str) -> Option<&'a str> {
    cat.match_path(method, path).map(|o| o.path.as_str())
}

#[test]
fn literal_segment_beats_param() {
    let cat = catalog(&[("GET", "/users/{userId}"), ("GET", "/users/me")]);
    assert_eq!(matched(&cat, "GET", "/users/me"), Some("/users/me"));
    assert_eq!(matched(&cat, "GET", "/users/42"), Some("/users/{userId}"));
}

#[test]
fn leftmost_literal_wins() {
    let cat = catalog(&[("GET", "/a/{x}/c"), ("GET", "/{y}/b/c")]);
    assert_eq!(matched(&cat, "GET", "/a/b/c"), Some("/a/{x}/c"));
    assert_eq!(matched(&cat, "GET", "/z/b/c"), Some("/{y}/b/c"));
}

#[test]
fn literal_branch_backtracks_to_param_when_it_dead_ends() {
    let cat = catalog(&[
        ("GET", "/users/me/settings"),
        ("GET", "/users/{id}/profile"),
    ]);
    assert_eq!(
        matched(&cat, "GET", "/users/me/profile"),
        Some("/users/{id}/profile")
    );
}

#[test]
fn param_needs_one_non_empty_segment() {
    let cat = catalog(&[("GET", "/users/{userId}")]);
    assert_eq!(matched(&cat, "GET", "/users/"), None);
    assert_eq!(matched(&cat, "GET", "/users"), None);
    assert_eq!(matched(&cat, "GET", "/users/1/2"), None);
}

#[test]
fn trailing_slash_is_significant() {
    let cat = catalog(&[("GET", "/users"), ("GET", "/groups/")]);
    assert_eq!(matched(&cat, "GET", "/users/"), None);
    assert_eq!(matched(&cat, "GET", "/groups"), None);
    assert_eq!(matched(&cat, "GET", "/groups/"), Some("/groups/"));
}

#[test]
fn method_must_be_equal_ignoring_case() {
    let cat = catalog(&[("get", "/users")]);
    assert_eq!(matched(&cat, "get", "/users"), Some("/users"));
    assert_eq!(matched(&cat, "POST", "/users"), None);
}

#[test]
fn no_match_gives_none() {
    let cat = catalog(&[("GET", "/users/{userId}")]);
    assert_eq!(matched(&cat, "GET", "/groups/1"), None);
    assert_eq!(matched(&cat, "GET", ""), None);
    assert_eq!(matched(&cat, "GET", "users/1"), None);
}

#[test]
fn query_string_and_fragment_are_ignored() {
    let cat = catalog(&[("GET", "/users/{userId}")]);
    assert_eq!(
        matched(&cat, "GET", "/users/7?expand=a/b"),
        Some("/users/{userId}")
    );
    assert_eq!(matched(&cat, "GET", "/users/7#x"), Some("/users/{userId}"));
}

#[test]
fn absolute_url_is_reduced_to_its_path() {
    let cat = catalog(&[("GET", "/users/{userId}"), ("GET", "/")]);
    assert_eq!(
        matched(&cat, "GET", "https://api.example.com/users/7?x=1"),
        Some("/users/{userId}")
    );
    assert_eq!(matched(&cat, "GET", "https://api.example.com"), Some("/"));
}

#[test]
fn partly_templated_segment_matches_between_literal_and_param() {
    let cat = catalog(&[
        ("GET", "/files/{id}"),
        ("GET", "/files/{name}.json"),
        ("GET", "/files/index.json"),
    ]);
    assert_eq!(
        matched(&cat, "GET", "/files/index.json"),
        Some("/files/index.json")
    );
    assert_eq!(
        matched(&cat, "GET", "/files/a.json"),
        Some("/files/{name}.json")
    );
    assert_eq!(matched(&cat, "GET", "/files/.json"), Some("/files/{id}"));
    assert_eq!(matched(&cat, "GET", "/files/a.xml"), Some("/files/{id}"));
}

#[test]
fn shipped_catalog_matches_concrete_paths() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/catalog/genesys-cloud-apis.json");
    let cat = Catalog::load(&file).unwrap();
    assert_eq!(
        matched(&cat, "GET", "/api/v2/users/me"),
        Some("/api/v2/users/me")
    );
    assert_eq!(
        matched(&cat, "GET", "/api/v2/users/3b4c/presences/purecloud"),
        Some("/api/v2/users/{userId}/presences/purecloud")
    );
    // Every template matches itself (placeholders are non-empty segments).
    for op in cat.operations() {
        assert!(cat.match_path(&op.method, &op.path).is_some(), "{op:?}");
    }
}
