//! The forum GraphQL server: axum + async-graphql, every relation resolved through the
//! adaptive loader engine ([`loader_core`]) with one SQL statement per relation level.
//!
//! - [`config`]: flags and environment ([`config::Settings`]).
//! - [`auth`]: who is asking — bearer JWTs, the caller behind every mutation.
//! - [`cors`]: which browser origins may call the API.
//! - [`echo`]: bounded quotes of client input in messages and logs.
//! - [`startup`]: [`Application`] (build, bind, serve, graceful shutdown) and [`router`].
//! - [`routes`]: `POST`/`GET /graphql`, `/healthz`, `/readyz`, `/loader/stats`.
//! - [`graphql`]: the schema, per-domain types, queries and mutations, and the per-request
//!   [`graphql::Loaders`].
//! - [`learned_store`]: what the loader learned, shared between replicas in `loader_learned`.
//! - [`seed`]: deterministic demo and benchmark data.
//! - [`error`]: the one error type, mapped to GraphQL errors with `extensions.code`.
//!
//! ```no_run
//! use server::{Application, config::Settings};
//! # async fn run() -> anyhow::Result<()> {
//! let app = Application::build(Settings::for_database("sqlite::memory:")).await?;
//! println!("listening on {}", app.local_addr());
//! app.run_until_stopped().await
//! # }
//! ```

pub mod auth;
pub mod config;
pub mod cors;
pub mod database;
pub mod echo;
pub mod error;
pub mod fleet;
pub mod graphql;
pub mod healthcheck;
pub mod learned_store;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use startup::{Application, router};
pub use state::AppState;
