//! How busy the proxy threads are, for background bulk work that should take the whole
//! machine while nobody waits and only a sliver of it while requests come in (a mass
//! expiry's sweep, docs/reference.md, "Expiry and revocation").
//!
//! The figure is each proxy runtime's own busy time (tokio's `worker_total_busy_duration`,
//! kept by the runtime whatever we do): nothing is added to the request path. [`LoadWatch`]
//! turns it into "has the proxy been idle lately". Time is tokio's, so tests can pause it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The busy share of one core under which the proxy counts as idle: its timers and an odd
/// health check stay below it, a few hundred requests a second (some 20 µs of work each)
/// do not.
const IDLE_SHARE: f64 = 0.01;

/// A source of busy time: a function that returns the total so far, never less than before.
type Source = Box<dyn Fn() -> Duration + Send + Sync>;

/// The proxy threads' busy time, summed over the runtimes registered with [`ProxyLoad::watch`].
#[derive(Default)]
pub(crate) struct ProxyLoad {
    sources: Mutex<Vec<Source>>,
}

impl ProxyLoad {
    /// Counts a proxy runtime's workers.
    pub(crate) fn watch(&self, runtime: tokio::runtime::Handle) {
        self.add_source(Box::new(move || {
            let metrics = runtime.metrics();
            (0..metrics.num_workers())
                .map(|worker| metrics.worker_total_busy_duration(worker))
                .sum()
        }));
    }

    /// Counts any source of busy time (tests pass their own).
    pub(crate) fn add_source(&self, source: Source) {
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(source);
    }

    /// The busy time of every source so far; None before any source was registered.
    fn busy(&self) -> Option<Duration> {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        (!sources.is_empty()).then(|| sources.iter().map(|source| source()).sum())
    }
}

/// Looks at a [`ProxyLoad`] again and again: has the proxy been idle lately?
///
/// A runtime adds up its busy time when it parks or yields to its driver, every 61 tasks at
/// most (some 1–3 ms of requests): a look a fraction of a millisecond after the last would
/// often see no work from a busy proxy. So the answer is renewed once per [`WINDOW`] at
/// most, from the whole window; until the first window is over, the proxy counts as busy.
pub(crate) struct LoadWatch {
    load: Arc<ProxyLoad>,
    /// The busy time and the instant the current window began.
    window: (Duration, Instant),
    idle: bool,
}

/// How often [`LoadWatch`] renews its answer: several of a busy runtime's busy-time updates.
pub(crate) const WINDOW: Duration = Duration::from_millis(10);

impl LoadWatch {
    pub(crate) fn new(load: Arc<ProxyLoad>) -> LoadWatch {
        LoadWatch::starting(load, Instant::now())
    }

    fn starting(load: Arc<ProxyLoad>, now: Instant) -> LoadWatch {
        let busy = load.busy().unwrap_or_default();
        LoadWatch {
            load,
            window: (busy, now),
            idle: false,
        }
    }

    /// True when the proxy threads worked less than [`IDLE_SHARE`] of the last full window.
    /// Without a proxy to watch, never: a load nobody measures is taken for a busy one.
    pub(crate) fn proxy_idle(&mut self) -> bool {
        self.look(Instant::now())
    }

    fn look(&mut self, now: Instant) -> bool {
        let Some(busy) = self.load.busy() else {
            return false;
        };
        let (busy_then, then) = self.window;
        let span = now.saturating_duration_since(then);
        if span >= WINDOW {
            let worked = busy.saturating_sub(busy_then);
            self.idle = worked.as_secs_f64() <= span.as_secs_f64() * IDLE_SHARE;
            self.window = (busy, now);
        }
        self.idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A load whose busy time the test sets, in microseconds.
    fn load() -> (Arc<ProxyLoad>, Arc<AtomicU64>) {
        let load = Arc::new(ProxyLoad::default());
        let micros = Arc::new(AtomicU64::new(0));
        let read = micros.clone();
        load.add_source(Box::new(move || {
            Duration::from_micros(read.load(Ordering::SeqCst))
        }));
        (load, micros)
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_proxy_that_did_no_work_over_a_window_is_idle_until_it_works_over_one() {
        let (load, micros) = load();
        micros.store(5_000_000, Ordering::SeqCst);
        let t0 = Instant::now();
        let mut watch = LoadWatch::starting(load, t0);
        assert!(!watch.look(t0 + MS), "busy until a first window is over");
        assert!(watch.look(t0 + WINDOW), "no work over the window");
        micros.fetch_add(150, Ordering::SeqCst);
        assert!(
            watch.look(t0 + WINDOW + MS),
            "the answer holds for a window"
        );
        assert!(!watch.look(t0 + 2 * WINDOW), "150 µs in 10 ms is work");
        assert!(watch.look(t0 + 3 * WINDOW), "and none since");
    }

    #[test]
    fn a_runtimes_odd_timer_leaves_it_idle() {
        let (load, micros) = load();
        let t0 = Instant::now();
        let mut watch = LoadWatch::starting(load, t0);
        micros.fetch_add(90, Ordering::SeqCst);
        assert!(watch.look(t0 + 10 * WINDOW), "90 µs in 100 ms is under 1 %");
    }

    #[test]
    fn without_a_proxy_to_watch_the_load_counts_as_busy() {
        let t0 = Instant::now();
        let mut watch = LoadWatch::starting(Arc::new(ProxyLoad::default()), t0);
        assert!(!watch.look(t0 + 100 * WINDOW));
    }

    #[test]
    fn busy_time_is_summed_over_every_runtime_watched() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let load = ProxyLoad::default();
        load.watch(runtime.handle().clone());
        load.watch(runtime.handle().clone());
        let before = load.busy().unwrap();
        // Work inside the runtime's scheduler: a task that spins for a few milliseconds.
        runtime.block_on(async {
            tokio::spawn(async {
                let spin = std::time::Instant::now();
                while spin.elapsed() < Duration::from_millis(5) {}
            })
            .await
            .unwrap();
            tokio::task::yield_now().await;
        });
        assert!(
            load.busy().unwrap() >= before + Duration::from_millis(10),
            "5 ms counted twice: the same runtime is watched twice"
        );
    }
}
