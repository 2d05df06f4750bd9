//! This replica's side of the state, shared by the seam ([`TokenState`]) and the Redis
//! backend's tasks: the in-memory store, the clock, the effects sink, the pushed-down policy
//! and the readiness flag.
//!
//! [`TokenState`]: super::state::TokenState

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::effects::{Effects, Policy};
use super::memory::Store;
use crate::clock::Clock;

pub struct Local {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    effects: Arc<dyn Effects>,
    policy: ArcSwap<Policy>,
    /// Set once the state can serve: at start (memory), once Redis was reached (Redis).
    ready: AtomicBool,
}

impl Local {
    pub(crate) fn new(
        store: Store,
        clock: Clock,
        effects: Arc<dyn Effects>,
        policy: Policy,
    ) -> Local {
        Local {
            store,
            clock,
            effects,
            policy: ArcSwap::from_pointee(policy),
            ready: AtomicBool::new(false),
        }
    }

    pub(crate) fn effects(&self) -> &dyn Effects {
        &*self.effects
    }

    pub(crate) fn policy(&self) -> Policy {
        **self.policy.load()
    }

    pub(crate) fn set_policy(&self, policy: Policy) {
        self.policy.store(Arc::new(policy));
    }

    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
