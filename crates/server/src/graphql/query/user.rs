//! `user(id)` and `users(first, after)`.

use async_graphql::{Context, ID, Object, Result};
use entity::user;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::graphql::{Loaders, cursor, id, page, types::User};

/// Queries about users.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The user with this id, or `null`.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let id = id::parse("id", &id)?;
        let user = ctx.data::<Loaders>()?.user(id).await?;
        Ok(user.map(User))
    }

    /// Users in id order; pass the last user's `cursor` as `after` for the next page.
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<Vec<User>> {
        let first = page::first(ctx, first)?;
        let after = after
            .map(|c| cursor::decode(cursor::USER, &c))
            .transpose()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let mut query = user::Entity::find()
            .order_by_asc(user::Column::Id)
            .limit(u64::from(first));
        if let Some(after) = after {
            query = query.filter(user::Column::Id.gt(after));
        }
        let users = ctx
            .data::<Loaders>()?
            .statement(
                "users.page",
                loader_seaorm::select_all(db, "users.page", query),
            )
            .await?;
        Ok(users.into_iter().map(User).collect())
    }
}
