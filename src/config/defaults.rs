//! The defaults (docs/reference.md, "Configuration"), in one place.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::classify::Group;
use crate::token::TokenSource;

use super::groups;
use super::model::*;

pub(crate) const MIN: Duration = Duration::from_secs(60);
/// Timeouts under this are accepted with a warning (docs/reference.md, "Configuration").
pub(crate) const WARN_BELOW: Duration = Duration::from_secs(5 * 60);

pub(crate) fn proxy(upstream: http::Uri) -> ProxyConfig {
    ProxyConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
        upstream,
        connect_timeout: Duration::from_secs(2),
        upstream_timeout: Duration::from_secs(60),
        workers: 0,
        max_header_bytes: 65536,
        max_connections: 10_000,
        keepalive_timeout: Duration::from_secs(60),
        header_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        status_path: "/.idlegate/session".to_string(),
    }
}

pub(crate) fn admin() -> AdminConfig {
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 9901));
    AdminConfig {
        listen,
        token_env: "IDLEGATE_ADMIN_TOKEN".to_string(),
        allowed_hosts: default_allowed_hosts(listen),
    }
}

/// The admin listener's own address, `localhost`, `127.0.0.1` and `[::1]`: what a browser on
/// the same machine sends, and nothing a DNS-rebinding page can send.
pub(crate) fn default_allowed_hosts(listen: SocketAddr) -> Vec<String> {
    let own = match listen.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let mut hosts = vec![own];
    for h in ["localhost", "127.0.0.1", "[::1]"] {
        if !hosts.iter().any(|x| x == h) {
            hosts.push(h.to_string());
        }
    }
    hosts
}

pub(crate) fn timeout() -> TimeoutConfig {
    TimeoutConfig {
        enabled: true,
        idle: 30 * MIN,
        absolute: None,
        mode: Mode::Enforce,
        resolution: Duration::from_secs(1),
        expose_remaining: false,
        warn_before: Duration::from_secs(120),
        policies: Vec::new(),
    }
}

pub(crate) fn tokens() -> TokensConfig {
    TokensConfig {
        sources: vec![TokenSource::Authorization],
        track: TrackMode::Accepted,
        max_tracked: 10_000_000,
        revoked_retention: 24 * 60 * MIN,
        hash_key_env: "IDLEGATE_HASH_KEY".to_string(),
        no_touch_header: None,
    }
}

pub(crate) fn exclusions(groups: Vec<Group>) -> ExclusionsConfig {
    ExclusionsConfig {
        defaults_file: None,
        groups,
        enabled_defaults: Vec::new(),
        custom: Vec::new(),
        trial_defaults: Vec::new(),
        trial_custom: Vec::new(),
    }
}

pub(crate) fn state() -> StateConfig {
    StateConfig {
        backend: Backend::Memory,
        snapshot: None,
        snapshot_interval: Duration::from_secs(5),
        redis_url: None,
        prefix: "idlegate".to_string(),
        sync_interval: Duration::from_secs(1),
        on_error: OnError::Open,
        negative_ttl: Duration::from_secs(2),
    }
}

/// Every default, with the built-in groups.
pub(crate) fn config(upstream: http::Uri) -> Config {
    Config {
        path: None,
        proxy: proxy(upstream),
        admin: admin(),
        timeout: timeout(),
        tokens: tokens(),
        exclusions: exclusions(groups::builtin()),
        catalog: CatalogConfig::default(),
        state: state(),
        revocation: RevocationConfig::default(),
        identity: None,
        audit: AuditConfig::default(),
        evidence: EvidenceConfig::default(),
    }
}
