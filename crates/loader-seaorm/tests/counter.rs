//! The statement counter sees what SeaORM runs, including inside transactions.

use loader_seaorm::StatementCounter;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait,
};

fn sql(text: &str) -> Statement {
    Statement::from_string(DbBackend::Sqlite, text)
}

async fn counted() -> (DatabaseConnection, StatementCounter) {
    let mut db = Database::connect("sqlite::memory:").await.unwrap();
    let counter = StatementCounter::new();
    counter.attach(&mut db);
    (db, counter)
}

#[tokio::test]
async fn counts_statements_in_order_and_failures_separately() {
    let (db, counter) = counted().await;
    db.query_all_raw(sql("SELECT 1")).await.unwrap();
    db.query_one_raw(sql("SELECT 2")).await.unwrap();
    assert!(
        db.query_all_raw(sql("SELECT * FROM missing"))
            .await
            .is_err()
    );
    assert_eq!(counter.count(), 3);
    assert_eq!(counter.failed(), 1);
    assert_eq!(
        counter.statements(),
        ["SELECT 1", "SELECT 2", "SELECT * FROM missing"]
    );
}

#[tokio::test]
async fn take_returns_the_count_and_starts_over() {
    let (db, counter) = counted().await;
    db.query_all_raw(sql("SELECT 1")).await.unwrap();
    assert_eq!(counter.take(), 1);
    assert_eq!(counter.count(), 0);
    assert!(counter.statements().is_empty());
    db.query_all_raw(sql("SELECT 1")).await.unwrap();
    assert_eq!(counter.count(), 1);
}

#[tokio::test]
async fn clones_of_the_counter_and_of_the_connection_share_the_count() {
    let (db, counter) = counted().await;
    let (db2, counter2) = (db.clone(), counter.clone());
    db2.query_all_raw(sql("SELECT 1")).await.unwrap();
    assert_eq!(counter2.count(), 1);
    assert_eq!(counter.count(), 1);
}

#[tokio::test]
async fn statements_inside_transactions_are_counted() {
    let (db, counter) = counted().await;
    let txn = db.begin().await.unwrap();
    txn.query_all_raw(sql("SELECT 1")).await.unwrap();
    txn.query_all_raw(sql("SELECT 2")).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(counter.count(), 2);
}
