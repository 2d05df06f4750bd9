//! The store's vocabulary: reasons, the timing policy, revocations, and what a check, a
//! track or a status lookup answers. Imports nothing else of the store.

use std::sync::Arc;

use crate::clock::UnixMs;
use crate::token::TokenKey;

/// At most this many `[[timeout.policies]]` (docs/reference.md, "Configuration").
pub const MAX_POLICIES: usize = 32;

/// The longest subject the store keeps, in bytes (docs/reference.md, "Identity"). A longer
/// one is not recorded: cutting it could make two subjects one, and sign-out-everywhere
/// would then reach another user's tokens.
pub const MAX_SUBJECT_LEN: usize = 256;

/// One timeout policy's deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PolicyTiming {
    /// `u64::MAX` = `idle = "off"`: the idle deadline never comes.
    pub idle_ms: u64,
    pub absolute_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevokeReason {
    Inactivity,
    Absolute,
    Admin,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Inactivity => "inactivity",
            RevokeReason::Absolute => "absolute",
            RevokeReason::Admin => "admin",
        }
    }

    /// The `error_description` of the 401 (docs/reference.md, "Proxy error answers").
    pub fn description(self) -> &'static str {
        match self {
            RevokeReason::Inactivity => "token revoked after inactivity",
            RevokeReason::Absolute => "token revoked: absolute lifetime reached",
            RevokeReason::Admin => "token revoked by an administrator",
        }
    }
}

/// The live timing policy the store applies. Read per call, so a runtime change of `idle`
/// applies to every tracked token at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pub idle_ms: u64,
    pub absolute_ms: Option<u64>,
    /// `true` = enforce (expired tokens enter the revoked set); `false` = shadow (expired tokens
    /// are only dropped from tracking).
    pub enforce: bool,
    /// How long a revoked key is kept (bounded further by the token's JWT `exp`).
    pub retention_ms: u64,
    /// `policies[i]` is the deadlines of a token with policy `i + 1` (`timeout.policies[i]`);
    /// policy 0 is the default above. A fixed array keeps `Timing` `Copy`.
    pub policies: [PolicyTiming; MAX_POLICIES],
}

impl Timing {
    /// The timing of a token with `policy` (0 = the default: `self`'s own deadlines).
    pub fn of(&self, policy: u8) -> Timing {
        match self.policies.get(usize::from(policy).wrapping_sub(1)) {
            Some(p) if policy != 0 => Timing {
                idle_ms: p.idle_ms,
                absolute_ms: p.absolute_ms,
                ..*self
            },
            _ => *self,
        }
    }

    /// A policy's deadlines without the rest of the timing: what the request path's check
    /// needs, in three words (a `Timing` with its policy table is 800 bytes to copy).
    pub(crate) fn limits(&self, policy: u8) -> Limits {
        let (idle_ms, absolute_ms) = match self.policies.get(usize::from(policy).wrapping_sub(1)) {
            Some(p) if policy != 0 => (p.idle_ms, p.absolute_ms),
            _ => (self.idle_ms, self.absolute_ms),
        };
        Limits {
            idle_ms,
            absolute_ms,
            enforce: self.enforce,
        }
    }

    /// A timing with the given default deadlines, no policies (tests, benchmarks).
    pub fn simple(
        idle_ms: u64,
        absolute_ms: Option<u64>,
        enforce: bool,
        retention_ms: u64,
    ) -> Timing {
        Timing {
            idle_ms,
            absolute_ms,
            enforce,
            retention_ms,
            policies: [PolicyTiming::default(); MAX_POLICIES],
        }
    }
}

/// The deadlines of one policy (see [`Timing::limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) idle_ms: u64,
    pub(crate) absolute_ms: Option<u64>,
    pub(crate) enforce: bool,
}

/// What the expiry rules read of a timing: a whole [`Timing`] (its default policy) or one
/// policy's [`Limits`].
pub(crate) trait Deadlines {
    fn idle_ms(&self) -> u64;
    fn absolute_ms(&self) -> Option<u64>;
    fn enforce(&self) -> bool;
}

impl Deadlines for Timing {
    fn idle_ms(&self) -> u64 {
        self.idle_ms
    }
    fn absolute_ms(&self) -> Option<u64> {
        self.absolute_ms
    }
    fn enforce(&self) -> bool {
        self.enforce
    }
}

impl Deadlines for Limits {
    fn idle_ms(&self) -> u64 {
        self.idle_ms
    }
    fn absolute_ms(&self) -> Option<u64> {
        self.absolute_ms
    }
    fn enforce(&self) -> bool {
        self.enforce
    }
}

/// A token that just expired (or was revoked by an admin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub key: TokenKey,
    pub reason: RevokeReason,
    pub last_activity_ms: UnixMs,
    pub first_seen_ms: UnixMs,
    /// When it was revoked (the deadline that passed, or the admin's now).
    pub at_ms: UnixMs,
    /// `false` in shadow mode: the token was only dropped from tracking.
    pub enforced: bool,
    /// The token's subject, when identity knew it.
    pub subject: Option<Arc<str>>,
    /// The token's policy (0 = default, i + 1 = `timeout.policies[i]`).
    pub policy: u8,
}

/// Result of the per-request check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Neither tracked nor revoked.
    Unknown,
    /// Tracked, but verified with other bytes than the request's (identity on): nothing was
    /// touched. The caller verifies the token, then checks again.
    Unverified,
    /// In the revoked set.
    Revoked(RevokeReason),
    /// Tracked and not expired; touched when asked. `deadline_ms` is the earliest of the idle
    /// and absolute deadlines after the touch.
    Active { deadline_ms: UnixMs },
    /// Was tracked and its deadline had passed: revoked on the spot (enforce) or dropped
    /// (shadow). The caller reports it (audit, metrics, hooks).
    Expired(Revocation),
    /// Was tracked and its deadline had passed by local state, with deferred expiry on
    /// (shared state, [`Store::set_deferred_expiry`]): nothing was changed. The caller claims
    /// the expiry from the shared state, which may know of newer activity.
    Due(Revocation),
}

/// Result of starting to track a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    New {
        deadline_ms: UnixMs,
    },
    Existing {
        deadline_ms: UnixMs,
    },
    /// `max_tracked` reached: not tracked.
    Overflow,
    /// The key is in the revoked set: not tracked.
    Revoked,
}

/// State of a token for the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active {
        last_activity_ms: UnixMs,
        deadline_ms: UnixMs,
    },
    Revoked {
        reason: RevokeReason,
        until_ms: UnixMs,
    },
    Unknown,
}

/// A tracked token as exported to / imported from a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackedRecord {
    pub key: TokenKey,
    pub last_activity_ms: UnixMs,
    pub first_seen_ms: UnixMs,
    pub jwt_exp_ms: Option<UnixMs>,
    pub subject: Option<Arc<str>>,
    /// 0 = default, i + 1 = `timeout.policies[i]` (a snapshot stores the name).
    pub policy: u8,
    /// The verified signature's hash (0 = none).
    pub sig: u64,
    /// While a trial list is set: the token's last request that reset the timer under the
    /// enforced + trial exclusions (`Some(0)`: listed as a would-be revocation, waiting for
    /// its next reset). `None` without a trial.
    pub trial_last_ms: Option<UnixMs>,
}

/// A revoked token as exported to / imported from a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedRecord {
    pub key: TokenKey,
    pub reason: RevokeReason,
    pub until_ms: UnixMs,
    pub subject: Option<Arc<str>>,
}

/// What a verified token brings when it starts to be tracked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NewIdent<'a> {
    /// Keyed hash of the verified signature (`Keyer::signature_hash`).
    pub sig: u64,
    pub subject: Option<&'a str>,
    /// 0 = default, i + 1 = `timeout.policies[i]`.
    pub policy: u8,
}

/// A reason's one-byte code in the snapshot and the journal.
pub(crate) fn reason_code(reason: RevokeReason) -> u8 {
    match reason {
        RevokeReason::Inactivity => 0,
        RevokeReason::Absolute => 1,
        RevokeReason::Admin => 2,
    }
}

pub(crate) fn reason_of(code: u8) -> Option<RevokeReason> {
    match code {
        0 => Some(RevokeReason::Inactivity),
        1 => Some(RevokeReason::Absolute),
        2 => Some(RevokeReason::Admin),
        _ => None,
    }
}
