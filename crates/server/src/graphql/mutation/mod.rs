//! The root `Mutation`: one object per domain, merged. Each mutation first asks who the
//! caller is ([`caller_id`](crate::auth::caller_id): `UNAUTHENTICATED` without a token) and
//! acts as that user — no input names an author or follower —, then validates its input,
//! writes in one transaction, then tells the request's [`Loaders`](super::Loaders) what it
//! wrote so that reads later in the same request are fresh.

mod comment;
mod follow;
mod post;
mod tags;
mod user;

use async_graphql::MergedObject;
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

pub use comment::CommentMutation;
pub use follow::FollowMutation;
pub use post::PostMutation;
pub use user::UserMutation;

/// The root mutation type.
#[derive(MergedObject, Default)]
pub struct Mutation(UserMutation, PostMutation, CommentMutation, FollowMutation);

/// Starts a write transaction. On SQLite it takes the write lock up front (`IMMEDIATE`), so
/// two writers queue on the busy timeout instead of failing on lock upgrade.
async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
