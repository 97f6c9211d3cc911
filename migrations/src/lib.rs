//! Schema migrations for the forum data model, runnable on SQLite and PostgreSQL.
//!
//! Six tables: `users`, `posts` (author), `comments` (post, author), `tags`, `post_tags`
//! (posts ⇄ tags) and `follows` (user follows user); plus `loader_learned`, what the loader
//! engines learned, shared between server replicas. Every foreign key has an index whose
//! leading column is that key, and the child tables index `(fk, created_at DESC, id DESC)` (the
//! eighth migration; the first ones created `(fk, created_at)`) so "latest N per parent"
//! queries read exactly their first N rows in index order.
//!
//! ```no_run
//! use migration::{Migrator, MigratorTrait};
//! # async fn run(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), sea_orm_migration::DbErr> {
//! Migrator::up(db, None).await?; // apply every pending migration
//! # Ok(()) }
//! ```

// `async_trait` signatures of `MigrationTrait` take `&SchemaManager` with an elided lifetime;
// writing `<'_>` makes the impl not match the trait, so the 2018-idiom lint is off here.
#![allow(elided_lifetimes_in_paths)]

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_users;
mod m20261125_000002_create_posts;
mod m20261125_000003_create_comments;
mod m20261125_000004_create_tags;
mod m20261125_000005_create_post_tags;
mod m20261125_000006_create_follows;
mod m20261125_000007_create_loader_learned;
mod m20261125_000008_order_indexes;

/// Every migration of the schema, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_users::Migration),
            Box::new(m20261125_000002_create_posts::Migration),
            Box::new(m20261125_000003_create_comments::Migration),
            Box::new(m20261125_000004_create_tags::Migration),
            Box::new(m20261125_000005_create_post_tags::Migration),
            Box::new(m20261125_000006_create_follows::Migration),
            Box::new(m20261125_000007_create_loader_learned::Migration),
            Box::new(m20261125_000008_order_indexes::Migration),
        ]
    }
}
