//! Wiring: the store, the connections, the HTTP server and the outbox worker, with a
//! graceful shutdown.

use crate::clock::SystemClock;
use crate::config::{Config, Database};
use crate::connections::Connections;
use crate::http::{self, AppState, Shared};
use crate::outbox;
use crate::store::{Signal, Store};
use anyhow::Context;
use callgate_adapters::kit::Clock;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Opens the store and builds the shared state.
pub fn build_state(config: Config, public_url: String) -> anyhow::Result<AppState> {
    let store = match &config.database {
        Database::Embedded(path) => Store::open(path)
            .with_context(|| format!("cannot open the store at {}", path.display()))?,
        Database::Postgres(url) => {
            // The client blocks while it connects: on a thread of its own, never on one
            // that runs async tasks.
            let url = url.clone();
            std::thread::spawn(move || Store::connect(url.expose()))
                .join()
                .map_err(|_| anyhow::anyhow!("connecting to PostgreSQL panicked"))?
                .context("cannot open the PostgreSQL store")?
        }
    };
    let key = config.master_key()?;
    let connections = Arc::new(Connections::new(
        store.clone(),
        key,
        public_url.clone(),
        config.rotation_grace,
        config.egress,
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Event ids of this process start with its start time: ids of an earlier run are told
    // apart (their clients resync).
    let epoch = crate::store::millis(clock.now()).to_string();
    Ok(AppState::new(Shared {
        events: Arc::new(crate::events::EventHub::new(epoch)),
        store,
        connections,
        config: Arc::new(config),
        public_url: public_url.into(),
        clock,
        outbox_wake: Arc::new(Notify::new()),
        shutdown: CancellationToken::new(),
    }))
}

/// The assembled service's state, as the CLI holds it (the store, the connections, the
/// configuration and the clock).
pub type Service = AppState;

/// Opens the store with the connection service, for the CLI.
pub fn open_for_cli(config: Config) -> anyhow::Result<AppState> {
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    build_state(config, public)
}

/// A started server.
#[derive(Debug)]
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, stops the worker.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.server.await??;
        self.worker.await?;
        Ok(())
    }

    /// Resolves when the server stopped by itself or was asked to.
    pub async fn wait(self) -> anyhow::Result<()> {
        let Running {
            shutdown,
            server,
            worker,
            ..
        } = self;
        let result = server.await;
        shutdown.cancel();
        worker.await?;
        result??;
        Ok(())
    }
}

/// Applies what other instances sharing the database changed: cached connections are
/// dropped, live subscribers of this instance hear of calls and hubs, and the streams of a
/// user whose rights changed check them again.
async fn follow_other_instances(
    state: AppState,
    mut signals: tokio::sync::mpsc::UnboundedReceiver<Signal>,
    shutdown: CancellationToken,
) {
    loop {
        let signal = tokio::select! {
            () = shutdown.cancelled() => return,
            s = signals.recv() => match s {
                Some(s) => s,
                None => return,
            },
        };
        match signal {
            Signal::Connection { id } => state.connections.forget(&id),
            Signal::Erased { call_ids } => state.events.forget_calls(&call_ids),
            Signal::Rights { user_id } => {
                state
                    .events
                    .publish(crate::events::Change::RightsChanged { user_id });
            }
            Signal::Hub { tenant_id } => {
                crate::calls::Effects::of_hub(tenant_id).apply(&state.events, &state.outbox_wake);
            }
            Signal::Call {
                id,
                recording_decided,
            } => match state
                .store
                .read(move |db| crate::store::calls::get(db, &id))
                .await
            {
                Ok(Some(call)) => {
                    // Told by the instance that changed it: its outbox work is any
                    // instance's, found at the next poll.
                    crate::calls::Effects::of_call(call, recording_decided, false)
                        .apply(&state.events, &state.outbox_wake);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a call another instance changed could not be read")
                }
            },
        }
    }
}

/// Binds, opens the store and starts the server and the outbox worker.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    crate::telemetry::init_metrics();
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let state = build_state(config, public_url)?;
    let shutdown = state.shutdown.clone();

    let worker = outbox::Worker {
        store: state.store.clone(),
        connections: state.connections.clone(),
        clock: state.clock.clone(),
        wake: state.outbox_wake.clone(),
        config: state.config.outbox.clone(),
        http: outbox::http_client(state.config.egress, state.config.outbox.request_timeout),
        webhooks: crate::egress::client(
            state.config.egress,
            Arc::new(crate::egress::SystemLookup),
            state.config.outbox.request_timeout,
        ),
        egress: state.config.egress,
    };
    let reconciler = crate::reconcile::Reconciler {
        worker: worker.clone(),
        events: state.events.clone(),
        config: state.config.reconcile,
    };
    tokio::spawn(reconciler.run(shutdown.clone()));
    let worker = tokio::spawn(worker.run(shutdown.clone()));
    tokio::spawn(housekeeping(
        state.store.clone(),
        state.clock.clone(),
        shutdown.clone(),
    ));
    // Before the first scrape: the alert on retention compares the oldest rows with them.
    crate::telemetry::retention_periods(&crate::retention::periods_by_kind(
        &state.config.retention,
    ));
    tokio::spawn(crate::retention::run(
        state.store.clone(),
        state.config.retention,
        state.clock.clone(),
        shutdown.clone(),
    ));
    if let Some(signals) = state.store.signals() {
        tokio::spawn(follow_other_instances(
            state.clone(),
            signals,
            shutdown.clone(),
        ));
    }
    let app = http::router(state.clone());
    let limits = crate::server::fit_to_descriptors(state.config.server.clone());
    let server = tokio::spawn(crate::server::serve(
        listener,
        app,
        limits,
        shutdown.clone(),
    ));
    tracing::info!(%addr, store = %state.store.location(), public_url = %state.public_url, "callgate ready");
    Ok(Running {
        addr,
        state,
        shutdown,
        server,
        worker,
    })
}

/// Periodic upkeep: metric samples are folded into their histograms every few seconds; the
/// store's gauges are read every 15 seconds; expired single-use values (nonces) are deleted
/// from the store every ten minutes.
async fn housekeeping(store: Store, clock: Arc<dyn Clock>, shutdown: CancellationToken) {
    const TICK: std::time::Duration = std::time::Duration::from_secs(5);
    const GAUGES_EVERY: u32 = 3;
    const PRUNE_EVERY: u32 = 120;
    let mut every = tokio::time::interval(TICK);
    let mut ticks: u32 = 0;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        crate::telemetry::run_upkeep();
        ticks = ticks.wrapping_add(1);
        if ticks % GAUGES_EVERY == 1 {
            refresh_gauges(&store, clock.as_ref()).await;
        }
        if ticks % PRUNE_EVERY != 1 {
            continue;
        }
        match store.prune_replay_keys(clock.now()).await {
            Ok(n) if n > 0 => tracing::debug!(pruned = n, "expired replay keys deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "replay key pruning failed"),
        }
    }
}

/// Reads the store's gauges: whether it takes writes (trying a probe write while a storage
/// fault is held, as `/readyz` does) and its backlog.
async fn refresh_gauges(store: &Store, clock: &dyn Clock) {
    crate::telemetry::store_writable(store.writable(clock.now()).await.is_ok());
    match store.read(crate::store::gauges::backlog).await {
        Ok(backlog) => crate::telemetry::store_backlog(&backlog, Some(clock.now())),
        Err(e) => tracing::warn!(error = %e, "the store's gauges could not be read"),
    }
}

/// Runs the server until SIGTERM or SIGINT, then finishes in-flight requests and returns.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    #[allow(clippy::print_stdout)] // the contract's readiness line
    {
        println!("listening on http://{}", running.addr);
    }
    let shutdown = running.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        shutdown.cancel();
    });
    running.wait().await?;
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
