//! The HTTP routes: GraphQL (with the GraphiQL page and its files), health and loader
//! statistics.

pub mod graphiql;
pub mod graphql;
mod health;
mod refusals;
mod stats;

pub use health::{healthz, readyz};
pub use stats::loader_stats;
