//! The canonical description of a request shape, which names its [`QueryGroup`].

use loader_core::QueryGroup;
use sea_orm::{
    ColumnTrait, Condition, DbBackend, EntityTrait, Order, QueryTrait, Select,
    sea_query::{Query, SqliteQueryBuilder},
};

/// Builds group names such as
/// `comments.has_many(post_id){"published" = TRUE}order(created_at DESC)limit(3)[id,post_id]`:
/// table, relation, filter, order, per-parent limit, selected columns, always in that order
/// and each rendered the same way, so equal shapes give equal strings.
#[derive(Debug)]
pub(crate) struct Shape {
    name: String,
}

impl Shape {
    /// Starts with `table.relation`.
    pub(crate) fn new(table: &str, relation: &str) -> Self {
        Self {
            name: format!("{table}.{relation}"),
        }
    }

    /// `{condition}`, rendered as SQL with its values inlined (never executed).
    pub(crate) fn filter(mut self, filter: Option<&Condition>) -> Self {
        if let Some(cond) = filter {
            let sql = Query::select()
                .cond_where(cond.clone())
                .to_string(SqliteQueryBuilder);
            let text = sql.split_once("WHERE ").map_or(sql.as_str(), |(_, w)| w);
            self.name.push('{');
            self.name.push_str(text.trim());
            self.name.push('}');
        }
        self
    }

    /// `order(col DIR,...)`.
    pub(crate) fn order<'a>(
        mut self,
        order: impl IntoIterator<Item = (String, &'a Order)>,
    ) -> Self {
        let parts: Vec<String> = order
            .into_iter()
            .map(|(col, dir)| format!("{col} {}", order_name(dir)))
            .collect();
        if !parts.is_empty() {
            self.name.push_str(&format!("order({})", parts.join(",")));
        }
        self
    }

    /// `limit(n)`: the per-parent limit.
    pub(crate) fn limit(mut self, limit: Option<u64>) -> Self {
        if let Some(n) = limit {
            self.name.push_str(&format!("limit({n})"));
        }
        self
    }

    /// `[col,...]` from the projection of `select`, plus `as(Type)` for partial models.
    pub(crate) fn columns<E: EntityTrait>(
        mut self,
        select: Select<E>,
        partial: Option<&str>,
    ) -> Self {
        let sql = select.build(DbBackend::Sqlite).to_string();
        let projection = sql
            .strip_prefix("SELECT ")
            .and_then(|rest| rest.split_once(" FROM ").map(|(cols, _)| cols))
            .unwrap_or(&sql);
        let table = format!("\"{}\".", E::default().to_string());
        let cols: Vec<String> = projection
            .split(", ")
            .map(|c| {
                let c = c.replace(&table, "").replace('"', "");
                // `name AS name` (how partial models select) is just `name`.
                match c.split_once(" AS ") {
                    Some((expr, alias)) if expr == alias => alias.to_owned(),
                    _ => c,
                }
            })
            .collect();
        self.name.push_str(&format!("[{}]", cols.join(",")));
        if let Some(ty) = partial {
            self.name.push_str(&format!("as({ty})"));
        }
        self
    }

    pub(crate) fn build(self) -> QueryGroup {
        QueryGroup::new(self.name)
    }
}

/// A column's name.
pub(crate) fn column_name<C: ColumnTrait>(col: &C) -> String {
    col.as_str().to_owned()
}

fn order_name(order: &Order) -> String {
    match order {
        Order::Asc => "ASC".to_owned(),
        Order::Desc => "DESC".to_owned(),
        other => format!("{other:?}"),
    }
}
