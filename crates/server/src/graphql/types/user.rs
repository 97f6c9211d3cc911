//! `User`: a forum member, with the posts and comments they wrote and their follow graph.

use async_graphql::{Context, ID, Object, Result};
use entity::user;

use super::{Comment, DateTime, Post};
use crate::graphql::{Loaders, cursor, id, page};

/// A forum member.
pub struct User(pub user::Model);

/// A forum member.
#[Object]
impl User {
    /// The user's id.
    async fn id(&self) -> ID {
        id::to_id(self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// E-mail address (unique).
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// When the user signed up.
    async fn created_at(&self) -> DateTime {
        self.0.created_at
    }

    /// Opaque cursor of this user in `users(after:)`.
    async fn cursor(&self) -> String {
        cursor::encode(cursor::USER, self.0.id)
    }

    /// The user's posts, newest first (`createdAt` descending, then `id` descending).
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<Post>> {
        let first = page::first(ctx, first)?;
        let posts = ctx
            .data::<Loaders>()?
            .posts_of_author(self.0.id, first)
            .await?;
        Ok(posts.into_iter().map(Post).collect())
    }

    /// The user's comments, newest first (`createdAt` descending, then `id` descending).
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<Comment>> {
        let first = page::first(ctx, first)?;
        let comments = ctx
            .data::<Loaders>()?
            .comments_of_author(self.0.id, first)
            .await?;
        Ok(comments.into_iter().map(Comment).collect())
    }

    /// Users who follow this user, most recent follow first (then by `id`).
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn followers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<User>> {
        let first = page::first(ctx, first)?;
        let users = ctx
            .data::<Loaders>()?
            .followers_of(self.0.id, first)
            .await?;
        Ok(users.into_iter().map(User).collect())
    }

    /// Users this user follows, most recent follow first (then by `id`).
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn following(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<User>> {
        let first = page::first(ctx, first)?;
        let users = ctx.data::<Loaders>()?.followed_by(self.0.id, first).await?;
        Ok(users.into_iter().map(User).collect())
    }
}
