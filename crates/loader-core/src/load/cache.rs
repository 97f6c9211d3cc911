//! `RequestCache`: the per-request memo of a `Loader`.
//!
//! Within one request (one GraphQL operation) the same key often comes back many times; the
//! cache answers it without a trip through the engine, and keeps the request's view
//! consistent. Misses (`None`) are cached too. Clones of a loader share its cache; a new
//! loader (one per request) starts empty.

use std::{collections::HashMap, hash::Hash};

use parking_lot::Mutex;

#[derive(Debug)]
pub(crate) struct RequestCache<K, V> {
    map: Mutex<HashMap<K, Option<V>>>,
}

impl<K: Eq + Hash, V: Clone> RequestCache<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(answer)` when the key was loaded (or primed) before.
    pub(crate) fn get(&self, key: &K) -> Option<Option<V>> {
        self.map.lock().get(key).cloned()
    }

    pub(crate) fn insert(&self, key: K, value: Option<V>) {
        self.map.lock().insert(key, value);
    }

    pub(crate) fn remove(&self, key: &K) {
        self.map.lock().remove(key);
    }

    pub(crate) fn clear(&self) {
        self.map.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_values_and_misses_until_cleared() {
        let cache = RequestCache::new();
        assert_eq!(cache.get(&1), None);
        cache.insert(1, Some("a"));
        cache.insert(2, None);
        assert_eq!(cache.get(&1), Some(Some("a")));
        assert_eq!(cache.get(&2), Some(None));
        cache.remove(&1);
        assert_eq!(cache.get(&1), None);
        cache.clear();
        assert_eq!(cache.get(&2), None);
    }
}
