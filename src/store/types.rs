//! The store's vocabulary: reasons, the timing policy, revocations, and what a check, a
//! track or a status lookup answers. Imports nothing else of the store.

use crate::clock::UnixMs;
use crate::token::TokenKey;

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
}

/// A token that just expired (or was revoked by an admin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub key: TokenKey,
    pub reason: RevokeReason,
    pub last_activity_ms: UnixMs,
    pub first_seen_ms: UnixMs,
    /// When it was revoked (the deadline that passed, or the admin's now).
    pub at_ms: UnixMs,
    /// `false` in shadow mode: the token was only dropped from tracking.
    pub enforced: bool,
}

/// Result of the per-request check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Neither tracked nor revoked.
    Unknown,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackedRecord {
    pub key: TokenKey,
    pub last_activity_ms: UnixMs,
    pub first_seen_ms: UnixMs,
    pub jwt_exp_ms: Option<UnixMs>,
}

/// A revoked token as exported to / imported from a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevokedRecord {
    pub key: TokenKey,
    pub reason: RevokeReason,
    pub until_ms: UnixMs,
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
