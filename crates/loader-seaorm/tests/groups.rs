//! Query groups are derived from the request shape: identical shapes coalesce, different
//! shapes never share a group.

use std::collections::HashSet;

use entity::{comment, follow, post, post_tag, tag, user};
use loader_core::{BatchFn, QueryGroup};
use loader_seaorm::{BelongsTo, ByKey, HasMany, ManyToMany};
use sea_orm::{ColumnTrait, Database, DatabaseConnection, DerivePartialModel, Order};

async fn db() -> DatabaseConnection {
    // Building groups runs no SQL; any connection will do.
    Database::connect("sqlite::memory:").await.unwrap()
}

#[allow(dead_code)] // only its columns matter here
#[derive(Clone, Debug, DerivePartialModel)]
#[sea_orm(entity = "comment::Entity")]
struct CommentBody {
    id: i64,
    body: String,
}

fn latest_comments(db: &DatabaseConnection) -> HasMany<comment::Entity> {
    HasMany::<comment::Entity>::new(db.clone(), comment::Column::PostId)
        .filter(comment::Column::Body.ne(""))
        .order_by(comment::Column::CreatedAt, Order::Desc)
        .limit(3)
}

#[tokio::test]
async fn identical_shapes_built_separately_share_a_group() {
    let db = db().await;
    assert_eq!(latest_comments(&db).group(), latest_comments(&db).group());
    assert_eq!(
        ByKey::<user::Entity>::new(db.clone()).group(),
        ByKey::<user::Entity>::new(db.clone()).group()
    );
}

#[tokio::test]
async fn belongs_to_coalesces_with_by_key_on_the_parent() {
    let db = db().await;
    assert_eq!(
        BelongsTo::<user::Entity>::new(db.clone()).group(),
        ByKey::<user::Entity>::new(db).group()
    );
}

#[tokio::test]
async fn group_names_spell_out_table_relation_filter_order_limit_and_columns() {
    let db = db().await;
    assert_eq!(
        ByKey::<user::Entity>::new(db.clone()).group().as_str(),
        "users.by_key(id)[id,name,email,created_at]"
    );
    assert_eq!(
        latest_comments(&db).group().as_str(),
        r#"comments.has_many(post_id){"comments"."body" <> ''}order(created_at DESC)limit(3)[id,post_id,author_id,body,created_at]"#
    );
    let followers = ManyToMany::<user::Entity, follow::Entity>::new(
        db,
        follow::Column::FolloweeId,
        follow::Column::FollowerId,
    )
    .order_by_junction(follow::Column::CreatedAt, Order::Desc)
    .limit(10);
    assert_eq!(
        followers.group().as_str(),
        "users.many_to_many(follows.followee_id->follower_id)order(follows.created_at DESC)limit(10)[id,name,email,created_at]"
    );
}

#[tokio::test]
async fn every_difference_in_shape_gives_a_different_group() {
    let db = db().await;
    let base = || HasMany::<comment::Entity>::new(db.clone(), comment::Column::PostId);
    let groups: Vec<QueryGroup> = vec![
        base().group(),
        latest_comments(&db).group(),
        // filter: different value, different column
        base().filter(comment::Column::Body.ne("x")).group(),
        base().filter(comment::Column::AuthorId.eq(1)).group(),
        base().filter(comment::Column::AuthorId.eq(2)).group(),
        // order: direction, column, several columns
        base()
            .order_by(comment::Column::CreatedAt, Order::Asc)
            .group(),
        base()
            .order_by(comment::Column::CreatedAt, Order::Desc)
            .group(),
        base().order_by(comment::Column::Id, Order::Desc).group(),
        base()
            .order_by(comment::Column::CreatedAt, Order::Desc)
            .order_by(comment::Column::Id, Order::Desc)
            .group(),
        // per-parent limit
        base().limit(3).group(),
        base().limit(5).group(),
        // relation: another foreign key of the same table
        HasMany::<comment::Entity>::new(db.clone(), comment::Column::AuthorId).group(),
        // selected columns
        base().partial::<CommentBody>().group(),
        // another table, another relation kind
        HasMany::<post::Entity>::new(db.clone(), post::Column::AuthorId).group(),
        ByKey::<comment::Entity>::new(db.clone()).group(),
        ByKey::<post::Entity>::new(db.clone())
            .filter(post::Column::Published.eq(true))
            .group(),
        ByKey::<post::Entity>::new(db.clone()).group(),
        ManyToMany::<tag::Entity, post_tag::Entity>::new(
            db.clone(),
            post_tag::Column::PostId,
            post_tag::Column::TagId,
        )
        .group(),
        ManyToMany::<user::Entity, follow::Entity>::new(
            db.clone(),
            follow::Column::FolloweeId,
            follow::Column::FollowerId,
        )
        .group(),
        ManyToMany::<user::Entity, follow::Entity>::new(
            db.clone(),
            follow::Column::FollowerId,
            follow::Column::FolloweeId,
        )
        .group(),
        ManyToMany::<user::Entity, follow::Entity>::new(
            db.clone(),
            follow::Column::FollowerId,
            follow::Column::FolloweeId,
        )
        .order_by(user::Column::Name, Order::Asc)
        .group(),
    ];
    let distinct: HashSet<&QueryGroup> = groups.iter().collect();
    assert_eq!(
        distinct.len(),
        groups.len(),
        "colliding groups in {groups:#?}"
    );
}

#[tokio::test]
async fn a_group_is_the_same_on_every_call_and_every_clone() {
    let db = db().await;
    let comments = latest_comments(&db);
    let first = comments.group();
    assert_eq!(comments.group(), first);
    assert_eq!(comments.clone().group(), first);
    assert_eq!(comments.clone().group(), latest_comments(&db).group());
    let by_key = ByKey::<user::Entity>::new(db.clone());
    assert_eq!(by_key.group(), by_key.clone().group());
    let tags = ManyToMany::<tag::Entity, post_tag::Entity>::new(
        db,
        post_tag::Column::PostId,
        post_tag::Column::TagId,
    );
    assert_eq!(tags.group(), tags.clone().group());
}

#[tokio::test]
async fn a_setter_after_group_changes_the_group() {
    let db = db().await;
    let base = HasMany::<comment::Entity>::new(db.clone(), comment::Column::PostId);
    let unlimited = base.group();
    let limited = base.limit(3);
    assert_ne!(limited.group(), unlimited);
    assert_eq!(
        limited.group(),
        HasMany::<comment::Entity>::new(db.clone(), comment::Column::PostId)
            .limit(3)
            .group()
    );
    let ordered = limited.order_by(comment::Column::Id, Order::Desc);
    assert!(ordered.group().as_str().contains("order(id DESC)"));
    let filtered = ordered.filter(comment::Column::AuthorId.eq(1));
    assert!(filtered.group().as_str().contains("{"));

    let posts = ByKey::<post::Entity>::new(db.clone());
    let all = posts.group();
    assert_ne!(posts.filter(post::Column::Published.eq(true)).group(), all);

    let follows = ManyToMany::<user::Entity, follow::Entity>::new(
        db,
        follow::Column::FolloweeId,
        follow::Column::FollowerId,
    );
    let by_pk = follows.group();
    let by_when = follows.order_by_junction(follow::Column::CreatedAt, Order::Desc);
    assert_ne!(by_when.group(), by_pk);
    let by_name = by_when.order_by(user::Column::Name, Order::Asc);
    assert!(by_name.group().as_str().contains("name ASC"));
    assert!(by_name.limit(2).group().as_str().contains("limit(2)"));
}
