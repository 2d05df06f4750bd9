//! Token state: the tracked-token table, the revoked set and the timer wheel that expires
//! tokens (SPEC §3, §4). The request path calls [`Store::check`] and [`Store::track`]; the
//! sweeper calls [`Store::expire_due`].

mod wheel;

pub use wheel::Wheel;

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

    /// The `error_description` of the 401 (SPEC §10 revoked answers).
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

pub struct Store {
    _private: (),
}

impl Store {
    /// `resolution_ms` is the wheel's tick.
    pub fn new(max_tracked: usize, resolution_ms: u64, now_ms: UnixMs) -> Store {
        let _ = (max_tracked, resolution_ms, now_ms);
        todo!()
    }

    /// The request path: revoked? tracked and expired (revoke on the spot)? touch when
    /// `touch` (an `activity` request). Never blocks on the sweeper for long.
    pub fn check(&self, key: &TokenKey, now_ms: UnixMs, timing: &Timing, touch: bool) -> Check {
        let _ = (key, now_ms, timing, touch);
        todo!()
    }

    /// Starts tracking (`last_activity = first_seen = now_ms`) unless tracked, revoked, or the
    /// table is full. `jwt_exp_s` bounds the revoked retention later.
    pub fn track(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        jwt_exp_s: Option<u64>,
        timing: &Timing,
    ) -> Track {
        let _ = (key, now_ms, jwt_exp_s, timing);
        todo!()
    }

    /// Stops tracking (upstream 401). Returns whether it was tracked.
    pub fn untrack(&self, key: &TokenKey) -> bool {
        let _ = key;
        todo!()
    }

    /// Revokes now with `reason` (admin revocation; also works for unknown keys).
    /// Returns the revocation (with the token's times when it was tracked).
    pub fn revoke(
        &self,
        key: &TokenKey,
        reason: RevokeReason,
        now_ms: UnixMs,
        timing: &Timing,
    ) -> Revocation {
        let _ = (key, reason, now_ms, timing);
        todo!()
    }

    pub fn status(&self, key: &TokenKey, now_ms: UnixMs, timing: &Timing) -> Status {
        let _ = (key, now_ms, timing);
        todo!()
    }

    /// The sweeper's tick: advances the wheel to `now_ms`, revokes (or, in shadow mode, drops)
    /// every token whose deadline has passed, re-files touched ones, and purges revoked keys
    /// whose retention ended. A concurrent touch wins over expiry.
    pub fn expire_due(&self, now_ms: UnixMs, timing: &Timing) -> Vec<Revocation> {
        let _ = (now_ms, timing);
        todo!()
    }

    /// Re-files every tracked token for the current timing (after `idle` changed).
    pub fn rearm_all(&self, now_ms: UnixMs, timing: &Timing) {
        let _ = (now_ms, timing);
        todo!()
    }

    /// Forgets every tracked token (timeout switched off and on again). The revoked set stays.
    pub fn clear_tracked(&self) {
        todo!()
    }

    pub fn set_max_tracked(&self, max: usize) {
        let _ = max;
        todo!()
    }

    pub fn tracked_len(&self) -> usize {
        todo!()
    }

    pub fn revoked_len(&self) -> usize {
        todo!()
    }

    pub fn export(&self) -> (Vec<TrackedRecord>, Vec<RevokedRecord>) {
        todo!()
    }

    /// Loads records (at start, before serving). Tracked records for keys already present keep
    /// the later activity.
    pub fn import(
        &self,
        tracked: &[TrackedRecord],
        revoked: &[RevokedRecord],
        now_ms: UnixMs,
        timing: &Timing,
    ) {
        let _ = (tracked, revoked, now_ms, timing);
        todo!()
    }
}
