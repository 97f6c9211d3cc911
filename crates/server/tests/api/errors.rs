//! Bad input gives an error that says what was wrong; nothing panics; the database is
//! unchanged.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::test_app;

#[tokio::test]
async fn invalid_id_is_bad_user_input_naming_the_argument() {
    let app = test_app().await;
    let reply = app
        .graphql("{ user(id: \"abc\") { id } }", json!(null))
        .await;
    assert_eq!(reply.error_codes(), ["BAD_USER_INPUT"]);
    let error = &reply.json()["errors"][0];
    assert_eq!(error["extensions"]["field"], "id");
    assert!(error["message"].as_str().unwrap().contains("abc"));
}

#[tokio::test]
async fn sql_looking_input_is_rejected_and_changes_nothing() {
    let app = test_app().await;
    let before = entity::user::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    for query in [
        "{ user(id: \"1; DROP TABLE users\") { id } }",
        "{ tag(name: \"x' OR '1'='1\") { id } }",
        "{ posts(tag: \"rust'--\") { id } }",
    ] {
        let reply = app.graphql(query, json!(null)).await;
        assert_eq!(
            reply.error_codes(),
            ["BAD_USER_INPUT"],
            "{query}: {}",
            reply.text
        );
    }
    let after = entity::user::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn invalid_cursor_is_bad_user_input() {
    let app = test_app().await;
    for cursor in ["garbage", "cG9zdDox", ""] {
        let reply = app
            .graphql(
                "query($c: String) { users(after: $c) { id } }",
                json!({ "c": cursor }),
            )
            .await;
        assert_eq!(
            reply.error_codes(),
            ["BAD_USER_INPUT"],
            "{cursor}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn wrong_variable_type_is_a_request_error() {
    let app = test_app().await;
    let reply = app
        .graphql(
            "query($n: Int!) { users(first: $n) { id } }",
            json!({ "n": "ten" }),
        )
        .await;
    assert_eq!(
        reply.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        reply.text
    );
    assert!(
        reply.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("n")
    );
}

#[tokio::test]
async fn missing_user_is_null_not_an_error() {
    let app = test_app().await;
    let data = app
        .data("{ user(id: \"999999\") { id } post(id: \"999999\") { id } }")
        .await;
    assert!(data["user"].is_null());
    assert!(data["post"].is_null());
}

#[tokio::test]
async fn comment_on_a_missing_post_is_not_found() {
    let app = test_app().await;
    let reply = app
        .graphql_as(
            1,
            "mutation { addComment(input: {postId: \"999999\", body: \"hi\"}) { id } }",
            json!(null),
        )
        .await;
    assert_eq!(reply.error_codes(), ["NOT_FOUND"]);
    assert!(
        reply.text.contains("post 999999 does not exist"),
        "{}",
        reply.text
    );
}
