//! Running a [`BatchFn`] through async-graphql's own `DataLoader` (`--loader async-graphql`),
//! so the comparison with the engine uses the same SQL.

use std::{
    any::Any,
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::dataloader::{DataLoader, Loader};
use loader_core::BatchFn;

/// A [`BatchFn`] as an async-graphql `Loader`.
pub struct BatchFnLoader<F>(pub F);

impl<F: BatchFn> Loader<F::Key> for BatchFnLoader<F> {
    type Value = F::Value;
    type Error = Arc<F::Error>;

    async fn load(&self, keys: &[F::Key]) -> Result<HashMap<F::Key, F::Value>, Self::Error> {
        self.0.load(keys).await.map_err(Arc::new)
    }
}

/// A `DataLoader<BatchFnLoader<F>>` of some `F`.
type AnyDataLoader = Arc<dyn Any + Send + Sync>;

/// The process-wide `DataLoader`s, one per relation and page size, made on first use.
#[derive(Default)]
pub struct DataLoaders {
    loaders: Mutex<HashMap<(&'static str, u32), AnyDataLoader>>,
}

impl DataLoaders {
    /// The `DataLoader` of `relation` with page size `limit`, made from `make` the first time.
    pub fn get<F: BatchFn>(
        &self,
        relation: &'static str,
        limit: u32,
        make: impl FnOnce() -> F,
    ) -> Arc<DataLoader<BatchFnLoader<F>>> {
        let mut loaders = self.loaders.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = loaders.entry((relation, limit)).or_insert_with(|| {
            Arc::new(DataLoader::new(BatchFnLoader(make()), tokio::spawn)) as AnyDataLoader
        });
        entry
            .clone()
            .downcast::<DataLoader<BatchFnLoader<F>>>()
            .expect("one batch function type per relation name")
    }
}
