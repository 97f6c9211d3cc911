//! `Post`: written by a user, commented on, tagged.

use async_graphql::{Context, ID, Object, Result};
use entity::post;

use super::{Comment, DateTime, Tag, User};
use crate::{
    error::AppError,
    graphql::{Loaders, cursor, id, page},
};

/// A blog post.
pub struct Post(pub post::Model);

/// A blog post.
#[Object]
impl Post {
    /// The post's id.
    async fn id(&self) -> ID {
        id::to_id(self.0.id)
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Body text.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// Whether the post is published.
    async fn published(&self) -> bool {
        self.0.published
    }

    /// When the post was written.
    async fn created_at(&self) -> DateTime {
        self.0.created_at
    }

    /// Opaque cursor of this post in `posts(after:)`.
    async fn cursor(&self) -> String {
        cursor::encode(cursor::POST, self.0.id)
    }

    /// The user who wrote the post.
    async fn author(&self, ctx: &Context<'_>) -> Result<User> {
        let author = ctx.data::<Loaders>()?.user(self.0.author_id).await?;
        let author = author.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "post {} has no author {}",
                self.0.id,
                self.0.author_id
            ))
        })?;
        Ok(User(author))
    }

    /// Comments on the post, newest first (`createdAt` descending, then `id` descending).
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<Comment>> {
        let first = page::first(ctx, first)?;
        let comments = ctx
            .data::<Loaders>()?
            .comments_of_post(self.0.id, first)
            .await?;
        Ok(comments.into_iter().map(Comment).collect())
    }

    /// The post's tags, by name.
    #[graphql(complexity = "5 * child_complexity + 1")]
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        let tags = ctx.data::<Loaders>()?.tags_of_post(self.0.id).await?;
        Ok(tags.into_iter().map(Tag).collect())
    }
}
