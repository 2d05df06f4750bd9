//! Verified JWTs (docs/reference.md, "Identity"). STUB: the interface the proxy builds on;
//! the verifier itself (JWKS, jsonwebtoken) replaces this file.

use std::sync::Arc;

use crate::clock::UnixMs;
use crate::config::IdentityConfig;
use crate::telemetry::Metrics;
use crate::token::Claims;

/// Why a JWT was refused: the metric's result and the `error_description` of the 401.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub result: crate::telemetry::identity::VerifyResult,
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
    _config: IdentityConfig,
    _metrics: Arc<Metrics>,
}

impl Identity {
    pub fn new(config: &IdentityConfig, metrics: Arc<Metrics>) -> Identity {
        Identity {
            _config: config.clone(),
            _metrics: metrics,
        }
    }

    /// Verifies `token` at `now_ms` (signature, alg, exp/nbf with leeway, iss, aud). An unknown
    /// `kid` refetches the key set (at most once per 30 s) and tries again.
    pub async fn verify(&self, token: &str, now_ms: UnixMs) -> Verdict {
        let _ = (token, now_ms);
        Verdict::Opaque
    }

    /// A first key set is loaded (`/readyz` waits for it).
    pub fn is_ready(&self) -> bool {
        true
    }
}
