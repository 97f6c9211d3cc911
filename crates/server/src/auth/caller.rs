//! [`Caller`]: who sent the request, put into each request's data by the GraphQL route;
//! [`caller_id`]: what every mutation asks before anything else.

use async_graphql::Context;

use crate::error::{AppError, AppResult};

/// The identity behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Caller {
    /// No token was sent.
    #[default]
    Anonymous,
    /// A verified token whose `sub` is this user id.
    User(i64),
}

impl Caller {
    /// The caller's user id; `UNAUTHENTICATED` for an anonymous caller.
    pub fn user_id(self) -> AppResult<i64> {
        match self {
            Caller::User(id) => Ok(id),
            Caller::Anonymous => Err(AppError::Unauthenticated(
                "this mutation needs an identity: send `Authorization: Bearer <token>`".into(),
            )),
        }
    }
}

/// The user the request acts as. A request without a [`Caller`] in its data (a schema
/// executed outside the HTTP route) is anonymous: it can read, never write.
pub fn caller_id(ctx: &Context<'_>) -> AppResult<i64> {
    ctx.data_opt::<Caller>()
        .copied()
        .unwrap_or_default()
        .user_id()
}

/// The error for a token whose user does not exist (deleted, or minted for a wrong id).
pub fn unknown_user(id: i64) -> AppError {
    AppError::Unauthenticated(format!(
        "the token names user {id}, who does not exist; get a token for an existing user"
    ))
}
