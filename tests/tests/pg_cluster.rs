//! The throwaway PostgreSQL tooling: start, fresh databases, crash and restart, cleanup.

use std::{
    net::TcpStream,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};
use test_support::{PgCluster, skip_unless_installed};

async fn select_one(url: &str) -> Result<i32, sea_orm::DbErr> {
    // Fail fast against a stopped server instead of waiting out sqlx's 30 s acquire timeout.
    let mut options = ConnectOptions::new(url);
    options
        .connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(2));
    let db = Database::connect(options).await?;
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT 1 AS one",
        ))
        .await?
        .expect("one row");
    row.try_get::<i32>("", "one")
}

#[tokio::test]
async fn fresh_databases_are_distinct_and_reachable() {
    let Some(cluster) = skip_unless_installed(PgCluster::shared(), module_path!()) else {
        return;
    };
    let a = cluster.fresh_database().unwrap();
    let b = cluster.fresh_database().unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with(&format!(
        "postgres://postgres@127.0.0.1:{}/",
        cluster.port()
    )));
    assert_eq!(select_one(&a).await.unwrap(), 1);
    assert_eq!(select_one(&b).await.unwrap(), 1);
}

#[tokio::test]
async fn pg_or_skip_hands_out_a_database() {
    let url = test_support::pg_or_skip!();
    assert_eq!(select_one(&url).await.unwrap(), 1);
}

#[tokio::test]
async fn a_crashed_cluster_restarts_with_its_data() {
    let Some(cluster) = skip_unless_installed(PgCluster::start(), module_path!()) else {
        return;
    };
    let url = cluster.create_database("kept").unwrap();
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared("CREATE TABLE t (x INT); INSERT INTO t VALUES (42);")
        .await
        .unwrap();
    drop(db);

    cluster.stop_immediate().unwrap();
    assert!(
        select_one(&url).await.is_err(),
        "a stopped cluster must refuse connections"
    );

    cluster.restart().unwrap();
    let db = Database::connect(&url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT x FROM t",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>("", "x").unwrap(), 42);
}

#[test]
fn invalid_database_names_are_rejected_before_reaching_the_server() {
    let Some(cluster) = skip_unless_installed(PgCluster::shared(), module_path!()) else {
        return;
    };
    assert!(matches!(
        cluster.create_database("x; DROP DATABASE test"),
        Err(test_support::PgError::InvalidName(_))
    ));
}

#[test]
fn dropping_a_cluster_stops_the_server_and_removes_its_directory() {
    let Some(cluster) = skip_unless_installed(PgCluster::start(), module_path!()) else {
        return;
    };
    let (port, dir) = (cluster.port(), cluster.dir().to_path_buf());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(cluster);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(!dir.exists());
}

/// Not a test on its own: the child half of the watchdog test below. It starts the shared
/// cluster, prints where it lives and exits without any cleanup of its own.
#[test]
fn watchdog_child_process() {
    if std::env::var_os("TEST_SUPPORT_WATCHDOG_CHILD").is_none() {
        return;
    }
    let cluster = PgCluster::shared().unwrap();
    println!("CLUSTER {} {}", cluster.port(), cluster.dir().display());
}

#[test]
fn the_shared_cluster_is_removed_after_the_test_process_exits() {
    if skip_unless_installed(PgCluster::shared(), module_path!()).is_none() {
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "watchdog_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TEST_SUPPORT_WATCHDOG_CHILD", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("CLUSTER ").map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("child printed no cluster: {stdout}"));
    let (port, dir) = line.split_once(' ').unwrap();
    let (port, dir): (u16, PathBuf) = (port.parse().unwrap(), dir.into());

    // The watchdog polls once a second; give it a generous deadline (external process).
    let deadline = Instant::now() + Duration::from_secs(30);
    while (dir.exists() || TcpStream::connect(("127.0.0.1", port)).is_ok())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!dir.exists(), "cluster directory {dir:?} left behind");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server on port {port} still running"
    );
}
