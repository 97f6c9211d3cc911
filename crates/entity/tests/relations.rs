//! The entities round-trip through the migrated schema and their relations and links
//! navigate both ways, on SQLite and PostgreSQL.

use entity::{comment, follow, post, post_tag, tag, user};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, Database, DatabaseConnection, EntityTrait, ModelTrait, QueryOrder, Set,
};

async fn new_user(db: &DatabaseConnection, name: &str) -> user::Model {
    user::ActiveModel {
        name: Set(name.into()),
        email: Set(format!("{name}@example.com")),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

async fn check(db: &DatabaseConnection) {
    Migrator::up(db, None).await.unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (ann, bob, cat) = (
        new_user(db, "ann").await,
        new_user(db, "bob").await,
        new_user(db, "cat").await,
    );
    assert!(
        ann.created_at >= before,
        "created_at is filled in on insert"
    );
    assert_eq!(
        user::Entity::find_by_id(ann.id).one(db).await.unwrap(),
        Some(ann.clone())
    );

    let post = post::ActiveModel {
        author_id: Set(ann.id),
        title: Set("hello".into()),
        body: Set("world".into()),
        published: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let comment = comment::ActiveModel {
        post_id: Set(post.id),
        author_id: Set(bob.id),
        body: Set("nice".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    assert_eq!(
        post.find_related(user::Entity).one(db).await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        post.find_related(comment::Entity).all(db).await.unwrap(),
        std::slice::from_ref(&comment)
    );
    assert_eq!(
        comment.find_related(user::Entity).one(db).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        ann.find_related(post::Entity).all(db).await.unwrap(),
        std::slice::from_ref(&post)
    );

    let rust = tag::ActiveModel {
        name: Set("rust".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    post_tag::ActiveModel {
        post_id: Set(post.id),
        tag_id: Set(rust.id),
    }
    .insert(db)
    .await
    .unwrap();
    assert_eq!(
        post.find_related(tag::Entity).all(db).await.unwrap(),
        std::slice::from_ref(&rust)
    );
    assert_eq!(
        rust.find_related(post::Entity).all(db).await.unwrap(),
        [post]
    );

    // bob and cat follow ann; ann follows cat.
    for (follower, followee) in [(&bob, &ann), (&cat, &ann), (&ann, &cat)] {
        follow::ActiveModel {
            follower_id: Set(follower.id),
            followee_id: Set(followee.id),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    let followers_of_ann = ann
        .find_linked(user::Followers)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(followers_of_ann, [bob.clone(), cat.clone()]);
    assert_eq!(
        ann.find_linked(user::Following).all(db).await.unwrap(),
        std::slice::from_ref(&cat)
    );
    assert_eq!(bob.find_linked(user::Followers).all(db).await.unwrap(), []);
}

#[tokio::test]
async fn entities_round_trip_and_navigate_relations_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(test_support::sqlite_url(dir.path()))
        .await
        .unwrap();
    check(&db).await;
}

#[tokio::test]
async fn entities_round_trip_and_navigate_relations_on_postgres() {
    let url = test_support::pg_or_skip!();
    check(&Database::connect(url).await.unwrap()).await;
}
