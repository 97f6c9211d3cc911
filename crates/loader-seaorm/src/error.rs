/// Why a SeaORM batch function failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database rejected or failed the query (or a row did not decode).
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// The entity's primary key has several columns: key it by a single-column key instead.
    #[error("table `{table}` has a composite primary key; loader-seaorm needs a single-column key")]
    CompositePrimaryKey {
        /// The entity's table.
        table: String,
    },
}
