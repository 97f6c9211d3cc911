//! [`BatchFns`]: engine mode's batch functions, one per relation and page size, made once
//! per process and shared by every request's loaders.

use std::{
    any::Any,
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use loader_core::BatchFn;

/// An `Arc<F>` of some batch function `F`.
type AnyBatchFn = Arc<dyn Any + Send + Sync>;

/// The process-wide batch functions of engine mode, one per relation and page size, made on
/// first use.
///
/// A request's [`Loader`](loader_core::Loader)s stay per request (their cache and
/// [`RequestScope`](loader_core::RequestScope) are the request's); only the batch function
/// behind them is shared, so its [`QueryGroup`](loader_core::QueryGroup) is derived once
/// rather than once per request.
#[derive(Default)]
pub struct BatchFns {
    fns: Mutex<HashMap<(&'static str, u32), AnyBatchFn>>,
}

impl BatchFns {
    /// The batch function of `relation` with page size `limit`, made from `make` the first
    /// time.
    pub fn get<F: BatchFn>(
        &self,
        relation: &'static str,
        limit: u32,
        make: impl FnOnce() -> F,
    ) -> Arc<F> {
        let mut fns = self.fns.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = fns
            .entry((relation, limit))
            .or_insert_with(|| Arc::new(make()) as AnyBatchFn);
        entry
            .clone()
            .downcast::<F>()
            .expect("one batch function type per relation name")
    }
}

#[cfg(test)]
mod tests {
    use entity::{post, user};
    use loader_seaorm::{ByKey, HasMany};
    use sea_orm::{Database, DatabaseConnection};

    use super::*;

    async fn db() -> DatabaseConnection {
        // Making batch functions runs no SQL.
        Database::connect("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn a_relation_and_page_size_is_made_once() {
        let db = db().await;
        let fns = BatchFns::default();
        let first = fns.get("users.by_id", 0, || ByKey::<user::Entity>::new(db.clone()));
        let again = fns.get("users.by_id", 0, || -> ByKey<user::Entity> {
            panic!("made a second time")
        });
        assert!(Arc::ptr_eq(&first, &again));
    }

    #[tokio::test]
    async fn each_page_size_and_relation_has_its_own() {
        let db = db().await;
        let fns = BatchFns::default();
        let make = |limit| {
            let db = db.clone();
            move || HasMany::<post::Entity>::new(db, post::Column::AuthorId).limit(limit)
        };
        let five = fns.get("posts.of_author", 5, make(5));
        let ten = fns.get("posts.of_author", 10, make(10));
        let other = fns.get("posts.of_tag", 5, make(5));
        assert!(!Arc::ptr_eq(&five, &ten));
        assert!(!Arc::ptr_eq(&five, &other));
        assert_ne!(five.group(), ten.group());
    }
}
