//! The object types, one file per domain: each wraps its SeaORM model and resolves its
//! relations through the request's [`Loaders`](super::Loaders).

mod comment;
mod post;
mod tag;
mod user;

pub use comment::Comment;
pub use post::Post;
pub use tag::Tag;
pub use user::User;

/// Timestamps: RFC 3339 in UTC (the `DateTime` scalar).
pub type DateTime = chrono::DateTime<chrono::Utc>;
