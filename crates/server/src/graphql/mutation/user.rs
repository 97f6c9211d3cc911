//! `createUser`: registers another account; any authenticated caller may.

use async_graphql::{Context, InputObject, Object, Result};
use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, SqlErr,
};

use super::begin_write;
use crate::{
    auth::{caller::unknown_user, caller_id},
    echo::quote,
    error::{AppError, AppResult},
    graphql::{Loaders, types::User, validate},
};

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// E-mail address, unique.
    pub email: String,
}

/// Mutations of users.
#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Registers a user. The e-mail address must not be taken. Needs a bearer token (of
    /// any user), so that anonymous clients cannot add rows.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let caller = caller_id(ctx)?;
        let name = validate::text("name", &input.name, validate::MAX_NAME)?;
        let email = validate::email(&input.email)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let loaders = ctx.data::<Loaders>()?;
        let user = loaders
            .statement("users.create", insert_user(db, caller, name, email))
            .await?;
        loaders.created_user(&user);
        Ok(User(user))
    }
}

async fn insert_user(
    db: &DatabaseConnection,
    caller: i64,
    name: String,
    email: String,
) -> AppResult<user::Model> {
    let txn = begin_write(db).await?;
    if user::Entity::find_by_id(caller).one(&txn).await?.is_none() {
        return Err(unknown_user(caller));
    }
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(email_taken(&email));
    }
    let inserted = user::ActiveModel {
        name: Set(name),
        email: Set(email.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => email_taken(&email),
        _ => err.into(),
    })?;
    txn.commit().await?;
    Ok(inserted)
}

fn email_taken(email: &str) -> AppError {
    AppError::bad_input("email", format!("{} is already registered", quote(email)))
}
