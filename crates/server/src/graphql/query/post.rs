//! `post(id)` and `posts(first, after, tag)`.

use async_graphql::{Context, ID, Object, Result};
use entity::{post, post_tag, tag};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::SelectStatement,
};

use crate::graphql::{Loaders, cursor, id, page, types::Post, validate};

/// Queries about posts.
#[derive(Default)]
pub struct PostQuery;

#[Object]
impl PostQuery {
    /// The post with this id, or `null`.
    async fn post(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Post>> {
        let id = id::parse("id", &id)?;
        let post = ctx.data::<Loaders>()?.post(id).await?;
        Ok(post.map(Post))
    }

    /// Posts in descending `id` order (the latest stored first), optionally only those with
    /// the tag named `tag`; pass the last post's `cursor` as `after` for the next page.
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        tag: Option<String>,
    ) -> Result<Vec<Post>> {
        let first = page::first(ctx, first)?;
        let after = after
            .map(|c| cursor::decode(cursor::POST, &c))
            .transpose()?;
        let tag = tag.map(|t| validate::tag_name(&t)).transpose()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let mut query = post::Entity::find()
            .order_by_desc(post::Column::Id)
            .limit(u64::from(first));
        if let Some(after) = after {
            query = query.filter(post::Column::Id.lt(after));
        }
        if let Some(tag) = tag {
            query = query.filter(post::Column::Id.in_subquery(post_ids_with_tag(tag)));
        }
        let posts = ctx
            .data::<Loaders>()?
            .statement(
                "posts.page",
                loader_seaorm::select_all(db, "posts.page", query),
            )
            .await?;
        Ok(posts.into_iter().map(Post).collect())
    }
}

/// `SELECT post_id FROM post_tags JOIN tags ON tags.id = post_tags.tag_id WHERE tags.name = ?`
fn post_ids_with_tag(tag: String) -> SelectStatement {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    Query::select()
        .column(post_tag::Column::PostId)
        .from(post_tag::Entity)
        .inner_join(
            tag::Entity,
            Expr::col((tag::Entity, tag::Column::Id))
                .equals((post_tag::Entity, post_tag::Column::TagId)),
        )
        .and_where(Expr::col((tag::Entity, tag::Column::Name)).eq(tag))
        .to_owned()
}
