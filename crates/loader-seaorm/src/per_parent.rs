//! Selecting the rows of a batch of parents, ordered and limited per parent, in one statement.

use std::collections::HashMap;

use sea_orm::{
    DbBackend, Order, Value,
    sea_query::{
        Alias, Asterisk, ColumnRef, Expr, ExprTrait, JoinType, Query, SelectStatement,
        WindowStatement,
    },
};

use crate::{
    Key,
    key::{KEY_ALIAS, KEYS_ALIAS, ROW_NUMBER_ALIAS, SUBQUERY_ALIAS},
};

/// The rows of a batch as one `Vec` per requested parent, in row order; a parent without
/// rows gets an empty `Vec`.
pub(crate) fn per_key<K: Key, M>(keys: &[K], rows: Vec<(K, M)>) -> HashMap<K, Vec<M>> {
    let mut out: HashMap<K, Vec<M>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for (key, model) in rows {
        out.entry(key).or_default().push(model);
    }
    out
}

/// The rows of one batch: what the query selects and how it is cut per parent.
pub(crate) struct PerParent {
    /// Selects the child rows and their `__loader_key`, without any condition on the parent.
    pub(crate) inner: SelectStatement,
    /// The column holding the parent key.
    pub(crate) parent: ColumnRef,
    /// The ordering of each parent's rows (the primary key is appended).
    pub(crate) order: Vec<(ColumnRef, Order)>,
    pub(crate) primary_key: ColumnRef,
    /// At most this many rows per parent.
    pub(crate) limit: Option<u64>,
}

impl PerParent {
    /// The statement for the parents `keys` on `backend`.
    ///
    /// - No limit: `WHERE parent IN (...) ORDER BY parent, <order>..., <primary key>`.
    /// - Limit `n` on PostgreSQL: the keys as a `VALUES` list, each joined `LATERAL` to its
    ///   own first `n` rows (`WHERE parent = key ORDER BY ... LIMIT n`). PostgreSQL reads
    ///   `n` rows per parent through the `(parent, order)` index and stops, where the
    ///   windowed form below reads and sorts every row of every parent first (every post of
    ///   an author to keep its first 5).
    /// - Limit `n` elsewhere (SQLite has no `LATERAL`): a subquery numbering each parent's
    ///   rows with `ROW_NUMBER() OVER (PARTITION BY parent ORDER BY <order>..., <primary
    ///   key>)`, and the outer query keeps rows numbered `<= n`.
    ///
    /// Limited forms return the same columns and rows in the same order (by key, then by
    /// `__loader_rn`). The primary key ends every ordering so that ties break the same way on
    /// every backend.
    pub(crate) fn statement(self, keys: Vec<Value>, backend: DbBackend) -> SelectStatement {
        let Self {
            mut inner,
            parent,
            order,
            primary_key,
            limit,
        } = self;
        let Some(limit) = limit else {
            inner.and_where(Expr::col(parent.clone()).is_in(keys));
            inner.order_by(parent, Order::Asc);
            for (col, dir) in order {
                inner.order_by(col, dir);
            }
            inner.order_by(primary_key, Order::Asc);
            return inner;
        };
        if backend == DbBackend::Postgres && !keys.is_empty() {
            return lateral(inner, parent, keys, order, primary_key, limit);
        }
        inner.and_where(Expr::col(parent.clone()).is_in(keys));
        let mut window = WindowStatement::partition_by(parent);
        for (col, dir) in order {
            window.order_by(col, dir);
        }
        window.order_by(primary_key, Order::Asc);
        inner.expr_window_as(
            Expr::cust("ROW_NUMBER()"),
            window,
            Alias::new(ROW_NUMBER_ALIAS),
        );
        let sub = Alias::new(SUBQUERY_ALIAS);
        Query::select()
            .column(Asterisk)
            .from_subquery(inner, sub.clone())
            .and_where(Expr::col((sub.clone(), Alias::new(ROW_NUMBER_ALIAS))).lte(limit))
            .order_by((sub.clone(), Alias::new(KEY_ALIAS)), Order::Asc)
            .order_by((sub, Alias::new(ROW_NUMBER_ALIAS)), Order::Asc)
            .to_owned()
    }
}

/// `SELECT "__loader".* FROM (VALUES ($1), ...) AS "__loader_keys" JOIN LATERAL (<inner> AND
/// parent = "__loader_keys"."column1" ORDER BY ... LIMIT n) AS "__loader" ON TRUE ORDER BY
/// key, row number`.
fn lateral(
    mut inner: SelectStatement,
    parent: ColumnRef,
    keys: Vec<Value>,
    order: Vec<(ColumnRef, Order)>,
    primary_key: ColumnRef,
    limit: u64,
) -> SelectStatement {
    let keys_alias = Alias::new(KEYS_ALIAS);
    inner.and_where(Expr::col(parent).equals((keys_alias.clone(), Alias::new("column1"))));
    // Numbered in the order read: a streaming window over the index order, cut by LIMIT.
    let mut window = WindowStatement::new();
    for (col, dir) in order {
        window.order_by(col.clone(), dir.clone());
        inner.order_by(col, dir);
    }
    window.order_by(primary_key.clone(), Order::Asc);
    inner.order_by(primary_key, Order::Asc);
    inner.expr_window_as(
        Expr::cust("ROW_NUMBER()"),
        window,
        Alias::new(ROW_NUMBER_ALIAS),
    );
    inner.limit(limit);
    let sub = Alias::new(SUBQUERY_ALIAS);
    Query::select()
        .column((sub.clone(), Asterisk))
        .from_values(keys, keys_alias)
        .join_lateral(JoinType::InnerJoin, inner, sub.clone(), Expr::cust("TRUE"))
        .order_by((sub.clone(), Alias::new(KEY_ALIAS)), Order::Asc)
        .order_by((sub, Alias::new(ROW_NUMBER_ALIAS)), Order::Asc)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{IntoColumnRef, PostgresQueryBuilder, SqliteQueryBuilder};

    use super::*;

    fn posts_of_authors(limit: Option<u64>) -> PerParent {
        let col = |c: &str| (Alias::new("posts"), Alias::new(c)).into_column_ref();
        PerParent {
            inner: Query::select()
                .column(col("id"))
                .expr_as(Expr::col(col("author_id")), Alias::new(KEY_ALIAS))
                .from(Alias::new("posts"))
                .to_owned(),
            parent: col("author_id"),
            order: vec![(col("created_at"), Order::Desc)],
            primary_key: col("id"),
            limit,
        }
    }

    #[test]
    fn a_limit_on_postgresql_reads_each_parent_through_a_lateral_join() {
        let keys = vec![Value::from(7i64), Value::from(9i64)];
        let sql = posts_of_authors(Some(5))
            .statement(keys, DbBackend::Postgres)
            .to_string(PostgresQueryBuilder);
        assert_eq!(
            sql,
            r#"SELECT "__loader".* FROM (VALUES (7), (9)) AS "__loader_keys" INNER JOIN LATERAL (SELECT "posts"."id", "posts"."author_id" AS "__loader_key", ROW_NUMBER() OVER (  ORDER BY "posts"."created_at" DESC, "posts"."id" ASC ) AS "__loader_rn" FROM "posts" WHERE "posts"."author_id" = "__loader_keys"."column1" ORDER BY "posts"."created_at" DESC, "posts"."id" ASC LIMIT 5) AS "__loader" ON TRUE ORDER BY "__loader"."__loader_key" ASC, "__loader"."__loader_rn" ASC"#
        );
    }

    #[test]
    fn a_limit_on_sqlite_numbers_rows_per_parent_in_a_window() {
        let keys = vec![Value::from(7i64), Value::from(9i64)];
        let sql = posts_of_authors(Some(5))
            .statement(keys, DbBackend::Sqlite)
            .to_string(SqliteQueryBuilder);
        assert!(
            sql.contains(r#"ROW_NUMBER() OVER ( PARTITION BY "posts"."author_id""#)
                && sql.contains(r#""posts"."author_id" IN (7, 9)"#)
                && sql.contains(r#""__loader"."__loader_rn" <= 5"#),
            "{sql}"
        );
    }

    #[test]
    fn without_a_limit_every_backend_selects_by_in_list() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let sql = posts_of_authors(None)
                .statement(vec![Value::from(7i64)], backend)
                .to_string(PostgresQueryBuilder);
            assert!(
                sql.ends_with(r#"WHERE "posts"."author_id" IN (7) ORDER BY "posts"."author_id" ASC, "posts"."created_at" DESC, "posts"."id" ASC"#),
                "{sql}"
            );
        }
    }
}
