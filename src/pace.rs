//! Pacing of background bulk work (a mass expiry's sweep and its audit lines): the work runs
//! in short slices and the task rests between them, so that it takes at most a set share of a
//! core. On a small machine the proxy threads share the cores with it; a task that ran a
//! whole second of bulk work in one go would take a core from them for that second, and
//! every request queued behind it would wait (docs/reference.md, "Expiry and revocation").
//!
//! With [`Pace`] the caller measures its slices ([`Pace::worked`]) and awaits [`Pace::pause`]
//! between them, which sleeps for the rest owed; the accounting itself is pure and tested
//! without a clock.
//! Also here: [`every`], the loop of the periodic writers (snapshot, trial file).

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// Rests shorter than this are saved up: a timer cannot sleep for less than about a
/// millisecond, and a rest after every tiny slice would cost more than it spares.
const MIN_REST: Duration = Duration::from_millis(1);
/// A timer sleeps at least a millisecond and wakes on the next tick after its deadline, so a
/// rest usually runs longer than asked; the surplus is credited against later rests, up to
/// this much (so that a long stall, the machine suspended, never buys a long burst of work).
const MAX_CREDIT: Duration = Duration::from_millis(5);

/// Keeps a task's busy time to `share` of the wall time it takes.
#[derive(Clone, Debug)]
pub(crate) struct Pace {
    /// Rest owed per unit of work: (1 - share) / share.
    rest_per_work: f64,
    owed: Duration,
    /// Rest already taken beyond what was owed ([`Pace::rested`]).
    credit: Duration,
}

impl Pace {
    /// `share` of a core, clamped to (0.01, 1]; 1 never rests.
    pub(crate) fn new(share: f64) -> Pace {
        let share = share.clamp(0.01, 1.0);
        Pace {
            rest_per_work: (1.0 - share) / share,
            owed: Duration::ZERO,
            credit: Duration::ZERO,
        }
    }

    /// Counts a slice of work that took `busy`.
    pub(crate) fn worked(&mut self, busy: Duration) {
        let owed = busy.mul_f64(self.rest_per_work);
        let paid = owed.min(self.credit);
        self.credit -= paid;
        self.owed += owed - paid;
    }

    /// Counts a rest that was `asked` and took `took`: what it ran over is credited.
    fn rested(&mut self, asked: Duration, took: Duration) {
        self.credit = (self.credit + took.saturating_sub(asked)).min(MAX_CREDIT);
    }

    /// Sleeps for the rest due now ([`Pace::rest`]) and credits what the sleep ran over;
    /// false when no rest was due.
    pub(crate) async fn pause(&mut self) -> bool {
        let Some(rest) = self.rest() else {
            return false;
        };
        let asleep = tokio::time::Instant::now();
        tokio::time::sleep(rest).await;
        self.rested(rest, asleep.elapsed());
        true
    }

    /// [`Pace::pause`], cut short once `rush` is cancelled, and no rest from then on; true
    /// when it rested or was cut short.
    pub(crate) async fn pause_unless(&mut self, rush: &CancellationToken) -> bool {
        !rush.is_cancelled()
            && tokio::select! {
                rested = self.pause() => rested,
                () = rush.cancelled() => true,
            }
    }

    /// The rest due now, once at least [`MIN_REST`] is owed (then nothing is owed any more).
    fn rest(&mut self) -> Option<Duration> {
        if self.owed < MIN_REST {
            return None;
        }
        Some(std::mem::take(&mut self.owed))
    }
}

/// Runs `job` every `interval`, the first time one interval from now, and once more when
/// `shutdown` resolves (a final write). A tick missed while the job ran late delays the next
/// one instead of firing at once.
pub(crate) async fn every<F, Job>(
    interval: Duration,
    shutdown: impl Future<Output = ()>,
    mut job: F,
) where
    F: FnMut() -> Job,
    Job: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => job().await,
            _ = &mut shutdown => break,
        }
    }
    job().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::sync::oneshot;

    #[tokio::test(start_paused = true)]
    async fn every_runs_the_job_each_interval_then_once_more_at_shutdown() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = oneshot::channel::<()>();
        let counted = runs.clone();
        let task = tokio::spawn(every(
            Duration::from_secs(5),
            async {
                let _ = stopped.await;
            },
            move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
            },
        ));
        tokio::time::sleep(Duration::from_millis(4_900)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0, "not at once");
        tokio::time::sleep(Duration::from_millis(12_000)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "at 5, 10 and 15 s");
        let _ = stop.send(());
        task.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4, "and the final run");
    }

    #[test]
    fn a_quarter_share_rests_three_times_the_work() {
        let mut pace = Pace::new(0.25);
        pace.worked(Duration::from_millis(2));
        assert_eq!(pace.rest(), Some(Duration::from_millis(6)));
        assert_eq!(pace.rest(), None, "a rest is owed once");
    }

    #[test]
    fn short_rests_are_saved_up_until_a_millisecond_is_owed() {
        let mut pace = Pace::new(0.5);
        pace.worked(Duration::from_micros(400));
        assert_eq!(pace.rest(), None);
        pace.worked(Duration::from_micros(700));
        assert_eq!(pace.rest(), Some(Duration::from_micros(1100)));
    }

    #[tokio::test(start_paused = true)]
    async fn pause_sleeps_the_rest_due_and_only_then() {
        let mut pace = Pace::new(0.5);
        assert!(!pace.pause().await, "nothing owed");
        pace.worked(Duration::from_millis(3));
        let before = tokio::time::Instant::now();
        assert!(pace.pause().await);
        assert_eq!(before.elapsed(), Duration::from_millis(3));
        assert!(!pace.pause().await, "the rest was taken");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rush_cuts_the_rest_short_and_skips_the_next() {
        let mut pace = Pace::new(0.1);
        let rush = CancellationToken::new();
        pace.worked(Duration::from_millis(10));
        let before = tokio::time::Instant::now();
        let cut = rush.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            cut.cancel();
        });
        assert!(pace.pause_unless(&rush).await, "cut short");
        assert_eq!(
            before.elapsed(),
            Duration::from_millis(20),
            "not the 90 ms owed"
        );
        pace.worked(Duration::from_millis(10));
        assert!(!pace.pause_unless(&rush).await, "no rest once rushed");
        assert_eq!(before.elapsed(), Duration::from_millis(20));
    }

    #[test]
    fn a_rest_that_ran_over_is_credited_against_the_next() {
        let mut pace = Pace::new(0.5);
        pace.worked(Duration::from_millis(1));
        let asked = pace.rest().unwrap();
        pace.rested(asked, Duration::from_millis(3));
        pace.worked(Duration::from_millis(1));
        assert_eq!(pace.rest(), None, "the 2 ms over pay for this millisecond");
        pace.worked(Duration::from_millis(2));
        assert_eq!(
            pace.rest(),
            Some(Duration::from_millis(1)),
            "and half of the next"
        );
    }

    #[test]
    fn credit_is_capped_so_a_long_stall_buys_no_burst() {
        let mut pace = Pace::new(0.5);
        pace.rested(Duration::from_millis(1), Duration::from_secs(10));
        pace.worked(Duration::from_millis(20));
        assert_eq!(pace.rest(), Some(Duration::from_millis(20) - MAX_CREDIT));
    }

    #[test]
    fn a_full_share_never_rests() {
        let mut pace = Pace::new(1.0);
        pace.worked(Duration::from_secs(5));
        assert_eq!(pace.rest(), None);
    }
}
