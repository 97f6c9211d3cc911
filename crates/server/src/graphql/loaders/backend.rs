//! [`LoaderBackend`]: what the per-request loaders run on, chosen once at start from the
//! [`LoaderMode`](super::LoaderMode).

use std::{ops::Deref, sync::Arc};

use loader_core::Engine;

use super::{LoaderMode, batch_fns::BatchFns, dataloader::DataLoaders};

/// The process-wide part of the loaders (cheap to clone).
#[derive(Clone)]
pub enum LoaderBackend {
    /// The loader engine: every request's loaders share its limit and batches.
    Engine(EngineBackend),
    /// async-graphql's `DataLoader`s, shared by every request.
    AsyncGraphql(Arc<DataLoaders>),
    /// No loader: one query per relation field.
    PerRow,
}

impl LoaderBackend {
    /// The backend of `mode`; `engine` is used in the engine modes.
    pub fn new(mode: LoaderMode, engine: &Engine) -> Self {
        match mode {
            LoaderMode::Engine | LoaderMode::EngineWith(_) => {
                LoaderBackend::Engine(EngineBackend::new(engine))
            }
            LoaderMode::AsyncGraphql => LoaderBackend::AsyncGraphql(Arc::default()),
            LoaderMode::PerRow => LoaderBackend::PerRow,
        }
    }
}

/// The engine, and the batch functions every request's loaders run on it (cheap to clone;
/// derefs to the [`Engine`]).
#[derive(Clone)]
pub struct EngineBackend {
    engine: Engine,
    batch_fns: Arc<BatchFns>,
}

impl EngineBackend {
    fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
            batch_fns: Arc::default(),
        }
    }

    /// The process-wide batch functions, one per relation and page size.
    pub(super) fn batch_fns(&self) -> &BatchFns {
        &self.batch_fns
    }
}

impl Deref for EngineBackend {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}
