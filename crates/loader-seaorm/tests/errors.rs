//! Failures come back as the crate's error, never as a panic or a silent empty result.

use entity::{comment, post_tag, user};
use loader_core::BatchFn;
use loader_seaorm::{ByKey, Error, HasMany};
use sea_orm::Database;

#[tokio::test]
async fn a_failing_query_returns_the_database_error() {
    // No migrations: the tables do not exist.
    let db = Database::connect("sqlite::memory:").await.unwrap();
    let err = ByKey::<user::Entity>::new(db.clone())
        .load(&[1])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Db(_)), "{err:?}");
    let err = HasMany::<comment::Entity>::new(db, comment::Column::PostId)
        .limit(2)
        .load(&[1])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("comments"), "{err}");
}

#[tokio::test]
async fn a_composite_primary_key_is_rejected_with_a_clear_error() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    let err = ByKey::<post_tag::Entity>::new(db)
        .load(&[1])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::CompositePrimaryKey { table } if table == "post_tags"),
        "{err:?}"
    );
}
