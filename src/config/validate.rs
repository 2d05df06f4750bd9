//! Walks a config document section by section: defaults first, then every key present
//! overrides its default once it has been validated. Every problem is reported.

use std::path::Path;
use std::str::FromStr;

use crate::token::TokenSource;

use super::audit::read_audit;
use super::diagnostic::{Diagnostic, Severity};
use super::evidence::read_evidence;
use super::exclusions::{check_trial_needs_evidence, read_exclusions};
use super::identity::read_identity;
use super::model::*;
use super::policies::read_timeout;
use super::walk::{parse_document, set, Field, Report, Section, Source};
use super::{defaults, values};

const SECTIONS: &[&str] = &[
    "proxy",
    "admin",
    "timeout",
    "tokens",
    "exclusions",
    "catalog",
    "state",
    "revocation",
    "identity",
    "audit",
    "evidence",
];

/// Validates `text` as read from `path`. Returns the config when there is no error, and every
/// diagnostic: those of `path` in position order, then those of the defaults file.
pub(crate) fn read_config(text: &str, path: &Path) -> (Option<Config>, Vec<Diagnostic>) {
    let source = Source::new(text, path);
    let mut r = Report::new(&source);
    let mut other_files = Vec::new();
    let config = parse_document(text, &mut r).and_then(|doc| {
        let root = Section::root(doc.as_table());
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        read_root(&root, &mut r, &base, &mut other_files).map(|mut c| {
            c.path = Some(path.to_path_buf());
            c
        })
    });
    let mut diagnostics = r.diagnostics;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    other_files.sort_by_key(|d| (d.line, d.column));
    diagnostics.extend(other_files);
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    (if failed { None } else { config }, diagnostics)
}

fn read_root(
    root: &Section,
    r: &mut Report,
    base: &Path,
    other_files: &mut Vec<Diagnostic>,
) -> Option<Config> {
    root.reject_unknown(SECTIONS, r);
    let section = |name: &str, r: &mut Report| root.get(name).and_then(|f| f.table(r));
    let proxy = section("proxy", r);
    let upstream = read_upstream(proxy.as_ref(), r);
    let proxy = read_proxy(proxy.as_ref(), r);
    let admin = read_admin(section("admin", r).as_ref(), r);
    let timeout = read_timeout(section("timeout", r).as_ref(), r);
    let tokens = read_tokens(section("tokens", r).as_ref(), r);
    let exclusions_section = section("exclusions", r);
    let exclusions = read_exclusions(exclusions_section.as_ref(), r, base, other_files);
    let catalog = read_catalog(section("catalog", r).as_ref(), r, base);
    let state = read_state(section("state", r).as_ref(), r, base);
    let revocation = read_revocation(section("revocation", r).as_ref(), r);
    let identity = section("identity", r).and_then(|s| read_identity(&s, r, base));
    let audit = read_audit(section("audit", r).as_ref(), r, base);
    let evidence = read_evidence(section("evidence", r).as_ref(), r);
    let evidence_on = evidence.enabled;
    check_trial_needs_evidence(exclusions_section.as_ref(), &exclusions, evidence_on, r);
    if identity.is_none() && !timeout.policies.is_empty() {
        warn_policies_without_identity(root, r);
    }
    Some(Config {
        path: None,
        proxy: ProxyConfig {
            upstream: upstream?,
            ..proxy
        },
        admin,
        timeout,
        tokens,
        exclusions,
        catalog,
        state,
        revocation,
        identity,
        audit,
        evidence,
    })
}

fn read_upstream(s: Option<&Section>, r: &mut Report) -> Option<http::Uri> {
    match s.and_then(|s| s.get("upstream")) {
        Some(f) => values::upstream(&f, r),
        None => {
            let span = s.and_then(|s| s.span.clone());
            r.error(
                "proxy.upstream",
                span,
                "missing required key (the URL to forward to, e.g. \"http://127.0.0.1:9000\")",
            );
            None
        }
    }
}

fn read_proxy(s: Option<&Section>, r: &mut Report) -> ProxyConfig {
    let placeholder = http::Uri::from_static("http://127.0.0.1/");
    let mut c = defaults::proxy(placeholder);
    if let Some(s) = s {
        let keys = ["listen", "upstream", "connect_timeout", "upstream_timeout"];
        let more = [
            "workers",
            "max_header_bytes",
            "max_connections",
            "keepalive_timeout",
            "header_timeout",
            "body_timeout",
            "status_path",
        ];
        s.reject_unknown(&[&keys[..], &more[..]].concat(), r);
    }
    set(s, "listen", r, &mut c.listen, values::socket_addr);
    set(
        s,
        "connect_timeout",
        r,
        &mut c.connect_timeout,
        values::duration,
    );
    set(
        s,
        "upstream_timeout",
        r,
        &mut c.upstream_timeout,
        values::duration,
    );
    set(s, "workers", r, &mut c.workers, |f, r| {
        values::integer_in(f, r, 0, 1024)
    });
    set(s, "max_header_bytes", r, &mut c.max_header_bytes, |f, r| {
        values::integer_in(f, r, 1024, 1_048_576)
    });
    set(s, "max_connections", r, &mut c.max_connections, |f, r| {
        values::integer_in(f, r, 1, 1_000_000)
    });
    for (name, slot) in [
        ("keepalive_timeout", &mut c.keepalive_timeout),
        ("header_timeout", &mut c.header_timeout),
        ("body_timeout", &mut c.body_timeout),
    ] {
        set(s, name, r, slot, values::duration);
    }
    set(s, "status_path", r, &mut c.status_path, values::status_path);
    c
}

/// Policies match verified groups, and only `[identity]` verifies tokens.
fn warn_policies_without_identity(root: &Section, r: &mut Report) {
    let timeout = root.get("timeout").and_then(|f| f.table(r));
    if let Some(f) = timeout.and_then(|t| t.get("policies")) {
        f.warning(
            r,
            "no [identity] section: tokens carry no verified groups, so no policy can ever match",
        );
    }
}

fn read_admin(s: Option<&Section>, r: &mut Report) -> AdminConfig {
    let mut c = defaults::admin();
    if let Some(s) = s {
        s.reject_unknown(&["listen", "token_env", "allowed_hosts"], r);
    }
    set(s, "listen", r, &mut c.listen, values::socket_addr);
    set(s, "token_env", r, &mut c.token_env, values::env_name);
    c.allowed_hosts = defaults::default_allowed_hosts(c.listen);
    set(
        s,
        "allowed_hosts",
        r,
        &mut c.allowed_hosts,
        values::host_names,
    );
    c
}

fn read_tokens(s: Option<&Section>, r: &mut Report) -> TokensConfig {
    let mut c = defaults::tokens();
    let Some(s) = s else { return c };
    let keys = ["sources", "track", "max_tracked", "revoked_retention"];
    let more = ["hash_key_env", "no_touch_header"];
    s.reject_unknown(&[&keys[..], &more[..]].concat(), r);
    let s = Some(s);
    set(s, "sources", r, &mut c.sources, read_sources);
    let tracks = [("accepted", TrackMode::Accepted), ("all", TrackMode::All)];
    set(s, "track", r, &mut c.track, |f, r| {
        values::choice(f, r, &tracks)
    });
    set(s, "max_tracked", r, &mut c.max_tracked, |f, r| {
        values::integer_in(f, r, 1, i64::MAX)
    });
    set(
        s,
        "revoked_retention",
        r,
        &mut c.revoked_retention,
        values::duration,
    );
    set(s, "hash_key_env", r, &mut c.hash_key_env, values::env_name);
    set(s, "no_touch_header", r, &mut c.no_touch_header, |f, r| {
        values::header_name(f, r).map(Some)
    });
    c
}

fn read_sources(f: &Field, r: &mut Report) -> Option<Vec<TokenSource>> {
    let strings = f.strings(r)?;
    if strings.is_empty() {
        f.error(
            r,
            "list at least one token source, e.g. [\"authorization\"]",
        );
        return None;
    }
    let mut sources: Vec<TokenSource> = Vec::new();
    let mut failed = false;
    for (field, text) in strings {
        match TokenSource::from_str(text) {
            Ok(src) if sources.contains(&src) => field.warning(r, "duplicate token source"),
            Ok(src) => sources.push(src),
            Err(e) => {
                field.error(r, e.to_string());
                failed = true;
            }
        }
    }
    (!failed).then_some(sources)
}

fn read_catalog(s: Option<&Section>, r: &mut Report, base: &Path) -> CatalogConfig {
    let mut c = CatalogConfig::default();
    if let Some(s) = s {
        s.reject_unknown(&["openapi"], r);
    }
    set(s, "openapi", r, &mut c.openapi, |f, r| {
        values::path(f, r, base).map(Some)
    });
    c
}

fn read_state(s: Option<&Section>, r: &mut Report, base: &Path) -> StateConfig {
    let mut c = defaults::state();
    let Some(s) = s else { return c };
    let keys = ["backend", "snapshot", "snapshot_interval", "redis_url"];
    let more = ["prefix", "sync_interval", "on_error", "negative_ttl"];
    s.reject_unknown(&[&keys[..], &more[..]].concat(), r);
    let s = Some(s);
    let backends = [("memory", Backend::Memory), ("redis", Backend::Redis)];
    set(s, "backend", r, &mut c.backend, |f, r| {
        values::choice(f, r, &backends)
    });
    set(s, "snapshot", r, &mut c.snapshot, |f, r| {
        values::path(f, r, base).map(Some)
    });
    set(
        s,
        "snapshot_interval",
        r,
        &mut c.snapshot_interval,
        values::duration,
    );
    set(s, "redis_url", r, &mut c.redis_url, |f, r| {
        values::redis_url(f, r).map(Some)
    });
    set(s, "prefix", r, &mut c.prefix, values::name);
    set(
        s,
        "sync_interval",
        r,
        &mut c.sync_interval,
        values::duration,
    );
    let on_errors = [("open", OnError::Open), ("closed", OnError::Closed)];
    set(s, "on_error", r, &mut c.on_error, |f, r| {
        values::choice(f, r, &on_errors)
    });
    set(s, "negative_ttl", r, &mut c.negative_ttl, |f, r| {
        let d = values::duration(f, r)?;
        if d > StateConfig::NEGATIVE_TTL_LIMIT {
            f.error(r, "must be at most \"60s\"");
            return None;
        }
        Some(d)
    });
    let url_given = s.and_then(|s| s.get("redis_url")).is_some();
    if c.backend == Backend::Redis && !url_given {
        if let Some(f) = s.and_then(|s| s.get("backend")) {
            f.error(
                r,
                "backend \"redis\" needs state.redis_url (e.g. \"redis://127.0.0.1:6379\")",
            );
        }
    }
    c
}

fn read_revocation(s: Option<&Section>, r: &mut Report) -> RevocationConfig {
    let mut c = RevocationConfig::default();
    if let Some(s) = s {
        s.reject_unknown(&["webhook", "rfc7009", "max_pending", "retry_for"], r);
    }
    let limit = RevocationConfig::MAX_PENDING_LIMIT as i64;
    set(s, "max_pending", r, &mut c.max_pending, |f, r| {
        values::integer_in(f, r, 1, limit)
    });
    set(s, "retry_for", r, &mut c.retry_for, |f, r| {
        let d = values::duration(f, r)?;
        if d > RevocationConfig::RETRY_FOR_LIMIT {
            f.error(r, "must be at most \"1h\"");
            return None;
        }
        Some(d)
    });
    set(s, "webhook", r, &mut c.webhook, |f, r| {
        values::http_url(f, r).map(Some)
    });
    set(s, "rfc7009", r, &mut c.rfc7009, |f, r| {
        read_rfc7009(f, r).map(Some)
    });
    c
}

fn read_rfc7009(f: &Field, r: &mut Report) -> Option<Rfc7009Config> {
    let t = f.table(r)?;
    t.reject_unknown(&["url", "client_id", "client_secret_env"], r);
    let url = t.required("url", r).and_then(|f| values::http_url(&f, r));
    let client_id = t.required("client_id", r).and_then(|f| values::name(&f, r));
    let secret_env = t
        .required("client_secret_env", r)
        .and_then(|f| values::env_name(&f, r));
    Some(Rfc7009Config {
        url: url?,
        client_id: client_id?,
        client_secret_env: secret_env?,
    })
}
