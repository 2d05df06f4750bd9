//! `Upgrade` (WebSocket) passthrough: once the upstream answers 101, both upgraded
//! connections are joined byte for byte. The tunnel is registered under its token so that
//! revoking the token closes it.

use std::sync::Arc;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::app::App;
use crate::token::TokenKey;

/// Spawns the relay between the client's and the upstream's upgraded connections.
pub fn relay<B>(
    app: Arc<App>,
    key: TokenKey,
    client: OnUpgrade,
    upstream_resp: &mut http::Response<B>,
) {
    let upstream = hyper::upgrade::on(upstream_resp);
    let mut closed = app.tunnels.register(key);
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
            _ = closed.wait_for(|revoked| *revoked) => {
                tracing::info!(token_id = %key, "closing upgraded connection of a revoked token");
            }
        }
        app.tunnels.release(&key);
    });
}
