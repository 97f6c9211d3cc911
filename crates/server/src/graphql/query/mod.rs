//! The root `Query`: one object per domain, merged.

mod post;
mod tag;
mod user;

use async_graphql::MergedObject;

pub use post::PostQuery;
pub use tag::TagQuery;
pub use user::UserQuery;

/// The root query type.
#[derive(MergedObject, Default)]
pub struct Query(UserQuery, PostQuery, TagQuery);
