//! `tag(name)` and `tags`.

use async_graphql::{Context, Object, Result};
use entity::tag;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    error::AppError,
    graphql::{types::Tag, validate},
};

/// Queries about tags.
#[derive(Default)]
pub struct TagQuery;

#[Object]
impl TagQuery {
    /// The tag with this name, or `null`.
    async fn tag(&self, ctx: &Context<'_>, name: String) -> Result<Option<Tag>> {
        let name = validate::tag_name(&name)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let tag = tag::Entity::find()
            .filter(tag::Column::Name.eq(name))
            .one(db)
            .await
            .map_err(AppError::from)?;
        Ok(tag.map(Tag))
    }

    /// Every tag, by name.
    #[graphql(complexity = "100 * child_complexity + 1")]
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let tags = tag::Entity::find()
            .order_by_asc(tag::Column::Name)
            .all(db)
            .await
            .map_err(AppError::from)?;
        Ok(tags.into_iter().map(Tag).collect())
    }
}
