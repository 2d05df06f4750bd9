//! Verified JWTs (docs/reference.md, "Identity"): a JWKS loaded from a file or URL and kept
//! fresh, and the verification of a compact JWS against it with the rules of `[identity]`.
//!
//! # Layout
//!
//! - `error`: [`JwksError`] and the bounds it names.
//! - `jwks`: reading a set from its source (size cap, timeout) and [`check_jwks_file`].
//! - `keyset`: the usable keys of a set, the skipped ones, and the key for a token.
//! - `verify`: the rules, pure: shape, algorithm, key, signature, times, issuer, audience.
//! - `refresh`: loading at start, periodic refresh, refetch on an unknown `kid`.
//!
//! The JWT and JWK work is `jsonwebtoken` 12 with the `aws_lc_rs` backend: AWS-LC's
//! assembly RSA and P-256 keep a first verification well under the 100 µs bar
//! (`cargo bench --bench identity` on the 2-core build machine, under load from other builds:
//! RS256 2048-bit 22 µs, ES256 54 µs per token, decoding and claim checks included). It builds
//! with the C compiler alone (no cmake). `rust_crypto` (pure-Rust `rsa`, `p256`) was not
//! measured, since this backend already meets the bar.

mod error;
mod jwks;
mod keyset;
mod refresh;
mod verify;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::clock::UnixMs;
use crate::config::{IdentityConfig, JwksSource};
use crate::telemetry::identity::VerifyResult;
use crate::telemetry::Metrics;
use crate::token::Claims;
use verify::{Failure, Parsed, Rules};

pub use error::{JwksError, FETCH_TIMEOUT, MAX_JWKS_BYTES};
pub use jwks::check_jwks_file;
pub use keyset::{KeySet, MAX_KEYS};
pub use refresh::UNKNOWN_KID_REFETCH_INTERVAL;
pub use verify::MAX_JWT_BYTES;

/// Why a JWT was refused: the metric's result and the `error_description` of the 401.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub result: VerifyResult,
    /// Short, safe to show a client (never echoes the token).
    pub description: String,
}

/// The outcome of verifying one token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not a compact JWS: an opaque token (no subject, default policy).
    Opaque,
    Valid(Claims),
    Invalid(Rejection),
}

/// The verifier: the key set (loaded at start, refreshed), the rules of `[identity]`.
pub struct Identity {
    source: JwksSource,
    refresh: Duration,
    rules: Rules,
    /// None until a first set is loaded; a failed load never replaces a good set.
    keys: ArcSwapOption<KeySet>,
    /// When an unknown `kid` last caused a refetch (project clock). The lock is held across
    /// the refetch, so concurrent verifications of the same new key share one fetch.
    last_refetch_ms: tokio::sync::Mutex<Option<UnixMs>>,
    metrics: Arc<Metrics>,
}

impl Identity {
    /// A verifier without keys: [`Identity::spawn_refresh`] or [`Identity::load_first`]
    /// loads the first set.
    pub fn new(config: &IdentityConfig, metrics: Arc<Metrics>) -> Identity {
        Identity {
            source: config.jwks.clone(),
            refresh: config.refresh,
            rules: Rules::new(config),
            keys: ArcSwapOption::empty(),
            last_refetch_ms: tokio::sync::Mutex::new(None),
            metrics,
        }
    }

    /// A verifier counting into a registry of its own (benches and tools that have no
    /// gateway metrics).
    pub fn with_own_metrics(config: &IdentityConfig) -> Identity {
        Identity::new(config, Arc::new(Metrics::new()))
    }

    /// Verifies `token` at `now_ms` (signature, alg, exp/nbf with leeway, iss, aud). An unknown
    /// `kid` refetches the key set (at most once per 30 s) and tries again. Every JWS is
    /// counted in `idlegate_token_verifications_total{result}`; an opaque token is not.
    pub async fn verify(&self, token: &str, now_ms: UnixMs) -> Verdict {
        let verdict = self.verify_uncounted(token, now_ms).await;
        let identity = &self.metrics.identity;
        match &verdict {
            Verdict::Opaque => {}
            Verdict::Valid(claims) => {
                identity.verification(VerifyResult::Ok).inc();
                identity.groups_ignored.inc_by(claims.groups_dropped as u64);
            }
            Verdict::Invalid(rejection) => {
                identity.verification(rejection.result).inc();
            }
        }
        verdict
    }

    async fn verify_uncounted(&self, token: &str, now_ms: UnixMs) -> Verdict {
        let jws = match verify::parse(token, &self.rules) {
            Ok(Parsed::Opaque) => return Verdict::Opaque,
            Ok(Parsed::Jws(jws)) => jws,
            Err(rejection) => return Verdict::Invalid(rejection),
        };
        let mut outcome = verify::check(&self.rules, self.keys.load().as_deref(), &jws, now_ms);
        if let Err(Failure::UnknownKey) = outcome {
            self.refetch_for_unknown_key(now_ms).await;
            outcome = verify::check(&self.rules, self.keys.load().as_deref(), &jws, now_ms);
        }
        match outcome {
            Ok(claims) => Verdict::Valid(claims),
            Err(Failure::Rejected(rejection)) => Verdict::Invalid(rejection),
            Err(Failure::UnknownKey) => Verdict::Invalid(Rejection {
                result: VerifyResult::UnknownKey,
                description: verify::why::UNKNOWN_KEY.to_string(),
            }),
        }
    }

    /// Verifies against a given key set, without refetching (the fuzz target's entry: the
    /// same parse and checks as [`Identity::verify`], uncounted).
    #[doc(hidden)]
    pub fn verify_with(
        config: &IdentityConfig,
        keys: &KeySet,
        token: &str,
        now_ms: UnixMs,
    ) -> Verdict {
        let rules = Rules::new(config);
        let jws = match verify::parse(token, &rules) {
            Ok(Parsed::Opaque) => return Verdict::Opaque,
            Ok(Parsed::Jws(jws)) => jws,
            Err(rejection) => return Verdict::Invalid(rejection),
        };
        match verify::check(&rules, Some(keys), &jws, now_ms) {
            Ok(claims) => Verdict::Valid(claims),
            Err(Failure::Rejected(rejection)) => Verdict::Invalid(rejection),
            Err(Failure::UnknownKey) => Verdict::Invalid(Rejection {
                result: VerifyResult::UnknownKey,
                description: verify::why::UNKNOWN_KEY.to_string(),
            }),
        }
    }

    /// A first key set is loaded (`/readyz` waits for it).
    pub fn is_ready(&self) -> bool {
        self.keys.load().is_some()
    }

    /// Usable keys in the current set (0 before the first load).
    pub fn key_count(&self) -> usize {
        self.keys.load().as_ref().map_or(0, |set| set.len())
    }
}
