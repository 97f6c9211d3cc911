//! Guards for public exposure: depth, complexity, body size, introspection, page size.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{test_app, test_app_with};

#[tokio::test]
async fn too_deep_query_is_refused() {
    let app = test_app().await;
    let mut query = String::from("{ user(id: \"1\") ");
    for _ in 0..20 {
        query.push_str("{ followers(first: 1) ");
    }
    query.push_str("{ id }");
    query.push_str(&"}".repeat(21));
    let reply = app.graphql(&query, json!(null)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.text.contains("nested too deep"), "{}", reply.text);
}

#[tokio::test]
async fn ten_thousand_deep_nesting_is_refused_without_a_crash() {
    let app = test_app().await;
    let query = format!(
        "{{ user(id: \"1\") {}{}",
        "{ followers ".repeat(10_000),
        "}".repeat(10_001)
    );
    let reply = app.graphql(&query, json!(null)).await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{}",
        &reply.text[..200.min(reply.text.len())]
    );
    assert!(reply.json()["errors"].as_array().is_some());
}

#[tokio::test]
async fn alias_amplification_hits_the_complexity_limit() {
    let app = test_app().await;
    let aliases: String = (0..2_000)
        .map(|i| format!("a{i}: users(first: 100) {{ posts(first: 100) {{ id }} }} "))
        .collect();
    let reply = app.graphql(&format!("{{ {aliases} }}"), json!(null)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.text.contains("too complex"),
        "{}",
        &reply.text[..300.min(reply.text.len())]
    );
}

#[tokio::test]
async fn the_issue_query_is_within_the_default_limits() {
    let app = test_app().await;
    let data = app
        .data("{ users(first: 50) { posts(first: 10) { comments(first: 5) { author { name } } tags { name } } } }")
        .await;
    assert_eq!(data["users"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn huge_body_is_413_in_the_graphql_error_shape() {
    let app = test_app_with(|s| s.limits.max_body_bytes = 1024).await;
    let padding = " ".repeat(4096);
    let reply = app
        .post_raw(
            format!("{{\"query\": \"{{ tags {{ name }} }}{padding}\"}}"),
            Some("application/graphql-response+json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_codes(), ["PAYLOAD_TOO_LARGE"]);
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let query = "{ __schema { queryType { name } } }";
    let open = test_app().await;
    assert_eq!(
        open.data(query).await["__schema"]["queryType"]["name"],
        "Query"
    );

    let closed = test_app_with(|s| s.limits.disable_introspection = true).await;
    let reply = closed
        .graphql(
            "{ __schema { queryType { name } } __type(name: \"User\") { name } }",
            json!(null),
        )
        .await;
    let data = &reply.json()["data"];
    assert!(data["__schema"].is_null(), "{}", reply.text);
    assert!(data["__type"].is_null(), "{}", reply.text);
}

#[tokio::test]
async fn page_size_above_the_maximum_is_bad_user_input() {
    let app = test_app_with(|s| s.limits.max_page_size = 10).await;
    let reply = app
        .graphql("{ users(first: 11) { id } }", json!(null))
        .await;
    assert_eq!(reply.error_codes(), ["BAD_USER_INPUT"]);
    assert!(reply.text.contains("at most 10"), "{}", reply.text);
}
