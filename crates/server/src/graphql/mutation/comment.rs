//! `addComment`: the author is the caller.

use async_graphql::{Context, ID, InputObject, Object, Result};
use entity::{comment, post, user};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use super::begin_write;
use crate::{
    auth::{caller::unknown_user, caller_id},
    error::AppError,
    graphql::{Loaders, id, types::Comment, validate},
};

/// A new comment; its author is the caller.
#[derive(InputObject)]
pub struct AddCommentInput {
    /// The post to comment on.
    pub post_id: ID,
    /// Comment text, 1 to 10 000 characters.
    pub body: String,
}

/// Mutations of comments.
#[derive(Default)]
pub struct CommentMutation;

#[Object]
impl CommentMutation {
    /// Comments on a post as the caller (needs a bearer token).
    async fn add_comment(&self, ctx: &Context<'_>, input: AddCommentInput) -> Result<Comment> {
        let author_id = caller_id(ctx)?;
        let post_id = id::parse("postId", &input.post_id)?;
        let body = validate::text("body", &input.body, validate::MAX_BODY)?;
        let db = ctx.data::<DatabaseConnection>()?;

        let comment = ctx
            .data::<Loaders>()?
            .statement("comments.create", async {
                let txn = begin_write(db).await.map_err(AppError::from)?;
                if post::Entity::find_by_id(post_id)
                    .one(&txn)
                    .await
                    .map_err(AppError::from)?
                    .is_none()
                {
                    return Err(AppError::not_found("post", post_id));
                }
                if user::Entity::find_by_id(author_id)
                    .one(&txn)
                    .await
                    .map_err(AppError::from)?
                    .is_none()
                {
                    return Err(unknown_user(author_id));
                }
                let comment = comment::ActiveModel {
                    post_id: Set(post_id),
                    author_id: Set(author_id),
                    body: Set(body),
                    ..Default::default()
                }
                .insert(&txn)
                .await
                .map_err(AppError::from)?;
                txn.commit().await.map_err(AppError::from)?;
                Ok::<_, AppError>(comment)
            })
            .await?;

        ctx.data::<Loaders>()?.added_comment(&comment);
        Ok(Comment(comment))
    }
}
