//! [`Family`]: the loaders of one relation in one request, one per page size, made on first
//! use; and [`Handle`], one such loader on whichever backend the server runs.
//!
//! The batch function behind a loader is made once per process, not per request: engine
//! mode shares it through [`BatchFns`](super::batch_fns::BatchFns), async-graphql mode
//! shares the whole `DataLoader`.

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
    /// `name` identifies the relation among the process-wide batch functions and
    /// `DataLoader`s.
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
                        let f = engine.batch_fns().get(self.name, limit, make);
                        let loader = match &loaders.request {
                            Some(request) => request.loader_shared(f),
                            None => engine.loader_shared(f),
                        };
                        Handle::Engine(Arc::new(loader.with_deadline(loaders.deadline)))
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

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use entity::post;
    use loader_core::Engine;
    use loader_seaorm::HasMany;
    use sea_orm::Database;
    use tokio::time::Instant;

    use super::*;
    use crate::graphql::LoaderMode;

    static MADE: AtomicUsize = AtomicUsize::new(0);

    fn counted(db: DatabaseConnection, limit: u32) -> HasMany<post::Entity> {
        MADE.fetch_add(1, Ordering::SeqCst);
        HasMany::new(db, post::Column::AuthorId).limit(u64::from(limit))
    }

    #[tokio::test]
    async fn requests_share_one_batch_function_per_relation_and_page_size() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let engine = Engine::builder().max_concurrency(4).build().unwrap();
        let backend = LoaderBackend::new(LoaderMode::Engine, &engine);
        let deadline = Instant::now() + Duration::from_secs(5);
        // Two requests, each with its own loaders and its own family of this relation.
        let request_a = Loaders::new(&backend, &db, deadline);
        let request_b = Loaders::new(&backend, &db, deadline);
        let family_a = Family::new("test.posts_of_author", counted);
        let family_b = Family::new("test.posts_of_author", counted);

        let Handle::Engine(loader_a) = family_a.get(&request_a, 10) else {
            panic!("engine mode makes engine loaders");
        };
        let Handle::Engine(loader_b) = family_b.get(&request_b, 10) else {
            panic!("engine mode makes engine loaders");
        };
        assert_eq!(
            MADE.load(Ordering::SeqCst),
            1,
            "made once for both requests"
        );
        assert!(
            !Arc::ptr_eq(&loader_a, &loader_b),
            "each request has its own loader"
        );
        assert_eq!(loader_a.group(), loader_b.group());

        let LoaderBackend::Engine(shared) = &backend else {
            panic!("engine mode");
        };
        let first = shared
            .batch_fns()
            .get("test.posts_of_author", 10, || counted(db.clone(), 10));
        let again = shared
            .batch_fns()
            .get("test.posts_of_author", 10, || counted(db.clone(), 10));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(
            MADE.load(Ordering::SeqCst),
            1,
            "still the one made for the requests"
        );

        let _ = family_b.get(&request_b, 5);
        assert_eq!(
            MADE.load(Ordering::SeqCst),
            2,
            "another page size, another function"
        );
    }
}
