//! The effective policy that `idlegate check` prints: every setting, defaults included.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use crate::classify::Group;

use super::model::*;

/// Width of the name column.
const NAME_WIDTH: usize = 19;

pub(crate) fn render(c: &Config) -> String {
    let mut out = String::new();
    out.push_str("idlegate effective policy\n");
    if let Some(path) = &c.path {
        row(&mut out, "config file", path.display());
    }
    proxy(&mut out, c);
    timeout(&mut out, &c.timeout);
    tokens(&mut out, &c.tokens);
    exclusions(&mut out, &c.exclusions);
    catalog_state_revocation(&mut out, c);
    identity(&mut out, c.identity.as_ref());
    audit(&mut out, &c.audit);
    evidence(&mut out, &c.evidence);
    out
}

fn evidence(out: &mut String, e: &EvidenceConfig) {
    section(out, "evidence");
    if !e.enabled {
        row(out, "enabled", "false (GET /api/v1/evidence answers 404)");
        return;
    }
    let s = &e.settings;
    row(out, "enabled", "true");
    row(out, "window", duration(s.window));
    row(out, "sample", format!("1 token in {}", s.sample));
    row(out, "max_templates", s.max_templates);
    row(out, "min_tokens", s.min_tokens);
    let mib = s.memory_bound_bytes() as f64 / (1024.0 * 1024.0);
    row(out, "memory at most", format!("{mib:.1} MiB"));
}

fn audit(out: &mut String, a: &AuditConfig) {
    section(out, "audit");
    let file = match &a.file {
        None => "none (audit events in the log stream only)".to_string(),
        Some(AuditTarget::Stdout) => "stdout".to_string(),
        Some(AuditTarget::File(path)) => path.display().to_string(),
    };
    row(out, "file", file);
    row(
        out,
        "replica",
        a.replica.as_deref().unwrap_or("the host name"),
    );
}

fn section(out: &mut String, name: &str) {
    let _ = write!(out, "\n[{name}]\n");
}

fn row(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "  {name:<NAME_WIDTH$}{value}");
}

fn proxy(out: &mut String, c: &Config) {
    let p = &c.proxy;
    section(out, "proxy");
    row(out, "listen", p.listen);
    row(out, "upstream", &p.upstream);
    row(out, "connect_timeout", duration(p.connect_timeout));
    row(out, "upstream_timeout", duration(p.upstream_timeout));
    let workers = match p.workers {
        0 => "0 (one per core)".to_string(),
        n => n.to_string(),
    };
    row(out, "workers", workers);
    row(out, "max_header_bytes", p.max_header_bytes);
    row(out, "max_connections", p.max_connections);
    row(out, "keepalive_timeout", duration(p.keepalive_timeout));
    row(out, "header_timeout", duration(p.header_timeout));
    row(out, "body_timeout", duration(p.body_timeout));
    row(out, "status_path", &p.status_path);
    section(out, "admin");
    row(out, "listen", c.admin.listen);
    row(out, "token_env", &c.admin.token_env);
    row(out, "allowed_hosts", c.admin.allowed_hosts.join(", "));
}

fn timeout(out: &mut String, t: &TimeoutConfig) {
    section(out, "timeout");
    let enabled = if t.enabled {
        "yes"
    } else {
        "no (plain reverse proxy: tokens are not tracked)"
    };
    row(out, "enabled", enabled);
    row(out, "idle", duration(t.idle));
    row(out, "absolute", t.absolute.map_or("none".into(), duration));
    let mode = match t.mode {
        Mode::Enforce => "enforce",
        Mode::Shadow => "shadow (expired tokens are logged and keep working)",
    };
    row(out, "mode", mode);
    row(out, "resolution", duration(t.resolution));
    row(out, "expose_remaining", yes_no(t.expose_remaining));
    row(out, "warn_before", duration(t.warn_before));
    policies(out, &t.policies);
}

/// The policies in the order they are tried (ascending priority).
fn policies(out: &mut String, policies: &[TimeoutPolicy]) {
    if policies.is_empty() {
        row(
            out,
            "policies",
            "none (every token gets idle and absolute above)",
        );
        return;
    }
    row(
        out,
        "policies",
        format!("{} by group, first match wins:", policies.len()),
    );
    for p in policies {
        let idle = p.idle.map_or("off".to_string(), duration);
        let absolute = p.absolute.map_or("timeout.absolute".to_string(), duration);
        let _ = writeln!(
            out,
            "    {:>4}  {:<24} idle {idle}, absolute {absolute}",
            p.priority, p.name
        );
        let _ = writeln!(out, "          groups: {}", p.groups.join(", "));
    }
}

fn identity(out: &mut String, identity: Option<&IdentityConfig>) {
    section(out, "identity");
    let Some(i) = identity else {
        row(out, "verification", "off (tokens are opaque)");
        return;
    };
    let jwks = match &i.jwks {
        JwksSource::Url(url) => url.to_string(),
        JwksSource::File(path) => format!("file {}", path.display()),
    };
    row(out, "jwks", jwks);
    row(
        out,
        "issuer",
        i.issuer.as_deref().unwrap_or("any (not checked)"),
    );
    let audience = match i.audience.len() {
        0 => "any (not checked)".to_string(),
        _ => i.audience.join(", "),
    };
    row(out, "audience", audience);
    row(out, "algorithms", i.algorithms.join(", "));
    row(out, "subject_claim", i.subject_claim.join("."));
    row(out, "groups_claim", i.groups_claim.join("."));
    row(out, "refresh", duration(i.refresh));
    row(out, "leeway", duration(i.leeway));
    let on_invalid = match i.on_invalid {
        OnInvalid::Reject => "reject (401, never forwarded)",
        OnInvalid::Pass => "pass (forwarded as an opaque token)",
    };
    row(out, "on_invalid", on_invalid);
}

fn tokens(out: &mut String, t: &TokensConfig) {
    section(out, "tokens");
    let sources: Vec<String> = t.sources.iter().map(|s| s.to_string()).collect();
    row(out, "sources", sources.join(", "));
    let track = match t.track {
        TrackMode::Accepted => "accepted (once the upstream answers other than 401)",
        TrackMode::All => "all (on first sight)",
    };
    row(out, "track", track);
    row(out, "max_tracked", t.max_tracked);
    row(out, "revoked_retention", duration(t.revoked_retention));
    row(out, "hash_key_env", &t.hash_key_env);
    let header = t.no_touch_header.as_ref().map_or("none", |h| h.as_str());
    row(out, "no_touch_header", header);
}

fn exclusions(out: &mut String, e: &ExclusionsConfig) {
    section(out, "exclusions");
    let source = e
        .defaults_file
        .as_ref()
        .map_or("built-in list".to_string(), |p| p.display().to_string());
    row(out, "defaults_file", source);
    let on = e.groups.iter().filter(|g| is_enabled(e, g)).count();
    row(
        out,
        "default groups",
        format!("{on} of {} on", e.groups.len()),
    );
    for g in &e.groups {
        let state = if is_enabled(e, g) { "on " } else { "off" };
        let _ = writeln!(out, "    {state}  {:<24} {}", g.id, g.title);
        for route in &g.routes {
            let _ = writeln!(out, "           {route}");
        }
    }
    match e.custom.len() {
        0 => row(out, "custom", "none"),
        n => {
            row(out, "custom", format!("{n} pattern(s)"));
            for p in &e.custom {
                let _ = writeln!(out, "    on   {p}");
            }
        }
    }
}

fn is_enabled(e: &ExclusionsConfig, g: &Group) -> bool {
    e.enabled_defaults.contains(&g.id)
}

fn catalog_state_revocation(out: &mut String, c: &Config) {
    section(out, "catalog");
    row(
        out,
        "openapi",
        opt_path(c.catalog.openapi.as_deref(), "none"),
    );
    let s = &c.state;
    section(out, "state");
    match s.backend {
        Backend::Memory => {
            row(out, "backend", "memory");
            let none = "none (no persistence)";
            row(out, "snapshot", opt_path(s.snapshot.as_deref(), none));
            row(out, "snapshot_interval", duration(s.snapshot_interval));
        }
        Backend::Redis => {
            row(out, "backend", "redis");
            redis_endpoint(out, s.redis_url.as_deref());
            row(out, "prefix", &s.prefix);
            row(out, "sync_interval", duration(s.sync_interval));
            row(out, "negative_ttl", duration(s.negative_ttl));
            let on_error = match s.on_error {
                OnError::Open => "open (serve unknown tokens while Redis is down)",
                OnError::Closed => "closed (refuse unknown tokens with 503 while Redis is down)",
            };
            row(out, "on_error", on_error);
        }
    }
    section(out, "revocation");
    let webhook = c.revocation.webhook.as_ref().map(|u| u.to_string());
    row(out, "webhook", webhook.as_deref().unwrap_or("none"));
    let rfc7009 = c.revocation.rfc7009.as_ref().map(|r| {
        let (url, id, env) = (&r.url, &r.client_id, &r.client_secret_env);
        format!("{url} (client_id {id}, secret from ${env})")
    });
    row(out, "rfc7009", rfc7009.as_deref().unwrap_or("none"));
    if c.revocation.webhook.is_some() || c.revocation.rfc7009.is_some() {
        let pending = c.revocation.max_pending.to_string();
        row(out, "max_pending", &pending);
        let retry_for = humantime::format_duration(c.revocation.retry_for).to_string();
        row(out, "retry_for", &retry_for);
    }
}

fn opt_path(p: Option<&Path>, none: &str) -> String {
    p.map_or(none.to_string(), |p| p.display().to_string())
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `1h 30m`, `1s 500ms`: exact, and accepted back by humantime.
pub(crate) fn duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return "0s".to_string();
    }
    let units = [(3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let mut rest = total_ms;
    let mut parts = Vec::new();
    for (size, unit) in units {
        if rest >= size {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    parts.join(" ")
}

/// `host:port`, or `[v6]:port`.
fn host_port(host: &str, port: u16) -> String {
    match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

/// The Redis endpoint, never its password: the URL, the sentinels and the master name, or
/// the cluster's seed nodes.
fn redis_endpoint(out: &mut String, url: Option<&str>) {
    let Some(url) = url else {
        row(out, "redis_url", "none");
        return;
    };
    match super::SentinelUrl::parse(url) {
        Some(Ok(s)) => {
            let sentinels: Vec<String> = s
                .sentinels
                .iter()
                .map(|(host, port)| host_port(host, *port))
                .collect();
            row(out, "redis_sentinels", sentinels.join(", "));
            row(out, "redis_master", format!("{} (db {})", s.master, s.db));
        }
        _ => match super::ClusterUrl::parse(url) {
            Some(Ok(c)) => {
                let nodes: Vec<String> = c.nodes.iter().map(|(h, p)| host_port(h, *p)).collect();
                row(out, "redis_cluster", nodes.join(", "));
            }
            _ => row(out, "redis_url", super::redacted_redis_url(url)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_hours_minutes_seconds_millis() {
        assert_eq!(duration(Duration::from_secs(24 * 3600)), "24h");
        assert_eq!(duration(Duration::from_secs(90)), "1m 30s");
        assert_eq!(duration(Duration::from_millis(1500)), "1s 500ms");
        assert_eq!(duration(Duration::ZERO), "0s");
    }

    #[test]
    fn a_sentinel_endpoint_shows_sentinels_and_master_never_the_password() {
        let mut out = String::new();
        redis_endpoint(
            &mut out,
            Some("redis+sentinel://u:hunter2@a:26379,[::1]:26380/m"),
        );
        assert!(out.contains("a:26379, [::1]:26380"), "{out}");
        assert!(out.contains("m (db 0)"), "{out}");
        let mut plain = String::new();
        redis_endpoint(&mut plain, Some("redis://:hunter2@h:6379"));
        assert!(
            !out.contains("hunter2") && !plain.contains("hunter2"),
            "{out}{plain}"
        );
    }

    #[test]
    fn a_cluster_endpoint_shows_its_seed_nodes_never_the_password() {
        let mut out = String::new();
        redis_endpoint(
            &mut out,
            Some("redis+cluster://u:hunter2@a:7000,[::1]:7001"),
        );
        assert!(out.contains("redis_cluster"), "{out}");
        assert!(out.contains("a:7000, [::1]:7001"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
    }
}
