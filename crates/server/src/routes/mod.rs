//! The HTTP routes: GraphQL, health and loader statistics.

pub mod graphql;
mod health;
mod refusals;
mod stats;

pub use health::{healthz, readyz};
pub use stats::loader_stats;
