//! The sweeper task: every `timeout.resolution` it advances the store's timer wheel and
//! reports the tokens that expired (audit, metrics, tunnels, hooks).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::RuntimeFlavor;
use tokio::time::MissedTickBehavior;

use crate::app::App;
use crate::store::Revocation;

pub async fn run(app: Arc<App>, resolution: Duration, shutdown: impl Future<Output = ()>) {
    let mut ticks = tokio::time::interval(resolution);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = &mut shutdown => return,
        }
        for rev in sweep(&app) {
            app.report_revocation(&rev);
        }
    }
}

/// One sweep. On a multi-threaded runtime it runs in place of a worker thread
/// (`block_in_place`) so that a large sweep never stalls the requests queued on that worker.
pub fn sweep(app: &App) -> Vec<Revocation> {
    let work = || {
        let live = app.live();
        app.store.expire_due(app.clock.now_ms(), &live.timing)
    };
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
