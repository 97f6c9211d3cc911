//! [`build_schema`]: the executable schema with its guards, and [`sdl`], its definition.

use async_graphql::{EmptySubscription, SDLExportOptions, Schema};
use sea_orm::DatabaseConnection;

use super::{DepthLimit, ErrorCodes, SchemaDescription, mutation::Mutation, query::Query};
use crate::config::Limits;

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with its guards (depth, complexity, introspection) and the database pool.
/// Requests must carry a [`Loaders`](super::Loaders) in their data.
///
/// The depth guard is [`DepthLimit`], not async-graphql's `limit_depth`: it measures
/// introspection apart from the data, so the standard introspection query passes.
pub fn build_schema(db: DatabaseConnection, limits: &Limits) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .extension(DepthLimit::new(limits.max_depth))
        .limit_complexity(limits.max_complexity)
        .extension(ErrorCodes)
        .extension(SchemaDescription)
        .extension(async_graphql::extensions::Tracing)
        .data(db)
        .data(limits.clone());
    if limits.disable_introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The schema definition (SDL), as committed in `schema/schema.graphql`: what
/// introspection answers, `@specifiedBy` of the scalars included.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl_with_options(SDLExportOptions::new().include_specified_by())
}
