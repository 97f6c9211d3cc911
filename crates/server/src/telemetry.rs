//! Log and trace set-up lives in the `observability` crate (`observability::telemetry`);
//! this module keeps the server's own default log filter.

/// The filter used when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";
