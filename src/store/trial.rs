//! The trial list's shadow timers in the store (docs/reference.md, "Trial list"): while a
//! trial is set, each tracked token keeps one trial word (`trial_word.rs`) beside its slot,
//! and a request of a token still alive under the enforced list that reaches its trial
//! deadline is a would-be revocation. Nothing is allocated while no trial is set.
//!
//! The request path calls [`Store::trial_step`] after its check, only while a trial is set:
//! one more shard read lock and index probe, and a compare-and-swap on the word.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::deadline::expiry;
use super::memory::Store;
use super::state::TokenState;
use super::table::{shard_of, Slot};
use super::trial_word::{self as word, REARM_AFTER_MS};
use super::types::Timing;
use crate::clock::UnixMs;
use crate::token::TokenKey;

/// What a request is under the trial list (the enforced list classified it first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialStep {
    /// Resets the timer under enforced + trial (activity under both).
    Reset,
    /// Resets it under the enforced list only: a trial-excluded API, by its caller's id
    /// (an evidence template id).
    Kept(u32),
    /// Excluded under both lists.
    Excluded,
}

/// A token the trial list would have revoked while the enforced list kept it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WouldRevoke {
    pub key: TokenKey,
    /// The trial deadline the request reached.
    pub at_ms: UnixMs,
    /// What kept it alive under the enforced list since its last trial reset: (API id as the
    /// caller gave it, or `None` for any other API; requests, at most 255).
    pub kept_alive_by: Vec<(Option<u32>, u32)>,
    pub subject: Option<Arc<str>>,
    pub policy: u8,
}

impl Store {
    /// Starts (or starts over) the trial at `now_ms`: every tracked token's trial timer
    /// starts from its last activity; or stops it (`on` false) and frees its words.
    pub fn set_trial(&self, on: bool, now_ms: UnixMs) {
        let trial = &self.trial;
        if !on {
            trial.stop();
            for shard in self.shards.iter() {
                shard.write().init_trials(None);
            }
            return;
        }
        // On before the shards are set, so that a token tracked meanwhile gets its word.
        trial.start(now_ms);
        let word_of = |s: &Slot| trial.word_at(s.last_ms());
        for shard in self.shards.iter() {
            shard.write().init_trials(Some(&word_of));
        }
    }

    /// Whether a trial is set.
    pub fn trial_on(&self) -> bool {
        self.trial.is_on()
    }

    /// Starts the trial over when its time codes would soon run out (called by the sweeper).
    pub fn keep_trial_epoch(&self, now_ms: UnixMs) {
        let epoch = self.trial.epoch_ms();
        if self.trial.is_on() && now_ms.saturating_sub(epoch) > REARM_AFTER_MS {
            tracing::info!("the trial list has run for over a year: its timers start over");
            self.set_trial(true, now_ms);
        }
    }

    /// A request of a token alive under the enforced list (its check said so), as the trial
    /// list sees it. Returns the would-be revocation when the request reaches the token's
    /// trial deadline; the token's trial timer then waits for its next reset.
    pub fn trial_step(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
        step: TrialStep,
    ) -> Option<WouldRevoke> {
        let trial = &self.trial;
        if !trial.is_on() {
            return None;
        }
        let shard = self.shards[shard_of(&key.0)].read();
        let idx = shard.find(&key.0)?;
        let (cell, slot, ident) = (shard.trial(idx)?, shard.slot(idx), shard.ident(idx));
        let limits = timing.limits(ident.policy);
        let code = trial.code(now_ms);
        let id = match step {
            TrialStep::Kept(api) => trial.id_of(api),
            _ => 0,
        };
        let mut listed = None;
        let update = |w: u64| {
            listed = None;
            let due = trial.time_of(w).and_then(|last| {
                let (_, at) = expiry(last, slot.first_ms(), now_ms, &limits)?;
                Some(at)
            });
            if let Some(at) = due {
                listed = Some((at, w));
                return Some(word::waiting());
            }
            match step {
                TrialStep::Reset => Some(word::reset(w, code)),
                TrialStep::Kept(_) => Some(word::kept(w, id)),
                TrialStep::Excluded => None,
            }
        };
        let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, update);
        let (at_ms, old) = listed?;
        Some(WouldRevoke {
            key: *key,
            at_ms,
            kept_alive_by: (word::entries(old))
                .map(|(id, count)| (trial.api_of(id), count))
                .collect(),
            subject: self.subjects.name(ident.subject),
            policy: ident.policy,
        })
    }

    /// The trial word of a slot entered while the trial runs: its last trial reset is
    /// `trial_last_ms` when a record carries one (0 = listed, waiting), else `last_ms`.
    pub(super) fn trial_word_of(&self, last_ms: UnixMs, trial_last_ms: Option<UnixMs>) -> u64 {
        match trial_last_ms {
            Some(0) => word::waiting(),
            Some(t) => self.trial.word_at(t),
            None => self.trial.word_at(last_ms),
        }
    }

    /// A record's trial reset learnt for a token tracked here already (another replica's,
    /// or a snapshot's): the later reset wins. A token listed here and waiting takes it only
    /// while `ahead(t)`, its trial deadline from that reset not yet reached: one reached
    /// already (Redis keeps the reset the listing timed from) would list the token again at
    /// its next request for the same idle stretch.
    pub(super) fn merge_trial(
        &self,
        cell: &AtomicU64,
        trial_last_ms: Option<UnixMs>,
        ahead: impl Fn(UnixMs) -> bool,
    ) {
        let Some(t) = trial_last_ms.filter(|&t| t > 0) else {
            return;
        };
        let code = self.trial.code(t);
        let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
            if word::time_code(w) == word::WAITING && !ahead(t) {
                return None;
            }
            Some(word::reset(w, code))
        });
    }

    /// A trial word as a record carries it: the last trial reset, `Some(0)` when listed and
    /// waiting, `None` without a trial.
    pub(super) fn trial_record(&self, w: u64) -> Option<UnixMs> {
        if !self.trial.is_on() {
            return None;
        }
        match word::time_code(w) {
            word::WAITING => Some(0),
            _ => self.trial.time_of(w),
        }
    }
}

impl TokenState {
    /// Starts (or starts over) the trial list's shadow timers, or stops them (`on` false).
    pub fn set_trial(&self, on: bool, now_ms: UnixMs) {
        self.local.store.set_trial(on, now_ms);
    }

    /// The trial list's view of a request of a token its check found alive
    /// ([`Store::trial_step`]): the would-be revocation it reached, if any.
    pub fn trial_step(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
        step: TrialStep,
    ) -> Option<WouldRevoke> {
        self.local.store.trial_step(key, now_ms, timing, step)
    }
}
