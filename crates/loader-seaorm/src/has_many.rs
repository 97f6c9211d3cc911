use std::{collections::HashMap, marker::PhantomData};

use loader_core::{BatchFn, QueryGroup};
use sea_orm::{
    Condition, DatabaseConnection, EntityTrait, FromQueryResult, Order, PartialModelTrait,
    QueryFilter, QueryTrait,
    sea_query::{Alias, Expr, IntoColumnRef},
};

use crate::{
    Error, Key,
    cached_group::CachedGroup,
    key::KEY_ALIAS,
    per_parent::{PerParent, per_key},
    primary_key::single_primary_key,
    projection::Projection,
    shape::{Shape, column_name},
    statement::{DEFAULT_MAX_KEYS_PER_STATEMENT, fetch},
};

/// Loads the children of many parents: rows of `E` whose foreign-key column holds a
/// requested parent key, as one `Vec` per parent.
///
/// Every requested key gets an entry (an empty `Vec` when it has no children). With
/// [`limit`](Self::limit) each parent gets at most `n` rows, chosen by
/// [`order_by`](Self::order_by), in the same single statement (on PostgreSQL a `LATERAL` join
/// of the keys to `ORDER BY ... LIMIT n`, elsewhere `ROW_NUMBER()` partitioned by the foreign
/// key), so "the latest 3 comments of each of 50 posts" is one query.
///
/// Group: `comments.has_many(post_id){filter}order(created_at DESC)limit(3)[columns]`.
///
/// Cost: the window numbers *every* child of the requested parents before keeping the first
/// `n`, so a parent with very many children costs what reading them all costs; an index on
/// `(foreign key, order column)` keeps that an index scan.
///
/// ```no_run
/// # use loader_seaorm::HasMany;
/// # fn f(db: sea_orm::DatabaseConnection, engine: loader_core::Engine) {
/// use entity::comment;
/// use sea_orm::Order;
///
/// let latest_comments = engine.loader(
///     HasMany::<comment::Entity>::new(db, comment::Column::PostId)
///         .order_by(comment::Column::CreatedAt, Order::Desc)
///         .limit(3),
/// );
/// // latest_comments.load(post_id).await -> Result<Option<Vec<comment::Model>>, LoadError>
/// # }
/// ```
pub struct HasMany<E: EntityTrait, K = i64, M = <E as EntityTrait>::Model> {
    db: DatabaseConnection,
    foreign_key: E::Column,
    filter: Option<Condition>,
    order: Vec<(E::Column, Order)>,
    limit: Option<u64>,
    projection: Projection<E>,
    max_keys_per_statement: usize,
    group: CachedGroup,
    _types: PhantomData<fn() -> (K, M)>,
}

impl<E: EntityTrait, K: Key> HasMany<E, K> {
    /// Loads whole models of `E` grouped by `foreign_key` (the column pointing at the parent).
    pub fn new(db: DatabaseConnection, foreign_key: E::Column) -> Self {
        Self {
            db,
            foreign_key,
            filter: None,
            order: Vec::new(),
            limit: None,
            projection: Projection::full(),
            max_keys_per_statement: DEFAULT_MAX_KEYS_PER_STATEMENT,
            group: CachedGroup::default(),
            _types: PhantomData,
        }
    }
}

impl<E: EntityTrait, K: Key, M> HasMany<E, K, M> {
    /// Only children matching `filter`.
    ///
    /// By default, this is no filter.
    #[must_use]
    pub fn filter(mut self, filter: impl Into<Condition>) -> Self {
        self.filter = Some(filter.into());
        self.group.reset();
        self
    }

    /// Orders each parent's children by `column` (call again for further columns). The
    /// primary key always breaks remaining ties, ascending.
    ///
    /// By default, this is primary-key order.
    #[must_use]
    pub fn order_by(mut self, column: E::Column, order: Order) -> Self {
        self.order.push((column, order));
        self.group.reset();
        self
    }

    /// At most `n` children per parent (the first `n` in [`order_by`](Self::order_by) order).
    ///
    /// By default, this is no limit.
    #[must_use]
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self.group.reset();
        self
    }

    /// Decodes rows into partial model `P`, selecting only its columns.
    ///
    /// By default, this is the entity's whole `Model`.
    #[must_use]
    pub fn partial<P: PartialModelTrait>(self) -> HasMany<E, K, P> {
        HasMany {
            db: self.db,
            foreign_key: self.foreign_key,
            filter: self.filter,
            order: self.order,
            limit: self.limit,
            projection: Projection::partial::<P>(),
            max_keys_per_statement: self.max_keys_per_statement,
            group: CachedGroup::default(),
            _types: PhantomData,
        }
    }

    /// The most keys bound in one statement; bigger batches run as several statements.
    ///
    /// By default, this is 30000 (under SQLite's 32766 and PostgreSQL's 65535 limits).
    #[must_use]
    pub fn max_keys_per_statement(mut self, n: usize) -> Self {
        self.max_keys_per_statement = n.max(1);
        self
    }
}

impl<E: EntityTrait, K, M> HasMany<E, K, M> {
    /// The group named by this shape (see `Shape`): renders SQL text, so [`BatchFn::group`]
    /// caches it.
    fn derive_group(&self) -> QueryGroup {
        let relation = format!("has_many({})", column_name(&self.foreign_key));
        Shape::new(&E::default().to_string(), &relation)
            .filter(self.filter.as_ref())
            .order(self.order.iter().map(|(c, o)| (column_name(c), o)))
            .limit(self.limit)
            .columns(self.projection.select(), self.projection.partial_name())
            .build()
    }
}

impl<E, K, M> BatchFn for HasMany<E, K, M>
where
    E: EntityTrait + Sync,
    K: Key,
    M: FromQueryResult + Clone + Send + Sync + 'static,
{
    type Key = K;
    type Value = Vec<M>;
    type Error = Error;

    fn group(&self) -> QueryGroup {
        self.group.get_or_derive(|| self.derive_group())
    }

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Vec<M>>, Error> {
        let table = E::default();
        let pk = (table, single_primary_key::<E>()?).into_column_ref();
        let fk = (table, self.foreign_key).into_column_ref();
        let backend = self.db.get_database_backend();
        let rows = fetch::<K, M>(
            &self.db,
            &self.group(),
            keys,
            self.max_keys_per_statement,
            |values| {
                let mut select = self.projection.select();
                if let Some(filter) = &self.filter {
                    select = select.filter(filter.clone());
                }
                let inner = select
                    .into_query()
                    .expr_as(Expr::col(fk.clone()), Alias::new(KEY_ALIAS))
                    .to_owned();
                let order = self
                    .order
                    .iter()
                    .map(|(c, o)| ((table, *c).into_column_ref(), o.clone()))
                    .collect();
                PerParent {
                    inner,
                    parent: fk.clone(),
                    order,
                    primary_key: pk.clone(),
                    limit: self.limit,
                }
                .statement(values, backend)
            },
        )
        .await?;

        Ok(per_key(keys, rows))
    }
}

impl<E: EntityTrait, K, M> Clone for HasMany<E, K, M> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            foreign_key: self.foreign_key,
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            projection: self.projection.clone(),
            max_keys_per_statement: self.max_keys_per_statement,
            group: self.group.clone(),
            _types: PhantomData,
        }
    }
}

impl<E: EntityTrait, K, M> std::fmt::Debug for HasMany<E, K, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HasMany")
            .field("table", &E::default().to_string())
            .field("foreign_key", &column_name(&self.foreign_key))
            .field("filter", &self.filter)
            .field("limit", &self.limit)
            .field("projection", &self.projection)
            .field("max_keys_per_statement", &self.max_keys_per_statement)
            .finish()
    }
}
