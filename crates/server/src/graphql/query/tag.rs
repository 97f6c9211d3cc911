//! `tag(name)` and `tags`.

use async_graphql::{Context, Object, Result};
use entity::tag;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::graphql::{Loaders, types::Tag, validate};

/// Queries about tags.
#[derive(Default)]
pub struct TagQuery;

#[Object]
impl TagQuery {
    /// The tag with this name, or `null`.
    async fn tag(&self, ctx: &Context<'_>, name: String) -> Result<Option<Tag>> {
        let name = validate::tag_name(&name)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let find = tag::Entity::find().filter(tag::Column::Name.eq(name));
        let find = loader_seaorm::select_one(db, "tags.by_name", find);
        let tag = ctx
            .data::<Loaders>()?
            .statement("tags.by_name", find)
            .await?;
        Ok(tag.map(Tag))
    }

    /// Every tag, by name.
    #[graphql(complexity = "100 * child_complexity + 1")]
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let all = tag::Entity::find().order_by_asc(tag::Column::Name);
        let all = loader_seaorm::select_all(db, "tags.all", all);
        let tags = ctx.data::<Loaders>()?.statement("tags.all", all).await?;
        Ok(tags.into_iter().map(Tag).collect())
    }
}
