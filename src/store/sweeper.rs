//! The sweeper task: every `timeout.resolution` it has the state expire what is due
//! ([`TokenState::expire_due`]: reported at once with the memory backend, claimed with
//! Redis).

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::store::state::TokenState;

pub(crate) async fn run(
    state: TokenState,
    resolution: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(resolution);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let rush = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = &mut shutdown => return,
        }
        let sweep = state.expire_due(&rush);
        tokio::pin!(sweep);
        tokio::select! {
            _ = &mut sweep => {}
            _ = &mut shutdown => {
                // A paced mass expiry takes seconds: the proxy has drained by now, so the
                // rest runs without rests (a batch is never dropped half-reported).
                rush.cancel();
                sweep.await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::oneshot;

    use super::*;
    use crate::clock::Clock;
    use crate::config::Config;
    use crate::store::effects::{Effects, Policy};
    use crate::store::Revocation;
    use crate::telemetry::Metrics;
    use crate::token::TokenKey;

    struct NoEffects;

    impl Effects for NoEffects {
        fn revoked(&self, _: &Revocation) {}
        fn learned(&self, _: &TokenKey) {}
        fn forgotten(&self, _: &TokenKey) {}
    }

    fn key(n: u32) -> TokenKey {
        let mut k = [0u8; 16];
        k[..4].copy_from_slice(&n.to_le_bytes());
        k[8..12].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_le_bytes());
        TokenKey(k)
    }

    /// The pace's rests are tokio sleeps: with the clock paused, the time they add shows.
    #[tokio::test(start_paused = true)]
    async fn at_shutdown_a_paced_mass_expiry_finishes_without_its_rests() {
        const N: usize = 20_000;
        const T0: u64 = 1_700_000_000_000;
        let config = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
        let clock = Clock::paused_at(T0);
        let state = TokenState::new(&config, &Metrics::new(), clock.clone(), Arc::new(NoEffects));
        let timing = Policy::of(&config).timing;
        for i in 0..N as u32 {
            state.track(&key(i), T0, None, &timing);
        }
        clock.advance(config.timeout.idle + Duration::from_secs(1));
        let (stop, stopped) = oneshot::channel::<()>();
        let sweeper = tokio::spawn(run(state.clone(), Duration::from_secs(1), async {
            let _ = stopped.await;
        }));
        while state.tracked_len() == N {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(state.tracked_len() > N / 2, "the paced sweep is under way");
        let stopping = tokio::time::Instant::now();
        stop.send(()).unwrap();
        sweeper.await.unwrap();
        assert_eq!(state.tracked_len(), 0, "the sweep is finished, not dropped");
        assert_eq!(state.revoked_len(), N);
        assert_eq!(stopping.elapsed(), Duration::ZERO, "no rest after the stop");
    }
}
