//! The N+1 proof: the issue's nested query runs exactly one SQL statement per relation
//! level, and returns what naive per-row queries return; on SQLite and PostgreSQL, counted
//! on the database side (PostgreSQL's own statement log; SQLite at the connection).

use entity::{comment, post, tag, user};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use server::seed::SeedPlan;

use crate::{
    app::{Backend, spawn_app, spawn_app_with},
    on_both_backends,
};

/// The query of the issue: five relation levels below the root list.
const NESTED: &str = "{ users(first: 50) { posts(first: 10) { comments(first: 5) { author { name } } tags { name } } } }";

/// users, posts per user, comments per post, authors of comments, tags of posts.
const STATEMENTS_PER_LEVEL: u64 = 5;

async fn nested_query_runs_one_statement_per_level(backend: Backend, test: &str) {
    // The cost model may cap a batch's size so that one call stays within the target
    // response time (25 ms), which a debug build on a busy machine can exceed for a few
    // hundred keys: that is sizing under load, not the window this test is about.
    let Some(app) = spawn_app_with(backend, SeedPlan::demo(7), test, |s| {
        s.loader.loader_target_response_time_ms = 60_000;
    })
    .await
    else {
        return;
    };
    // A few lone requests, one after the other: every one runs one statement per level.
    let mut data = Value::Null;
    for _ in 0..3 {
        app.counter.reset();
        let before = app.database_statements();
        data = app.data(NESTED).await;
        let statements = app.database_statements() - before;
        let sql = app.counter.statements();
        assert_eq!(statements, STATEMENTS_PER_LEVEL, "statements run: {sql:#?}");
    }
    let statements = STATEMENTS_PER_LEVEL;

    app.counter.reset();
    let naive = naive_nested(&app.db).await;
    let naive_statements = app.counter.count();
    eprintln!(
        "{backend:?}: nested query ran {statements} SQL statements through the loader; \
         the naive per-row walk needs {naive_statements}"
    );

    assert!(
        naive_statements > 500,
        "the naive walk is the N+1 it replaces"
    );
    assert_eq!(
        data, naive,
        "the loader returns what per-row queries return"
    );
    let users = data["users"].as_array().unwrap();
    assert_eq!(users.len(), 50);
    let comments: usize = users
        .iter()
        .flat_map(|u| u["posts"].as_array().unwrap())
        .map(|p| p["comments"].as_array().unwrap().len())
        .sum();
    assert!(
        comments > 100,
        "the query reaches real comments: {comments}"
    );
    app.stop().await;
}

async fn aliased_roots_share_batches_and_the_cache(backend: Backend, test: &str) {
    let Some(app) = spawn_app(backend, SeedPlan::small(3), test).await else {
        return;
    };
    app.counter.reset();
    let before = app.database_statements();
    let data = app
        .data(
            r#"{
                a: user(id: "1") { posts(first: 3) { tags { name } } }
                b: user(id: "2") { posts(first: 3) { tags { name } } }
                c: user(id: "1") { posts(first: 3) { tags { name } } }
            }"#,
        )
        .await;
    assert_eq!(data["a"], data["c"]);
    assert_eq!(
        app.database_statements() - before,
        3,
        "users by key, posts per author, tags per post: {:#?}",
        app.counter.statements()
    );
    app.stop().await;
}

/// The same data, one query per row: what a resolver without a loader would run.
async fn naive_nested(db: &DatabaseConnection) -> Value {
    let mut users_json = Vec::new();
    let users = user::Entity::find()
        .order_by_asc(user::Column::Id)
        .limit(50)
        .all(db)
        .await
        .unwrap();
    for user in users {
        let posts = post::Entity::find()
            .filter(post::Column::AuthorId.eq(user.id))
            .order_by_desc(post::Column::CreatedAt)
            .order_by_desc(post::Column::Id)
            .limit(10)
            .all(db)
            .await
            .unwrap();
        let mut posts_json = Vec::new();
        for post in posts {
            let comments = comment::Entity::find()
                .filter(comment::Column::PostId.eq(post.id))
                .order_by_desc(comment::Column::CreatedAt)
                .order_by_desc(comment::Column::Id)
                .limit(5)
                .all(db)
                .await
                .unwrap();
            let mut comments_json = Vec::new();
            for comment in comments {
                let author = user::Entity::find_by_id(comment.author_id)
                    .one(db)
                    .await
                    .unwrap()
                    .unwrap();
                comments_json.push(json!({ "author": { "name": author.name } }));
            }
            let tags = post
                .find_related(tag::Entity)
                .order_by_asc(tag::Column::Name)
                .all(db)
                .await
                .unwrap();
            let tags_json: Vec<Value> = tags.iter().map(|t| json!({ "name": t.name })).collect();
            posts_json.push(json!({ "comments": comments_json, "tags": tags_json }));
        }
        users_json.push(json!({ "posts": posts_json }));
    }
    json!({ "users": users_json })
}

on_both_backends!(
    nested_query_runs_one_statement_per_level,
    aliased_roots_share_batches_and_the_cache,
);
