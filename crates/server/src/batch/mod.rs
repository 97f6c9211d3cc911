//! The server's batch functions: each loads many keys of one relation in one SQL statement
//! (bound parameters, chunked only past [`MAX_KEYS_PER_STATEMENT`]) and implements
//! [`loader_core::BatchFn`], so the engine can batch, deduplicate and limit them.
//!
//! - [`ById`]: rows by primary key (`users.by_id`, `posts.by_id`).
//! - [`Related`]: the rows related to each parent key, directly (`posts.author_id`) or
//!   through a junction table (`tags` via `post_tags`), in a fixed order, optionally at most
//!   `limit` per parent (a `ROW_NUMBER()` window, not a global `LIMIT`).
//!
//! Every parameter that changes the SQL is part of the query group name, so identical
//! shapes coalesce across requests and different ones never mix.

mod by_id;
mod related;

pub use by_id::ById;
pub use related::{Order, Related};

/// Most keys bound in one statement: below SQLite's and PostgreSQL's parameter limits.
pub const MAX_KEYS_PER_STATEMENT: usize = 10_000;
