//! Open upgraded (WebSocket) connections per token, so that revoking a token closes them.

use dashmap::DashMap;
use tokio::sync::watch;

use crate::token::TokenKey;

#[derive(Default)]
pub struct Tunnels {
    open: DashMap<TokenKey, watch::Sender<bool>>,
}

impl Tunnels {
    /// Registers a tunnel of `key`; the receiver changes to `true` when the token is revoked.
    pub fn register(&self, key: TokenKey) -> watch::Receiver<bool> {
        self.open
            .entry(key)
            .or_insert_with(|| watch::channel(false).0)
            .subscribe()
    }

    /// Called when a tunnel ends: forget the token once its last tunnel is gone.
    pub fn release(&self, key: &TokenKey) {
        self.open.remove_if(key, |_, tx| tx.receiver_count() == 0);
    }

    /// Closes every tunnel of `key`.
    pub fn close(&self, key: &TokenKey) {
        if let Some((_, tx)) = self.open.remove(key) {
            let _ = tx.send(true);
        }
    }

    /// Closes every tunnel (shutdown).
    pub fn close_all(&self) {
        self.open.retain(|_, tx| {
            let _ = tx.send(true);
            false
        });
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_a_token_signals_only_its_tunnels() {
        let t = Tunnels::default();
        let a = TokenKey([1; 16]);
        let b = TokenKey([2; 16]);
        let ra = t.register(a);
        let rb = t.register(b);
        t.close(&a);
        assert!(*ra.borrow());
        assert!(!*rb.borrow());
        drop(rb);
        t.release(&b);
        assert!(t.is_empty());
    }
}
