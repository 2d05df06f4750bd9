//! Lifecycle of a running gateway: build the state, start the sweeper, the config reloader,
//! the admin listener and the proxy listener; on shutdown stop accepting, drain, and stop the background tasks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::clock::Clock;
use crate::config::Config;
use crate::token::Keyer;
use crate::{admin, app, proxy, reload, revocation, store};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The snapshot or the revocation journal is unreadable.
    #[error("{0}")]
    State(#[from] crate::store::persist::StateError),
}

/// Listen backlog of both listeners. Past their connection caps new connections wait there
/// (the kernel caps it at `net.core.somaxconn`); the usual 128 would turn away a burst at once.
const BACKLOG: u32 = 1024;

/// Binds the configured listen addresses.
pub async fn bind(config: &Config) -> Result<(TcpListener, TcpListener), ServeError> {
    let proxy =
        bind_with_backlog(config.proxy.listen, BACKLOG).map_err(|source| ServeError::Bind {
            what: "proxy.listen",
            addr: config.proxy.listen,
            source,
        })?;
    let admin =
        bind_with_backlog(config.admin.listen, BACKLOG).map_err(|source| ServeError::Bind {
            what: "admin.listen",
            addr: config.admin.listen,
            source,
        })?;
    Ok((proxy, admin))
}

fn bind_with_backlog(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std and tokio do: a restart can bind while old connections sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Runs the gateway on the given listeners until `shutdown` resolves (mini-redis style: tests
/// pass port-0 listeners and a oneshot).
pub async fn run(
    proxy_listener: TcpListener,
    admin_listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let config = app.config();
    store::persist::load_at_start(app.state(), &config)?;
    let trial_file = config
        .state
        .snapshot
        .as_deref()
        .map(app::trial_file::path_beside);
    if let Some(path) = &trial_file {
        app.load_trial_file(path);
    }
    // Hooks stop last of the tasks that revoke (after the effects' final delivery and the
    // admin API), so every revocation of the drain is queued before the unfinished ones are kept.
    let (hooks_stop, hooks_stopped) = tokio::sync::oneshot::channel::<()>();
    let pending_hooks = config
        .state
        .snapshot
        .as_deref()
        .map(revocation::pending_path_beside);
    let shared = app.state().redis().cloned();
    let hooks = app
        .hooks
        .start(app.clock.clone(), pending_hooks, shared, async {
            let _ = hooks_stopped.await;
        });
    // On stop it delivers what is queued; a sweep batch sent after that is delivered in place.
    let effects = app.start_effects(stopped(stop_rx.clone()));
    let sweeper = tokio::spawn(store::sweeper::run(
        app.state().clone(),
        config.timeout.resolution,
        app.proxy_load.clone(),
        stopped(stop_rx.clone()),
    ));
    let persist = config.state.snapshot.clone().map(|path| {
        tokio::spawn(store::persist::run(
            app.state().clone(),
            path,
            config.state.snapshot_interval,
            stopped(stop_rx.clone()),
        ))
    });
    let trial_saver = trial_file.map(|path| {
        let interval = config.state.snapshot_interval;
        tokio::spawn(app::trial_file::run(
            app.clone(),
            path,
            interval,
            stopped(stop_rx.clone()),
        ))
    });
    let admin = tokio::spawn(admin::serve(
        admin_listener,
        app.clone(),
        stopped(stop_rx.clone()),
    ));
    // SIGHUP and changes of the config file reload it (a config built in memory has no file).
    // The watch is in place before the gateway reports ready.
    let reloader = config.path.clone().map(|path| {
        let reloader = reload::Reloader::start(app.clone(), path);
        tokio::spawn(reloader.run(stopped(stop_rx.clone())))
    });
    // With `[identity]`: the JWKS is loaded (ready once a first set is in) and refreshed.
    let identity = app
        .identity
        .as_ref()
        .map(|i| i.spawn_refresh(stopped(stop_rx.clone())));
    // Memory: ready now. Redis: ready once Redis was reached (docs/reference.md, "State and durability").
    let shared = app.state().spawn(stopped(stop_rx.clone()));
    tracing::info!(
        proxy = %proxy_listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        upstream = %config.proxy.upstream,
        "idlegate serving"
    );
    proxy::serve(proxy_listener, app.clone(), shutdown).await;
    let _ = stop_tx.send(true);
    let _ = sweeper.await;
    if let Some(effects) = effects {
        // Every audit event of a sweep is written before the process ends.
        let _ = effects.await;
    }
    if let Some(shared) = shared {
        // The final flush to Redis is made after the drain.
        let _ = shared.await;
    }
    if let Some(saver) = trial_saver {
        let _ = saver.await;
    }
    if let Some(persist) = persist {
        // The final snapshot is written after the drain, so it holds the last activity.
        let _ = persist.await;
    }
    let _ = admin.await;
    let _ = hooks_stop.send(());
    let _ = hooks.await;
    if let Some(identity) = identity {
        let _ = identity.await;
    }
    if let Some(reloader) = reloader {
        let _ = reloader.await;
    }
    tracing::info!("idlegate stopped");
    Ok(())
}

/// Starts a gateway in the background on the given listeners (tests, `demo`).
pub struct Running {
    pub app: Arc<App>,
    pub proxy_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    pub async fn start(
        proxy_listener: TcpListener,
        admin_listener: TcpListener,
        config: Config,
        keyer: Keyer,
        clock: Clock,
    ) -> std::io::Result<Running> {
        let proxy_addr = proxy_listener.local_addr()?;
        let admin_addr = admin_listener.local_addr()?;
        let app = App::new(config, keyer, clock);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(run(proxy_listener, admin_listener, app.clone(), async {
            let _ = rx.await;
        }));
        Ok(Running {
            app,
            proxy_addr,
            admin_addr,
            shutdown: Some(tx),
            task,
        })
    }

    /// Graceful stop; waits for the drain.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(_) => Ok(()),
        }
    }
}
