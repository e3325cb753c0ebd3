//! Wiring: the store, the connections, the HTTP server and the outbox worker, with a
//! graceful shutdown.

use crate::clock::SystemClock;
use crate::config::Config;
use crate::connections::Connections;
use crate::http::{self, AppState};
use crate::outbox;
use crate::store::Store;
use anyhow::Context;
use callgate_adapters::kit::Clock;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Opens the store and builds the shared state.
pub fn build_state(config: Config, public_url: String) -> anyhow::Result<AppState> {
    let store = Store::open(&config.database_path)
        .with_context(|| format!("cannot open the store at {}", config.database_path.display()))?;
    let key = config.master_key()?;
    let connections = Arc::new(Connections::new(store.clone(), key, public_url.clone(), config.rotation_grace));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(AppState {
        store,
        connections,
        config: Arc::new(config),
        public_url: public_url.into(),
        clock,
        outbox_wake: Arc::new(Notify::new()),
    })
}

/// Opens the store with the connection service, for the CLI.
pub fn open_for_cli(config: Config) -> anyhow::Result<AppState> {
    let public = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
    build_state(config, public)
}

/// Runs the server until SIGTERM or SIGINT, then finishes in-flight requests and returns.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    crate::telemetry::init_metrics();
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let state = build_state(config, public_url)?;
    let shutdown = CancellationToken::new();

    let worker = outbox::Worker {
        store: state.store.clone(),
        connections: state.connections.clone(),
        clock: state.clock.clone(),
        wake: state.outbox_wake.clone(),
        config: state.config.outbox.clone(),
        http: outbox::http_client(state.config.outbox.request_timeout),
    };
    let worker_task = tokio::spawn(worker.run(shutdown.clone()));

    let app = http::router(state.clone());
    tracing::info!(%addr, store = %state.store.path().display(), public_url = %state.public_url, "callgate ready");
    #[allow(clippy::print_stdout)] // the contract's readiness line
    {
        println!("listening on http://{addr}");
    }
    let signal = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            signal.cancel();
        })
        .await?;
    shutdown.cancel();
    let _ = worker_task.await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
