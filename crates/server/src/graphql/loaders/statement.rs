//! [`Loaders::statement`]: the database work that is not a relation load (root lists,
//! lookups by name, the mutations' transactions) under the engine's limit.

use std::future::Future;

use loader_core::QueryGroup;

use super::{LoaderBackend, Loaders};
use crate::error::{AppError, AppResult};

impl Loaders {
    /// Runs `work` (one statement, or one transaction with all its statements) in engine
    /// mode through [`Engine::run`](loader_core::Engine::run): it waits for a permit of the
    /// same limit as the relation batches, in its own query group `group` (counted in the
    /// metrics and traced like a batch of one key), as part of this request (admitted as a
    /// unit) and with its deadline. In the comparison modes it runs directly.
    ///
    /// A transaction runs whole under one permit: it holds a connection (and, on SQLite,
    /// the write lock) from its first statement to its commit.
    pub async fn statement<T, E, W>(&self, group: &'static str, work: W) -> AppResult<T>
    where
        W: Future<Output = Result<T, E>> + Send,
        T: Send,
        E: Into<AppError> + Send,
    {
        match &self.backend {
            LoaderBackend::Engine(engine) => {
                let group = QueryGroup::new(group);
                let run = match &self.request {
                    Some(request) => request.run(group, work),
                    None => engine.run(group, work),
                };
                run.with_deadline(self.deadline).await?.map_err(Into::into)
            }
            LoaderBackend::AsyncGraphql(_) | LoaderBackend::PerRow => {
                work.await.map_err(Into::into)
            }
        }
    }
}
