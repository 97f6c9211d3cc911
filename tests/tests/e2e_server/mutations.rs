//! Mutations then reads, in one request and across requests, checked in the database too.

use entity::{comment, follow, post, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use server::seed::SeedPlan;

use crate::{
    app::{Backend, spawn_app},
    on_both_backends,
};

async fn writes_then_reads_in_one_request_see_the_writes(backend: Backend, test: &str) {
    let Some(app) = spawn_app(backend, SeedPlan::small(5), test).await else {
        return;
    };
    let data = app
        .data_as(
            4,
            r#"mutation {
                warm: follow(followeeId: "5") {
                    posts(first: 3) { id }
                    following(first: 50) { id }
                }
                user: createUser(input: {name: "Barbara", email: "barbara@example.org"}) { id name }
                post: createPost(input: {title: "Liskov", body: "substitution", tags: ["types"]}) {
                    title
                    author { posts(first: 3) { title } }
                    tags { name }
                }
                comment: addComment(input: {postId: "1", body: "agreed"}) {
                    body
                    post { comments(first: 1) { body author { id } } }
                    author { comments(first: 1) { body } }
                }
                again: follow(followeeId: "6") { following(first: 50) { id } }
            }"#,
        )
        .await;
    assert_eq!(data["user"]["name"], "Barbara");
    assert_eq!(data["post"]["author"]["posts"][0]["title"], "Liskov");
    assert_eq!(data["post"]["tags"], json!([{ "name": "types" }]));
    assert_eq!(data["comment"]["post"]["comments"][0]["body"], "agreed");
    assert_eq!(data["comment"]["author"]["comments"][0]["body"], "agreed");
    let following: Vec<&str> = data["again"]["following"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(
        following.contains(&"5") && following.contains(&"6"),
        "{following:?}"
    );

    let barbara = user::Entity::find()
        .filter(user::Column::Email.eq("barbara@example.org"))
        .one(&app.db)
        .await
        .unwrap();
    assert!(barbara.is_some(), "the user is committed");
    let follows = follow::Entity::find()
        .filter(follow::Column::FollowerId.eq(4))
        .filter(follow::Column::FolloweeId.is_in([5, 6]))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(follows, 2);
    app.stop().await;
}

async fn writes_are_read_back_by_later_requests(backend: Backend, test: &str) {
    let Some(app) = spawn_app(backend, SeedPlan::small(6), test).await else {
        return;
    };
    // Warm the process-wide engine with the reads first: a stale cache would show here.
    let before = app.data(r#"{ post(id: "2") { comments(first: 1) { body } } user(id: "3") { posts(first: 1) { title } } }"#).await;
    assert_ne!(before["post"]["comments"][0]["body"], "late comment");

    app.data_as(
        3,
        r#"mutation { addComment(input: {postId: "2", body: "late comment"}) { id } }"#,
    )
    .await;
    app.data_as(
        3,
        r#"mutation { createPost(input: {title: "newest", body: "b", tags: ["fresh"]}) { id } }"#,
    )
    .await;

    let after = app
        .data(r#"{ post(id: "2") { comments(first: 1) { body } } user(id: "3") { posts(first: 1) { title tags { name } } } tag(name: "fresh") { posts { title } } }"#)
        .await;
    assert_eq!(after["post"]["comments"][0]["body"], "late comment");
    assert_eq!(after["user"]["posts"][0]["title"], "newest");
    assert_eq!(
        after["user"]["posts"][0]["tags"],
        json!([{ "name": "fresh" }])
    );
    assert_eq!(after["tag"]["posts"], json!([{ "title": "newest" }]));

    let stored = comment::Entity::find()
        .filter(comment::Column::Body.eq("late comment"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let newest = post::Entity::find()
        .filter(post::Column::Title.eq("newest"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(newest, 1);
    app.stop().await;
}

async fn concurrent_writers_all_commit(backend: Backend, test: &str) {
    let Some(app) = spawn_app(backend, SeedPlan::small(8), test).await else {
        return;
    };
    let writes = (0..20).map(|i| {
        let app = &app;
        async move {
            let (status, body) = app
                .post_as(
                    1,
                    "mutation($b: String!) { addComment(input: {postId: \"3\", body: $b}) { id } }",
                    json!({ "b": format!("concurrent {i}") }),
                )
                .await;
            assert_eq!(status, 200);
            assert!(body.get("errors").is_none(), "{body}");
        }
    });
    futures::future::join_all(writes).await;
    let stored = comment::Entity::find()
        .filter(comment::Column::Body.starts_with("concurrent "))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 20);
    app.stop().await;
}

on_both_backends!(
    writes_then_reads_in_one_request_see_the_writes,
    writes_are_read_back_by_later_requests,
    concurrent_writers_all_commit,
);
