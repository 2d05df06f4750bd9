//! Token state (docs/reference.md, "Tracking", "Expiry and revocation", "State and
//! durability"). Everything above the store goes through [`state::TokenState`].
//!
//! # Layout
//!
//! - [`state`]: the seam, [`state::TokenState`] over a memory or Redis backend (its module
//!   doc carries the plan); [`durable`]: the admin revocation's durability.
//! - [`effects`]: the sink a revocation is reported to (implemented above) and the policy
//!   pushed down; `local`: this replica's store, clock, sink, policy and readiness.
//! - `memory`: [`Store`], the sharded tracked-token table and the revoked set (`table`, `index`,
//!   `revoked`); `deadline`: the expiry rules; `expire`: the sweeper's side of the table
//!   (wheel in `wheel`); `deferred`: expiry deferred to the shared state.
//! - `records`: the store as records (export, import).
//! - `trial`, `trial_word`: the trial list's shadow timers, one 8-byte word per tracked token
//!   while a trial is set ([`TrialStep`], [`WouldRevoke`]).
//! - `types`: reasons, timing, revocations and the answers of the store.
//! - [`redis`]: the Redis backend (lookup, claim, flush, pub/sub, its tasks).
//! - [`snapshot`] (bytes in `snapshot_format`, read by `snapshot_decode`, streamed by
//!   `snapshot_stream`), [`journal`], [`persist`]: the memory backend's persistence.
//! - [`sweeper`]: the sweeper task.
//!
//! This file only declares and re-exports: the files below import each other one way, and
//! none of them imports this file.

mod deadline;
mod deferred;
pub(crate) mod durable;
pub(crate) mod effects;
mod expire;
mod identity;
mod index;
pub mod journal;
pub(crate) mod local;
mod memory;
pub(crate) mod persist;
mod records;
pub mod redis;
mod revoked;
pub mod snapshot;
mod snapshot_decode;
mod snapshot_format;
mod snapshot_stream;
pub mod state;
pub(crate) mod subjects;
pub(crate) mod sweeper;
mod table;
#[cfg(test)]
mod tests;
mod trial;
mod trial_word;
mod types;
mod wheel;

pub use identity::{SubjectToken, Verified};
pub use memory::Store;
pub use trial::{TrialStep, WouldRevoke};
pub use types::{
    Check, NewIdent, PolicyTiming, Revocation, RevokeReason, RevokedRecord, Status, Timing, Track,
    TrackedRecord, MAX_POLICIES, MAX_SUBJECT_LEN,
};
pub use wheel::Wheel;
