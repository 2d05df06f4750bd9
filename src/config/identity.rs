//! The `[identity]` section: where the JSON Web Key Set comes from and how tokens that are
//! JWTs are verified (docs/reference.md, "Configuration" and "Identity").

use std::path::Path;
use std::time::Duration;

use super::model::{IdentityConfig, JwksSource, OnInvalid};
use super::values;
use super::walk::{set, Field, Report, Section};

const KEYS: &[&str] = &[
    "jwks",
    "issuer",
    "audience",
    "algorithms",
    "subject_claim",
    "groups_claim",
    "refresh",
    "leeway",
    "on_invalid",
];

/// The asymmetric algorithms a JWKS can hold keys for (RFC 7518 names).
pub(crate) const ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The JWKS refresh may not hammer the identity provider.
const MIN_REFRESH: Duration = Duration::from_secs(30);
/// A larger clock leeway would keep expired tokens alive for a long time.
const MAX_LEEWAY: Duration = Duration::from_secs(10 * 60);

/// The defaults of every key but the required `jwks`.
pub(crate) fn defaults(jwks: JwksSource) -> IdentityConfig {
    IdentityConfig {
        jwks,
        issuer: None,
        audience: Vec::new(),
        algorithms: vec!["RS256".to_string(), "ES256".to_string()],
        subject_claim: vec!["sub".to_string()],
        groups_claim: vec!["groups".to_string()],
        refresh: Duration::from_secs(10 * 60),
        leeway: Duration::from_secs(60),
        on_invalid: OnInvalid::Reject,
    }
}

/// Reads `[identity]`; None when `jwks` is missing or invalid (every error is reported).
pub(crate) fn read_identity(s: &Section, r: &mut Report, base: &Path) -> Option<IdentityConfig> {
    s.reject_unknown(KEYS, r);
    let jwks = s.required("jwks", r).and_then(|f| jwks(&f, r, base));
    let mut c = defaults(JwksSource::Url(http::Uri::from_static("http://unset/")));
    let s = Some(s);
    set(s, "issuer", r, &mut c.issuer, |f, r| {
        values::name(f, r).map(Some)
    });
    set(s, "audience", r, &mut c.audience, audience);
    set(s, "algorithms", r, &mut c.algorithms, algorithms);
    set(s, "subject_claim", r, &mut c.subject_claim, claim_path);
    set(s, "groups_claim", r, &mut c.groups_claim, claim_path);
    set(s, "refresh", r, &mut c.refresh, |f, r| {
        let d = values::duration(f, r)?;
        at_least(
            f,
            r,
            d,
            MIN_REFRESH,
            "30s (an unknown key already refetches at once)",
        )
    });
    set(s, "leeway", r, &mut c.leeway, leeway);
    let choices = [("reject", OnInvalid::Reject), ("pass", OnInvalid::Pass)];
    set(s, "on_invalid", r, &mut c.on_invalid, |f, r| {
        values::choice(f, r, &choices)
    });
    // Any other error fails the whole config, so only the required key decides here.
    Some(IdentityConfig { jwks: jwks?, ..c })
}

/// An `http(s)://` URL, or else a file path relative to the config's folder (its existence is
/// the verifier's concern: a missing file is an error at load, like an unreachable URL).
fn jwks(f: &Field, r: &mut Report, base: &Path) -> Option<JwksSource> {
    let text = f.str(r)?;
    let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") => values::http_url(f, r).map(JwksSource::Url),
        Some(other) => {
            f.error(
                r,
                format!("unsupported scheme {other:?}; use an http(s):// URL or a file path"),
            );
            None
        }
        None => values::path(f, r, base).map(JwksSource::File),
    }
}

/// One string or an array of strings, none empty.
fn audience(f: &Field, r: &mut Report) -> Option<Vec<String>> {
    if f.peek_str().is_some() {
        return values::name(f, r).map(|a| vec![a]);
    }
    let items = f.strings(r)?;
    let mut out = Vec::new();
    for (item, text) in items {
        if text.trim().is_empty() {
            item.error(r, "an audience must not be empty");
        } else {
            out.push(text.to_string());
        }
    }
    Some(out)
}

fn algorithms(f: &Field, r: &mut Report) -> Option<Vec<String>> {
    let items = f.strings(r)?;
    if items.is_empty() {
        f.error(
            r,
            "list at least one algorithm, e.g. [\"RS256\", \"ES256\"]",
        );
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for (item, text) in items {
        match algorithm_problem(text) {
            Some(problem) => {
                item.error(r, problem);
                ok = false;
            }
            None if out.iter().any(|a| a == text) => {
                item.warning(r, format!("algorithm {text:?} is listed twice"))
            }
            None => out.push(text.to_string()),
        }
    }
    ok.then_some(out)
}

/// Why `name` may not be an allowed algorithm, or None when it may.
pub(crate) fn algorithm_problem(name: &str) -> Option<String> {
    if name.eq_ignore_ascii_case("none") {
        return Some(
            "\"none\" is never allowed: an unsigned token proves nothing about its holder"
                .to_string(),
        );
    }
    if ["HS256", "HS384", "HS512"].contains(&name.to_ascii_uppercase().as_str()) {
        return Some(format!(
            "{name:?} is an HMAC algorithm: its key is a shared secret, which cannot come from a \
             JWKS (published keys would let anyone sign tokens)"
        ));
    }
    if ALGORITHMS.contains(&name) {
        return None;
    }
    Some(format!(
        "unknown algorithm {name:?}; expected one of {}",
        ALGORITHMS.join(", ")
    ))
}

/// A dotted claim path (`realm_access.roles`), split at the dots; no part may be empty.
fn claim_path(f: &Field, r: &mut Report) -> Option<Vec<String>> {
    let text = f.str(r)?;
    let parts: Vec<String> = text.split('.').map(str::to_string).collect();
    if parts.iter().any(|p| p.trim().is_empty()) {
        f.error(
            r,
            format!("invalid claim path {text:?}: every dot-separated part must be non-empty"),
        );
        return None;
    }
    Some(parts)
}

/// A duration from `"0s"` to 10 minutes.
fn leeway(f: &Field, r: &mut Report) -> Option<Duration> {
    let text = f.str(r)?;
    let d = match humantime::parse_duration(text) {
        Ok(d) => d,
        Err(e) => {
            f.error(
                r,
                format!("invalid duration {text:?} ({e}); use e.g. \"60s\""),
            );
            return None;
        }
    };
    if d > MAX_LEEWAY {
        f.error(
            r,
            "must be at most 10m: a larger leeway keeps expired tokens valid",
        );
        return None;
    }
    Some(d)
}

fn at_least(f: &Field, r: &mut Report, d: Duration, min: Duration, what: &str) -> Option<Duration> {
    if d < min {
        f.error(r, format!("must be at least {what}"));
        return None;
    }
    Some(d)
}
