//! The GraphQL schema: object types per domain, root query and mutation objects merged
//! from per-domain parts, the per-request [`Loaders`], and [`build_schema`].

mod cursor;
mod depth;
mod error_codes;
mod id;
mod loaders;
mod mutation;
mod page;
mod query;
mod schema;
mod schema_description;
mod types;
mod validate;

pub use depth::{DepthLimit, MAX_INTROSPECTION_DEPTH, MAX_INTROSPECTION_LISTS};
pub use error_codes::ErrorCodes;
pub use loaders::{LoaderBackend, LoaderMode, Loaders, UnknownLoaderMode};
pub use schema::{AppSchema, build_schema, sdl};
pub use schema_description::SchemaDescription;
