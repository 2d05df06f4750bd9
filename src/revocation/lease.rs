//! RFC 7009 once across replicas: before each attempt, a replica that holds the raw token
//! takes (or confirms) the lease on the call; with the memory backend there is no lease and
//! the one process calls (docs/reference.md, "Revocation hooks").

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::store::redis::{LeaseHold, Shared};
use crate::token::TokenKey;

/// How long a replica may try before another holder of the raw token takes over.
pub(crate) const LEASE: Duration = Duration::from_secs(10);

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub(crate) trait Lease: Send + Sync {
    /// None: the lease cannot be asked (Redis unreachable); the caller goes ahead.
    fn hold<'a>(&'a self, key: &'a TokenKey) -> BoxFuture<'a, Option<LeaseHold>>;
    /// The call succeeded: nobody makes it again within `keep`.
    fn done<'a>(&'a self, key: &'a TokenKey, keep: Duration) -> BoxFuture<'a, ()>;
}

/// The lease in Redis, under this process's random replica id.
pub(crate) struct RedisLease {
    shared: Arc<Shared>,
    me: String,
}

impl RedisLease {
    pub(crate) fn new(shared: Arc<Shared>) -> RedisLease {
        let mut id = [0u8; 8];
        // Without randomness, the process id and start time still tell replicas apart.
        if getrandom::getrandom(&mut id).is_err() {
            let seed = std::process::id() as u64 ^ crate::clock::Clock::new().now_ms();
            id = seed.to_le_bytes();
        }
        RedisLease {
            shared,
            me: id.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

impl Lease for RedisLease {
    fn hold<'a>(&'a self, key: &'a TokenKey) -> BoxFuture<'a, Option<LeaseHold>> {
        let lease_ms = crate::clock::duration_ms(LEASE);
        Box::pin(self.shared.hold_rfc7009(key, &self.me, lease_ms))
    }

    fn done<'a>(&'a self, key: &'a TokenKey, keep: Duration) -> BoxFuture<'a, ()> {
        Box::pin(
            self.shared
                .rfc7009_done(key, crate::clock::duration_ms(keep)),
        )
    }
}
