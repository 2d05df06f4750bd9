//! Shared token state in Redis for several replicas behind one load balancer (docs/reference.md,
//! "Redis backend"; the design and failure table are in docs/replicas.md).
//!
//! The local [`Store`](crate::store::Store) stays the per-request source of truth. Redis adds:
//! - a lookup when a token is locally unknown (one round trip per token per replica);
//! - a dirty set of touched tokens, flushed every `state.sync_interval` (newest activity wins);
//! - expiry by claim: a locally due token is expired by one atomic script that knows every
//!   replica's flushed activity; the claiming replica alone runs audit and hooks;
//! - revocations published on a channel and stored as keys, so a replica that missed the
//!   message learns on lookup, on flush, on claim, or by the sweep after a reconnect;
//! - a set of token ids per subject, so a subject's tokens are listed and revoked on every
//!   replica (`subjects`).
//!
//! Tasks: the connection supervisor (`conn`: connect with backoff — in Sentinel mode to the
//! master the sentinels name (`sentinel`) — subscribe, apply messages)
//! and the flusher (`sync`). Both start with [`spawn`].

mod conn;
mod keys;
mod link;
mod lookup;
mod negative;
mod path;
mod pubsub;
mod rfc7009;
mod scripts;
mod sentinel;
mod shard;
mod shared;
mod subjects;
mod subscribe;
mod sync;

pub use keys::Keys;
pub use rfc7009::LeaseHold;
pub use scripts::{ClaimReply, FlushReply};
pub use shared::{Shared, Unavailable};
pub use sync::FlushStats;

/// Every parse of what Redis sends back (pub/sub messages, stored values, script and lookup
/// replies), for the fuzz targets and their corpus test.
pub(crate) mod decode {
    pub(crate) use super::keys::{parse_message, parse_revoked_value};
    pub(crate) use super::lookup::{decode_lookup, Known};
    pub(crate) use super::pubsub::decode_push;
    pub(crate) use super::scripts::{decode_claim, decode_flush};
}

use std::future::Future;
use std::sync::Arc;

use crate::store::local::Local;

/// Starts the Redis tasks: the connection supervisor and the flusher. On `shutdown` the
/// flusher writes what is left (bounded), then the connection closes.
pub(crate) fn spawn(
    local: Arc<Local>,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let supervisor = tokio::spawn(conn::run(local.clone(), shared.clone(), async {
            let _ = stop_rx.await;
        }));
        sync::run(local, shared, shutdown).await;
        let _ = stop_tx.send(());
        let _ = supervisor.await;
    })
}
