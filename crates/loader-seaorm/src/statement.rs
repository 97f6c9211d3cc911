//! Running one batch as the fewest statements the bound-parameter limit allows.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, FromQueryResult, Value, sea_query::SelectStatement,
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
        let system = match backend {
            sea_orm::DbBackend::Sqlite => "sqlite",
            sea_orm::DbBackend::Postgres => "postgresql",
            _ => "other_sql",
        };
        let span = tracing::info_span!(
            "db.query",
            otel.kind = "client",
            db.system = system,
            db.operation = "SELECT",
            db.statement = %backend.build(&stmt).sql,
            group = group.as_str(),
        );
        for row in db.query_all(&stmt).instrument(span).await? {
            let key = row.try_get::<K>("", KEY_ALIAS)?;
            out.push((key, M::from_query_result(&row, "")?));
        }
    }
    Ok(out)
}
