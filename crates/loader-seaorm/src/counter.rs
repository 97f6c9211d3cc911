use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use sea_orm::{DatabaseConnection, metric::Info};

/// How many statements' SQL text a counter keeps (the most recent ones).
const RECORDED_STATEMENTS: usize = 1_000;

/// Counts the SQL statements a [`DatabaseConnection`] runs: the N+1 proof in tests, and a
/// per-process statistic for servers.
///
/// Built on SeaORM's metric callback, which sees every statement SeaORM runs through the
/// connection's pool and its transactions (queries, inserts, updates, deletes; raw
/// `Statement`s through `query_*_raw`/`execute_raw`). Not counted: `execute_unprepared`
/// (SeaORM does not meter it) and `BEGIN`/`COMMIT`. Cloning a counter shares it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sea_orm::DbErr> {
/// use loader_seaorm::StatementCounter;
/// use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
///
/// let mut db = Database::connect("sqlite::memory:").await?;
/// let counter = StatementCounter::new();
/// counter.attach(&mut db); // before cloning `db`: earlier clones are not counted
/// db.query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT 1")).await?;
/// assert_eq!(counter.count(), 1);
/// assert_eq!(counter.statements(), ["SELECT 1"]);
/// # Ok(()) }
/// ```
#[derive(Clone, Default, Debug)]
pub struct StatementCounter {
    inner: Arc<Inner>,
}

#[derive(Default, Debug)]
struct Inner {
    count: AtomicU64,
    failed: AtomicU64,
    recorded: Mutex<VecDeque<String>>,
}

impl StatementCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs this counter as `db`'s metric callback (replacing any other: call
    /// [`record`](Self::record) from your own callback to combine them).
    ///
    /// `DatabaseConnection` clones copy the callback when they are made, so attach first and
    /// clone afterwards.
    pub fn attach(&self, db: &mut DatabaseConnection) {
        let counter = self.clone();
        db.set_metric_callback(move |info| counter.record(info));
    }

    /// Counts one executed statement.
    pub fn record(&self, info: &Info<'_>) {
        self.inner.count.fetch_add(1, Ordering::Relaxed);
        if info.failed {
            self.inner.failed.fetch_add(1, Ordering::Relaxed);
        }
        let mut recorded = self.recorded();
        if recorded.len() == RECORDED_STATEMENTS {
            recorded.pop_front();
        }
        recorded.push_back(info.statement.sql.clone());
    }

    /// Statements run since creation or the last [`reset`](Self::reset)/[`take`](Self::take).
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// How many of those failed.
    pub fn failed(&self) -> u64 {
        self.inner.failed.load(Ordering::Relaxed)
    }

    /// Returns the count and starts again from zero.
    pub fn take(&self) -> u64 {
        self.inner.failed.store(0, Ordering::Relaxed);
        self.recorded().clear();
        self.inner.count.swap(0, Ordering::Relaxed)
    }

    /// Starts again from zero.
    pub fn reset(&self) {
        self.take();
    }

    /// The SQL text (with placeholders, not values) of the most recent statements, oldest
    /// first; at most 1000 are kept.
    pub fn statements(&self) -> Vec<String> {
        self.recorded().iter().cloned().collect()
    }

    fn recorded(&self) -> MutexGuard<'_, VecDeque<String>> {
        self.inner
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}
