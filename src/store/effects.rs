//! What the state layer hands up and what it is handed down, as values.
//!
//! Up: [`Effects`], the sink a revocation (or a forgotten token) is reported to. The state
//! layer decides or learns a revocation; the layer above (`app::effects`) fans it out to the
//! audit log, metrics, the recent-revocations ring, tunnels and hooks. The state never sees
//! the application.
//!
//! Down: [`Policy`], the live timing and `state.on_error`, pushed on each config apply and
//! read by the sweeper and the Redis tasks (the request path passes its own timing).

use std::future::Future;
use std::pin::Pin;

use crate::clock::duration_ms;
use crate::config::{Config, Mode, OnError};
use crate::token::TokenKey;

use super::types::{PolicyTiming, Revocation, Timing, MAX_POLICIES};

/// What [`Effects::revoked_batch`] returns: done once the batch is counted and queued.
pub(crate) type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The sink of the state layer's events, implemented above it and handed in at construction.
/// Called on revocations and untracking, never per request.
pub trait Effects: Send + Sync {
    /// A revocation decided on this replica (expiry, claim, admin; enforced or shadow): audit
    /// event, metrics, tunnels, hooks. Storing and publishing it is the state's own business.
    fn revoked(&self, rev: &Revocation);
    /// A batch of revocations the sweeper decided (at most a sweep batch): counted at once,
    /// so `idlegate_revocations_total` follows the revoked set; the sink may deliver the rest
    /// (audit, hooks) later, paced, and make the sweeper wait while its queue is full.
    fn revoked_batch(&self, revs: Vec<Revocation>) -> BoxFuture<'_> {
        for rev in &revs {
            self.revoked(rev);
        }
        Box::pin(std::future::ready(()))
    }
    /// A revocation decided on another replica and learnt here (pub/sub, lookup, flush,
    /// claim, recovery): close the token's tunnels, drop its raw token. Audit and hooks
    /// belong to the replica that decided it.
    fn learned(&self, key: &TokenKey);
    /// A token stopped being tracked without a revocation (upstream 401, dropped elsewhere):
    /// drop its raw token.
    fn forgotten(&self, key: &TokenKey);
}

/// The part of the live config the state layer applies outside the request path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub timing: Timing,
    /// What a locally unknown token gets while the shared state is unreachable.
    pub on_error: OnError,
}

impl Policy {
    pub fn of(config: &Config) -> Policy {
        Policy {
            timing: timing_of(config),
            on_error: config.state.on_error,
        }
    }
}

/// The timing a config sets (docs/reference.md, "Expiry and revocation").
pub(crate) fn timing_of(config: &Config) -> Timing {
    Timing {
        idle_ms: duration_ms(config.timeout.idle),
        absolute_ms: config.timeout.absolute.map(duration_ms),
        enforce: config.timeout.mode == Mode::Enforce,
        retention_ms: duration_ms(config.tokens.revoked_retention),
        policies: policy_timings(config),
    }
}

/// `timeout.policies` as deadlines, in order (`idle = "off"` never comes; an absolute left
/// out is `timeout.absolute`).
fn policy_timings(config: &Config) -> [PolicyTiming; MAX_POLICIES] {
    let mut out = [PolicyTiming::default(); MAX_POLICIES];
    for (slot, p) in out.iter_mut().zip(&config.timeout.policies) {
        *slot = PolicyTiming {
            idle_ms: p.idle.map_or(u64::MAX, duration_ms),
            absolute_ms: p.absolute.or(config.timeout.absolute).map(duration_ms),
        };
    }
    out
}

/// The names of `timeout.policies`, in order: policy id i + 1 is `names[i]`.
pub(crate) fn policy_names(config: &Config) -> Vec<String> {
    config
        .timeout
        .policies
        .iter()
        .map(|p| p.name.clone())
        .collect()
}
