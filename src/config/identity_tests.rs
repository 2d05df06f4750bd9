//! Tests of the `[identity]` section and `proxy.status_path` (docs/reference.md,
//! "Configuration").

use std::path::Path;
use std::time::Duration;

use super::*;

const UPSTREAM: &str = "[proxy]\nupstream = \"http://127.0.0.1:9000\"\n";

fn parse_text(rest: &str) -> Result<Loaded, Vec<Diagnostic>> {
    parse(&format!("{UPSTREAM}{rest}"), Path::new("cfg/idlegate.toml"))
}

fn identity(rest: &str) -> IdentityConfig {
    match parse_text(&format!("[identity]\n{rest}")) {
        Ok(loaded) => loaded.config.identity.expect("identity is set"),
        Err(diags) => panic!("unexpected errors: {diags:#?}"),
    }
}

/// (key, message) of each error.
fn errors(rest: &str) -> Vec<(String, String)> {
    match parse_text(rest) {
        Ok(_) => panic!("expected errors"),
        Err(diags) => diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.key, d.message))
            .collect(),
    }
}

fn error_keys(rest: &str) -> Vec<String> {
    errors(rest).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn without_identity_section_tokens_stay_opaque() {
    assert!(parse_text("").unwrap().config.identity.is_none());
}

#[test]
fn identity_keys_have_their_defaults() {
    let c = identity("jwks = \"https://idp.example.com/jwks.json\"\n");
    let url = "https://idp.example.com/jwks.json".parse().unwrap();
    assert_eq!(c.jwks, JwksSource::Url(url));
    assert_eq!(c.issuer, None);
    assert!(c.audience.is_empty());
    assert_eq!(c.algorithms, ["RS256", "ES256"]);
    assert_eq!(c.subject_claim, ["sub"]);
    assert_eq!(c.groups_claim, ["groups"]);
    assert_eq!(c.refresh, Duration::from_secs(600));
    assert_eq!(c.leeway, Duration::from_secs(60));
    assert_eq!(c.on_invalid, OnInvalid::Reject);
}

#[test]
fn every_identity_key_is_read() {
    let c = identity(
        "jwks = \"keys/jwks.json\"\nissuer = \"https://idp/\"\naudience = [\"api\", \"web\"]\n\
         algorithms = [\"PS256\", \"EdDSA\"]\nsubject_claim = \"uid\"\n\
         groups_claim = \"realm_access.roles\"\nrefresh = \"30s\"\nleeway = \"0s\"\n\
         on_invalid = \"pass\"\n",
    );
    assert_eq!(c.jwks, JwksSource::File("cfg/keys/jwks.json".into()));
    assert_eq!(c.issuer.as_deref(), Some("https://idp/"));
    assert_eq!(c.audience, ["api", "web"]);
    assert_eq!(c.algorithms, ["PS256", "EdDSA"]);
    assert_eq!(c.subject_claim, ["uid"]);
    assert_eq!(c.groups_claim, ["realm_access", "roles"]);
    assert_eq!(c.refresh, Duration::from_secs(30));
    assert_eq!(c.leeway, Duration::ZERO);
    assert_eq!(c.on_invalid, OnInvalid::Pass);
}

#[test]
fn a_single_audience_string_is_a_list_of_one() {
    let c = identity("jwks = \"j.json\"\naudience = \"api\"\n");
    assert_eq!(c.audience, ["api"]);
}

#[test]
fn jwks_is_required() {
    assert_eq!(
        error_keys("[identity]\nissuer = \"x\"\n"),
        ["identity.jwks"]
    );
}

#[test]
fn jwks_url_must_be_http_or_https() {
    assert_eq!(
        error_keys("[identity]\njwks = \"ftp://idp/jwks\"\n"),
        ["identity.jwks"]
    );
    assert_eq!(
        error_keys("[identity]\njwks = \"https:///jwks\"\n"),
        ["identity.jwks"]
    );
}

#[test]
fn none_algorithm_is_refused_with_the_reason() {
    let errs = errors("[identity]\njwks = \"j.json\"\nalgorithms = [\"RS256\", \"none\"]\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, "identity.algorithms[1]");
    assert!(errs[0].1.contains("never"), "{}", errs[0].1);
}

#[test]
fn hmac_algorithms_are_refused_because_a_jwks_holds_no_shared_secret() {
    let errs =
        errors("[identity]\njwks = \"j.json\"\nalgorithms = [\"HS256\", \"HS384\", \"HS512\"]\n");
    assert_eq!(errs.len(), 3);
    assert!(
        errs.iter().all(|(_, m)| m.contains("shared secret")),
        "{errs:?}"
    );
}

#[test]
fn unknown_and_empty_algorithm_lists_are_errors() {
    let errs = errors("[identity]\njwks = \"j.json\"\nalgorithms = [\"RS257\"]\n");
    assert!(
        errs[0].1.contains("RS384"),
        "names the allowed ones: {errs:?}"
    );
    assert_eq!(
        error_keys("[identity]\njwks = \"j.json\"\nalgorithms = []\n"),
        ["identity.algorithms"]
    );
}

#[test]
fn claim_paths_need_non_empty_parts() {
    for bad in ["a..b", ".a", "a.", ""] {
        let rest = format!("[identity]\njwks = \"j.json\"\ngroups_claim = \"{bad}\"\n");
        assert_eq!(error_keys(&rest), ["identity.groups_claim"], "{bad:?}");
    }
}

#[test]
fn refresh_and_leeway_are_bounded() {
    let keys = error_keys("[identity]\njwks = \"j.json\"\nrefresh = \"29s\"\nleeway = \"11m\"\n");
    assert_eq!(keys, ["identity.refresh", "identity.leeway"]);
    let c = identity("jwks = \"j.json\"\nrefresh = \"30s\"\nleeway = \"10m\"\n");
    assert_eq!(c.leeway, Duration::from_secs(600));
}

#[test]
fn unknown_identity_key_is_an_error_at_its_position() {
    let diags = parse_text("[identity]\njwks = \"j.json\"\n  kid = \"x\"\n").unwrap_err();
    let d = &diags[0];
    assert_eq!((d.key.as_str(), d.line, d.column), ("identity.kid", 5, 3));
}

#[test]
fn status_path_defaults_and_accepts_a_clean_path() {
    assert_eq!(
        parse_text("").unwrap().config.proxy.status_path,
        "/.idlegate/session"
    );
    let c = parse_text("status_path = \"/_gate/status\"\n")
        .unwrap()
        .config;
    assert_eq!(c.proxy.status_path, "/_gate/status");
}

#[test]
fn status_path_must_be_a_plain_absolute_path() {
    let long = format!("/{}", "a".repeat(200));
    for bad in [
        "session",
        "/s?x=1",
        "/s#f",
        "/s/",
        "/",
        "/a b",
        "/é",
        long.as_str(),
    ] {
        let rest = format!("status_path = \"{bad}\"\n");
        assert_eq!(error_keys(&rest), ["proxy.status_path"], "{bad:?}");
    }
}
