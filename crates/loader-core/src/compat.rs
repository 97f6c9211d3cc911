//! Run an existing `async_graphql::dataloader::Loader` through the engine, unchanged.
//!
//! [`AsyncGraphqlLoader`] wraps the loader with a query group and implements [`BatchFn`], so
//! an application adopts the engine (shared adaptive limit, back-pressure, metrics) without
//! rewriting its loaders. async-graphql loader errors need only be `Clone`; the adapter wraps
//! them in [`AsyncGraphqlError`], which keeps the original and shows it through `Debug`.
//!
//! ```
//! use std::collections::HashMap;
//! use async_graphql::dataloader::Loader;
//! use loader_core::{Engine, compat::AsyncGraphqlLoader};
//!
//! // An existing async-graphql loader.
//! struct Titles;
//!
//! impl Loader<i32> for Titles {
//!     type Value = String;
//!     type Error = std::sync::Arc<String>;
//!     async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, String>, Self::Error> {
//!         Ok(keys.iter().map(|k| (*k, format!("post {k}"))).collect())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), loader_core::LoadError> {
//! let engine = Engine::builder().build().unwrap();
//! let titles = engine.loader(AsyncGraphqlLoader::new("posts.title", Titles));
//! assert_eq!(titles.load(3).await?, Some("post 3".to_string()));
//! # Ok(())
//! # }
//! ```

use std::{collections::HashMap, fmt, hash::Hash, marker::PhantomData};

use async_graphql::dataloader::Loader;
use parking_lot::Mutex;

use crate::{BatchFn, QueryGroup};

/// An `async_graphql::dataloader::Loader<K>` as a [`BatchFn`] of query group `group`.
pub struct AsyncGraphqlLoader<L, K> {
    group: QueryGroup,
    loader: L,
    _key: PhantomData<fn(K) -> K>,
}

impl<L, K> AsyncGraphqlLoader<L, K> {
    /// Wraps `loader`; its batches belong to `group`.
    pub fn new(group: impl Into<QueryGroup>, loader: L) -> Self {
        Self {
            group: group.into(),
            loader,
            _key: PhantomData,
        }
    }

    /// The wrapped loader.
    pub fn inner(&self) -> &L {
        &self.loader
    }
}

impl<L, K> fmt::Debug for AsyncGraphqlLoader<L, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncGraphqlLoader")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// The error of a wrapped async-graphql loader. Its `Display` and `Debug` show the original
/// error's `Debug` form; [`get`](Self::get) returns a clone of it.
pub struct AsyncGraphqlError<E> {
    // A mutex makes the error `Sync` (async-graphql only asks for `Send + Clone`).
    error: Mutex<E>,
}

impl<E: Clone> AsyncGraphqlError<E> {
    /// Wraps an error.
    pub fn new(error: E) -> Self {
        Self {
            error: Mutex::new(error),
        }
    }

    /// A clone of the original error.
    pub fn get(&self) -> E {
        self.error.lock().clone()
    }
}

impl<E: fmt::Debug> fmt::Debug for AsyncGraphqlError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.error.lock(), f)
    }
}

impl<E: fmt::Debug> fmt::Display for AsyncGraphqlError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "async-graphql loader failed: {:?}", &*self.error.lock())
    }
}

impl<E: fmt::Debug> std::error::Error for AsyncGraphqlError<E> {}

impl<L, K> BatchFn for AsyncGraphqlLoader<L, K>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
    L::Error: fmt::Debug,
{
    type Key = K;
    type Value = L::Value;
    type Error = AsyncGraphqlError<L::Error>;

    fn group(&self) -> QueryGroup {
        self.group.clone()
    }

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, L::Value>, Self::Error> {
        self.loader.load(keys).await.map_err(AsyncGraphqlError::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, LoadError};

    #[derive(Debug, Clone, PartialEq)]
    struct NotAnError(u8);

    struct Failing;

    impl Loader<u8> for Failing {
        type Value = u8;
        type Error = NotAnError;
        async fn load(&self, keys: &[u8]) -> Result<HashMap<u8, u8>, NotAnError> {
            Err(NotAnError(keys[0]))
        }
    }

    #[tokio::test]
    async fn a_clone_only_error_reaches_the_caller_shared_and_readable() {
        let engine = Engine::builder().build().unwrap();
        let loader = engine.loader(AsyncGraphqlLoader::new("failing", Failing));
        let err = loader.load(9).await.unwrap_err();
        let LoadError::Batch { source, .. } = &err else {
            panic!("unexpected {err}");
        };
        let original = source
            .downcast_ref::<AsyncGraphqlError<NotAnError>>()
            .expect("the adapter's error type");
        assert_eq!(original.get(), NotAnError(9));
        assert!(err.to_string().contains("NotAnError(9)"), "{err}");
    }
}
