//! The rows related to each parent key, in order, optionally at most `limit` per parent.

use std::{collections::HashMap, fmt::Write as _, marker::PhantomData};

use loader_core::{BatchFn, QueryGroup};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, IdenStatic,
    sea_query::{
        Alias, Asterisk, ColumnRef, Expr, ExprTrait, IntoColumnRef, Order as SqlOrder, Query,
        SelectStatement, WindowStatement,
    },
};

use super::MAX_KEYS_PER_STATEMENT;

/// Sort direction of one ordering column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

const PARENT_KEY: &str = "parent_key";
const ROW_NUMBER: &str = "row_number";
const SUB: &str = "related";

/// Loads, for each parent key, the rows of `E` related to it.
///
/// Directly: `SELECT t.*, t.fk AS parent_key FROM t WHERE t.fk IN (...)`. Through a
/// junction `j`: `... FROM t JOIN j ON j.child = t.id WHERE j.parent IN (...)`. With a
/// limit, a `ROW_NUMBER() OVER (PARTITION BY parent ORDER BY ...)` column keeps the first
/// `limit` rows of every parent.
pub struct Related<E: EntityTrait> {
    db: DatabaseConnection,
    name: String,
    key: ColumnRef,
    join: Option<(String, ColumnRef, ColumnRef)>,
    order: Vec<(ColumnRef, Order)>,
    order_labels: Vec<String>,
    limit: Option<u32>,
    _entity: PhantomData<fn() -> E>,
}

impl<E: EntityTrait> Related<E> {
    /// Rows of `E` whose column `fk` holds the parent key.
    pub fn direct(db: DatabaseConnection, fk: E::Column) -> Self {
        let table = E::default().table_name();
        Self {
            db,
            name: format!("{table}.{}", fk.as_str()),
            key: (Alias::new(table), Alias::new(fk.as_str())).into_column_ref(),
            join: None,
            order: Vec::new(),
            order_labels: Vec::new(),
            limit: None,
            _entity: PhantomData,
        }
    }

    /// Rows of `E` reached through junction `J`: `J.parent` holds the parent key and
    /// `J.child` equals `E.id`.
    pub fn through<J: EntityTrait>(
        db: DatabaseConnection,
        parent: J::Column,
        child: J::Column,
        id: E::Column,
    ) -> Self {
        let table = E::default().table_name();
        let junction = J::default().table_name();
        Self {
            db,
            name: format!("{table}.via.{junction}.{}", parent.as_str()),
            key: (Alias::new(junction), Alias::new(parent.as_str())).into_column_ref(),
            join: Some((
                junction.to_string(),
                (Alias::new(junction), Alias::new(child.as_str())).into_column_ref(),
                (Alias::new(table), Alias::new(id.as_str())).into_column_ref(),
            )),
            order: Vec::new(),
            order_labels: Vec::new(),
            limit: None,
            _entity: PhantomData,
        }
    }

    /// Adds an ordering column of `E`. By default, rows come in no particular order.
    #[must_use]
    pub fn order_by(self, column: E::Column, order: Order) -> Self {
        let table = E::default().table_name();
        self.order_by_column(table, column.as_str(), order)
    }

    /// Adds an ordering column of the junction table `J`.
    #[must_use]
    pub fn order_by_junction<J: EntityTrait>(self, column: J::Column, order: Order) -> Self {
        self.order_by_column(J::default().table_name(), column.as_str(), order)
    }

    fn order_by_column(mut self, table: &str, column: &str, order: Order) -> Self {
        self.order.push((
            (Alias::new(table), Alias::new(column)).into_column_ref(),
            order,
        ));
        let direction = if order == Order::Asc { "asc" } else { "desc" };
        self.order_labels
            .push(format!("{table}.{column} {direction}"));
        self
    }

    /// Keeps at most `limit` rows per parent. By default, this is no limit.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    fn statement(&self, keys: &[i64]) -> SelectStatement {
        let table = Alias::new(E::default().table_name());
        let mut inner = Query::select();
        inner
            .column((table.clone(), Asterisk))
            .expr_as(Expr::col(self.key.clone()), Alias::new(PARENT_KEY))
            .from(table.clone())
            .and_where(Expr::col(self.key.clone()).is_in(keys.iter().copied()));
        if let Some((junction, child, id)) = &self.join {
            inner.inner_join(
                Alias::new(junction.as_str()),
                Expr::col(child.clone()).equals(id.clone()),
            );
        }
        let Some(limit) = self.limit else {
            inner.order_by(self.key.clone(), SqlOrder::Asc);
            for (column, order) in &self.order {
                inner.order_by(column.clone(), sql_order(*order));
            }
            return inner;
        };
        let mut window = WindowStatement::partition_by(self.key.clone());
        for (column, order) in &self.order {
            window.order_by(column.clone(), sql_order(*order));
        }
        inner.expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new(ROW_NUMBER));
        Query::select()
            .column(Asterisk)
            .from_subquery(inner, Alias::new(SUB))
            .and_where(Expr::col((Alias::new(SUB), Alias::new(ROW_NUMBER))).lte(i64::from(limit)))
            .order_by((Alias::new(SUB), Alias::new(PARENT_KEY)), SqlOrder::Asc)
            .order_by((Alias::new(SUB), Alias::new(ROW_NUMBER)), SqlOrder::Asc)
            .to_owned()
    }
}

fn sql_order(order: Order) -> SqlOrder {
    match order {
        Order::Asc => SqlOrder::Asc,
        Order::Desc => SqlOrder::Desc,
    }
}

impl<E> BatchFn for Related<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Clone + Send + Sync,
{
    type Key = i64;
    type Value = Vec<E::Model>;
    type Error = DbErr;

    fn group(&self) -> QueryGroup {
        let mut name = self.name.clone();
        if !self.order_labels.is_empty() {
            let _ = write!(name, "[{}]", self.order_labels.join(","));
        }
        if let Some(limit) = self.limit {
            let _ = write!(name, "{{limit={limit}}}");
        }
        QueryGroup::new(name)
    }

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<E::Model>>, DbErr> {
        let mut out: HashMap<i64, Vec<E::Model>> = HashMap::with_capacity(keys.len());
        if self.limit == Some(0) {
            return Ok(out);
        }
        for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
            let rows = self.db.query_all(&self.statement(chunk)).await?;
            for row in rows {
                let parent: i64 = row.try_get("", PARENT_KEY)?;
                let model = E::Model::from_query_result(&row, "")?;
                out.entry(parent).or_default().push(model);
            }
        }
        Ok(out)
    }
}
