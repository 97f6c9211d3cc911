//! Ordering rows per parent and limiting them per parent, in the same single statement.

use sea_orm::{
    Order,
    sea_query::{
        Alias, Asterisk, ColumnRef, Expr, ExprTrait, Query, SelectStatement, WindowStatement,
    },
};

use crate::key::{KEY_ALIAS, ROW_NUMBER_ALIAS, SUBQUERY_ALIAS};

/// Finishes a query that already selects the child rows of the requested parents and their
/// `__loader_key`.
///
/// - No limit: `ORDER BY parent, <order>..., <primary key>`.
/// - Limit `n`: the query becomes a subquery numbering each parent's rows with
///   `ROW_NUMBER() OVER (PARTITION BY parent ORDER BY <order>..., <primary key>)`, and the
///   outer query keeps rows numbered `<= n`: the first `n` of *each* parent, not of the whole
///   batch.
///
/// The primary key ends every ordering so that ties break the same way on every backend.
pub(crate) fn order_and_limit(
    mut inner: SelectStatement,
    parent: ColumnRef,
    order: Vec<(ColumnRef, Order)>,
    primary_key: ColumnRef,
    limit: Option<u64>,
) -> SelectStatement {
    let Some(limit) = limit else {
        inner.order_by(parent, Order::Asc);
        for (col, dir) in order {
            inner.order_by(col, dir);
        }
        inner.order_by(primary_key, Order::Asc);
        return inner;
    };

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
