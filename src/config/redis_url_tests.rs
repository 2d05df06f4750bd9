//! The forms of `state.redis_url`: accepted and refused, with the error's place.

use std::path::Path;

use super::*;
use crate::config::{parse, Severity};

fn sentinel(text: &str) -> Result<SentinelUrl, String> {
    SentinelUrl::parse(text).expect("a Sentinel URL")
}

/// The errors of a config whose `[state]` has `redis_url = <url>`: (line, column, message).
fn url_errors(url: &str) -> Vec<(usize, usize, String)> {
    let text = format!(
        "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n[state]\nbackend = \"redis\"\n\
         redis_url = \"{url}\"\n"
    );
    match parse(&text, Path::new("cfg/idlegate.toml")) {
        Ok(_) => Vec::new(),
        Err(diags) => diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                assert_eq!(d.key, "state.redis_url");
                (d.line, d.column, d.message)
            })
            .collect(),
    }
}

#[test]
fn sentinel_urls_with_one_or_more_sentinels_are_accepted() {
    let u =
        sentinel("redis+sentinel://10.0.0.1:26379,sentinel-b:26380,[::1]:26381/mymaster").unwrap();
    let expected = [("10.0.0.1", 26379), ("sentinel-b", 26380), ("::1", 26381)];
    let expected: Vec<(String, u16)> = expected.iter().map(|(h, p)| (h.to_string(), *p)).collect();
    assert_eq!(u.sentinels, expected);
    assert_eq!(u.master, "mymaster");
    assert_eq!((u.username, u.password, u.db), (None, None, 0));
    let u = sentinel("redis+sentinel://app:p%40ss@s1:26379/m?db=3").unwrap();
    assert_eq!(u.username.as_deref(), Some("app"));
    assert_eq!(u.password.as_deref(), Some("p@ss"));
    assert_eq!(u.db, 3);
    let u = sentinel("redis+sentinel://:secret@s1:26379/m").unwrap();
    assert_eq!((u.username, u.password.as_deref()), (None, Some("secret")));
    assert!(!format!("{:?}", sentinel("redis+sentinel://:secret@s1:1/m")).contains("secret"));
    assert!(SentinelUrl::parse("redis://127.0.0.1:6379").is_none());
}

#[test]
fn malformed_sentinel_urls_say_what_is_wrong() {
    let cases = [
        ("redis+sentinel:///m", "no sentinel address"),
        ("redis+sentinel://s1/m", "has no port"),
        ("redis+sentinel://s1:0/m", "bad port"),
        ("redis+sentinel://s1:70000/m", "bad port"),
        ("redis+sentinel://s1:x/m", "bad port"),
        ("redis+sentinel://s1:26379,/m", "has no port"),
        ("redis+sentinel://s1:26379", "no master name"),
        ("redis+sentinel://s1:26379/", "no master name"),
        ("redis+sentinel://s 1:26379/m", "bad host"),
        ("redis+sentinel://s1:26379/m?timeout=1", "only db=N"),
        ("redis+sentinel://u:%zz@s1:26379/m", "%-escape"),
    ];
    for (url, problem) in cases {
        let err = sentinel(url).expect_err(url);
        assert!(err.contains(problem), "{url}: {err}");
    }
    let many = vec!["s:1"; MAX_SENTINELS + 1].join(",");
    assert!(sentinel(&format!("redis+sentinel://{many}/m")).is_err());
}

#[test]
fn the_config_accepts_every_redis_url_form() {
    for url in [
        "redis://127.0.0.1:6379",
        "rediss://r:6380",
        "redis+sentinel://127.0.0.1:26379/m",
        "redis+sentinel://user:pw@a:26379,b:26379/m?db=1",
        "redis+cluster://127.0.0.1:7000",
        "redis+cluster://user:pw@a:7000,b:7001,[::1]:7002/",
    ] {
        assert_eq!(url_errors(url), [], "{url}");
    }
}

#[test]
fn the_config_refuses_bad_redis_urls_at_their_line_and_column() {
    for (url, problem) in [
        ("redis+sentinel:///m", "no sentinel address"),
        ("redis+sentinel://s1:99999/m", "bad port"),
        ("redis+sentinel://s1:26379", "no master name"),
        ("redis+cluster://", "no node address"),
        ("redis+cluster://n1:7000/1", "database 0 only"),
        ("http://x", "expected redis://host:port"),
    ] {
        let errors = url_errors(url);
        assert_eq!(errors.len(), 1, "{url}: {errors:?}");
        let (line, column, message) = &errors[0];
        assert_eq!((*line, *column), (5, 13), "{url}");
        assert!(message.contains(problem), "{url}: {message}");
    }
}

fn cluster(text: &str) -> Result<ClusterUrl, String> {
    ClusterUrl::parse(text).expect("a Cluster URL")
}

#[test]
fn cluster_urls_list_seed_nodes_with_an_optional_user_and_password() {
    let u = cluster("redis+cluster://10.0.0.1:7000,node-b:7001,[::1]:7002").unwrap();
    let expected = [("10.0.0.1", 7000), ("node-b", 7001), ("::1", 7002)];
    let expected: Vec<(String, u16)> = expected.iter().map(|(h, p)| (h.to_string(), *p)).collect();
    assert_eq!(u.nodes, expected);
    assert_eq!((u.username, u.password), (None, None));
    let u = cluster("redis+cluster://app:p%40ss@n1:7000/").unwrap();
    assert_eq!(u.username.as_deref(), Some("app"));
    assert_eq!(u.password.as_deref(), Some("p@ss"));
    assert!(!format!("{u:?}").contains("p@ss"));
    assert!(ClusterUrl::parse("redis://127.0.0.1:6379").is_none());
    assert!(ClusterUrl::parse("redis+sentinel://s:1/m").is_none());
}

#[test]
fn malformed_cluster_urls_say_what_is_wrong() {
    let cases = [
        ("redis+cluster://", "no node address"),
        ("redis+cluster://n1", "has no port"),
        ("redis+cluster://n1:0", "bad port"),
        ("redis+cluster://n1:7000,", "has no port"),
        ("redis+cluster://n 1:7000", "bad host"),
        ("redis+cluster://n1:7000/2", "database 0 only"),
        ("redis+cluster://n1:7000?db=1", "database 0 only"),
        ("redis+cluster://u:%zz@n1:7000", "%-escape"),
    ];
    for (url, problem) in cases {
        let err = cluster(url).expect_err(url);
        assert!(err.contains(problem), "{url}: {err}");
    }
    let many = vec!["n:1"; MAX_SENTINELS + 1].join(",");
    assert!(cluster(&format!("redis+cluster://{many}")).is_err());
}

#[test]
fn redaction_hides_the_password_only() {
    assert_eq!(
        redacted_redis_url("redis+cluster://u:pw@a:1,b:2"),
        "redis+cluster://u:***@a:1,b:2"
    );
    assert_eq!(
        redacted_redis_url("redis+sentinel://u:pw@a:1,b:2/m?db=1"),
        "redis+sentinel://u:***@a:1,b:2/m?db=1"
    );
    assert_eq!(
        redacted_redis_url("redis://:pw@h:6379/0"),
        "redis://:***@h:6379/0"
    );
    assert_eq!(redacted_redis_url("redis://h:6379"), "redis://h:6379");
    assert_eq!(redacted_redis_url("redis://u@h:6379"), "redis://u@h:6379");
}
