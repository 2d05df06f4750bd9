//! A sweep batch is counted at once and audited exactly once, by the delivery task or in
//! place (docs/reference.md, "Expiry and revocation", "Audit events").

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::RevocationConfig;
use crate::store::RevokeReason;
use crate::token::TokenKey;

const T0: u64 = 1_700_000_000_000;

fn hub() -> Arc<EffectsHub> {
    Arc::new(EffectsHub {
        metrics: Arc::new(Metrics::new()),
        recent_revocations: Arc::default(),
        tunnels: Arc::default(),
        hooks: Arc::new(Hooks::new(
            &RevocationConfig::default(),
            &Default::default(),
        )),
        clock: Clock::starting_at(T0),
        policy_names: Arc::default(),
        queue: OnceLock::new(),
    })
}

fn revocations(n: u32, reason: RevokeReason, enforced: bool) -> Vec<Revocation> {
    (0..n)
        .map(|i| {
            let mut key = [0u8; 16];
            key[..4].copy_from_slice(&i.to_le_bytes());
            Revocation {
                key: TokenKey(key),
                reason,
                last_activity_ms: T0 - 60_000,
                first_seen_ms: T0 - 60_000,
                at_ms: T0,
                enforced,
                subject: None,
                policy: 0,
            }
        })
        .collect()
}

/// Audit lines written on this thread (a current-thread runtime runs every task here).
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn revocations(&self) -> usize {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .matches(r#""event":"revocation""#)
            .count()
    }
}

#[tokio::test]
async fn enforced_revocations_are_counted_by_policy_name() {
    let hub = hub();
    let names = vec!["gold".to_string()];
    hub.policy_names.store(Arc::new(names.clone()));
    hub.metrics.identity.set_policies(&names);
    let mut batch = revocations(3, RevokeReason::Inactivity, true);
    let mut gold = revocations(2, RevokeReason::Admin, true);
    let mut gold_shadow = revocations(4, RevokeReason::Inactivity, false);
    for rev in gold.iter_mut().chain(gold_shadow.iter_mut()) {
        rev.policy = 1;
    }
    batch.append(&mut gold);
    batch.append(&mut gold_shadow);
    hub.revoked_batch(batch).await;
    let text = hub.metrics.encode();
    assert!(
        text.contains("idlegate_policy_revocations_total{policy=\"default\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("idlegate_policy_revocations_total{policy=\"gold\"} 2"),
        "shadow ones not counted"
    );
}

#[tokio::test]
async fn a_batch_is_counted_at_once_by_reason() {
    let hub = hub();
    let mut batch = revocations(3, RevokeReason::Inactivity, true);
    batch.extend(revocations(2, RevokeReason::Absolute, true));
    batch.extend(revocations(4, RevokeReason::Inactivity, false));
    hub.revoked_batch(batch).await;
    let m = &hub.metrics;
    assert_eq!(m.revocation("inactivity").get(), 3);
    assert_eq!(m.revocation("absolute").get(), 2);
    assert_eq!(m.revocation("admin").get(), 0);
    assert_eq!(m.shadow_revocations.get(), 4);
    assert_eq!(
        hub.recent_revocations.last_hour(T0),
        5,
        "enforced ones only"
    );
}

#[tokio::test]
async fn without_the_delivery_task_a_batch_is_audited_in_place() {
    let lines = Lines::default();
    let _guard = lines.capture();
    let hub = hub();
    hub.revoked_batch(revocations(10, RevokeReason::Inactivity, true))
        .await;
    assert_eq!(lines.revocations(), 10);
}

#[tokio::test(start_paused = true)]
async fn the_delivery_task_audits_every_revocation_exactly_once() {
    let lines = Lines::default();
    let _guard = lines.capture();
    let hub = hub();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = hub
        .start(async {
            let _ = stop_rx.await;
        })
        .unwrap();
    for _ in 0..3 {
        hub.revoked_batch(revocations(4_096, RevokeReason::Inactivity, true))
            .await;
    }
    // Counted before a single line was written: the lines follow, paced.
    assert_eq!(hub.metrics.revocation("inactivity").get(), 3 * 4_096);
    // Paced by real work time: at a twenty-fifth of a core each slice rests 24 times its
    // work, so a loaded machine needs much more (paused, free) virtual time. Steps of 50 ms:
    // with 1 ms steps, 100,000 of them once ran out on a machine loaded by a parallel build.
    for _ in 0..100_000 {
        if lines.revocations() >= 4_096 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        lines.revocations() >= 4_096,
        "the task delivers while running"
    );
    // Stopping delivers what is queued; a batch after that is audited in place.
    let _ = stop_tx.send(());
    task.await.unwrap();
    hub.revoked_batch(revocations(5, RevokeReason::Inactivity, true))
        .await;
    assert_eq!(lines.revocations(), 3 * 4_096 + 5);
}
