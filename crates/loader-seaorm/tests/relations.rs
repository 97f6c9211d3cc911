//! Each batch function returns what naive per-row queries return, in exactly one statement
//! per batch, on a real SQLite file and a real PostgreSQL.

mod fixture;

use entity::{comment, follow, post, post_tag, tag, user};
use fixture::{Fixture, USERS};
use loader_core::BatchFn;
use loader_seaorm::{BelongsTo, ByKey, HasMany, ManyToMany};
use sea_orm::{
    ColumnTrait, DerivePartialModel, EntityTrait, ModelTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Loads `keys` in one batch and asserts it ran exactly one statement.
async fn load_once<F: BatchFn>(
    fixture: &Fixture,
    f: &F,
    keys: &[F::Key],
) -> std::collections::HashMap<F::Key, F::Value>
where
    F::Error: std::fmt::Debug,
{
    fixture.counter.reset();
    let out = f.load(keys).await.unwrap();
    assert_eq!(
        fixture.counter.count(),
        1,
        "one batch must be one statement: {:?}",
        fixture.counter.statements()
    );
    out
}

async fn by_key_matches_find_by_id(fx: &Fixture) {
    let keys: Vec<i64> = (0..=USERS + 3).collect(); // 0 and > USERS do not exist
    let loaded = load_once(fx, &ByKey::<user::Entity>::new(fx.db.clone()), &keys).await;
    for id in keys {
        let naive = user::Entity::find_by_id(id).one(&fx.db).await.unwrap();
        assert_eq!(loaded.get(&id), naive.as_ref(), "user {id}");
    }
    assert_eq!(loaded.len(), USERS as usize);
}

async fn by_key_filter_hides_non_matching_rows(fx: &Fixture) {
    let published =
        ByKey::<post::Entity>::new(fx.db.clone()).filter(post::Column::Published.eq(true));
    let loaded = load_once(fx, &published, &fx.post_ids).await;
    for &id in &fx.post_ids {
        let naive = post::Entity::find_by_id(id)
            .filter(post::Column::Published.eq(true))
            .one(&fx.db)
            .await
            .unwrap();
        assert_eq!(loaded.get(&id), naive.as_ref(), "post {id}");
    }
    assert!(
        loaded.len() < fx.post_ids.len(),
        "the filter must exclude some posts"
    );
}

async fn belongs_to_matches_per_comment_author_lookup(fx: &Fixture) {
    let comments = comment::Entity::find().all(&fx.db).await.unwrap();
    let author_ids: Vec<i64> = comments.iter().map(|c| c.author_id).collect();
    let mut distinct = author_ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let authors = load_once(
        fx,
        &BelongsTo::<user::Entity>::new(fx.db.clone()),
        &distinct,
    )
    .await;
    for c in &comments {
        let naive = c
            .find_related(user::Entity)
            .one(&fx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(authors[&c.author_id], naive, "author of comment {}", c.id);
    }
}

async fn has_many_matches_per_parent_queries(fx: &Fixture) {
    let mut keys = fx.post_ids.clone();
    keys.push(10_000); // no such post
    let all = HasMany::<comment::Entity>::new(fx.db.clone(), comment::Column::PostId);
    let loaded = load_once(fx, &all, &keys).await;
    assert_eq!(
        loaded.len(),
        keys.len(),
        "every requested key gets an entry"
    );
    for &id in &keys {
        let naive = comment::Entity::find()
            .filter(comment::Column::PostId.eq(id))
            .order_by_asc(comment::Column::Id)
            .all(&fx.db)
            .await
            .unwrap();
        assert_eq!(loaded[&id], naive, "comments of post {id}");
    }
    assert!(loaded[&10_000].is_empty());
}

async fn has_many_limit_applies_per_parent_not_per_batch(fx: &Fixture) {
    const LIMIT: u64 = 3;
    let latest = HasMany::<comment::Entity>::new(fx.db.clone(), comment::Column::PostId)
        .order_by(comment::Column::CreatedAt, Order::Desc)
        .limit(LIMIT);
    let loaded = load_once(fx, &latest, &fx.post_ids).await;
    let mut parents_over_limit = 0;
    for &id in &fx.post_ids {
        let count = comment::Entity::find()
            .filter(comment::Column::PostId.eq(id))
            .all(&fx.db)
            .await
            .unwrap()
            .len();
        parents_over_limit += usize::from(count > LIMIT as usize);
        let naive = comment::Entity::find()
            .filter(comment::Column::PostId.eq(id))
            .order_by_desc(comment::Column::CreatedAt)
            .order_by_asc(comment::Column::Id)
            .limit(LIMIT)
            .all(&fx.db)
            .await
            .unwrap();
        assert_eq!(loaded[&id], naive, "latest comments of post {id}");
    }
    assert!(parents_over_limit > 1, "the data must exercise the limit");
    let total: usize = loaded.values().map(Vec::len).sum();
    assert!(total > LIMIT as usize, "the limit must not be global");
}

async fn has_many_with_filter_order_and_limit_matches(fx: &Fixture) {
    let user_ids: Vec<i64> = (1..=USERS).collect();
    let published = HasMany::<post::Entity>::new(fx.db.clone(), post::Column::AuthorId)
        .filter(post::Column::Published.eq(true))
        .order_by(post::Column::CreatedAt, Order::Desc)
        .limit(2);
    let loaded = load_once(fx, &published, &user_ids).await;
    for &id in &user_ids {
        let naive = post::Entity::find()
            .filter(post::Column::AuthorId.eq(id))
            .filter(post::Column::Published.eq(true))
            .order_by_desc(post::Column::CreatedAt)
            .order_by_asc(post::Column::Id)
            .limit(2)
            .all(&fx.db)
            .await
            .unwrap();
        assert_eq!(loaded[&id], naive, "published posts of user {id}");
    }
}

async fn many_to_many_matches_find_related(fx: &Fixture) {
    let tags = ManyToMany::<tag::Entity, post_tag::Entity>::new(
        fx.db.clone(),
        post_tag::Column::PostId,
        post_tag::Column::TagId,
    );
    let loaded = load_once(fx, &tags, &fx.post_ids).await;
    let mut untagged = 0;
    for &id in &fx.post_ids {
        let post = post::Entity::find_by_id(id)
            .one(&fx.db)
            .await
            .unwrap()
            .unwrap();
        let naive = post
            .find_related(tag::Entity)
            .order_by_asc(tag::Column::Id)
            .all(&fx.db)
            .await
            .unwrap();
        untagged += usize::from(naive.is_empty());
        assert_eq!(loaded[&id], naive, "tags of post {id}");
    }
    assert!(
        untagged > 0,
        "some posts have no tags and must map to an empty list"
    );
}

async fn many_to_many_junction_order_and_limit_match(fx: &Fixture) {
    const LIMIT: u64 = 2;
    let user_ids: Vec<i64> = (1..=USERS).collect();
    let followers = ManyToMany::<user::Entity, follow::Entity>::new(
        fx.db.clone(),
        follow::Column::FolloweeId,
        follow::Column::FollowerId,
    )
    .order_by_junction(follow::Column::CreatedAt, Order::Desc)
    .limit(LIMIT);
    let loaded = load_once(fx, &followers, &user_ids).await;
    let mut limited = 0;
    for &id in &user_ids {
        let all = follow::Entity::find()
            .filter(follow::Column::FolloweeId.eq(id))
            .order_by_desc(follow::Column::CreatedAt)
            .order_by_asc(follow::Column::FollowerId)
            .all(&fx.db)
            .await
            .unwrap();
        limited += usize::from(all.len() > LIMIT as usize);
        let mut naive = Vec::new();
        for f in all.iter().take(LIMIT as usize) {
            naive.push(
                user::Entity::find_by_id(f.follower_id)
                    .one(&fx.db)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        assert_eq!(loaded[&id], naive, "latest followers of user {id}");
    }
    assert!(limited > 0, "the data must exercise the limit");
}

#[derive(Clone, Debug, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "user::Entity")]
struct UserName {
    id: i64,
    name: String,
}

async fn partial_models_select_only_their_columns(fx: &Fixture) {
    let names = ByKey::<user::Entity>::new(fx.db.clone()).partial::<UserName>();
    let loaded = load_once(fx, &names, &[1, 2]).await;
    assert_eq!(
        loaded[&2],
        UserName {
            id: 2,
            name: "user2".into()
        }
    );
    let sql = &fx.counter.statements()[0];
    assert!(
        !sql.contains("email"),
        "partial load selected too much: {sql}"
    );
    assert!(
        names
            .group()
            .as_str()
            .ends_with("[id,name]as(relations::UserName)"),
        "{}",
        names.group()
    );
}

on_both_backends! {
    by_key_returns_what_find_by_id_returns => by_key_matches_find_by_id;
    by_key_filter_hides_rows_that_do_not_match => by_key_filter_hides_non_matching_rows;
    belongs_to_returns_each_comments_author => belongs_to_matches_per_comment_author_lookup;
    has_many_returns_every_child_and_empty_lists_for_missing_parents => has_many_matches_per_parent_queries;
    has_many_limit_is_per_parent => has_many_limit_applies_per_parent_not_per_batch;
    has_many_filter_order_and_limit_match_naive_queries => has_many_with_filter_order_and_limit_matches;
    many_to_many_returns_what_find_related_returns => many_to_many_matches_find_related;
    many_to_many_orders_by_junction_and_limits_per_parent => many_to_many_junction_order_and_limit_match;
    partial_models_load_only_their_columns => partial_models_select_only_their_columns;
}
