//! [`Family`]: the loaders of one relation in one request, one per page size, made on first
//! use; and [`Handle`], one such loader on whichever backend the server runs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::dataloader::DataLoader;
use loader_core::{BatchFn, Loader};
use sea_orm::DatabaseConnection;

use super::{Loaders, backend::LoaderBackend, dataloader::BatchFnLoader};
use crate::error::{AppError, AppResult};

/// One relation's loader for one page size.
pub(super) enum Handle<F: BatchFn> {
    Engine(Arc<Loader<F>>),
    DataLoader(Arc<DataLoader<BatchFnLoader<F>>>),
    PerRow(Arc<F>),
}

impl<F: BatchFn> Clone for Handle<F> {
    fn clone(&self) -> Self {
        match self {
            Handle::Engine(l) => Handle::Engine(l.clone()),
            Handle::DataLoader(l) => Handle::DataLoader(l.clone()),
            Handle::PerRow(f) => Handle::PerRow(f.clone()),
        }
    }
}

impl<F: BatchFn> Handle<F> {
    pub(super) async fn load(&self, key: F::Key) -> AppResult<Option<F::Value>> {
        match self {
            Handle::Engine(loader) => Ok(loader.load(key).await?),
            Handle::DataLoader(loader) => loader
                .load_one(key)
                .await
                .map_err(|e| AppError::Internal(anyhow::Error::new(e))),
            Handle::PerRow(f) => {
                let mut found = f
                    .load(std::slice::from_ref(&key))
                    .await
                    .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
                Ok(found.remove(&key))
            }
        }
    }

    /// Caches `value` for `key` (engine mode; the other modes have no request cache).
    pub(super) fn prime(&self, key: F::Key, value: F::Value) {
        if let Handle::Engine(loader) = self {
            loader.prime(key, value);
        }
    }

    /// Drops `key` from the request cache (engine mode).
    pub(super) fn clear(&self, key: &F::Key) {
        if let Handle::Engine(loader) = self {
            loader.clear(key);
        }
    }
}

/// The loaders of one relation, one per page size.
pub(super) struct Family<F: BatchFn> {
    name: &'static str,
    make: fn(DatabaseConnection, u32) -> F,
    handles: Mutex<HashMap<u32, Handle<F>>>,
}

impl<F: BatchFn> Family<F> {
    /// `name` identifies the relation among the process-wide `DataLoader`s.
    pub(super) fn new(name: &'static str, make: fn(DatabaseConnection, u32) -> F) -> Self {
        Self {
            name,
            make,
            handles: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, loaders: &Loaders, limit: u32) -> Handle<F> {
        let mut handles = self.handles.lock().unwrap_or_else(PoisonError::into_inner);
        handles
            .entry(limit)
            .or_insert_with(|| {
                let make = || (self.make)(loaders.db.clone(), limit);
                match &loaders.backend {
                    LoaderBackend::Engine(engine) => {
                        let mut loader = engine.loader(make()).with_deadline(loaders.deadline);
                        if let Some(request) = &loaders.request {
                            loader = loader.in_request(request);
                        }
                        Handle::Engine(Arc::new(loader))
                    }
                    LoaderBackend::AsyncGraphql(shared) => {
                        Handle::DataLoader(shared.get(self.name, limit, make))
                    }
                    LoaderBackend::PerRow => Handle::PerRow(Arc::new(make())),
                }
            })
            .clone()
    }

    /// Drops `key` from the cache of every page size loaded so far.
    pub(super) fn clear(&self, key: &F::Key) {
        let handles = self.handles.lock().unwrap_or_else(PoisonError::into_inner);
        for handle in handles.values() {
            handle.clear(key);
        }
    }
}
