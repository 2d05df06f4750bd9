//! `Hooks` as the gateway uses it: one delivery per configured hook, the bound on unfinished
//! deliveries, and deliveries kept across a graceful stop.

use std::time::Duration;

use super::*;
use crate::store::RevokeReason;

fn revocation(byte: u8) -> Revocation {
    Revocation {
        key: TokenKey([byte; 16]),
        reason: RevokeReason::Inactivity,
        last_activity_ms: 1_000,
        first_seen_ms: 500,
        at_ms: 2_000,
        enforced: true,
        subject: None,
        policy: 0,
    }
}

/// A receiver that never answers in time: every attempt fails and is retried.
struct Down;

impl Transport for Down {
    async fn attempt(&self, _: &RevocationConfig, _: &Payload) -> Option<retry::Attempt> {
        Some(retry::Attempt::Failed("connection refused".into()))
    }
}

fn config(max_pending: usize) -> RevocationConfig {
    RevocationConfig {
        webhook: Some("http://receiver.invalid/hook".parse().unwrap()),
        max_pending,
        ..RevocationConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn past_max_pending_a_delivery_is_dropped_and_counted() {
    let metrics = HookMetrics::default();
    let hooks = Arc::new(Hooks::new(&config(3), &metrics));
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let _task = hooks.start_with(Down, Clock::new(), None, None, async {
        let _ = stopped.await;
    });
    for byte in 0..5 {
        hooks.revoked(&revocation(byte));
    }
    let counters = metrics.counters("webhook");
    assert_eq!(hooks.pending(HookKind::Webhook), 3);
    assert_eq!((counters.queue.get(), counters.error.get()), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn a_graceful_stop_keeps_unfinished_webhooks_and_the_next_start_resumes_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idlegate.state.hooks");
    let clock = Clock::new();
    let hooks = Arc::new(Hooks::new(&config(100), &HookMetrics::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = hooks.start_with(Down, clock.clone(), Some(file.clone()), None, async {
        let _ = stopped.await;
    });
    hooks.revoked(&revocation(7));
    hooks.revoked(&revocation(8));
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.send(()).unwrap();
    task.await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(&TokenKey([7; 16]).to_hex()));

    let metrics = HookMetrics::default();
    let again = Arc::new(Hooks::new(&config(100), &metrics));
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let _task = again.start_with(Down, clock, Some(file), None, async {
        let _ = stopped.await;
    });
    assert_eq!(again.pending(HookKind::Webhook), 2, "resumed at start");
    assert_eq!(metrics.counters("webhook").queue.get(), 2);
}
