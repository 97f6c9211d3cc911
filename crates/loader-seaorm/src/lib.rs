//! Resource-aware batch functions for SeaORM entities, run through [`loader_core`].
//!
//! Generic over entities, not written per table:
//!
//! | batch function | key → value | SQL (one statement per batch) |
//! |---|---|---|
//! | [`ByKey<E>`] / [`BelongsTo<E>`] | primary key → `Model` | `WHERE pk IN (...)` |
//! | [`HasMany<E>`] | parent key → `Vec<Model>` | `WHERE fk IN (...)`, per-parent limit (PostgreSQL: `LATERAL ... LIMIT n`; SQLite: `ROW_NUMBER()`) |
//! | [`ManyToMany<E, J>`] | parent key → `Vec<Model>` | `JOIN` junction `J`, per-parent limit |
//!
//! Each batch is one SQL statement with bound parameters, split only when a batch exceeds
//! [`max_keys_per_statement`](HasMany::max_keys_per_statement) (30000 by default, under the
//! bound-parameter limits of SQLite and PostgreSQL). Each function's
//! [`QueryGroup`](loader_core::QueryGroup) is derived from its shape (table, relation,
//! filter, order, limit, selected columns), so identical shapes from different resolvers
//! coalesce into the same batches and different shapes never mix. Keys without rows map to
//! `None` (by key) or to an empty `Vec` (has-many, many-to-many).
//!
//! [`StatementCounter`] counts the statements a connection runs: the N+1 proof.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use entity::{comment, post, user};
//! use loader_core::BatchFn;
//! use loader_seaorm::{HasMany, StatementCounter};
//! use migration::{Migrator, MigratorTrait};
//! use sea_orm::{ActiveModelTrait, Database, Order, Set};
//!
//! let mut db = Database::connect("sqlite::memory:").await?;
//! Migrator::up(&db, None).await?;
//! let alice = user::ActiveModel { name: Set("alice".into()), email: Set("a@x".into()), ..Default::default() }
//!     .insert(&db).await?;
//! for title in ["one", "two"] {
//!     let post = post::ActiveModel {
//!         author_id: Set(alice.id), title: Set(title.into()), body: Set(String::new()),
//!         published: Set(true), ..Default::default()
//!     }.insert(&db).await?;
//!     for n in 0..5 {
//!         comment::ActiveModel {
//!             post_id: Set(post.id), author_id: Set(alice.id), body: Set(format!("{n}")),
//!             ..Default::default()
//!         }.insert(&db).await?;
//!     }
//! }
//!
//! let counter = StatementCounter::new();
//! counter.attach(&mut db);
//! // The latest 2 comments of each post: normally used through `Engine::loader`.
//! let latest = HasMany::<comment::Entity>::new(db.clone(), comment::Column::PostId)
//!     .order_by(comment::Column::Id, Order::Desc)
//!     .limit(2);
//! let by_post = latest.load(&[1, 2, 99]).await?;
//! assert_eq!(counter.count(), 1);                       // one statement for three parents
//! assert_eq!(by_post[&1].len(), 2);
//! assert_eq!(by_post[&2].iter().map(|c| c.body.as_str()).collect::<Vec<_>>(), ["4", "3"]);
//! assert!(by_post[&99].is_empty());                     // no such post: empty, not missing
//! assert_eq!(
//!     latest.group().as_str(),
//!     "comments.has_many(post_id)order(id DESC)limit(2)[id,post_id,author_id,body,created_at]"
//! );
//! # Ok(()) }
//! ```

mod by_key;
mod cached_group;
mod counter;
mod error;
mod has_many;
mod key;
mod many_to_many;
mod per_parent;
mod primary_key;
mod projection;
mod shape;
mod statement;

pub use by_key::{BelongsTo, ByKey};
pub use counter::StatementCounter;
pub use error::Error;
pub use has_many::HasMany;
pub use key::Key;
pub use many_to_many::ManyToMany;
pub use statement::{DEFAULT_MAX_KEYS_PER_STATEMENT, select_all, select_one};
