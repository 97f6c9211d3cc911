//! The server's one error type and its mapping to GraphQL errors.
//!
//! Every resolver returns [`AppError`]; the GraphQL layer turns it into an error whose
//! `extensions.code` tells a client what happened (`NOT_FOUND`, `BAD_USER_INPUT`,
//! `UNAUTHENTICATED`, `FORBIDDEN`, `OVERLOADED` with `retryAfterMs`, `TIMEOUT`, `INTERNAL`). Resolvers return it with `?`
//! (async-graphql keeps it as the error's source); the [`ErrorCodes`](crate::graphql::ErrorCodes)
//! extension then writes the codes and logs internal causes, whose text never reaches the
//! client (an internal error's message is just "internal server error").

use std::time::Duration;

use async_graphql::ErrorExtensions;
use loader_core::LoadError;

/// Why a GraphQL field could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input names something that does not exist.
    #[error("{what} {id} does not exist")]
    NotFound {
        /// What was looked up (`user`, `post`, ...).
        what: &'static str,
        /// The id or name that was not found.
        id: String,
    },
    /// An argument is invalid; the message says which and why.
    #[error("invalid `{field}`: {message}")]
    BadUserInput {
        /// The argument (or input field) at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The operation needs an identity and the request has none (no bearer token), or the
    /// token names a user that does not exist.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this (it acts on another user's object).
    #[error("{0}")]
    Forbidden(String),
    /// The database is saturated: the engine refused the request at its door before it ran.
    /// Retry later.
    #[error("the server is overloaded ({reason}); retry after {} ms", retry_after.as_millis())]
    Overloaded {
        /// When capacity is expected to be free again.
        retry_after: Duration,
        /// Which bound refused it.
        reason: loader_core::OverloadReason,
    },
    /// The request's deadline passed or a database call took too long.
    #[error("the request timed out")]
    Timeout,
    /// Anything else: a database error, a bug. Logged, never shown.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// A bad-input error for `field`.
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            field,
            message: message.into(),
        }
    }

    /// A not-found error for `what` with the given id.
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        AppError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// The `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound { .. } => "NOT_FOUND",
            AppError::BadUserInput { .. } => "BAD_USER_INPUT",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Overloaded { .. } => "OVERLOADED",
            AppError::Timeout => "TIMEOUT",
            AppError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<LoadError> for AppError {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Overloaded {
                retry_after,
                reason,
            } => AppError::Overloaded {
                retry_after,
                reason,
            },
            LoadError::Timeout { .. } | LoadError::DeadlineExceeded { .. } => AppError::Timeout,
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(error: sea_orm::TransactionError<AppError>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

impl AppError {
    /// Writes `code` (and `retryAfterMs` or `field`) into a GraphQL error's extensions.
    pub fn write_extensions(&self, ext: &mut async_graphql::ErrorExtensionValues) {
        ext.set("code", self.code());
        match self {
            AppError::Overloaded { retry_after, .. } => {
                ext.set("retryAfterMs", retry_after.as_millis() as u64);
            }
            AppError::BadUserInput { field, .. } => ext.set("field", *field),
            _ => {}
        }
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| self.write_extensions(ext))
    }
}

/// What resolvers return.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: &async_graphql::Error) -> String {
        let error = match error
            .source
            .as_ref()
            .and_then(|s| s.downcast_ref::<AppError>())
        {
            Some(app) => app.extend(),
            None => error.clone(),
        };
        let ext = error.extensions.as_ref().expect("extensions");
        ext.get("code").expect("code").to_string()
    }

    #[test]
    fn overloaded_load_becomes_overloaded_with_retry_after() {
        let app: AppError = LoadError::Overloaded {
            retry_after: Duration::from_millis(250),
            reason: loader_core::OverloadReason::DoorFull,
        }
        .into();
        let gql = app.extend();
        assert_eq!(code_of(&gql), "\"OVERLOADED\"");
        let ext = gql.extensions.as_ref().unwrap();
        assert_eq!(ext.get("retryAfterMs").unwrap().to_string(), "250");
    }

    #[test]
    fn internal_error_hides_its_cause() {
        let app = AppError::Internal(anyhow::anyhow!("password=hunter2 connection refused"));
        let gql: async_graphql::Error = app.into();
        assert_eq!(gql.message, "internal server error");
        assert_eq!(code_of(&gql), "\"INTERNAL\"");
    }

    #[test]
    fn bad_input_names_the_field() {
        let gql: async_graphql::Error = AppError::bad_input("first", "must be at most 100").into();
        assert_eq!(gql.message, "invalid `first`: must be at most 100");
        assert_eq!(code_of(&gql), "\"BAD_USER_INPUT\"");
    }
}
