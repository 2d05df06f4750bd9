//! The dispatcher against a scripted receiver, on tokio's paused clock: which answers are
//! retried, for how long, how many attempts run at once, and what a stop hands back.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;
use crate::revocation::job::{HookKind, WebhookEvent};
use crate::revocation::lane::IN_FLIGHT_PER_HOOK;
use crate::revocation::retry;
use crate::store::redis::LeaseHold;
use crate::telemetry::hooks::HookMetrics;

/// Answers from a script (then `otherwise`), each after `latency`; records attempt times and
/// the most attempts seen in flight at once.
struct Script {
    answers: parking_lot::Mutex<VecDeque<Attempt>>,
    otherwise: Attempt,
    latency: Duration,
    at: parking_lot::Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

fn status(status: u16) -> Attempt {
    Attempt::Answered {
        status,
        retry_after: None,
    }
}

impl Script {
    fn new(answers: &[Attempt], otherwise: Attempt, latency: Duration) -> Script {
        Script {
            answers: parking_lot::Mutex::new(answers.iter().cloned().collect()),
            otherwise,
            latency,
            at: Default::default(),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        }
    }
}

impl Transport for Arc<Script> {
    async fn attempt(&self, cfg: &RevocationConfig, _: &Payload) -> Option<Attempt> {
        cfg.webhook.as_ref()?;
        self.at.lock().push(Instant::now());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.latency).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let next = self.answers.lock().pop_front();
        Some(next.unwrap_or_else(|| self.otherwise.clone()))
    }
}

struct Harness {
    script: Arc<Script>,
    ctx: Arc<Ctx<Arc<Script>>>,
    tx: mpsc::UnboundedSender<Job>,
    task: tokio::task::JoinHandle<Vec<Job>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

fn start(script: Script) -> Harness {
    let script = Arc::new(script);
    let config = RevocationConfig {
        webhook: Some("http://receiver.invalid/hook".parse().unwrap()),
        ..RevocationConfig::default()
    };
    let ctx = Arc::new(Ctx {
        transport: script.clone(),
        config: Arc::new(ArcSwap::from_pointee(config)),
        lanes: Arc::new(Lanes::new(&HookMetrics::default())),
        lease: None,
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(rx, ctx.clone(), async {
        let _ = stopped.await;
    }));
    Harness {
        script,
        ctx,
        tx,
        task,
        stop,
    }
}

impl Harness {
    fn send(&self, n: usize, retry_for: Duration) {
        for i in 0..n {
            let event = WebhookEvent {
                token_id: format!("{i:02x}"),
                reason: "inactivity".into(),
                revoked_at_ms: 1,
                last_activity_ms: 0,
            };
            let job = Job::new(Payload::Webhook(event), Instant::now() + retry_for);
            assert!(self.lane().reserve(usize::MAX));
            self.tx.send(job).unwrap();
        }
    }

    fn lane(&self) -> &Lane {
        self.ctx.lanes.get(HookKind::Webhook)
    }

    /// Lets every timer due within `d` fire.
    async fn run_for(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    fn results(&self) -> (u64, u64, usize) {
        let c = &self.lane().counters;
        (c.ok.get(), c.error.get(), self.lane().pending())
    }

    fn attempts(&self) -> usize {
        self.script.at.lock().len()
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn a_4xx_is_tried_once_and_counted_as_an_error() {
    for code in [400, 401, 403, 404, 410, 422] {
        let h = start(Script::new(&[], status(code), MS));
        h.send(1, HOUR);
        h.run_for(HOUR * 2).await;
        assert_eq!(h.attempts(), 1, "{code} was retried");
        assert_eq!(h.results(), (0, 1, 0), "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_5xx_408_429_or_network_error_is_retried_until_delivered() {
    let failures = [
        status(500),
        status(503),
        status(408),
        status(429),
        Attempt::Failed("connection refused".into()),
    ];
    let h = start(Script::new(&failures, status(204), MS));
    h.send(1, HOUR);
    h.run_for(Duration::from_secs(120)).await;
    assert_eq!(h.attempts(), 6);
    assert_eq!(h.results(), (1, 0, 0));
    let at = h.script.at.lock().clone();
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let step = retry::FIRST_DELAY * 2u32.pow(i as u32);
        let (low, high) = (step / 2, step + MS * 2);
        assert!(
            *gap >= low && *gap <= high,
            "gap {i}: {gap:?} not in {low:?}..{high:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_receiver_that_stays_down_is_retried_for_the_retry_time_then_given_up() {
    let h = start(Script::new(&[], status(502), MS));
    h.send(1, HOUR);
    h.run_for(HOUR - Duration::from_secs(301)).await;
    assert_eq!(h.results(), (0, 0, 1), "still retrying within the hour");
    h.run_for(Duration::from_secs(302)).await;
    assert_eq!(h.results(), (0, 1, 0), "given up at the hour");
    let at = h.script.at.lock().clone();
    let last = *at.last().unwrap() - at[0];
    assert!(last <= HOUR, "an attempt after the hour: {last:?}");
    assert!(
        last >= HOUR - retry::MAX_DELAY,
        "stopped long before the hour: {last:?}"
    );
    let longest = at.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(longest <= retry::MAX_DELAY + MS * 2, "{longest:?}");
}

#[tokio::test(start_paused = true)]
async fn at_most_16_attempts_of_a_hook_are_in_flight_and_all_are_delivered() {
    let h = start(Script::new(&[], status(200), Duration::from_millis(100)));
    h.send(100, HOUR);
    h.run_for(Duration::from_millis(50)).await;
    assert_eq!(
        h.script.in_flight.load(Ordering::SeqCst),
        IN_FLIGHT_PER_HOOK
    );
    h.run_for(Duration::from_secs(2)).await;
    assert_eq!(
        h.script.most_in_flight.load(Ordering::SeqCst),
        IN_FLIGHT_PER_HOOK
    );
    assert_eq!(h.results(), (100, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_stop_hands_back_every_unfinished_delivery_after_attempts_in_flight_end() {
    let h = start(Script::new(&[], status(503), Duration::from_millis(100)));
    h.send(20, HOUR);
    h.run_for(Duration::from_millis(10)).await;
    assert_eq!(
        h.script.in_flight.load(Ordering::SeqCst),
        IN_FLIGHT_PER_HOOK
    );
    let Harness {
        script,
        tx,
        task,
        stop,
        ..
    } = h;
    stop.send(()).unwrap();
    let unfinished = task.await.unwrap();
    assert_eq!(unfinished.len(), 20);
    assert_eq!(
        script.in_flight.load(Ordering::SeqCst),
        0,
        "attempts in flight ended"
    );
    assert!(unfinished.iter().all(|j| j.attempts <= 1));
    assert_eq!(
        script.at.lock().len(),
        IN_FLIGHT_PER_HOOK,
        "no attempt started after the stop"
    );
    assert!(
        tx.send(Job::new(
            Payload::Webhook(WebhookEvent {
                token_id: "ff".into(),
                reason: "admin".into(),
                revoked_at_ms: 1,
                last_activity_ms: 0,
            }),
            Instant::now()
        ))
        .is_err(),
        "refused after the stop"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hook_removed_by_a_reload_drops_its_pending_deliveries() {
    let h = start(Script::new(&[status(500)], status(200), MS));
    h.send(1, HOUR);
    h.run_for(Duration::from_millis(10)).await;
    h.ctx.config.store(Arc::new(RevocationConfig::default()));
    h.run_for(Duration::from_secs(5)).await;
    assert_eq!(h.results(), (0, 1, 0));
}

/// A lease another replica holds for `other_ms`, then reports done.
struct HeldElsewhere {
    asked: AtomicUsize,
    other_ms: u64,
}

impl crate::revocation::lease::Lease for HeldElsewhere {
    fn hold<'a>(
        &'a self,
        _: &'a crate::token::TokenKey,
    ) -> crate::revocation::lease::BoxFuture<'a, Option<LeaseHold>> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            Some(if n == 0 {
                LeaseHold::Other {
                    remaining_ms: self.other_ms,
                }
            } else {
                LeaseHold::Done
            })
        })
    }

    fn done<'a>(
        &'a self,
        _: &'a crate::token::TokenKey,
        _: Duration,
    ) -> crate::revocation::lease::BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[tokio::test(start_paused = true)]
async fn an_rfc7009_call_another_replica_made_is_not_made_here_nor_counted() {
    let script = Arc::new(Script::new(&[], status(200), MS));
    let lease = Arc::new(HeldElsewhere {
        asked: AtomicUsize::new(0),
        other_ms: 8_000,
    });
    let config = RevocationConfig {
        rfc7009: Some(crate::config::Rfc7009Config {
            url: "http://idp.invalid/revoke".parse().unwrap(),
            client_id: "c".into(),
            client_secret_env: "S".into(),
        }),
        ..RevocationConfig::default()
    };
    let ctx = Arc::new(Ctx {
        transport: script.clone(),
        config: Arc::new(ArcSwap::from_pointee(config)),
        lanes: Arc::new(Lanes::new(&HookMetrics::default())),
        lease: Some(lease.clone()),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let _task = tokio::spawn(run(rx, ctx.clone(), std::future::pending()));
    let lane = ctx.lanes.get(HookKind::Rfc7009);
    assert!(lane.reserve(10));
    let payload = Payload::Rfc7009 {
        key: crate::token::TokenKey([1; 16]),
        token_id: "01".into(),
        raw: "raw".into(),
    };
    tx.send(Job::new(payload, Instant::now() + HOUR)).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        lane.pending(),
        1,
        "waits while another replica holds the lease"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        lease.asked.load(Ordering::SeqCst),
        2,
        "asked again within a second or so"
    );
    assert_eq!(script.at.lock().len(), 0, "no call made here");
    let c = &lane.counters;
    assert_eq!((c.ok.get(), c.error.get(), lane.pending()), (0, 0, 0));
}
