//! Which timeout each recorded token is predicted under (docs/reference.md, "HAR analysis"):
//! the first `[[timeout.policies]]` entry with a group in the token's unverified JWT claims,
//! else the default (`timeout.idle`, or `--idle`, and `timeout.absolute`).

use std::time::Duration;

use crate::clock::duration_ms;
use crate::config::{Config, TimeoutConfig};
use crate::token::signing_input;

use super::report::PolicyRow;
use crate::token::decode_unverified;

/// Claim paths used when the config has no `[identity]`.
const DEFAULT_SUBJECT_CLAIM: &str = "sub";
const DEFAULT_GROUPS_CLAIM: &str = "groups";

/// Idle and absolute timeouts of one policy, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Timeouts {
    /// None = `idle = "off"`: never revoked for inactivity.
    pub idle_ms: Option<u64>,
    pub absolute_ms: Option<u64>,
}

/// How a token's claims were read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ClaimsRead {
    /// A JWT whose claims were read.
    Jwt,
    /// Not a JWT: no claims, the default policy.
    Opaque,
    /// Shaped like a JWT, but its claims could not be read: the default policy.
    Unreadable,
}

impl ClaimsRead {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ClaimsRead::Jwt => "jwt",
            ClaimsRead::Opaque => "opaque",
            ClaimsRead::Unreadable => "unreadable",
        }
    }
}

/// What the analysis knows of a token's holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Holder {
    /// Index into `timeout.policies`; None = the default.
    pub policy: Option<usize>,
    pub subject: Option<String>,
    pub claims: ClaimsRead,
}

/// The config's timeout policies and how to find a token's one.
pub(super) struct TimeoutPolicies<'a> {
    timeout: &'a TimeoutConfig,
    subject_path: Vec<String>,
    groups_path: Vec<String>,
    default: Timeouts,
    /// Parallel to `policies`.
    by_policy: Vec<Timeouts>,
}

impl<'a> TimeoutPolicies<'a> {
    /// `idle` (`--idle`) replaces `timeout.idle`, the default policy's idle timeout.
    pub(super) fn build(cfg: &'a Config, idle: Option<Duration>) -> Self {
        let absolute_ms = cfg.timeout.absolute.map(duration_ms);
        let (subject_path, groups_path) = match &cfg.identity {
            Some(identity) => (
                identity.subject_claim.clone(),
                identity.groups_claim.clone(),
            ),
            None => (
                vec![DEFAULT_SUBJECT_CLAIM.to_owned()],
                vec![DEFAULT_GROUPS_CLAIM.to_owned()],
            ),
        };
        let by_policy = (cfg.timeout.policies.iter())
            .map(|p| Timeouts {
                idle_ms: p.idle.map(duration_ms),
                absolute_ms: p.absolute.map(duration_ms).or(absolute_ms),
            })
            .collect();
        TimeoutPolicies {
            timeout: &cfg.timeout,
            subject_path,
            groups_path,
            default: Timeouts {
                idle_ms: Some(duration_ms(idle.unwrap_or(cfg.timeout.idle))),
                absolute_ms,
            },
            by_policy,
        }
    }

    /// The default policy's timeouts.
    pub(super) fn default(&self) -> Timeouts {
        self.default
    }

    /// The timeouts of policy `index` (None = the default).
    pub(super) fn timeouts(&self, index: Option<usize>) -> Timeouts {
        index
            .and_then(|i| self.by_policy.get(i).copied())
            .unwrap_or(self.default)
    }

    /// Reads the raw `token`'s claims without verification and picks its policy. The token is
    /// not kept: only its policy and subject are.
    pub(super) fn holder(&self, token: &str) -> Holder {
        // A compact JWS is the only shape whose claims can be read: anything else is opaque.
        if signing_input(token).len() == token.len() {
            return Holder {
                policy: None,
                subject: None,
                claims: ClaimsRead::Opaque,
            };
        }
        match decode_unverified(token, &self.subject_path, &self.groups_path) {
            Some(claims) => Holder {
                policy: self.timeout.policy_for(&claims.groups),
                subject: claims.subject,
                claims: ClaimsRead::Jwt,
            },
            None => Holder {
                policy: None,
                subject: None,
                claims: ClaimsRead::Unreadable,
            },
        }
    }

    /// One row per configured policy, with the number of `holders` it applies to.
    pub(super) fn rows(&self, holders: &[Holder]) -> Vec<PolicyRow> {
        (self.timeout.policies.iter().zip(&self.by_policy))
            .enumerate()
            .map(|(i, (p, t))| PolicyRow {
                name: p.name.clone(),
                groups: p.groups.clone(),
                idle_seconds: t.idle_ms.map(|ms| ms / 1000),
                absolute_seconds: t.absolute_ms.map(|ms| ms / 1000),
                tokens: holders.iter().filter(|h| h.policy == Some(i)).count() as u64,
            })
            .collect()
    }

    /// The name of policy `index` (None = the default, no name).
    pub(super) fn name(&self, index: Option<usize>) -> Option<String> {
        index
            .and_then(|i| self.timeout.policies.get(i))
            .map(|p| p.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::config::{IdentityConfig, JwksSource, OnInvalid, TimeoutPolicy};

    const MIN: u64 = 60_000;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    fn policy(name: &str, groups: &[&str], idle_min: Option<u64>) -> TimeoutPolicy {
        TimeoutPolicy {
            name: name.to_owned(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            idle: idle_min.map(|m| Duration::from_secs(m * 60)),
            absolute: None,
            priority: 1,
        }
    }

    fn config() -> Config {
        let mut cfg = Config::with_upstream(http::Uri::from_static("http://127.0.0.1:9"));
        cfg.timeout.idle = Duration::from_secs(30 * 60);
        cfg.timeout.absolute = Some(Duration::from_secs(8 * 3600));
        cfg.timeout
            .policies
            .push(policy("supervisors", &["supervisor"], Some(60)));
        cfg.timeout
            .policies
            .push(policy("wallboards", &["wallboard"], None));
        cfg
    }

    #[test]
    fn first_policy_with_a_common_group_is_the_tokens_policy() {
        let cfg = config();
        let p = TimeoutPolicies::build(&cfg, None);
        let h = p.holder(&jwt(
            r#"{"sub":"s1","groups":["agent","wallboard","supervisor"]}"#,
        ));
        assert_eq!((h.policy, h.subject.as_deref()), (Some(0), Some("s1")));
        assert_eq!(h.claims, ClaimsRead::Jwt);
        assert_eq!(p.name(h.policy).as_deref(), Some("supervisors"));
        let other = p.holder(&jwt(r#"{"sub":"a1","groups":["agent"]}"#));
        assert_eq!(other.policy, None);
    }

    #[test]
    fn opaque_and_unreadable_tokens_get_the_default_policy() {
        let cfg = config();
        let p = TimeoutPolicies::build(&cfg, None);
        let opaque = p.holder("an-opaque-session-token");
        assert_eq!((opaque.policy, opaque.claims), (None, ClaimsRead::Opaque));
        let bad = p.holder("aaa.!!!not-base64!!!.sig");
        assert_eq!((bad.policy, bad.claims), (None, ClaimsRead::Unreadable));
        let wrong = p.holder(&jwt(r#"{"sub":"x","groups":{"supervisor":true}}"#));
        assert_eq!((wrong.policy, wrong.subject), (None, None));
        assert_eq!(wrong.claims, ClaimsRead::Unreadable);
    }

    #[test]
    fn policy_timeouts_fall_back_to_the_global_absolute_and_idle_off_is_none() {
        let cfg = config();
        let p = TimeoutPolicies::build(&cfg, Some(Duration::from_secs(15 * 60)));
        assert_eq!(p.timeouts(Some(0)).idle_ms, Some(60 * MIN));
        assert_eq!(p.timeouts(Some(0)).absolute_ms, Some(480 * MIN));
        assert_eq!(p.timeouts(Some(1)).idle_ms, None);
        // `--idle` replaces the default's idle only.
        assert_eq!(p.timeouts(None).idle_ms, Some(15 * MIN));
        assert_eq!(p.default(), p.timeouts(None));
    }

    #[test]
    fn identity_claim_paths_replace_sub_and_groups() {
        let mut cfg = config();
        cfg.identity = Some(IdentityConfig {
            jwks: JwksSource::File("jwks.json".into()),
            issuer: None,
            audience: Vec::new(),
            algorithms: vec!["RS256".into()],
            subject_claim: vec!["email".into()],
            groups_claim: vec!["realm_access".into(), "roles".into()],
            refresh: Duration::from_secs(600),
            leeway: Duration::from_secs(60),
            on_invalid: OnInvalid::Reject,
        });
        let p = TimeoutPolicies::build(&cfg, None);
        let token = jwt(
            r#"{"sub":"ignored","email":"b@x","groups":["agent"],"realm_access":{"roles":["wallboard"]}}"#,
        );
        let h = p.holder(&token);
        assert_eq!((h.policy, h.subject.as_deref()), (Some(1), Some("b@x")));
    }
}
