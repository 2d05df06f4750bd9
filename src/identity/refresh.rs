//! Keeping the key set loaded (docs/reference.md, "Identity"): the first load at start
//! (retried until it succeeds), a refresh every `refresh`, and a refetch when a token names a
//! key the set lacks (a provider that rotated keys), at most once per 30 s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::error::JwksError;
use super::jwks;
use super::Identity;
use crate::backoff::Backoff;
use crate::clock::{duration_ms, UnixMs};

/// An unknown `kid` refetches the set at most this often: tokens naming made-up keys must
/// not turn into a stream of requests to the identity provider.
pub const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Until a first set is loaded, retries start this soon …
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// … and slow down to this (or `refresh`, if shorter).
const MAX_RETRY: Duration = Duration::from_secs(30);
/// A `refresh` of zero would spin.
const MIN_REFRESH: Duration = Duration::from_secs(1);

impl Identity {
    /// Loads the set once now. On success the set replaces the current one; on failure the
    /// current one (if any) stays. Counted in `idlegate_jwks_refresh_total{result}` and
    /// logged (never with a token).
    pub async fn load_first(&self) -> Result<usize, JwksError> {
        self.reload("load").await
    }

    async fn reload(&self, why: &'static str) -> Result<usize, JwksError> {
        let source = jwks::describe(&self.source);
        match jwks::load(&self.source).await {
            Ok(set) => {
                self.metrics.identity.jwks_refresh(true);
                let keys = set.len();
                if set.skipped() > 0 {
                    tracing::warn!(
                        jwks = %source,
                        keys,
                        skipped = set.skipped(),
                        reasons = %set.reasons_text(),
                        "JWKS keys of unsupported types skipped"
                    );
                }
                tracing::info!(jwks = %source, keys, why, "JWKS loaded");
                self.keys.store(Some(Arc::new(set)));
                Ok(keys)
            }
            Err(error) => {
                self.metrics.identity.jwks_refresh(false);
                tracing::error!(
                    jwks = %source,
                    %error,
                    why,
                    kept_last_good_set = self.is_ready(),
                    "JWKS load failed"
                );
                Err(error)
            }
        }
    }

    /// Loads now unless the last refetch for an unknown key was less than 30 s ago (by the
    /// project clock, as the verification sees it). Waiters behind a refetch in flight find
    /// it recent and use its result.
    pub(super) async fn refetch_for_unknown_key(&self, now_ms: UnixMs) {
        let mut last = self.last_refetch_ms.lock().await;
        let interval_ms = duration_ms(UNKNOWN_KID_REFETCH_INTERVAL);
        if last.is_some_and(|at| now_ms < at.saturating_add(interval_ms)) {
            return;
        }
        *last = Some(now_ms);
        let _ = self.reload("unknown key id").await;
    }

    /// Loads the first set (retrying 1 s, 2 s, 4 s … up to 30 s until one loads), then
    /// refreshes every `refresh`, until `shutdown` resolves.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let refresh = self.refresh.max(MIN_REFRESH);
        let mut retry = Backoff::new(FIRST_RETRY, MAX_RETRY.min(refresh));
        if !self.is_ready() {
            let _ = self.reload("start").await;
        }
        loop {
            let delay = if self.is_ready() {
                refresh
            } else {
                retry.next_delay()
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(delay) => {}
            }
            let _ = self.reload("refresh").await;
        }
    }

    /// [`Identity::run`] on its own task.
    pub fn spawn_refresh(
        self: &Arc<Self>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(Arc::clone(self).run(shutdown))
    }
}
