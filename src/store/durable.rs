//! An admin revocation, enforced at once and then made durable as the backend allows:
//! fsynced to the revocation journal (memory backend with a snapshot) or stored in Redis.
//! The admin API turns the [`Durability`] into 204 or 503.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::identity::SubjectToken;
use super::journal::JournalRecord;
use super::memory::Store;
use super::state::{Backend, TokenState};
use super::types::{RevokeReason, TrackedRecord};
use crate::clock::UnixMs;
use crate::token::TokenKey;

/// How long an admin revocation waits for Redis to store it.
pub(crate) const REDIS_WAIT: Duration = Duration::from_secs(3);
/// How long an admin revocation waits for the journal's fsync: a hung disk must not hang
/// the API.
pub(crate) const JOURNAL_WAIT: Duration = Duration::from_secs(10);

/// Where an admin revocation stands once it is enforced in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// As durable as the configuration makes it: fsynced to the journal, stored in Redis, or
    /// nothing to keep (no `state.snapshot`, or a retention already over).
    Done,
    /// The journal append failed or did not finish in time.
    NotOnDisk,
    /// Redis did not store it in time; it stays queued until Redis is back.
    QueuedForRedis,
}

impl TokenState {
    /// `DELETE /api/v1/tokens/{id}`: revokes now, known or not, reports it, and waits
    /// (bounded) until the revocation is durable.
    pub async fn revoke_durably(&self, key: &TokenKey, now_ms: UnixMs) -> Durability {
        let local = &self.local;
        let timing = local.policy().timing;
        let rev = local
            .store
            .revoke(key, RevokeReason::Admin, now_ms, &timing);
        // (reason, until) as the revoked set holds it; None when its retention is already over.
        let entry = local.store.revoked_entry(key, now_ms);
        let Some((reason, until_ms)) = entry else {
            local.effects().revoked(&rev);
            return Durability::Done;
        };
        match &self.backend {
            Backend::Redis(shared) => {
                let stored = shared.queue_revocation_stored(key, reason, until_ms, now_ms);
                local.effects().revoked(&rev);
                in_redis(key, stored).await
            }
            Backend::Memory => {
                local.effects().revoked(&rev);
                let record = JournalRecord {
                    key: *key,
                    reason,
                    at_ms: now_ms,
                    until_ms,
                };
                in_journal(&local.store, record).await
            }
        }
    }

    /// `DELETE /api/v1/subjects/{subject}/tokens`: revokes every active token of `subject`
    /// (reason `admin`, each reported and made durable like a single admin revocation; with
    /// Redis, the ones other replicas saw too, and every replica refuses them). Returns how
    /// many were revoked and whether all of them are durable.
    pub async fn revoke_subject(&self, subject: &str, now_ms: UnixMs) -> (usize, Durability) {
        let active: Vec<SubjectToken> = self
            .subject_tokens(subject, now_ms)
            .await
            .into_iter()
            .filter(|t| t.revoked.is_none())
            .collect();
        if let Backend::Redis(_) = &self.backend {
            // A token seen only elsewhere is taken in first, so that its revocation (audit,
            // hooks, the revoked entry) names its subject.
            let timing = self.local.policy().timing;
            let elsewhere: Vec<TrackedRecord> = active
                .iter()
                .filter(|t| self.local.store.record(&t.key).is_none())
                .map(|t| TrackedRecord {
                    key: t.key,
                    last_activity_ms: t.last_activity_ms.unwrap_or(now_ms),
                    first_seen_ms: t.first_seen_ms.unwrap_or(now_ms),
                    jwt_exp_ms: None,
                    subject: Some(Arc::from(subject)),
                    policy: t.policy,
                    sig: 0,
                    trial_last_ms: None,
                })
                .collect();
            self.local.store.import(&elsewhere, &[], now_ms, &timing);
        }
        let mut worst = Durability::Done;
        for t in &active {
            let d = self.revoke_durably(&t.key, now_ms).await;
            if d != Durability::Done {
                worst = d;
            }
        }
        (active.len(), worst)
    }
}

/// Appends the revocation to the journal, when there is one, and waits for the fsync.
async fn in_journal(store: &Store, record: JournalRecord) -> Durability {
    let Some(journal) = store.journal() else {
        // No snapshot configured: nothing is durable, by configuration.
        return Durability::Done;
    };
    let error = match tokio::time::timeout(JOURNAL_WAIT, journal.append(record)).await {
        Ok(Ok(())) => return Durability::Done,
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no fsync within {JOURNAL_WAIT:?}"),
    };
    tracing::error!(
        token_id = %record.key,
        error = %error,
        "admin revocation enforced in memory but not written to the revocation journal"
    );
    Durability::NotOnDisk
}

/// Waits (bounded) until Redis has stored the queued revocation.
async fn in_redis(key: &TokenKey, stored: oneshot::Receiver<()>) -> Durability {
    match tokio::time::timeout(REDIS_WAIT, stored).await {
        Ok(Ok(())) => Durability::Done,
        _ => {
            tracing::warn!(
                token_id = %key,
                "admin revocation enforced on this replica; Redis did not store it within \
                 {REDIS_WAIT:?}: it stays queued until Redis is back"
            );
            Durability::QueuedForRedis
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn redis_wait_decides_done_or_queued() {
        let (tx, rx) = oneshot::channel();
        tx.send(()).unwrap();
        assert_eq!(in_redis(&TokenKey([1; 16]), rx).await, Durability::Done);
        // Dropped unstored (past the queue's bound).
        let (tx, rx) = oneshot::channel::<()>();
        drop(tx);
        assert_eq!(
            in_redis(&TokenKey([1; 16]), rx).await,
            Durability::QueuedForRedis
        );
        // Redis unreachable: the bounded wait ends.
        let (_tx, rx) = oneshot::channel::<()>();
        let started = tokio::time::Instant::now();
        assert_eq!(
            in_redis(&TokenKey([1; 16]), rx).await,
            Durability::QueuedForRedis
        );
        assert_eq!(started.elapsed(), REDIS_WAIT);
    }
}
