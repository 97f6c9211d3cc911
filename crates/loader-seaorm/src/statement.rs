//! Running one batch as the fewest statements the bound-parameter limit allows.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QuerySelect, QueryTrait, Select, Value, sea_query::SelectStatement,
};

use loader_core::QueryGroup;
use tracing::Instrument as _;

use crate::{Error, Key, key::KEY_ALIAS};

/// The default number of keys bound in one statement: below SQLite's 32766 and
/// PostgreSQL's 65535 bound-parameter limits, leaving room for the filter's own parameters.
pub const DEFAULT_MAX_KEYS_PER_STATEMENT: usize = 30_000;

/// Runs `build(chunk)` for each chunk of at most `max_keys` keys (one statement per chunk,
/// so exactly one for any batch up to `max_keys`) and decodes every row into the key it
/// belongs to (the `__loader_key` column) and its model, in row order.
///
/// Each statement runs in a `db.query` span (kind client) with `db.system`, `db.operation`,
/// the parameter-free `db.statement` and the batch's query `group`, the same name its
/// `loader.batch` span and metrics carry.
pub(crate) async fn fetch<K: Key, M: FromQueryResult>(
    db: &DatabaseConnection,
    group: &QueryGroup,
    keys: &[K],
    max_keys: usize,
    build: impl Fn(Vec<Value>) -> SelectStatement,
) -> Result<Vec<(K, M)>, Error> {
    let mut out = Vec::new();
    for chunk in keys.chunks(max_keys.max(1)) {
        let stmt = build(chunk.iter().cloned().map(Into::into).collect());
        let backend = db.get_database_backend();
        let span = query_span(backend, &backend.build(&stmt).sql, group.as_str());
        for row in db.query_all(&stmt).instrument(span).await? {
            let key = row.try_get::<K>("", KEY_ALIAS)?;
            out.push((key, M::from_query_result(&row, "")?));
        }
    }
    Ok(out)
}

/// The `db.query` span (kind client) of one statement: `db.system`, `db.operation`, the
/// parameter-free `db.statement`, and the query `group` its `loader.batch` span carries.
fn query_span(backend: DbBackend, sql: &str, group: &str) -> tracing::Span {
    let system = match backend {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgresql",
        _ => "other_sql",
    };
    tracing::info_span!(
        "db.query",
        otel.kind = "client",
        db.system = system,
        db.operation = "SELECT",
        db.statement = %sql,
        group = group,
    )
}

/// Runs a `SELECT` that is not a batch (a root list, a lookup by name) in a `db.query` span
/// like a batch's statements, so that every statement of a request shows in its trace.
/// Every row, in the statement's order.
///
/// ```no_run
/// # async fn f(db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
/// use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
/// # use sea_orm::entity::prelude::*;
/// # #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// # #[sea_orm(table_name = "user")]
/// # pub struct Model { #[sea_orm(primary_key)] pub id: i64 }
/// # #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// # pub enum Relation {}
/// # impl ActiveModelBehavior for ActiveModel {}
/// let page = Entity::find().order_by_asc(Column::Id).limit(50);
/// let users = loader_seaorm::select_all(db, "users.page", page).await?;
/// # Ok(()) }
/// ```
pub async fn select_all<E: EntityTrait>(
    db: &DatabaseConnection,
    group: &str,
    select: Select<E>,
) -> Result<Vec<E::Model>, DbErr> {
    let backend = db.get_database_backend();
    let span = query_span(backend, &select.build(backend).sql, group);
    select.all(db).instrument(span).await
}

/// [`select_all`] for at most one row.
pub async fn select_one<E: EntityTrait>(
    db: &DatabaseConnection,
    group: &str,
    select: Select<E>,
) -> Result<Option<E::Model>, DbErr> {
    let backend = db.get_database_backend();
    let span = query_span(backend, &select.clone().limit(1).build(backend).sql, group);
    select.one(db).instrument(span).await
}
