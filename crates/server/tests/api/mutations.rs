//! Mutations: validation, transactions, and reads after writes in the same request.

use entity::{post, post_tag, tag};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::test_app;

#[tokio::test]
async fn read_after_write_in_one_request_sees_the_write() {
    let app = test_app().await;
    // Each field of a mutation runs after the previous one: the second read of post 1's
    // comments must not come from the cache the first one filled.
    let data = app
        .data_as(
            2,
            r#"mutation {
                a: addComment(input: {postId: "1", body: "first!"}) {
                    post { comments(first: 2) { body } }
                }
                b: addComment(input: {postId: "1", body: "second!"}) {
                    author { id }
                    post { comments(first: 2) { body } }
                }
            }"#,
        )
        .await;
    assert_eq!(data["a"]["post"]["comments"][0]["body"], "first!");
    assert_eq!(data["b"]["post"]["comments"][0]["body"], "second!");
    assert_eq!(data["b"]["post"]["comments"][1]["body"], "first!");
    assert_eq!(data["b"]["author"]["id"], "2", "the caller is the author");
}

/// The id of a post written by `user` in the seed data.
async fn a_post_of(app: &crate::helpers::TestApp, user: i64) -> i64 {
    post::Entity::find()
        .filter(post::Column::AuthorId.eq(user))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the seed gives every early user a post")
        .id
}

#[tokio::test]
async fn created_post_is_visible_through_every_relation_in_the_same_request() {
    let app = test_app().await;
    let own = a_post_of(&app, 1).await;
    let data = app
        .data_as(
            1,
            &format!(
                r#"mutation {{
                before: follow(followeeId: "2") {{ posts(first: 1) {{ id }} }}
                post: createPost(input: {{title: " Hello ", body: "World", tags: ["Rust", "fresh-tag", "rust"]}}) {{
                    id title published tags {{ name }}
                    author {{ id posts(first: 1) {{ title }} }}
                }}
                tagged: tagPost(postId: "{own}", tag: "fresh-tag") {{ tags {{ name }} }}
                follow: follow(followeeId: "3") {{
                    id following(first: 5) {{ id name }}
                }}
            }}"#
            ),
        )
        .await;
    assert_eq!(data["post"]["title"], "Hello");
    assert_eq!(data["post"]["published"], true);
    assert_eq!(
        data["post"]["tags"],
        json!([{ "name": "fresh-tag" }, { "name": "rust" }])
    );
    assert_eq!(data["post"]["author"]["id"], "1");
    assert_eq!(data["post"]["author"]["posts"][0]["title"], "Hello");
    let tags = data["tagged"]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!({ "name": "fresh-tag" })));
    assert_eq!(data["follow"]["id"], "1", "follow returns the caller");
    let following: Vec<&str> = data["follow"]["following"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(
        following.contains(&"2") && following.contains(&"3"),
        "{following:?}"
    );
}

#[tokio::test]
async fn writes_are_visible_to_later_requests() {
    let app = test_app().await;
    let created = app
        .data_as(
            1,
            r#"mutation { createUser(input: {name: "Grace", email: "Grace@Navy.mil"}) { id email } }"#,
        )
        .await;
    assert_eq!(created["createUser"]["email"], "grace@navy.mil");
    let id = created["createUser"]["id"].as_str().unwrap().to_string();
    // The new user writes with a token of their own.
    app.data_as(
        id.parse().unwrap(),
        r#"mutation { createPost(input: {title: "COBOL", body: "compilers"}) { id } }"#,
    )
    .await;
    let read = app
        .data(&format!(
            r#"{{ user(id: "{id}") {{ name posts {{ title author {{ name }} }} }} }}"#
        ))
        .await;
    assert_eq!(read["user"]["name"], "Grace");
    assert_eq!(read["user"]["posts"][0]["title"], "COBOL");
    assert_eq!(read["user"]["posts"][0]["author"]["name"], "Grace");
}

#[tokio::test]
async fn invalid_input_says_which_field_and_writes_nothing() {
    let app = test_app().await;
    let posts_before = post::Entity::find().count(&app.state.db).await.unwrap();
    let cases = [
        (
            r#"createUser(input: {name: "", email: "a@b.org"}) { id }"#,
            "name",
        ),
        (
            r#"createUser(input: {name: "A", email: "not-an-email"}) { id }"#,
            "email",
        ),
        (
            r#"createPost(input: {title: "", body: "b"}) { id }"#,
            "title",
        ),
        (
            r#"createPost(input: {title: "t", body: "b", tags: ["bad tag"]}) { id }"#,
            "tag",
        ),
        (
            r#"addComment(input: {postId: "x", body: "b"}) { id }"#,
            "postId",
        ),
        (r#"follow(followeeId: "1") { id }"#, "followeeId"),
        (r#"tagPost(postId: "1", tag: "") { id }"#, "tag"),
    ];
    for (mutation, field) in cases {
        let reply = app
            .graphql_as(1, &format!("mutation {{ {mutation} }}"), json!(null))
            .await;
        assert_eq!(
            reply.error_codes(),
            ["BAD_USER_INPUT"],
            "{mutation}: {}",
            reply.text
        );
        assert_eq!(
            reply.json()["errors"][0]["extensions"]["field"],
            field,
            "{mutation}"
        );
    }
    assert_eq!(
        post::Entity::find().count(&app.state.db).await.unwrap(),
        posts_before
    );
}

#[tokio::test]
async fn taken_email_is_refused() {
    let app = test_app().await;
    let taken = app.data(r#"{ user(id: "1") { email } }"#).await["user"]["email"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let reply = app
        .graphql_as(
            1,
            "mutation($e: String!) { createUser(input: {name: \"Dup\", email: $e}) { id } }",
            json!({ "e": taken }),
        )
        .await;
    assert_eq!(reply.error_codes(), ["BAD_USER_INPUT"]);
    assert!(reply.text.contains("already registered"), "{}", reply.text);
}

#[tokio::test]
async fn post_by_a_token_for_a_missing_user_rolls_back_its_new_tags() {
    let app = test_app().await;
    let reply = app
        .graphql_as(
            999_999,
            r#"mutation { createPost(input: {title: "t", body: "b", tags: ["orphan"]}) { id } }"#,
            json!(null),
        )
        .await;
    assert_eq!(reply.error_codes(), ["UNAUTHENTICATED"], "{}", reply.text);
    assert!(reply.text.contains("user 999999"), "{}", reply.text);
    let orphan = tag::Entity::find()
        .filter(tag::Column::Name.eq("orphan"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(orphan, 0);
}

#[tokio::test]
async fn tagging_twice_links_once() {
    let app = test_app().await;
    let own = a_post_of(&app, 3).await;
    for _ in 0..2 {
        app.data_as(
            3,
            &format!(r#"mutation {{ tagPost(postId: "{own}", tag: "twice") {{ id }} }}"#),
        )
        .await;
    }
    let twice = tag::Entity::find()
        .filter(tag::Column::Name.eq("twice"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let links = post_tag::Entity::find()
        .filter(post_tag::Column::TagId.eq(twice.id))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(links, 1);
}
