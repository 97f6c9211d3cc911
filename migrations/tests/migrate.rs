//! The migrations apply, roll back and re-apply on SQLite and PostgreSQL.

use migration::{Migrator, MigratorTrait};
use sea_orm_migration::{
    SchemaManager,
    sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement},
};

const TABLES: [&str; 6] = ["users", "posts", "comments", "tags", "post_tags", "follows"];

async fn assert_all_tables(db: &DatabaseConnection, present: bool) {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        assert_eq!(
            manager.has_table(table).await.unwrap(),
            present,
            "table {table} present={present}"
        );
    }
}

async fn up_down_up(db: &DatabaseConnection) {
    Migrator::up(db, None).await.unwrap();
    assert_all_tables(db, true).await;
    let manager = SchemaManager::new(db);
    for index in [
        ("users", "idx_users_email"),
        ("posts", "idx_posts_author_id_created_at_id_desc"),
        ("comments", "idx_comments_post_id_created_at_id_desc"),
        ("comments", "idx_comments_author_id_created_at_id_desc"),
        ("post_tags", "idx_post_tags_tag_id_post_id"),
        ("follows", "idx_follows_followee_id_created_at"),
    ] {
        assert!(
            manager.has_index(index.0, index.1).await.unwrap(),
            "index {index:?} missing"
        );
    }
    // Replaced by the ordered indexes above (migration 8).
    for index in [
        ("posts", "idx_posts_author_id_created_at"),
        ("comments", "idx_comments_post_id_created_at"),
    ] {
        assert!(
            !manager.has_index(index.0, index.1).await.unwrap(),
            "index {index:?} still there"
        );
    }
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );

    Migrator::down(db, None).await.unwrap();
    assert_all_tables(db, false).await;

    Migrator::up(db, None).await.unwrap();
    assert_all_tables(db, true).await;
}

async fn unique_email_is_enforced(db: &DatabaseConnection) {
    let insert = "INSERT INTO users (name, email, created_at) VALUES ('a', 'same@example.com', '2026-01-01T00:00:00+00:00')";
    db.execute_raw(Statement::from_string(db.get_database_backend(), insert))
        .await
        .unwrap();
    let second = db
        .execute_raw(Statement::from_string(db.get_database_backend(), insert))
        .await;
    assert!(second.is_err(), "a duplicate email must be rejected");
}

#[tokio::test]
async fn migrations_apply_roll_back_and_reapply_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(test_support::sqlite_url(dir.path()))
        .await
        .unwrap();
    up_down_up(&db).await;
    unique_email_is_enforced(&db).await;
}

#[tokio::test]
async fn migrations_apply_roll_back_and_reapply_on_postgres() {
    let Some(url) =
        test_support::pg_database_or_skip("migrations_apply_roll_back_and_reapply_on_postgres")
    else {
        return;
    };
    let db = Database::connect(url).await.unwrap();
    up_down_up(&db).await;
    unique_email_is_enforced(&db).await;
}
