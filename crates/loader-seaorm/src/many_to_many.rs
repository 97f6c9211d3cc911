use std::{collections::HashMap, marker::PhantomData};

use loader_core::{BatchFn, QueryGroup};
use sea_orm::{
    Condition, DatabaseConnection, EntityTrait, FromQueryResult, Order, PartialModelTrait,
    QueryFilter, QueryTrait,
    sea_query::{Alias, ColumnRef, Expr, ExprTrait, IntoColumnRef},
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

/// A sort column of a many-to-many load: on the target rows or on the junction row.
enum SortColumn<E: EntityTrait, J: EntityTrait> {
    Target(E::Column),
    Junction(J::Column),
}

impl<E: EntityTrait, J: EntityTrait> SortColumn<E, J> {
    fn column_ref(&self) -> ColumnRef {
        match self {
            Self::Target(c) => (E::default(), *c).into_column_ref(),
            Self::Junction(c) => (J::default(), *c).into_column_ref(),
        }
    }

    fn name(&self) -> String {
        match self {
            Self::Target(c) => column_name(c),
            Self::Junction(c) => format!("{}.{}", J::default().to_string(), column_name(c)),
        }
    }
}

impl<E: EntityTrait, J: EntityTrait> Clone for SortColumn<E, J> {
    fn clone(&self) -> Self {
        match self {
            Self::Target(c) => Self::Target(*c),
            Self::Junction(c) => Self::Junction(*c),
        }
    }
}

/// Loads rows of `E` related to many parents through junction table `J`, as one `Vec` per
/// parent: `SELECT e.*, j.parent FROM e JOIN j ON j.target = e.id WHERE j.parent IN (...)`.
///
/// `parent` is the junction column holding the requested key, `target` the junction column
/// pointing at `E`'s primary key. Every requested key gets an entry (empty when unrelated).
/// [`limit`](Self::limit) caps rows *per parent* in the same single statement. Filters see
/// both tables; conditions built with `ColumnTrait` methods (`user::Column::Name.eq(..)`)
/// are table-qualified, so a column present in both (`created_at`) is unambiguous.
///
/// Group: `tags.many_to_many(post_tags.post_id->tag_id){filter}order(...)limit(n)[columns]`.
///
/// ```no_run
/// # use loader_seaorm::ManyToMany;
/// # fn f(db: sea_orm::DatabaseConnection, engine: loader_core::Engine) {
/// use entity::{follow, post_tag, tag, user};
/// use sea_orm::Order;
///
/// let tags_of_post = engine.loader(ManyToMany::<tag::Entity, post_tag::Entity>::new(
///     db.clone(),
///     post_tag::Column::PostId,
///     post_tag::Column::TagId,
/// ));
/// // Followers of a user, most recent first, 10 per user.
/// let followers = engine.loader(
///     ManyToMany::<user::Entity, follow::Entity>::new(
///         db,
///         follow::Column::FolloweeId,
///         follow::Column::FollowerId,
///     )
///     .order_by_junction(follow::Column::CreatedAt, Order::Desc)
///     .limit(10),
/// );
/// # }
/// ```
pub struct ManyToMany<E: EntityTrait, J: EntityTrait, K = i64, M = <E as EntityTrait>::Model> {
    db: DatabaseConnection,
    parent: J::Column,
    target: J::Column,
    filter: Option<Condition>,
    order: Vec<(SortColumn<E, J>, Order)>,
    limit: Option<u64>,
    projection: Projection<E>,
    max_keys_per_statement: usize,
    group: CachedGroup,
    _types: PhantomData<fn() -> (K, M)>,
}

impl<E: EntityTrait, J: EntityTrait, K: Key> ManyToMany<E, J, K> {
    /// Loads whole models of `E` through junction `J`: `parent` holds the requested keys,
    /// `target` references `E`'s primary key.
    pub fn new(db: DatabaseConnection, parent: J::Column, target: J::Column) -> Self {
        Self {
            db,
            parent,
            target,
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

impl<E: EntityTrait, J: EntityTrait, K: Key, M> ManyToMany<E, J, K, M> {
    /// Only rows matching `filter` (on `E`'s or `J`'s columns).
    ///
    /// By default, this is no filter.
    #[must_use]
    pub fn filter(mut self, filter: impl Into<Condition>) -> Self {
        self.filter = Some(filter.into());
        self.group.reset();
        self
    }

    /// Orders each parent's rows by a column of `E` (call again for further columns). `E`'s
    /// primary key always breaks remaining ties, ascending.
    ///
    /// By default, this is `E`'s primary-key order.
    #[must_use]
    pub fn order_by(mut self, column: E::Column, order: Order) -> Self {
        self.order.push((SortColumn::Target(column), order));
        self.group.reset();
        self
    }

    /// Orders each parent's rows by a column of the junction row (e.g. when the follow
    /// happened).
    ///
    /// By default, this is `E`'s primary-key order.
    #[must_use]
    pub fn order_by_junction(mut self, column: J::Column, order: Order) -> Self {
        self.order.push((SortColumn::Junction(column), order));
        self.group.reset();
        self
    }

    /// At most `n` rows per parent.
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
    pub fn partial<P: PartialModelTrait>(self) -> ManyToMany<E, J, K, P> {
        ManyToMany {
            db: self.db,
            parent: self.parent,
            target: self.target,
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

impl<E: EntityTrait, J: EntityTrait, K, M> ManyToMany<E, J, K, M> {
    /// The group named by this shape (see `Shape`): renders SQL text, so [`BatchFn::group`]
    /// caches it.
    fn derive_group(&self) -> QueryGroup {
        let relation = format!(
            "many_to_many({}.{}->{})",
            J::default().to_string(),
            column_name(&self.parent),
            column_name(&self.target)
        );
        Shape::new(&E::default().to_string(), &relation)
            .filter(self.filter.as_ref())
            .order(self.order.iter().map(|(c, o)| (c.name(), o)))
            .limit(self.limit)
            .columns(self.projection.select(), self.projection.partial_name())
            .build()
    }
}

impl<E, J, K, M> BatchFn for ManyToMany<E, J, K, M>
where
    E: EntityTrait + Sync,
    J: EntityTrait + Sync,
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
        let pk = (E::default(), single_primary_key::<E>()?).into_column_ref();
        let parent = (J::default(), self.parent).into_column_ref();
        let target = (J::default(), self.target).into_column_ref();
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
                    .inner_join(J::default(), Expr::col(target.clone()).equals(pk.clone()))
                    .expr_as(Expr::col(parent.clone()), Alias::new(KEY_ALIAS))
                    .to_owned();
                let order = self
                    .order
                    .iter()
                    .map(|(c, o)| (c.column_ref(), o.clone()))
                    .collect();
                PerParent {
                    inner,
                    parent: parent.clone(),
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

impl<E: EntityTrait, J: EntityTrait, K, M> Clone for ManyToMany<E, J, K, M> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            parent: self.parent,
            target: self.target,
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

impl<E: EntityTrait, J: EntityTrait, K, M> std::fmt::Debug for ManyToMany<E, J, K, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManyToMany")
            .field("table", &E::default().to_string())
            .field("junction", &J::default().to_string())
            .field("parent", &column_name(&self.parent))
            .field("target", &column_name(&self.target))
            .field("filter", &self.filter)
            .field("limit", &self.limit)
            .field("max_keys_per_statement", &self.max_keys_per_statement)
            .finish()
    }
}
