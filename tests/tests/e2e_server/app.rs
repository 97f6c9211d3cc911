//! `spawn_app`: the real server on port 0 over a fresh, seeded database, with a SQL
//! statement counter on its connection.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

use loader_seaorm::StatementCounter;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, TransactionTrait,
};
use serde_json::{Value, json};
use server::{
    AppState, Application,
    config::Settings,
    database,
    seed::{self, SeedPlan},
};
use tokio::{sync::oneshot, task::JoinHandle};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and what the test needs to inspect it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// A clone of the server's connection: statements through it are counted too.
    pub db: DatabaseConnection,
    pub counter: StatementCounter,
    /// When each statement ran, as seen at the connection.
    pub edge: DatabaseEdge,
    pub state: AppState,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// Starts the server on a fresh database seeded with `plan`, or `None` when the backend is
/// PostgreSQL and it is not installed (after a loud message).
pub async fn spawn_app(backend: Backend, plan: SeedPlan, test: &str) -> Option<TestApp> {
    spawn_app_with(backend, plan, test, |_| {}).await
}

/// As [`spawn_app`], with settings changed by `configure` first.
pub async fn spawn_app_with(
    backend: Backend,
    plan: SeedPlan,
    test: &str,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let (url, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            (test_support::sqlite_url(dir.path()), Some(dir))
        }
        Backend::Postgres => {
            let url = test_support::pg_database_or_skip(test)?;
            // Every session opened from now on logs its statements (`database_statements`).
            let admin = Database::connect(url.as_str())
                .await
                .expect("PostgreSQL answers");
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE {} SET log_statement = 'all'",
                    database_name(&url)
                ))
                .await
                .expect("log_statement is set");
            admin.close().await.expect("the admin connection closes");
            (url, None)
        }
    };
    let mut settings = Settings::for_database(url.clone());
    configure(&mut settings);
    let mut db = database::connect(&settings)
        .await
        .expect("the database opens");
    let counter = StatementCounter::new();
    let edge = DatabaseEdge::default();
    {
        let (counter, edge) = (counter.clone(), edge.clone());
        db.set_metric_callback(move |info| {
            counter.record(info);
            edge.record(info);
        });
    }
    database::migrate(&db).await.expect("migrations apply");
    seed::run(&db, plan, false).await.expect("seeding works");

    let app = Application::build_with_db(settings, db.clone())
        .await
        .expect("the server builds");
    let addr = app.local_addr();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Some(TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
        counter,
        edge,
        state,
        url,
        stop: Some(stop),
        server: Some(server),
        _dir: dir,
    })
}

/// The time span of every statement the server ran, taken at the database edge: SeaORM's
/// metric callback, called as each statement's result comes back with how long it took.
#[derive(Clone, Default)]
pub struct DatabaseEdge {
    spans: Arc<Mutex<Vec<(Instant, Instant)>>>,
}

impl DatabaseEdge {
    fn record(&self, info: &sea_orm::metric::Info<'_>) {
        let end = Instant::now();
        let start = end.checked_sub(info.elapsed).unwrap_or(end);
        self.spans.lock().unwrap().push((start, end));
    }

    /// Forgets what was recorded.
    pub fn reset(&self) {
        self.spans.lock().unwrap().clear();
    }

    /// Statements recorded since the last reset.
    pub fn statements(&self) -> usize {
        self.spans.lock().unwrap().len()
    }

    /// The most statements that were running at one instant.
    pub fn most_at_once(&self) -> usize {
        let mut events: Vec<(Instant, i32)> = Vec::new();
        for (start, end) in self.spans.lock().unwrap().iter() {
            events.push((*start, 1));
            events.push((*end, -1));
        }
        // At the same instant an end comes before a start: back-to-back is not overlap.
        events.sort();
        let (mut now, mut most) = (0i32, 0i32);
        for (_, step) in events {
            now += step;
            most = most.max(now);
        }
        most as usize
    }
}

/// A table locked `ACCESS EXCLUSIVE` by a transaction on a connection of its own (so queries
/// that need it block), until [`TableLock::release`].
pub struct TableLock {
    txn: DatabaseTransaction,
    _db: DatabaseConnection,
}

impl TableLock {
    /// Rolls the locking transaction back: the blocked queries go on.
    pub async fn release(self) {
        self.txn.rollback().await.expect("the lock is released");
    }
}

/// The database name at the end of a PostgreSQL URL.
fn database_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

impl TestApp {
    /// SQL statements the database ran for this app so far, counted on the database side
    /// where it can: PostgreSQL's own statement log (`log_statement = 'all'` on the test's
    /// database); on SQLite, which has no server, at the connection (the metric callback).
    pub fn database_statements(&self) -> u64 {
        if self.url.starts_with("postgres") {
            test_support::PgCluster::shared()
                .expect("the cluster this app runs on")
                .database_statements(database_name(&self.url))
        } else {
            self.counter.count()
        }
    }

    /// Locks `table` from a second connection (PostgreSQL) until the lock is released.
    pub async fn lock_table(&self, table: &str) -> TableLock {
        let db = Database::connect(self.url.as_str()).await.unwrap();
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            .await
            .unwrap();
        TableLock { txn, _db: db }
    }

    /// A bearer token for `user`, valid for an hour, signed with the server's secret.
    pub fn token(&self, user: i64) -> String {
        self.state
            .auth
            .mint(user, std::time::Duration::from_secs(3_600))
            .expect("the test settings carry a secret")
    }

    /// `POST /graphql`, anonymous; returns the status and the JSON body.
    pub async fn post(&self, query: &str, variables: Value) -> (reqwest::StatusCode, Value) {
        self.post_with(None, query, variables).await
    }

    /// `POST /graphql` as `user` (with a bearer token).
    pub async fn post_as(
        &self,
        user: i64,
        query: &str,
        variables: Value,
    ) -> (reqwest::StatusCode, Value) {
        self.post_with(Some(&self.token(user)), query, variables)
            .await
    }

    async fn post_with(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("http://{}/graphql", self.addr))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let body = response.json().await.expect("the body is JSON");
        (status, body)
    }

    /// A request that must succeed without errors, anonymous; returns `data`.
    pub async fn data(&self, query: &str) -> Value {
        let (status, body) = self.post(query, Value::Null).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A request that must succeed without errors, as `user`; returns `data`.
    pub async fn data_as(&self, user: i64, query: &str) -> Value {
        let (status, body) = self.post_as(user, query, Value::Null).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Stops the server (graceful shutdown) and waits until it has exited.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task does not panic")
                .expect("the server stops cleanly");
        }
    }

    pub fn take_server(&mut self) -> (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>) {
        (
            self.stop.take().expect("not stopped yet"),
            self.server.take().expect("not stopped yet"),
        )
    }
}

/// Instantiates `async fn name(Backend, test_name)` tests once per backend: `sqlite::name`
/// and `postgres::name`.
///
/// By default the tests run on tokio's current-thread runtime (server and client in one
/// thread). With `multi_thread:` first they run on two worker threads, as the real server
/// does (its batch windows then see keys arrive from another thread).
#[macro_export]
macro_rules! on_both_backends {
    (multi_thread: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@with (flavor = "multi_thread", worker_threads = 2); $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@with (); $($name),*);
    };
    (@with $flavor:tt; $($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test $flavor]
                async fn $name() {
                    super::$name($crate::app::Backend::Sqlite, concat!(module_path!(), "::", stringify!($name))).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test $flavor]
                async fn $name() {
                    super::$name($crate::app::Backend::Postgres, concat!(module_path!(), "::", stringify!($name))).await
                }
            )*
        }
    };
}
