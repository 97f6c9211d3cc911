//! `Tag`: a label on posts.

use async_graphql::{Context, ID, Object, Result};
use entity::tag;

use super::Post;
use crate::graphql::{Loaders, id, page};

/// A tag.
pub struct Tag(pub tag::Model);

/// A tag.
#[Object]
impl Tag {
    /// The tag's id.
    async fn id(&self) -> ID {
        id::to_id(self.0.id)
    }

    /// The tag's name (unique, lowercase).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Posts with this tag, newest first (`createdAt` descending, then `id` descending).
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<Post>> {
        let first = page::first(ctx, first)?;
        let posts = ctx
            .data::<Loaders>()?
            .posts_of_tag(self.0.id, first)
            .await?;
        Ok(posts.into_iter().map(Post).collect())
    }
}
