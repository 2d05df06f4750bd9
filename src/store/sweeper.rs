//! The sweeper task: every `timeout.resolution` it has the state expire what is due
//! ([`TokenState::expire_due`]: reported at once with the memory backend, claimed with
//! Redis).

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::store::state::TokenState;

pub(crate) async fn run(
    state: TokenState,
    resolution: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(resolution);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = &mut shutdown => return,
        }
        state.expire_due().await;
    }
}
