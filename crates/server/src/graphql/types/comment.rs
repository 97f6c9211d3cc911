//! `Comment`: a user's reply to a post.

use async_graphql::{Context, ID, Object, Result};
use entity::comment;

use super::{DateTime, Post, User};
use crate::{
    error::AppError,
    graphql::{Loaders, id},
};

/// A comment on a post.
pub struct Comment(pub comment::Model);

/// A comment on a post.
#[Object]
impl Comment {
    /// The comment's id.
    async fn id(&self) -> ID {
        id::to_id(self.0.id)
    }

    /// Comment text.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// When the comment was written.
    async fn created_at(&self) -> DateTime {
        self.0.created_at
    }

    /// The user who wrote the comment.
    async fn author(&self, ctx: &Context<'_>) -> Result<User> {
        let author = ctx.data::<Loaders>()?.user(self.0.author_id).await?;
        let author = author.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "comment {} has no author {}",
                self.0.id,
                self.0.author_id
            ))
        })?;
        Ok(User(author))
    }

    /// The post the comment replies to.
    async fn post(&self, ctx: &Context<'_>) -> Result<Post> {
        let post = ctx.data::<Loaders>()?.post(self.0.post_id).await?;
        let post = post.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "comment {} has no post {}",
                self.0.id,
                self.0.post_id
            ))
        })?;
        Ok(Post(post))
    }
}
