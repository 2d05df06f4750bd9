//! Tests of the type-ahead search, through [`Catalog`].

use super::{Catalog, Operation};

fn catalog(ops: &[(&str, &str, &str)]) -> Catalog {
    Catalog::from_operations(
        ops.iter()
            .map(|(m, p, s)| Operation {
                method: m.to_string(),
                path: p.to_string(),
                summary: s.to_string(),
            })
            .collect(),
    )
}

fn sample() -> Catalog {
    catalog(&[
        ("GET", "/api/v2/users", "Get the list of available users."),
        ("POST", "/api/v2/users", "Create user"),
        ("GET", "/api/v2/users/{userId}", "Get user."),
        (
            "GET",
            "/api/v2/users/{userId}/presences/purecloud",
            "Get a user's presence",
        ),
        (
            "PATCH",
            "/api/v2/users/{userId}/presences/purecloud",
            "Patch a user's presence",
        ),
        (
            "GET",
            "/api/v2/presencedefinitions",
            "Get a list of presence definitions",
        ),
        (
            "GET",
            "/api/v2/analytics/userpresence/details",
            "Query user presence details",
        ),
        (
            "GET",
            "/api/v2/routing/queues",
            "Get list of queues for presence-aware routing",
        ),
        (
            "GET",
            "/api/v2/notifications/channels",
            "The list of existing channels",
        ),
    ])
}

fn paths<'a>(found: &[&'a Operation]) -> Vec<(&'a str, &'a str)> {
    found
        .iter()
        .map(|o| (o.method.as_str(), o.path.as_str()))
        .collect()
}

#[test]
fn leading_method_word_filters_by_method() {
    let cat = sample();
    let found = cat.search("patch presence", 20);
    assert_eq!(
        paths(&found),
        vec![("PATCH", "/api/v2/users/{userId}/presences/purecloud")]
    );
    assert!(cat
        .search("GET presence", 20)
        .iter()
        .all(|o| o.method == "GET"));
}

#[test]
fn method_word_alone_lists_that_method_in_catalog_order() {
    let cat = sample();
    let found = cat.search("post", 20);
    assert_eq!(paths(&found), vec![("POST", "/api/v2/users")]);
}

#[test]
fn param_placeholder_is_found_by_name() {
    let cat = sample();
    let found = cat.search("userid", 20);
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|o| o.path.contains("{userId}")));
    assert_eq!(cat.search("{userId}", 20).len(), 3);
}

#[test]
fn ranking_is_segment_prefix_then_path_substring_then_summary() {
    let cat = sample();
    let found = cat.search("get presence", 20);
    assert_eq!(
        paths(&found),
        vec![
            // segment prefix, shorter path first
            ("GET", "/api/v2/presencedefinitions"),
            ("GET", "/api/v2/users/{userId}/presences/purecloud"),
            // substring of a segment
            ("GET", "/api/v2/analytics/userpresence/details"),
            // summary only
            ("GET", "/api/v2/routing/queues"),
        ]
    );
}

#[test]
fn every_word_must_match() {
    let cat = sample();
    let found = cat.search("users purecloud", 20);
    assert_eq!(found.len(), 2);
    assert!(cat.search("users queues", 20).is_empty());
}

#[test]
fn search_is_case_insensitive() {
    let cat = sample();
    assert_eq!(
        paths(&cat.search("NOTIFICATIONS", 20)),
        paths(&cat.search("notifications", 20))
    );
    assert_eq!(cat.search("Notifications", 20).len(), 1);
}

#[test]
fn word_with_slash_matches_the_path() {
    let cat = sample();
    let found = cat.search("/api/v2/users/", 20);
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|o| o.path.starts_with("/api/v2/users/")));
    let found = cat.search("get /api/v2/users/{userId}", 20);
    assert_eq!(found[0].path, "/api/v2/users/{userId}");
    assert_eq!(found.len(), 2);
}

#[test]
fn limit_caps_the_answer_and_keeps_the_best() {
    let cat = sample();
    let all = cat.search("presence", 20);
    let two = cat.search("presence", 2);
    assert_eq!(paths(&two), paths(&all[..2]));
    assert!(cat.search("presence", 0).is_empty());
}

#[test]
fn empty_query_gives_the_first_ops() {
    let cat = sample();
    let found = cat.search("   ", 3);
    assert_eq!(
        paths(&found),
        paths(&cat.operations().iter().take(3).collect::<Vec<_>>())
    );
}

#[test]
fn no_match_gives_empty() {
    assert!(sample().search("zzzz", 20).is_empty());
    assert!(sample().search("head users", 20).is_empty());
}

#[test]
fn shipped_catalog_answers_presence_query() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/catalog/genesys-cloud-apis.json");
    let cat = Catalog::load(&file).unwrap();
    let found = cat.search("get presence", 20);
    assert!(found.len() >= 10, "{found:?}");
    assert!(found.iter().all(|o| o.method == "GET"));
    assert!(found
        .iter()
        .any(|o| o.path == "/api/v2/users/{userId}/presences/purecloud"));
}
