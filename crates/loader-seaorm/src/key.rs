use std::hash::Hash;

use sea_orm::{TryGetable, Value};

/// What a batch key must be: bound as a query parameter, read back from a row, hashed.
///
/// Implemented for every such type (`i64`, `i32`, `String`, `uuid::Uuid`, ...).
pub trait Key: Into<Value> + TryGetable + Eq + Hash + Clone + Send + Sync + 'static {}

impl<T> Key for T where T: Into<Value> + TryGetable + Eq + Hash + Clone + Send + Sync + 'static {}

/// The alias under which every query selects the key a row belongs to.
pub(crate) const KEY_ALIAS: &str = "__loader_key";
/// The alias of the per-parent row number in limited queries.
pub(crate) const ROW_NUMBER_ALIAS: &str = "__loader_rn";
/// The alias of the windowed subquery.
pub(crate) const SUBQUERY_ALIAS: &str = "__loader";
/// The alias of the `VALUES` list of a batch's keys (PostgreSQL's limited queries).
pub(crate) const KEYS_ALIAS: &str = "__loader_keys";
