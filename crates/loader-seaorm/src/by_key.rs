use std::{collections::HashMap, marker::PhantomData};

use loader_core::{BatchFn, QueryGroup};
use sea_orm::{
    Condition, DatabaseConnection, EntityTrait, FromQueryResult, PartialModelTrait, QueryFilter,
    QueryTrait,
    sea_query::{Alias, Expr, ExprTrait, IntoColumnRef},
};

use crate::{
    Error, Key,
    cached_group::CachedGroup,
    key::KEY_ALIAS,
    primary_key::single_primary_key,
    projection::Projection,
    shape::{Shape, column_name},
    statement::{DEFAULT_MAX_KEYS_PER_STATEMENT, fetch},
};

/// Loads rows of `E` by primary key: `SELECT ... FROM e WHERE id IN (...)`.
///
/// `K` is the primary key's Rust type (`i64` by default) and `M` what each row decodes into
/// (the entity's `Model` by default; see [`partial`](Self::partial)). Keys without a row
/// (or filtered out) are absent from the result, which the engine turns into `None`.
///
/// Group: `users.by_key(id){filter}[columns]`.
///
/// ```no_run
/// # use loader_seaorm::ByKey;
/// # fn f(db: sea_orm::DatabaseConnection, engine: loader_core::Engine) {
/// let users = engine.loader(ByKey::<entity::user::Entity>::new(db));
/// // users.load(7).await -> Result<Option<user::Model>, LoadError>
/// # }
/// ```
pub struct ByKey<E: EntityTrait, K = i64, M = <E as EntityTrait>::Model> {
    db: DatabaseConnection,
    filter: Option<Condition>,
    projection: Projection<E>,
    max_keys_per_statement: usize,
    group: CachedGroup,
    _types: PhantomData<fn() -> (K, M)>,
}

/// A belongs-to load (a child's foreign key to its parent row) is a by-key load on the
/// parent's primary key: the same SQL, so it shares the parent's `by_key` group and batches
/// with every other lookup of the same rows (`comment.author` and `post.author` coalesce).
pub type BelongsTo<E, K = i64, M = <E as EntityTrait>::Model> = ByKey<E, K, M>;

impl<E: EntityTrait, K: Key> ByKey<E, K> {
    /// Loads whole models of `E` through `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            filter: None,
            projection: Projection::full(),
            max_keys_per_statement: DEFAULT_MAX_KEYS_PER_STATEMENT,
            group: CachedGroup::default(),
            _types: PhantomData,
        }
    }
}

impl<E: EntityTrait, K: Key, M> ByKey<E, K, M> {
    /// Only rows matching `filter` (e.g. `post::Column::Published.eq(true)`); others load
    /// as missing.
    ///
    /// By default, this is no filter.
    #[must_use]
    pub fn filter(mut self, filter: impl Into<Condition>) -> Self {
        self.filter = Some(filter.into());
        self.group.reset();
        self
    }

    /// Decodes rows into partial model `P`, selecting only its columns.
    ///
    /// By default, this is the entity's whole `Model`.
    #[must_use]
    pub fn partial<P: PartialModelTrait>(self) -> ByKey<E, K, P> {
        ByKey {
            db: self.db,
            filter: self.filter,
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

impl<E: EntityTrait, K, M> ByKey<E, K, M> {
    /// The group named by this shape (see `Shape`): renders SQL text, so [`BatchFn::group`]
    /// caches it.
    fn derive_group(&self) -> QueryGroup {
        let pk = single_primary_key::<E>()
            .map(|c| column_name(&c))
            .unwrap_or_else(|_| "?".to_owned());
        Shape::new(&E::default().to_string(), &format!("by_key({pk})"))
            .filter(self.filter.as_ref())
            .columns(self.projection.select(), self.projection.partial_name())
            .build()
    }
}

impl<E, K, M> BatchFn for ByKey<E, K, M>
where
    E: EntityTrait + Sync,
    K: Key,
    M: FromQueryResult + Clone + Send + Sync + 'static,
{
    type Key = K;
    type Value = M;
    type Error = Error;

    fn group(&self) -> QueryGroup {
        self.group.get_or_derive(|| self.derive_group())
    }

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, M>, Error> {
        let pk = (E::default(), single_primary_key::<E>()?).into_column_ref();
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
                select
                    .into_query()
                    .expr_as(Expr::col(pk.clone()), Alias::new(KEY_ALIAS))
                    .and_where(Expr::col(pk.clone()).is_in(values))
                    .to_owned()
            },
        )
        .await?;
        Ok(rows.into_iter().collect())
    }
}

impl<E: EntityTrait, K, M> Clone for ByKey<E, K, M> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            filter: self.filter.clone(),
            projection: self.projection.clone(),
            max_keys_per_statement: self.max_keys_per_statement,
            group: self.group.clone(),
            _types: PhantomData,
        }
    }
}

impl<E: EntityTrait, K, M> std::fmt::Debug for ByKey<E, K, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByKey")
            .field("table", &E::default().to_string())
            .field("filter", &self.filter)
            .field("projection", &self.projection)
            .field("max_keys_per_statement", &self.max_keys_per_statement)
            .finish()
    }
}
