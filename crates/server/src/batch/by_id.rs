//! Rows by primary key.

use std::{collections::HashMap, marker::PhantomData};

use loader_core::{BatchFn, QueryGroup};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use super::MAX_KEYS_PER_STATEMENT;

/// Loads rows of `E` by their `i64` primary key: `SELECT * FROM t WHERE id IN (...)`.
pub struct ById<E: EntityTrait> {
    db: DatabaseConnection,
    id: E::Column,
    key_of: fn(&E::Model) -> i64,
    _entity: PhantomData<fn() -> E>,
}

impl<E: EntityTrait> ById<E> {
    /// Rows of `E` whose column `id` is the key; `key_of` reads it back from a row.
    pub fn new(db: DatabaseConnection, id: E::Column, key_of: fn(&E::Model) -> i64) -> Self {
        Self {
            db,
            id,
            key_of,
            _entity: PhantomData,
        }
    }
}

impl<E> BatchFn for ById<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync,
    E::Column: Send + Sync,
{
    type Key = i64;
    type Value = E::Model;
    type Error = DbErr;

    fn group(&self) -> QueryGroup {
        QueryGroup::new(format!("{}.by_id", E::default().table_name()))
    }

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, E::Model>, DbErr> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
            let rows = E::find()
                .filter(self.id.is_in(chunk.iter().copied()))
                .all(&self.db)
                .await?;
            out.extend(rows.into_iter().map(|row| ((self.key_of)(&row), row)));
        }
        Ok(out)
    }
}
