//! Which keys of a config change need a restart: they are sized or bound at start; the rest
//! is applied live.

use crate::config::Config;

pub(super) fn keys_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if old.proxy.listen != new.proxy.listen {
        keys.push("proxy.listen");
    }
    if old.admin.listen != new.admin.listen {
        keys.push("admin.listen");
    }
    if old.proxy.workers != new.proxy.workers {
        keys.push("proxy.workers");
    }
    // The cap is sized at start; the keep-alive and header timeouts apply to each new
    // connection from the live config.
    if old.proxy.max_connections != new.proxy.max_connections {
        keys.push("proxy.max_connections");
    }
    if old.proxy.connect_timeout != new.proxy.connect_timeout {
        keys.push("proxy.connect_timeout");
    }
    // The status endpoint's path is routed at start; the verifier and its JWKS fetcher are
    // built at start. Policies and `warn_before` are read live.
    if old.proxy.status_path != new.proxy.status_path {
        keys.push("proxy.status_path");
    }
    if old.identity != new.identity {
        keys.push("identity");
    }
    if old.timeout.resolution != new.timeout.resolution {
        keys.push("timeout.resolution");
    }
    if old.tokens.hash_key_env != new.tokens.hash_key_env {
        keys.push("tokens.hash_key_env");
    }
    if old.state.backend != new.state.backend
        || old.state.snapshot != new.state.snapshot
        || old.state.snapshot_interval != new.state.snapshot_interval
        || old.state.sync_interval != new.state.sync_interval
        || old.state.redis_url != new.state.redis_url
        || old.state.prefix != new.state.prefix
    {
        keys.push("state");
    }
    // The audit file is opened once, at start (docs/reference.md, "Audit events").
    if old.audit != new.audit {
        keys.push("audit");
    }
    // The evidence structure is sized at start (docs/reference.md, "Live evidence").
    if old.evidence != new.evidence {
        keys.push("evidence");
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn max_connections_needs_a_restart_and_the_connection_timeouts_do_not() {
        let old = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
        let mut new = old.clone();
        new.proxy.keepalive_timeout = Duration::from_secs(5);
        new.proxy.header_timeout = Duration::from_secs(2);
        assert!(keys_needing_restart(&old, &new).is_empty());
        new.proxy.max_connections = 10;
        assert_eq!(keys_needing_restart(&old, &new), ["proxy.max_connections"]);
    }

    #[test]
    fn identity_and_status_path_need_a_restart_and_policies_do_not() {
        let old = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
        let mut new = old.clone();
        new.timeout.warn_before = Duration::from_secs(30);
        new.timeout.policies = vec![crate::config::TimeoutPolicy {
            name: "p".into(),
            groups: vec!["g".into()],
            idle: None,
            absolute: None,
            priority: 1,
        }];
        assert!(keys_needing_restart(&old, &new).is_empty());
        new.proxy.status_path = "/s".into();
        new.identity = Some(crate::config::IdentityConfig {
            jwks: crate::config::JwksSource::File("j.json".into()),
            issuer: None,
            audience: Vec::new(),
            algorithms: vec!["RS256".into()],
            subject_claim: vec!["sub".into()],
            groups_claim: vec!["groups".into()],
            refresh: Duration::from_secs(600),
            leeway: Duration::from_secs(60),
            on_invalid: crate::config::OnInvalid::Reject,
        });
        new.evidence.settings.sample = 1;
        assert_eq!(
            keys_needing_restart(&old, &new),
            ["proxy.status_path", "identity", "evidence"]
        );
    }
}
