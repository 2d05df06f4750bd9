//! The sweeper task: every `timeout.resolution` it has the state expire what is due
//! ([`TokenState::expire_due`]: reported at once with the memory backend, claimed with
//! Redis).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::proxy_load::{LoadWatch, ProxyLoad};
use crate::store::state::TokenState;

pub(crate) async fn run(
    state: TokenState,
    resolution: Duration,
    proxy_load: Arc<ProxyLoad>,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(resolution);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let rush = CancellationToken::new();
    // Kept from tick to tick, so a mass expiry starts with a full window of the proxy's load.
    let mut proxy = LoadWatch::new(proxy_load);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = &mut shutdown => return,
        }
        // A look every tick: a mass expiry's first answer is about the last tick, not about
        // the time since the last sweep that had more than one batch.
        proxy.proxy_idle();
        let sweep = state.expire_due(&rush, &mut proxy);
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
