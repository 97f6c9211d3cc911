//! [`Application`]: open the database, migrate, seed, build the engine and schema, bind,
//! serve until stopped; and [`router`], the routes alone for in-process tests.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use loader_core::Engine;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

use crate::{
    auth::Authenticator,
    config::Settings,
    database,
    graphql::{LoaderBackend, build_schema},
    routes::{self, graphql::ResponseMedia},
    seed,
    state::AppState,
};

/// A server ready to run: database migrated (and seeded), listener bound.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Saves the learned state for other replicas (`--loader-share-learned`).
    learned_saver: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Opens the database named by the settings, then as [`build_with_db`](Self::build_with_db).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = database::connect(&settings).await?;
        Self::build_with_db(settings, db).await
    }

    /// Builds on an open connection (tests pass one with a statement counter attached):
    /// applies migrations unless `--no-migrate`, creates demo data in an empty database
    /// unless `--no-demo-data`, builds the engine and schema, binds the listener.
    pub async fn build_with_db(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        if !settings.no_migrate {
            database::migrate(&db).await?;
        }
        if !settings.no_demo_data {
            seed::seed_demo_if_empty(&db, settings.demo_seed).await?;
        }
        let state = app_state(settings, db)?;
        let learned_saver =
            crate::learned_store::start_sharing(&state.settings.learned, &state.db, &state.engine)
                .await;
        let listener = TcpListener::bind(state.settings.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", state.settings.listen_addr))?;
        Ok(Self {
            listener,
            state,
            learned_saver,
        })
    }

    /// The bound address (the real port when `LISTEN_ADDR` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The shared state (database, engine, schema, settings).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then stops accepting connections and lets in-flight
    /// requests finish, for at most `--shutdown-grace-ms`.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = Duration::from_millis(self.state.settings.limits.shutdown_grace_ms);
        let (stopped_tx, mut stopped_rx) = tokio::sync::watch::channel(false);
        let graceful = async move {
            stop.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stopped_tx.send(true);
        };
        let saver = self.learned_saver;
        let app = router(self.state);
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(graceful);
        let grace_expired = async move {
            if stopped_rx.wait_for(|stopped| *stopped).await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = serve => served.context("the HTTP server failed")?,
            () = grace_expired => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "in-flight requests did not finish in time; exiting");
            }
        }
        if let Some(saver) = saver {
            saver.abort();
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The state for `settings` on `db`: the engine (from the `LOADER_*` settings and
/// `--loader`), the loader backend, the schema and the authenticator (reading its key, or
/// creating the development secret). Invalid auth or CORS settings are refused here.
pub fn app_state(settings: Settings, db: DatabaseConnection) -> anyhow::Result<AppState> {
    settings.cors.origins()?;
    let auth = Authenticator::new(&settings.auth, &settings.database_url)
        .context("invalid authentication settings")?;
    let mut config = settings.loader.to_config();
    if let Some(strategy) = settings.loader_mode.strategy() {
        config.scaling_strategy = strategy;
    }
    let engine = Engine::new(config).context("invalid loader settings")?;
    let loaders = LoaderBackend::new(settings.loader_mode, &engine);
    let schema = build_schema(db.clone(), &settings.limits);
    Ok(AppState {
        db,
        engine,
        loaders,
        schema,
        auth: Arc::new(auth),
        settings: Arc::new(settings),
    })
}

/// Every route, with the body-size limit, panic catcher, CORS (when origins are allowed)
/// and request tracing.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.limits.max_body_bytes;
    let engine = state.engine.clone();
    // `app_state` has checked the origins; should they be wrong anyway, no origin is
    // allowed (closed, not open).
    let cors = state.settings.cors.layer().unwrap_or_else(|err| {
        tracing::error!(error = %err, "invalid CORS settings: no origin is allowed");
        None
    });
    Router::new()
        .route(
            "/graphql",
            get(routes::graphql::get).post(routes::graphql::post),
        )
        .route("/graphql/assets/{file}", get(routes::graphiql::asset))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/loader/stats", get(routes::loader_stats))
        .merge(observability::metrics::router(engine.clone()))
        .merge(observability::dashboard::dashboard_router(engine))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(tower::util::option_layer(cors))
        .layer(observability::metrics::http_metrics_layer())
        .layer(observability::telemetry::HttpTraceLayer::new())
        .with_state(state)
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    routes::graphql::error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        ResponseMedia::Json,
        "INTERNAL",
        "internal server error",
    )
    .into_response()
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
