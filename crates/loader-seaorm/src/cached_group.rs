//! [`CachedGroup`]: a batch function's [`QueryGroup`], derived once.

use std::sync::OnceLock;

use loader_core::QueryGroup;

/// The group of one batch function value, derived from its shape on the first
/// [`BatchFn::group`](loader_core::BatchFn::group) call and reused after.
///
/// Deriving a group renders SQL text (see `Shape`), and the engine asks for the group each
/// time a loader is made: once per request in a server. Builder setters that change the
/// shape call [`reset`](Self::reset), so a group asked for before a setter is never reused
/// after it.
#[derive(Clone, Default)]
pub(crate) struct CachedGroup(OnceLock<QueryGroup>);

impl CachedGroup {
    /// The cached group, or `derive()`'s, cached for next time.
    pub(crate) fn get_or_derive(&self, derive: impl FnOnce() -> QueryGroup) -> QueryGroup {
        self.0.get_or_init(derive).clone()
    }

    /// Forgets the cached group: the shape changed.
    pub(crate) fn reset(&mut self) {
        self.0.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_once_until_reset() {
        let mut cache = CachedGroup::default();
        let mut derived = 0;
        let mut derive = |name: &str| {
            derived += 1;
            QueryGroup::new(name)
        };
        assert_eq!(cache.get_or_derive(|| derive("a")).as_str(), "a");
        assert_eq!(cache.get_or_derive(|| derive("b")).as_str(), "a");
        let copy = cache.clone();
        assert_eq!(copy.get_or_derive(|| derive("c")).as_str(), "a");
        cache.reset();
        assert_eq!(cache.get_or_derive(|| derive("d")).as_str(), "d");
        assert_eq!(derived, 2);
    }
}
