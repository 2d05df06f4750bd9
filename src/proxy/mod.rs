//! The proxy listener: accepts HTTP/1.1 and HTTP/2 (prior knowledge) connections and runs
//! each request through [`handler::Proxy::handle`].

mod forward;
mod handler;
mod respond;
mod upgrade;

pub use handler::{Conn, Proxy};
pub use respond::{ProxyBody, ProxyError};

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::app::App;

/// How long in-flight requests may take to finish after shutdown begins (SPEC §10).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

fn builder(max_header_bytes: usize) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    // hyper refuses heads beyond its read buffer with 431 and closes; the handler's exact
    // count covers heads between that and the configured limit.
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .max_buf_size(max_header_bytes.max(8192))
        .max_headers((max_header_bytes / 4).max(100));
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(max_header_bytes.min(u32::MAX as usize) as u32);
    b
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests for
/// at most [`DRAIN_TIMEOUT`].
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let proxy = Arc::new(Proxy::new(app.clone()));
    let builder = builder(app.config().proxy.max_header_bytes);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let proxy = proxy.clone();
                let conn = Conn::new(peer);
                let service = service_fn(move |req| {
                    let (proxy, conn) = (proxy.clone(), conn.clone());
                    async move { Ok::<_, Infallible>(proxy.handle(conn, req).await) }
                });
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, %peer, "client connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    app.tunnels.close_all();
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("in-flight requests drained"),
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("drain timeout: closing remaining connections"),
    }
}
