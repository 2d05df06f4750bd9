//! The trial list's would-be revocations (docs/reference.md, "Trial list"): the state layer
//! reports each one ([`crate::store::WouldRevoke`]); this keeps the newest
//! [`TrialLog::MAX_LISTED`] with the APIs that kept each token alive named by their evidence
//! templates, counts them (`idlegate_trial_revocations_total`) and logs them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};

use crate::clock::UnixMs;
use crate::evidence::{Evidence, TemplateId};
use crate::store::WouldRevoke;

/// One API that kept a token alive under the enforced list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptAliveBy {
    /// `*` with template `(other APIs)` for the APIs beyond the two a token keeps by name.
    pub method: String,
    pub template: String,
    /// Requests between the token's last trial reset and the would-be revocation (at most
    /// 255: the count stops there).
    pub count: u32,
}

/// One would-be revocation as listed (and as the trial file keeps it: `app::trial_file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The token id (hex); never the token.
    pub token_id: String,
    pub subject: Option<String>,
    pub at_ms: UnixMs,
    pub kept_alive_by: Vec<KeptAliveBy>,
}

/// The would-be revocations of the trial in force, newest first.
pub struct TrialLog {
    /// When the trial in force started on this replica (0 = no trial).
    since_ms: AtomicU64,
    listed: Mutex<VecDeque<Listed>>,
    counter: Counter,
    /// Listings or `since` changed since the trial file was last written.
    changed: AtomicBool,
}

impl TrialLog {
    /// The listings kept (the oldest drops out first).
    pub const MAX_LISTED: usize = 1000;

    pub fn new(counter: Counter) -> TrialLog {
        TrialLog {
            since_ms: AtomicU64::new(0),
            listed: Mutex::new(VecDeque::new()),
            counter,
            changed: AtomicBool::new(false),
        }
    }

    /// A trial starts (`Some(now)`) or stops (`None`): the listings of the last one go.
    pub fn restart(&self, since_ms: Option<UnixMs>) {
        let mut listed = self.listed.lock();
        listed.clear();
        listed.shrink_to_fit();
        self.since_ms
            .store(since_ms.unwrap_or(0), Ordering::Relaxed);
        self.mark_changed();
    }

    /// The listings and start of the same trial before a restart (`app::trial_file`).
    pub fn restore(&self, since_ms: UnixMs, listed: Vec<Listed>) {
        let mut all = self.listed.lock();
        *all = listed.into_iter().take(Self::MAX_LISTED).collect();
        self.since_ms.store(since_ms, Ordering::Relaxed);
    }

    pub(crate) fn mark_changed(&self) {
        self.changed.store(true, Ordering::Release);
    }

    /// When something changed since the last call: the start (None without a trial) and
    /// the listings, newest first.
    pub(crate) fn take_changes(&self) -> Option<(Option<UnixMs>, Vec<Listed>)> {
        if !self.changed.swap(false, Ordering::AcqRel) {
            return None;
        }
        Some((
            self.since_ms(),
            self.listed.lock().iter().cloned().collect(),
        ))
    }

    /// When the trial in force started here; None without a trial.
    pub fn since_ms(&self) -> Option<UnixMs> {
        Some(self.since_ms.load(Ordering::Relaxed)).filter(|&s| s != 0)
    }

    /// Lists a would-be revocation, naming its kept-alive APIs by `evidence`'s templates.
    pub fn record(&self, w: WouldRevoke, evidence: Option<&Evidence>) {
        let name = |api: Option<u32>| {
            let id = api.map(TemplateId::from_raw)?;
            evidence?.describe(id)
        };
        let kept_alive_by = (w.kept_alive_by.iter())
            .map(|&(api, count)| {
                let (method, template) =
                    name(api).unwrap_or_else(|| ("*".to_owned(), "(other APIs)".to_owned()));
                KeptAliveBy {
                    method,
                    template,
                    count,
                }
            })
            .collect();
        let listed = Listed {
            token_id: w.key.to_hex(),
            subject: w.subject.map(|s| s.to_string()),
            at_ms: w.at_ms,
            kept_alive_by,
        };
        tracing::info!(
            event = "trial_would_revoke",
            token_id = %listed.token_id,
            at_ms = listed.at_ms,
            "the trial list would have revoked this token"
        );
        self.counter.inc();
        let mut all = self.listed.lock();
        if all.len() == Self::MAX_LISTED {
            all.pop_back();
        }
        all.push_front(listed);
        self.mark_changed();
    }

    /// The listings, newest first (by the time of the would-be revocation).
    pub fn listed(&self) -> Vec<Listed> {
        let mut out: Vec<Listed> = self.listed.lock().iter().cloned().collect();
        out.sort_by_key(|l| std::cmp::Reverse(l.at_ms));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenKey;

    fn would(n: u8, at_ms: UnixMs) -> WouldRevoke {
        WouldRevoke {
            key: TokenKey([n; 16]),
            at_ms,
            kept_alive_by: vec![(None, 3)],
            subject: None,
            policy: 0,
        }
    }

    #[test]
    fn listings_are_newest_first_bounded_and_cleared_by_a_new_trial() {
        let log = TrialLog::new(Counter::default());
        log.restart(Some(5));
        for i in 0..(TrialLog::MAX_LISTED as u64 + 10) {
            log.record(would(1, 1000 + i), None);
        }
        let listed = log.listed();
        assert_eq!(listed.len(), TrialLog::MAX_LISTED);
        assert_eq!(listed[0].at_ms, 1000 + TrialLog::MAX_LISTED as u64 + 9);
        assert_eq!(listed[0].kept_alive_by[0].template, "(other APIs)");
        assert_eq!(log.counter.get(), TrialLog::MAX_LISTED as u64 + 10);
        log.restart(None);
        assert!(log.listed().is_empty());
        assert_eq!(log.since_ms(), None);
    }
}
