//! [`ErrorCodes`]: an async-graphql extension that turns every [`AppError`] a resolver
//! returned into `extensions.code` (plus `retryAfterMs` / `field`) and logs internal causes.
//! It runs once per request over the response's errors, and logs one line per request
//! whatever the number of fields that failed: a failed batch fails every field that waited
//! on it, and a line each would make the log grow with the size of the query.

use std::sync::Arc;

use async_graphql::{
    Response,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
};

use crate::error::AppError;

/// The extension factory; add it with `SchemaBuilder::extension(ErrorCodes)`.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let mut internal = 0_usize;
        let mut first = None;
        for error in &mut response.errors {
            let Some(app) = error
                .source
                .as_ref()
                .and_then(|source| source.downcast_ref::<AppError>())
            else {
                continue;
            };
            if let AppError::Internal(cause) = app {
                internal += 1;
                first.get_or_insert_with(|| (format!("{cause:#}"), format!("{:?}", error.path)));
            }
            app.write_extensions(error.extensions.get_or_insert_with(Default::default));
        }
        if let Some((cause, path)) = first {
            tracing::error!(
                error = cause,
                path,
                fields = internal,
                "internal error while resolving fields (the first one; `fields` failed in all)"
            );
        }
        response
    }
}
