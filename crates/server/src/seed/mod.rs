//! Generated data: a demo set on first start with an empty database, and larger sets for
//! benchmarks (`server seed --users ... --posts ...`).
//!
//! Generation is deterministic ([`Generator`]: the same plan and seed give the same rows,
//! ids and times); insertion is batched (many rows per statement, one transaction) with a
//! progress bar on a terminal.

mod generate;
mod insert;
mod plan;
mod words;

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

pub use generate::{Generator, IdBase};
pub use insert::run;
pub use plan::SeedPlan;

/// Creates the demo data when the database has no users; returns whether it did.
pub async fn seed_demo_if_empty(db: &DatabaseConnection, seed: u64) -> anyhow::Result<bool> {
    let users = entity::user::Entity::find().count(db).await?;
    if users > 0 {
        return Ok(false);
    }
    let plan = SeedPlan::demo(seed);
    tracing::info!(
        users = plan.users,
        posts = plan.posts,
        comments = plan.comments,
        "empty database: creating demo data"
    );
    run(db, plan, true).await?;
    Ok(true)
}
