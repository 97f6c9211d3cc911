//! `follow`: the follower is the caller.

use async_graphql::{Context, ID, Object, Result};
use entity::{follow, user};
use sea_orm::{DatabaseConnection, EntityTrait, Set};

use super::begin_write;
use crate::{
    auth::{caller::unknown_user, caller_id},
    error::AppError,
    graphql::{Loaders, id, types::User},
};

/// Mutations of the follow graph.
#[derive(Default)]
pub struct FollowMutation;

#[Object]
impl FollowMutation {
    /// The caller starts following `followeeId` (following twice is harmless; needs a
    /// bearer token). Returns the caller.
    async fn follow(&self, ctx: &Context<'_>, followee_id: ID) -> Result<User> {
        let follower_id = caller_id(ctx)?;
        let followee_id = id::parse("followeeId", &followee_id)?;
        if follower_id == followee_id {
            return Err(
                AppError::bad_input("followeeId", "a user cannot follow themselves").into(),
            );
        }
        let db = ctx.data::<DatabaseConnection>()?;

        let follower = ctx
            .data::<Loaders>()?
            .statement("follows.create", async {
                let txn = begin_write(db).await.map_err(AppError::from)?;
                let follower = user::Entity::find_by_id(follower_id)
                    .one(&txn)
                    .await
                    .map_err(AppError::from)?
                    .ok_or_else(|| unknown_user(follower_id))?;
                if user::Entity::find_by_id(followee_id)
                    .one(&txn)
                    .await
                    .map_err(AppError::from)?
                    .is_none()
                {
                    return Err(AppError::not_found("user", followee_id));
                }
                follow::Entity::insert(follow::ActiveModel {
                    follower_id: Set(follower_id),
                    followee_id: Set(followee_id),
                    created_at: Set(chrono::Utc::now()),
                })
                .on_conflict_do_nothing()
                .exec_without_returning(&txn)
                .await
                .map_err(AppError::from)?;
                txn.commit().await.map_err(AppError::from)?;
                Ok::<_, AppError>(follower)
            })
            .await?;

        ctx.data::<Loaders>()?.followed(follower_id, followee_id);
        Ok(User(follower))
    }
}
