//! [`LoaderBackend`]: what the per-request loaders run on, chosen once at start from the
//! [`LoaderMode`](super::LoaderMode).

use std::sync::Arc;

use loader_core::Engine;

use super::{LoaderMode, dataloader::DataLoaders};

/// The process-wide part of the loaders (cheap to clone).
#[derive(Clone)]
pub enum LoaderBackend {
    /// The loader engine: every request's loaders share its limit and batches.
    Engine(Engine),
    /// async-graphql's `DataLoader`s, shared by every request.
    AsyncGraphql(Arc<DataLoaders>),
    /// No loader: one query per relation field.
    PerRow,
}

impl LoaderBackend {
    /// The backend of `mode`; `engine` is used in the engine modes.
    pub fn new(mode: LoaderMode, engine: &Engine) -> Self {
        match mode {
            LoaderMode::Engine | LoaderMode::EngineWith(_) => LoaderBackend::Engine(engine.clone()),
            LoaderMode::AsyncGraphql => LoaderBackend::AsyncGraphql(Arc::default()),
            LoaderMode::PerRow => LoaderBackend::PerRow,
        }
    }
}
