//! [`Replica`]: one server replica in this process, on its own tokio runtime and thread (so
//! each engine's local-load probe sees its own runtime, as separate processes would).

use std::{net::SocketAddr, time::Duration};

use anyhow::Context as _;
use loader_core::Engine;
use server::{
    Application, config::Settings, database, fleet::FleetSync, learned_store::LearnedStore,
};
use tokio::sync::oneshot;

/// Whether a replica takes part in sharing learned state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Neither restores nor saves.
    Off,
    /// Saves what it learns, starts cold.
    Save,
    /// Restores the shared state before serving, then saves.
    RestoreAndSave,
}

/// How a replica is configured.
#[derive(Debug, Clone)]
pub struct ReplicaOptions {
    /// `LOADER_SCALING_STRATEGY`: `adaptive` or `fixed:N`.
    pub strategy: String,
    /// `LOADER_MAX_CONCURRENCY`, also `DATABASE_MAX_CONNECTIONS`.
    pub max_concurrency: usize,
    /// Learned-state sharing.
    pub sharing: Sharing,
    /// How often a sharing replica saves. By default, this is 1 s.
    pub save_every: Duration,
    /// `LOADER_INITIAL_CONCURRENCY`. By default, this is the engine's default.
    pub initial_concurrency: Option<usize>,
    /// Exchange live limits with the other replicas this often (`server::fleet`), so the
    /// engine judges its experiments by the fleet's goodput. By default, this is off.
    pub fleet_sync: Option<Duration>,
}

impl ReplicaOptions {
    /// Options with `strategy`, at most `max_concurrency`, no sharing.
    pub fn new(strategy: impl Into<String>, max_concurrency: usize) -> Self {
        Self {
            strategy: strategy.into(),
            max_concurrency,
            sharing: Sharing::Off,
            save_every: Duration::from_secs(1),
            initial_concurrency: None,
            fleet_sync: None,
        }
    }
}

/// A running replica.
pub struct Replica {
    /// Its name in reports.
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its loader engine.
    pub engine: Engine,
    /// The limit right after start (after a restore, the warm-start limit).
    pub start_limit: usize,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replica {
    /// Starts a replica on `database_url` (already migrated and seeded).
    pub async fn start(
        name: impl Into<String>,
        database_url: &str,
        options: &ReplicaOptions,
    ) -> anyhow::Result<Self> {
        let mut settings = Settings::for_database(database_url);
        settings.no_migrate = true;
        settings.no_demo_data = true;
        settings.database_max_connections = options.max_concurrency as u32;
        settings.loader.loader_max_concurrency = options.max_concurrency;
        settings.loader.loader_scaling_strategy = options
            .strategy
            .parse()
            .map_err(|e| anyhow::anyhow!("strategy `{}`: {e}", options.strategy))?;
        settings.limits.shutdown_grace_ms = 2_000;
        if let Some(initial) = options.initial_concurrency {
            settings.loader.loader_initial_concurrency = initial;
            settings.loader.loader_min_concurrency =
                settings.loader.loader_min_concurrency.min(initial);
        }
        let options = options.clone();
        let (ready_tx, ready_rx) =
            oneshot::channel::<anyhow::Result<(SocketAddr, Engine, usize)>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let name = name.into();
        let thread = std::thread::Builder::new()
            .name(format!("replica-{name}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let built = async {
                        let db = database::connect(&settings).await?;
                        let app = Application::build_with_db(settings, db.clone()).await?;
                        let engine = app.state().engine.clone();
                        let store = LearnedStore::new(db.clone(), super::SCOPE);
                        if options.sharing == Sharing::RestoreAndSave {
                            store
                                .restore(&engine)
                                .await
                                .context("restoring learned state")?;
                        }
                        let saver = (options.sharing != Sharing::Off)
                            .then(|| store.spawn_saver(engine.clone(), options.save_every));
                        let fleet = options.fleet_sync.map(|every| {
                            FleetSync::new(db.clone(), super::SCOPE).spawn(engine.clone(), every)
                        });
                        anyhow::Ok((app, engine, saver, fleet))
                    }
                    .await;
                    let (app, engine, saver, fleet) = match built {
                        Ok(parts) => parts,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok((app.local_addr(), engine.clone(), engine.limit())));
                    let served = app
                        .run_until(async move {
                            let _ = stop_rx.await;
                        })
                        .await;
                    for task in [saver, fleet].into_iter().flatten() {
                        task.abort();
                    }
                    if let Err(e) = served {
                        eprintln!("replica stopped with an error: {e:#}");
                    }
                });
            })
            .context("cannot spawn a replica thread")?;
        let (addr, engine, start_limit) = ready_rx.await.context("the replica thread died")??;
        Ok(Self {
            name,
            addr,
            engine,
            start_limit,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://addr/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// Stops serving and waits for the thread.
    pub async fn stop(mut self) {
        self.signal_stop();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    fn signal_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
