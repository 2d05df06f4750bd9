//! Tests of `parse`/`load` against docs/reference.md, "Configuration".

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::token::TokenSource;

const MIN: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn ok(text: &str) -> Loaded {
    match parse(text, Path::new("cfg/idlegate.toml")) {
        Ok(loaded) => loaded,
        Err(diags) => panic!("unexpected errors: {diags:#?}"),
    }
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text, Path::new("cfg/idlegate.toml")) {
        Ok(_) => panic!("expected errors"),
        Err(diags) => diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect(),
    }
}

fn with_upstream(rest: &str) -> String {
    format!("[proxy]\nupstream = \"http://127.0.0.1:9000\"\n{rest}")
}

/// (key, line, column) of each diagnostic.
fn places(diags: &[Diagnostic]) -> Vec<(String, usize, usize)> {
    diags
        .iter()
        .map(|d| (d.key.clone(), d.line, d.column))
        .collect()
}

#[test]
fn minimal_config_gets_every_default_of_spec_10() {
    let loaded = load(&fixture("minimal.toml")).expect("valid");
    assert!(loaded.warnings.is_empty());
    let c = loaded.config;
    assert_eq!(
        c.proxy.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.proxy.upstream, "http://127.0.0.1:9000");
    assert_eq!(c.proxy.connect_timeout, Duration::from_secs(2));
    assert_eq!(c.proxy.upstream_timeout, Duration::from_secs(60));
    assert_eq!(c.proxy.workers, 0);
    assert_eq!(c.proxy.max_header_bytes, 65536);
    assert_eq!(
        c.admin.listen,
        "127.0.0.1:9901".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.admin.token_env, "IDLEGATE_ADMIN_TOKEN");
    let t = &c.timeout;
    assert!(t.enabled);
    assert_eq!(
        (t.idle, t.absolute, t.mode),
        (30 * MIN, None, Mode::Enforce)
    );
    assert_eq!(t.resolution, Duration::from_secs(1));
    assert!(!t.expose_remaining);
    let k = &c.tokens;
    assert_eq!(k.sources, vec![TokenSource::Authorization]);
    assert_eq!((k.track, k.max_tracked), (TrackMode::Accepted, 10_000_000));
    assert_eq!(k.revoked_retention, 24 * 60 * MIN);
    assert_eq!(k.hash_key_env, "IDLEGATE_HASH_KEY");
    assert_eq!(k.no_touch_header, None);
    let e = &c.exclusions;
    assert_eq!(e.defaults_file, None);
    assert_eq!(e.groups, builtin_groups());
    assert!(e.enabled_defaults.is_empty() && e.custom.is_empty());
    assert_eq!(c.catalog.openapi, None);
    let s = &c.state;
    assert_eq!((s.backend, s.snapshot.as_ref()), (Backend::Memory, None));
    assert_eq!(s.snapshot_interval, Duration::from_secs(5));
    assert_eq!(s.sync_interval, Duration::from_secs(1));
    assert_eq!((s.on_error, s.prefix.as_str()), (OnError::Open, "idlegate"));
    assert_eq!(s.redis_url, None);
    assert!(c.revocation.webhook.is_none() && c.revocation.rfc7009.is_none());
    assert_eq!(c.path, Some(fixture("minimal.toml")));
}

#[test]
fn with_upstream_has_the_same_defaults_as_a_minimal_file() {
    let c = Config::with_upstream("http://127.0.0.1:9000".parse().unwrap());
    let from_file = ok(&with_upstream("")).config;
    assert_eq!(c.effective_policy(), {
        let mut f = from_file;
        f.path = None;
        f.effective_policy()
    });
}

#[test]
fn unknown_top_level_key_is_an_error_at_its_position() {
    let diags = errors("# comment\n  speed = 3\n[proxy]\nupstream = \"http://a:1\"\n");
    assert_eq!(places(&diags), vec![("speed".to_string(), 2, 3)]);
    assert!(diags[0].message.starts_with("unknown key"));
}

#[test]
fn unknown_key_in_a_table_is_an_error_at_its_position() {
    let diags = errors(&with_upstream(
        "[timeout]\nidle = \"30m\"\n   idel = \"1h\"\n",
    ));
    assert_eq!(places(&diags), vec![("timeout.idel".to_string(), 5, 4)]);
}

#[test]
fn every_error_of_a_file_is_reported() {
    let diags = load(&fixture("many-errors.toml")).expect_err("invalid");
    let keys: Vec<&str> = diags.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "colour",
            "proxy.upstream",
            "proxy.listen",
            "proxy.max_header_bytes",
            "timeout.idle",
            "timeout.mode",
            "timeout.resolution",
            "timeout.idel",
            "tokens.sources[1]",
            "tokens.max_tracked",
            "exclusions.enabled_defaults[0]",
            "exclusions.custom[1]",
            "state.backend",
        ]
    );
    assert!(diags.iter().all(|d| d.severity == Severity::Error));
    assert_eq!((diags[1].line, diags[1].column), (4, 12));
    assert!(diags[1].message.contains("https"), "{}", diags[1].message);
}

#[test]
fn bad_duration_is_an_error_at_the_value() {
    let diags = errors(&with_upstream("[timeout]\nidle = \"half an hour\"\n"));
    assert_eq!(places(&diags), vec![("timeout.idle".to_string(), 4, 8)]);
    assert!(diags[0].message.contains("invalid duration"));
}

#[test]
fn zero_idle_is_an_error() {
    let diags = errors(&with_upstream("[timeout]\nidle = \"0s\"\n"));
    assert!(diags[0].message.contains("positive"));
}

#[test]
fn durations_accept_humantime_forms() {
    let c = ok(&with_upstream(
        "[timeout]\nidle = \"8h\"\nresolution = \"1500ms\"\n",
    ))
    .config;
    assert_eq!(c.timeout.idle, 8 * 60 * MIN);
    assert_eq!(c.timeout.resolution, Duration::from_millis(1500));
}

#[test]
fn bad_enum_value_names_the_choices() {
    let diags = errors(&with_upstream("[tokens]\ntrack = \"some\"\n"));
    assert_eq!(diags[0].key, "tokens.track");
    assert!(diags[0].message.contains("\"accepted\", \"all\""));
}

#[test]
fn wrong_type_is_an_error() {
    let diags = errors(&with_upstream("[timeout]\nenabled = \"yes\"\n"));
    assert!(diags[0].message.contains("expected a boolean"));
}

#[test]
fn bad_pattern_is_an_error_naming_the_pattern() {
    let diags = errors(&with_upstream(
        "[exclusions]\ncustom = [\"GET /a\", \"GET /b\", \"GET nope\"]\n",
    ));
    assert_eq!(
        places(&diags),
        vec![("exclusions.custom[2]".to_string(), 4, 31)]
    );
    assert!(
        diags[0].message.contains("GET nope"),
        "{}",
        diags[0].message
    );
}

#[test]
fn duplicate_custom_pattern_is_a_warning() {
    let loaded = ok(&with_upstream(
        "[exclusions]\ncustom = [\"GET /a\", \"GET /a\"]\n",
    ));
    assert_eq!(loaded.config.exclusions.custom.len(), 1);
    assert_eq!(loaded.warnings[0].key, "exclusions.custom[1]");
}

#[test]
fn unknown_enabled_defaults_id_is_an_error() {
    let diags = errors(&with_upstream(
        "[exclusions]\nenabled_defaults = [\"nope\"]\n",
    ));
    assert_eq!(diags[0].key, "exclusions.enabled_defaults[0]");
    assert!(diags[0].message.contains("client-diagnostics"));
}

#[test]
fn known_enabled_defaults_id_is_accepted() {
    let text = with_upstream("[exclusions]\nenabled_defaults = [\"token-checks\"]\n");
    assert_eq!(
        ok(&text).config.exclusions.enabled_defaults,
        ["token-checks"]
    );
}

#[test]
fn missing_upstream_is_an_error() {
    let diags = errors("[proxy]\nlisten = \"127.0.0.1:1\"\n");
    assert_eq!(places(&diags), vec![("proxy.upstream".to_string(), 1, 1)]);
    assert_eq!(errors("")[0].key, "proxy.upstream");
}

#[test]
fn upstream_must_be_http_host_port() {
    for bad in [
        "https://a:1",
        "ftp://a:1",
        "/just/a/path",
        "http://a:1/x?q=1",
    ] {
        let diags = errors(&format!("[proxy]\nupstream = \"{bad}\"\n"));
        assert_eq!(diags[0].key, "proxy.upstream", "{bad}");
    }
    let c = ok("[proxy]\nupstream = \"http://10.0.0.1:80/prefix\"\n").config;
    assert_eq!(c.proxy.upstream.path(), "/prefix");
}

#[test]
fn syntax_error_is_one_diagnostic_at_its_position() {
    let diags = errors("[proxy]\nupstream = \"http://a:1\"\nlisten = = 3\n");
    assert_eq!(diags.len(), 1);
    assert_eq!((diags[0].line, diags[0].key.as_str()), (3, ""));
    assert!(diags[0].column >= 9, "{:?}", diags[0]);
}

#[test]
fn timeouts_under_five_minutes_warn_but_do_not_fail() {
    let text = with_upstream("[timeout]\nidle = \"30s\"\nabsolute = \"10s\"\n");
    let loaded = ok(&text);
    assert_eq!(loaded.config.timeout.idle, Duration::from_secs(30));
    let keys: Vec<&str> = loaded.warnings.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        ["timeout.idle", "timeout.absolute", "timeout.absolute"]
    );
    assert!(loaded
        .warnings
        .iter()
        .all(|d| d.severity == Severity::Warning));
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let path = fixture("with-paths.toml");
    let c = load(&path).expect("valid").config;
    let dir = fixture("");
    assert_eq!(c.exclusions.defaults_file, Some(dir.join("groups.toml")));
    assert_eq!(c.catalog.openapi, Some(dir.join("catalog/apis.json")));
    assert_eq!(c.state.snapshot, Some(dir.join("../state/idlegate.state")));
    let ids: Vec<&str> = c.exclusions.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["probes", "polls"]);
    assert_eq!(c.exclusions.enabled_defaults, ["polls"]);
}

#[test]
fn defaults_file_errors_name_the_defaults_file() {
    let diags = load(&fixture("with-bad-groups.toml")).expect_err("invalid");
    let groups_file = fixture("bad-groups.toml");
    assert!(diags.iter().all(|d| d.file == groups_file), "{diags:#?}");
    let keys: Vec<&str> = diags.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        ["group[1].id", "group[1].routes[1]", "group[1].colour"]
    );
    assert_eq!((diags[0].line, diags[0].column), (8, 6));
    assert_eq!((diags[2].line, diags[2].column), (12, 1));
}

#[test]
fn unreadable_defaults_file_is_an_error_in_the_config() {
    let diags = errors(&with_upstream(
        "[exclusions]\ndefaults_file = \"missing.toml\"\n",
    ));
    assert_eq!(diags[0].key, "exclusions.defaults_file");
    assert_eq!(diags[0].file, Path::new("cfg/idlegate.toml"));
}

#[test]
fn redis_backend_needs_a_redis_url() {
    let diags = errors(&with_upstream("[state]\nbackend = \"redis\"\n"));
    assert_eq!(diags[0].key, "state.backend");
    let diags = errors(&with_upstream("[state]\nredis_url = \"http://x\"\n"));
    assert_eq!(diags[0].key, "state.redis_url");
    let text =
        "[state]\nbackend = \"redis\"\nredis_url = \"rediss://r:6380\"\non_error = \"closed\"\n";
    let s = ok(&with_upstream(text)).config.state;
    assert_eq!((s.backend, s.on_error), (Backend::Redis, OnError::Closed));
}

#[test]
fn rfc7009_needs_url_client_id_and_secret_env() {
    let diags = errors(&with_upstream(
        "[revocation]\nrfc7009 = { url = \"https://idp/r\" }\n",
    ));
    let keys: Vec<&str> = diags.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "revocation.rfc7009.client_id",
            "revocation.rfc7009.client_secret_env"
        ]
    );
    let text = "[revocation]\nwebhook = \"http://h:1/r\"\n\
                rfc7009 = { url = \"https://idp/r\", client_id = \"c\", client_secret_env = \"S\" }\n";
    let rev = ok(&with_upstream(text)).config.revocation;
    assert_eq!(
        rev.rfc7009.map(|r| r.client_secret_env),
        Some("S".to_string())
    );
    assert!(rev.webhook.is_some());
}

#[test]
fn hook_retry_time_is_at_most_an_hour_and_the_queue_bound_is_positive() {
    let rev = ok(&with_upstream("")).config.revocation;
    assert_eq!(
        (rev.max_pending, rev.retry_for),
        (10_000, Duration::from_secs(3600))
    );
    let text = "[revocation]\nmax_pending = 50\nretry_for = \"10m\"\n";
    let rev = ok(&with_upstream(text)).config.revocation;
    assert_eq!(
        (rev.max_pending, rev.retry_for),
        (50, Duration::from_secs(600))
    );
    let diags = errors(&with_upstream(
        "[revocation]\nmax_pending = 0\nretry_for = \"2h\"\n",
    ));
    let keys: Vec<&str> = diags.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["revocation.max_pending", "revocation.retry_for"]);
    assert!(diags[1].message.contains("at most"), "{}", diags[1].message);
}

#[test]
fn no_touch_header_is_stored_lowercase_and_must_be_valid() {
    let c = ok(&with_upstream(
        "[tokens]\nno_touch_header = \"X-Idle-No-Touch\"\n",
    ))
    .config;
    assert_eq!(
        c.tokens.no_touch_header.unwrap().as_str(),
        "x-idle-no-touch"
    );
    let diags = errors(&with_upstream(
        "[tokens]\nno_touch_header = \"bad header\"\n",
    ));
    assert_eq!(diags[0].key, "tokens.no_touch_header");
}

#[test]
fn integer_limits_are_checked() {
    let text = "[proxy]\nupstream = \"http://a:1\"\nmax_header_bytes = 2000000\nworkers = -1\n";
    let keys: Vec<String> = errors(text).into_iter().map(|d| d.key).collect();
    assert_eq!(keys, ["proxy.max_header_bytes", "proxy.workers"]);
}

#[test]
fn diagnostic_display_is_file_line_column_severity_key_message() {
    let d = Diagnostic {
        file: PathBuf::from("config/idlegate.toml"),
        line: 12,
        column: 8,
        key: "timeout.idle".to_string(),
        message: "must be a positive duration".to_string(),
        severity: Severity::Error,
    };
    let expected = "config/idlegate.toml:12:8: error: timeout.idle: must be a positive duration";
    assert_eq!(d.to_string(), expected);
    let w = Diagnostic {
        severity: Severity::Warning,
        ..d
    };
    assert!(w.to_string().contains(":12:8: warning: timeout.idle: "));
}

#[test]
fn shipped_default_exclusions_file_is_valid_with_six_groups() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default-exclusions.toml");
    let text = std::fs::read_to_string(&path).expect("shipped file");
    let (groups, diags) = groups::parse_groups(&text, &path);
    assert!(diags.is_empty(), "{diags:#?}");
    let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    let expected = [
        "client-diagnostics",
        "token-checks",
        "notification-keepalive",
        "presence-polling",
        "stats-polling",
        "interaction-media-sync",
    ];
    assert_eq!(ids, expected);
    assert_eq!(groups.iter().map(|g| g.routes.len()).sum::<usize>(), 20);
    assert_eq!(builtin_groups(), groups);
}

#[test]
fn shipped_example_config_is_valid_with_all_groups_off() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/idlegate.toml");
    let loaded = load(&path).expect("shipped config is valid");
    assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.timeout.idle, 30 * MIN);
    assert!(c.exclusions.enabled_defaults.is_empty() && c.exclusions.custom.is_empty());
    let dir = path.parent().unwrap();
    assert_eq!(
        c.catalog.openapi,
        Some(dir.join("catalog/genesys-cloud-apis.json"))
    );
    assert_eq!(c.state.snapshot, Some(dir.join("../data/idlegate.state")));
}

#[test]
fn effective_policy_lists_groups_with_their_switch_and_routes() {
    let text = with_upstream(
        "[exclusions]\nenabled_defaults = [\"token-checks\"]\ncustom = [\"GET /x/{id}\"]\n",
    );
    let policy = ok(&text).config.effective_policy();
    assert!(
        policy.contains("upstream           http://127.0.0.1:9000/"),
        "{policy}"
    );
    assert!(policy.contains("idle               30m"));
    assert!(policy.contains("on   token-checks"));
    assert!(policy.contains("off  client-diagnostics"));
    assert!(policy.contains("HEAD /api/v2/tokens/me"));
    assert!(policy.contains("GET /x/{id}"));
    assert!(policy.contains("1 of 6 on"));
}

#[test]
fn text_digest_is_the_blake3_of_the_text() {
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n";
    assert_eq!(text_digest(text), *blake3::hash(text.as_bytes()).as_bytes());
    assert_ne!(text_digest(text), text_digest(&format!("{text}\n")));
}
