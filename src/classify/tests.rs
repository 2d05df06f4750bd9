//! Classifier tests: precedence, labels, and agreement of the trie with `Pattern::matches`.

use super::*;
use http::Method;

fn pat(text: &str) -> Pattern {
    Pattern::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn group(id: &str, routes: &[&str]) -> Group {
    Group {
        id: id.to_string(),
        title: id.to_string(),
        description: String::new(),
        routes: routes.iter().map(|r| pat(r)).collect(),
        caution: None,
    }
}

/// The six groups of the draft default-exclusions.toml (docs/background-apis.md).
fn shipped_groups() -> Vec<Group> {
    vec![
        group(
            "client-diagnostics",
            &[
                "GET /api/v2/diagnostics/logcapture/browser/users/{userId}",
                "POST /api/v2/diagnostics/trace",
                "POST /api/v2/diagnostics/trace/backgroundassistant",
                "POST /api/v2/diagnostics/newrelic/insights",
                "POST /api/v2/diagnostics/newrelic/insights/backgroundassistant",
                "POST /api/v2/diagnostics/logcapture/browser/entries",
            ],
        ),
        group(
            "token-checks",
            &[
                "HEAD /api/v2/tokens/me",
                "GET /api/v2/tokens/me",
                "GET /api/v2/users/me",
            ],
        ),
        group(
            "notification-keepalive",
            &[
                "HEAD /api/v2/notifications/channels/{channelId}",
                "POST /api/v2/notifications/channels",
                "PUT /api/v2/notifications/channels/{channelId}/subscriptions",
            ],
        ),
        group(
            "presence-polling",
            &[
                "GET /api/v2/users/{userId}/presences/purecloud",
                "GET /api/v2/users/{userId}/routingstatus",
            ],
        ),
        group(
            "stats-polling",
            &[
                "POST /api/v2/analytics/queues/observations/query",
                "GET /api/v2/voicemail/me/mailbox",
            ],
        ),
        group(
            "interaction-media-sync",
            &[
                "GET /api/v2/conversations/{conversationId}",
                "GET /api/v2/conversations",
                "GET /api/v2/stations/{stationId}",
                "POST /api/v2/recordings/screensessions/metadata",
            ],
        ),
    ]
}

fn all_ids(groups: &[Group]) -> Vec<String> {
    groups.iter().map(|g| g.id.clone()).collect()
}

fn label<'a>(
    c: &'a Classifier,
    m: Method,
    path: &str,
    q: Option<&str>,
    nt: bool,
) -> Option<&'a str> {
    c.classify(&m, path, q, nt)
        .map(|id| c.labels()[id].as_str())
}

#[test]
fn classifier_is_clone_send_sync_debug() {
    fn check<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    check::<Classifier>();
}

#[test]
fn labels_in_precedence_order() {
    let groups = shipped_groups();
    let enabled = vec![
        "presence-polling".to_string(),
        "client-diagnostics".to_string(),
    ];
    let custom = [pat("GET  /a/{x}"), pat("* /b")];
    let c = Classifier::new(&groups, &enabled, &custom, true);
    assert_eq!(
        c.labels(),
        [
            "no-touch-header",
            "client-diagnostics",
            "presence-polling",
            "GET  /a/{x}",
            "* /b"
        ]
    );
    let without = Classifier::new(&groups, &enabled, &custom, false);
    assert_eq!(without.labels()[0], "client-diagnostics");
}

#[test]
fn no_touch_header_comes_first_only_when_configured() {
    let groups = shipped_groups();
    let c = Classifier::new(&groups, &all_ids(&groups), &[], true);
    assert_eq!(
        label(&c, Method::GET, "/api/v2/users/me", None, true),
        Some("no-touch-header")
    );
    assert_eq!(
        label(&c, Method::GET, "/anything", None, true),
        Some("no-touch-header")
    );
    let off = Classifier::new(&groups, &all_ids(&groups), &[], false);
    assert_eq!(label(&off, Method::GET, "/anything", None, true), None);
    assert_eq!(
        label(&off, Method::GET, "/api/v2/users/me", None, true),
        Some("token-checks")
    );
}

#[test]
fn groups_match_in_file_order_then_custom_in_config_order() {
    let groups = vec![
        group("first", &["GET /x/{id}"]),
        group("second", &["GET /x/me", "GET /y"]),
    ];
    let enabled = vec!["second".to_string(), "first".to_string()];
    let custom = [
        pat("GET /x/me"),
        pat("* /y"),
        pat("GET /z/{*rest}"),
        pat("GET /z/a"),
    ];
    let c = Classifier::new(&groups, &enabled, &custom, false);
    // Both groups match /x/me: file order decides, not the more specific route.
    assert_eq!(label(&c, Method::GET, "/x/me", None, false), Some("first"));
    assert_eq!(label(&c, Method::GET, "/y", None, false), Some("second"));
    assert_eq!(label(&c, Method::POST, "/y", None, false), Some("* /y"));
    // Custom patterns: config order wins over specificity.
    assert_eq!(
        label(&c, Method::GET, "/z/a", None, false),
        Some("GET /z/{*rest}")
    );
    assert_eq!(label(&c, Method::GET, "/nothing", None, false), None);
}

#[test]
fn disabled_groups_do_not_match() {
    let groups = shipped_groups();
    let c = Classifier::new(&groups, &["token-checks".to_string()], &[], false);
    assert_eq!(
        label(&c, Method::HEAD, "/api/v2/tokens/me", None, false),
        Some("token-checks")
    );
    assert_eq!(
        label(
            &c,
            Method::GET,
            "/api/v2/users/u1/routingstatus",
            None,
            false
        ),
        None
    );
    assert_eq!(
        label(&c, Method::POST, "/api/v2/diagnostics/trace", None, false),
        None
    );
    let none = Classifier::new(&groups, &[], &[], false);
    assert!(none.labels().is_empty());
    assert_eq!(
        label(&none, Method::GET, "/api/v2/users/me", None, false),
        None
    );
}

#[test]
fn shipped_groups_classify_their_routes() {
    let groups = shipped_groups();
    let c = Classifier::new(&groups, &all_ids(&groups), &[], false);
    let cases = [
        (
            Method::GET,
            "/api/v2/users/abc-123/presences/purecloud",
            Some("presence-polling"),
        ),
        (Method::GET, "/api/v2/users/me", Some("token-checks")),
        (Method::HEAD, "/api/v2/users/me", None),
        (
            Method::PUT,
            "/api/v2/notifications/channels/c1/subscriptions",
            Some("notification-keepalive"),
        ),
        (
            Method::GET,
            "/api/v2/conversations",
            Some("interaction-media-sync"),
        ),
        (Method::GET, "/api/v2/conversations/", None),
        (Method::GET, "/api/v2/Conversations", None),
        (
            Method::POST,
            "/api/v2/diagnostics/trace",
            Some("client-diagnostics"),
        ),
        (Method::POST, "/api/v2/diagnostics/trace/", None),
        (Method::GET, "", None),
        (Method::OPTIONS, "*", None),
    ];
    for (m, path, want) in cases {
        assert_eq!(label(&c, m.clone(), path, None, false), want, "{m} {path}");
    }
}

#[test]
fn query_conditions_and_rest_in_classifier() {
    let custom = [
        pat("GET /tokens/me?preserveIdleTTL=true"),
        pat("GET /files/{*path}"),
        pat("GET /"),
    ];
    let c = Classifier::new(&[], &[], &custom, false);
    assert_eq!(
        c.classify(
            &Method::GET,
            "/tokens/me",
            Some("a=1&preserveIdleTTL=true"),
            false
        ),
        Some(0)
    );
    assert_eq!(
        c.classify(
            &Method::GET,
            "/tokens/me",
            Some("preserveIdleTTL=false"),
            false
        ),
        None
    );
    assert_eq!(c.classify(&Method::GET, "/tokens/me", None, false), None);
    assert_eq!(
        c.classify(&Method::GET, "/files/a/b/", None, false),
        Some(1)
    );
    assert_eq!(c.classify(&Method::GET, "/files/", None, false), None);
    assert_eq!(c.classify(&Method::GET, "/files", None, false), None);
    assert_eq!(c.classify(&Method::GET, "/", None, false), Some(2));
}

/// A deterministic pseudo-random generator, so the agreement test needs no extra crate.
struct Lcg(u64);

impl Lcg {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        items[(self.0 >> 33) as usize % items.len()]
    }
}

#[test]
fn trie_agrees_with_matching_patterns_one_by_one() {
    let texts = [
        "GET /a/b",
        "GET /a/{x}",
        "* /a/{x}/c",
        "GET /a/{*rest}",
        "HEAD /a/b",
        "GET /{x}/b/",
        "POST /{*all}",
        "GET /a//c",
        "GET /",
        "GET /b/{y}/{z}?k=v",
        "PUT /a/b/c",
        "GET /{p}",
        "DELETE /b/{y}/c/{*r}",
        "GET /a/b?k=v&j=w",
    ];
    let custom: Vec<Pattern> = texts.iter().map(|t| pat(t)).collect();
    let c = Classifier::new(&[], &[], &custom, false);
    let segs = ["a", "b", "c", "", "x"];
    let methods = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
    ];
    let queries = [None, Some("k=v"), Some("j=w&k=v"), Some("k=vv")];
    let mut rng = Lcg(7);
    for _ in 0..5000 {
        let depth = (rng.pick(&["0", "1", "2", "3", "4"]))
            .parse::<usize>()
            .unwrap_or(0);
        let mut path = String::new();
        for _ in 0..=depth {
            path.push('/');
            path.push_str(rng.pick(&segs));
        }
        for m in &methods {
            for q in queries {
                let want = custom.iter().position(|p| p.matches(m, &path, q));
                assert_eq!(c.classify(m, &path, q, false), want, "{m} {path} {q:?}");
            }
        }
    }
}
