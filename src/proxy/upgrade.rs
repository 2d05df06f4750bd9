//! `Upgrade` (WebSocket) passthrough: once the upstream answers 101, both upgraded
//! connections are joined byte for byte. The tunnel is registered under its token so that
//! revoking the token closes it.

use std::sync::Arc;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::app::App;
use crate::token::TokenKey;

/// Spawns the relay between the client's and the upstream's upgraded connections. A tunnel
/// that carries a token is registered under it, so that revoking the token closes it.
pub(super) fn relay<B>(
    app: Arc<App>,
    key: Option<TokenKey>,
    client: OnUpgrade,
    upstream_resp: &mut http::Response<B>,
) {
    let upstream = hyper::upgrade::on(upstream_resp);
    let mut closed = key.map(|k| app.tunnels.register(k));
    tokio::spawn(async move {
        let joined = async {
            let (client, upstream) = tokio::try_join!(client, upstream)?;
            let mut client = TokioIo::new(client);
            let mut upstream = TokioIo::new(upstream);
            tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        };
        tokio::select! {
            result = joined => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "upgraded connection ended");
                }
            }
            _ = revoked(&mut closed) => {
                tracing::info!("closing an upgraded connection of a revoked token");
            }
        }
        if let Some(key) = key {
            app.tunnels.release(&key);
        }
    });
}

/// Resolves when the tunnel's token is revoked; never for a tunnel without a token.
async fn revoked(closed: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match closed {
        Some(rx) => {
            let _ = rx.wait_for(|revoked| *revoked).await;
        }
        None => std::future::pending().await,
    }
}
