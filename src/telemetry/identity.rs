//! The identity families (docs/reference.md, "Metrics"): verifications, JWKS refreshes,
//! tracked tokens by timeout policy, subjects, and the bounds that drop input.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabel {
    policy: String,
}

/// How a token's verification ended (`idlegate_token_verifications_total{result}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyResult {
    Ok,
    Invalid,
    Expired,
    UnknownKey,
}

impl VerifyResult {
    pub const ALL: [VerifyResult; 4] = [
        VerifyResult::Ok,
        VerifyResult::Invalid,
        VerifyResult::Expired,
        VerifyResult::UnknownKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerifyResult::Ok => "ok",
            VerifyResult::Invalid => "invalid",
            VerifyResult::Expired => "expired",
            VerifyResult::UnknownKey => "unknown_key",
        }
    }
}

#[derive(Default)]
pub struct IdentityMetrics {
    verifications: Family<ResultLabel, Counter>,
    jwks_refresh: Family<ResultLabel, Counter>,
    policy_tokens: Family<PolicyLabel, Gauge>,
    policy_revocations: Family<PolicyLabel, Counter>,
    policy_labels: parking_lot::Mutex<Vec<String>>,
    /// Distinct subjects of tracked and retained revoked tokens.
    pub subjects: Gauge,
    /// Groups past the 256th of one token, not looked at.
    pub groups_ignored: Counter,
}

impl IdentityMetrics {
    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "idlegate_token_verifications",
            "JWT verifications by result (a known token is not verified again)",
            self.verifications.clone(),
        );
        r.register(
            "idlegate_jwks_refresh",
            "JWKS loads and refreshes by result",
            self.jwks_refresh.clone(),
        );
        r.register(
            "idlegate_policy_tokens",
            "Tracked tokens by timeout policy (policy=\"default\" for the default)",
            self.policy_tokens.clone(),
        );
        r.register(
            "idlegate_policy_revocations",
            "Enforced revocations by timeout policy (policy=\"default\" for the default)",
            self.policy_revocations.clone(),
        );
        r.register(
            "idlegate_subjects",
            "Distinct subjects of tracked and retained revoked tokens",
            self.subjects.clone(),
        );
        r.register(
            "idlegate_token_groups_ignored",
            "Groups of a token past the first 256, not used to choose its policy",
            self.groups_ignored.clone(),
        );
    }

    pub(super) fn create_label_values(&self) {
        for result in VerifyResult::ALL {
            self.verification(result);
        }
        for result in ["ok", "error"] {
            let _ = self.jwks_refresh.get_or_create(&ResultLabel { result });
        }
        self.set_policies(&[]);
    }

    pub fn verification(&self, result: VerifyResult) -> Counter {
        self.verifications
            .get_or_create(&ResultLabel {
                result: result.as_str(),
            })
            .clone()
    }

    pub fn jwks_refresh(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.jwks_refresh
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// Keeps exactly `default` and the named policies as series (a removed policy's series
    /// goes). Returns nothing: [`IdentityMetrics::set_policy_tokens`] fills them in.
    pub fn set_policies(&self, names: &[String]) {
        let mut live = self.policy_labels.lock();
        let mut wanted: Vec<String> = vec!["default".to_string()];
        wanted.extend(names.iter().cloned());
        for old in live.iter().filter(|old| !wanted.contains(old)) {
            let label = PolicyLabel {
                policy: old.clone(),
            };
            self.policy_tokens.remove(&label);
            self.policy_revocations.remove(&label);
        }
        for name in &wanted {
            let label = PolicyLabel {
                policy: name.clone(),
            };
            let _ = self.policy_tokens.get_or_create(&label);
            let _ = self.policy_revocations.get_or_create(&label);
        }
        *live = wanted;
    }

    /// Counts `n` enforced revocations of tokens under `policy` (`"default"` for the default);
    /// a name that is not a live policy is not a series (the label set stays bounded).
    pub fn policy_revoked(&self, policy: &str, n: u64) {
        if self.policy_labels.lock().iter().any(|p| p == policy) {
            self.policy_revocations
                .get_or_create(&PolicyLabel {
                    policy: policy.to_string(),
                })
                .inc_by(n);
        }
    }

    /// Sets one policy's gauge (`"default"` for the default policy).
    pub fn set_policy_tokens(&self, policy: &str, n: i64) {
        if self.policy_labels.lock().iter().any(|p| p == policy) {
            self.policy_tokens
                .get_or_create(&PolicyLabel {
                    policy: policy.to_string(),
                })
                .set(n);
        }
    }
}
