//! The lease on a revoked token's RFC 7009 call (docs/reference.md, "Revocation hooks"): every
//! replica that holds the raw token may make the call, and one at a time does. A replica
//! takes the lease with `SET NX PX` for a fixed time; when it has not succeeded by then,
//! another holder takes it over. The one that succeeds writes `done`, and the others stop.

use ::redis::Value;

use super::shared::Shared;
use crate::token::TokenKey;

/// The value of a lease whose call succeeded.
const DONE: &str = "done";

/// Who may make the call now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseHold {
    /// This replica, until the lease ends.
    Mine,
    /// Another replica succeeded.
    Done,
    /// Another replica holds the lease for this long still.
    Other { remaining_ms: u64 },
}

impl Shared {
    /// Takes the lease (or confirms this replica holds it). None when Redis cannot be asked:
    /// the caller then decides alone (revoking twice at the identity provider is harmless).
    pub async fn hold_rfc7009(&self, key: &TokenKey, me: &str, lease_ms: u64) -> Option<LeaseHold> {
        let conn = self.connection()?;
        let lease = self.keys.rfc7009(key);
        let mut take = ::redis::cmd("SET");
        take.arg(&lease)
            .arg(me)
            .arg("NX")
            .arg("GET")
            .arg("PX")
            .arg(lease_ms.max(1));
        let mut ttl = ::redis::cmd("PTTL");
        ttl.arg(&lease);
        let reply = conn
            .same_slot::<(Option<String>, i64)>(vec![take, ttl])
            .await;
        match reply {
            Ok((previous, ttl)) => Some(decode_hold(previous.as_deref(), me, ttl)),
            Err(e) => {
                self.failed(&self.errors.write, "RFC 7009 lease", &e);
                None
            }
        }
    }

    /// The call succeeded: no other replica makes it within `keep_ms`.
    pub async fn rfc7009_done(&self, key: &TokenKey, keep_ms: u64) {
        let Some(mut conn) = self.connection() else {
            return;
        };
        let reply: ::redis::RedisResult<Value> = ::redis::cmd("SET")
            .arg(self.keys.rfc7009(key))
            .arg(DONE)
            .arg("PX")
            .arg(keep_ms.max(1))
            .query_async(&mut conn)
            .await;
        if let Err(e) = reply {
            self.failed(&self.errors.write, "RFC 7009 lease", &e);
        }
    }
}

/// `SET NX GET` answers the value before (none: the lease was free and is taken now).
fn decode_hold(previous: Option<&str>, me: &str, ttl_ms: i64) -> LeaseHold {
    match previous {
        None => LeaseHold::Mine,
        Some(DONE) => LeaseHold::Done,
        Some(holder) if holder == me => LeaseHold::Mine,
        // A lease without expiry cannot come from a replica; wait a lease's length at most.
        Some(_) => LeaseHold::Other {
            remaining_ms: u64::try_from(ttl_ms).unwrap_or(0),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_value_says_who_holds_the_lease() {
        assert_eq!(decode_hold(None, "a1", 10_000), LeaseHold::Mine);
        assert_eq!(decode_hold(Some("a1"), "a1", 4_000), LeaseHold::Mine);
        assert_eq!(decode_hold(Some("done"), "a1", 9_000), LeaseHold::Done);
        assert_eq!(
            decode_hold(Some("b2"), "a1", 7_500),
            LeaseHold::Other {
                remaining_ms: 7_500
            }
        );
        assert_eq!(
            decode_hold(Some("b2"), "a1", -2),
            LeaseHold::Other { remaining_ms: 0 },
            "expired meanwhile: ask again at once"
        );
    }
}
