//! End-to-end tests of the server through HTTP, each on a fresh database: SQLite and a
//! real PostgreSQL (a throwaway cluster from `test-support`; skipped loudly when
//! PostgreSQL is not installed, a failure when `CI` is set).
//!
//! Every test is an `async fn(Backend)` instantiated for both backends by
//! [`on_both_backends!`].

mod app;
mod goldens;
mod graphiql;
mod introspection;
mod limit;
mod loader_modes;
mod mutations;
mod n_plus_one;
mod shutdown;
mod stable_answers;
mod timeouts;
