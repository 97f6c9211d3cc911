//! What every handler shares: the database pool, the one loader engine, the schema, the
//! authenticator and the settings.

use std::sync::Arc;

use loader_core::Engine;
use sea_orm::DatabaseConnection;

use crate::{
    auth::Authenticator,
    config::Settings,
    graphql::{AppSchema, LoaderBackend},
};

/// The application state behind every route (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// The process-wide loader engine: every relation of every request shares its limit.
    pub engine: Engine,
    /// What the per-request loaders run on (the engine unless `--loader` says otherwise).
    pub loaders: LoaderBackend,
    /// The executable schema.
    pub schema: AppSchema,
    /// Verifies bearer tokens (and mints them, with a shared secret).
    pub auth: Arc<Authenticator>,
    /// The settings the server started with.
    pub settings: Arc<Settings>,
}
