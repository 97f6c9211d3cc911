//! [`BatchFn`]: what a user implements, keys in, map of values out.

use std::{collections::HashMap, future::Future, hash::Hash};

use crate::QueryGroup;

/// A function that loads many keys in one call: what a user implements.
///
/// `load` receives deduplicated keys (at most the group's current batch size) and returns
/// the values it found; keys missing from the map resolve to `None`. An `Err` fails every
/// key of the batch (or, with per-key error isolation on, triggers a split-and-retry).
///
/// `group` names the family of requests this function serves. Two instances with the same
/// group must load the same way: the engine batches their keys together and runs one of them.
///
/// ```
/// use std::{collections::HashMap, convert::Infallible};
/// use loader_core::{BatchFn, QueryGroup};
///
/// struct Squares;
///
/// impl BatchFn for Squares {
///     type Key = u64;
///     type Value = u64;
///     type Error = Infallible;
///
///     fn group(&self) -> QueryGroup {
///         QueryGroup::new("squares")
///     }
///
///     async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, Infallible> {
///         Ok(keys.iter().map(|k| (*k, k * k)).collect())
///     }
/// }
/// ```
pub trait BatchFn: Send + Sync + 'static {
    /// The key type.
    type Key: Eq + Hash + Clone + Send + Sync + 'static;
    /// The value type; cloned to every caller that asked for the same key.
    type Value: Clone + Send + Sync + 'static;
    /// The batch function's error. It need not be `Clone`: the engine shares it.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The query group this function serves.
    fn group(&self) -> QueryGroup;

    /// Loads a batch of distinct keys.
    fn load(
        &self,
        keys: &[Self::Key],
    ) -> impl Future<Output = Result<HashMap<Self::Key, Self::Value>, Self::Error>> + Send;
}
