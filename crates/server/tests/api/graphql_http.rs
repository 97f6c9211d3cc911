//! GraphQL-over-HTTP: media types, status codes, error shape, GET.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::helpers::test_app;

#[tokio::test]
async fn post_returns_data_with_fields_in_selection_order() {
    let app = test_app().await;
    let reply = app
        .graphql("{ user(id: \"1\") { name id } }", json!(null))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .content_type()
            .starts_with("application/graphql-response+json")
    );
    let name_at = reply.text.find("\"name\"").unwrap();
    let id_at = reply.text.find("\"id\"").unwrap();
    assert!(name_at < id_at, "selection order lost: {}", reply.text);
}

#[tokio::test]
async fn request_without_accept_gets_application_json() {
    let app = test_app().await;
    let reply = app.post_raw(r#"{"query":"{ tags { name } }"}"#, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("application/json"));
    assert!(reply.json()["data"]["tags"].as_array().unwrap().len() >= 6);
}

#[tokio::test]
async fn validation_error_is_400_without_data_for_graphql_response_json() {
    let app = test_app().await;
    let reply = app.graphql("{ users { nope } }", json!(null)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let body = reply.json();
    assert!(body.get("data").is_none(), "{}", reply.text);
    assert_eq!(reply.error_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );
}

#[tokio::test]
async fn validation_error_is_200_for_legacy_application_json() {
    let app = test_app().await;
    let reply = app
        .post_raw(
            r#"{"query":"{ users { nope } }"}"#,
            Some("application/json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.error_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
}

#[tokio::test]
async fn syntax_error_is_a_parse_failure() {
    let app = test_app().await;
    let reply = app.graphql("{ users { id ", json!(null)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_codes(), ["GRAPHQL_PARSE_FAILED"]);
}

#[tokio::test]
async fn malformed_json_is_400_in_the_graphql_error_shape() {
    let app = test_app().await;
    for body in ["{\"query\": ", "[]", "", "42", "{\"query\": 7}"] {
        let reply = app
            .post_raw(body, Some("application/graphql-response+json"))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body:?}: {}",
            reply.text
        );
        assert_eq!(reply.error_codes(), ["BAD_REQUEST"], "{body:?}");
        assert!(
            !reply.json()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    let app = test_app().await;
    let request = axum::http::Request::post("/graphql")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(axum::body::Body::from("{ users { id } }"))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.error_codes(), ["UNSUPPORTED_MEDIA_TYPE"]);
}

#[tokio::test]
async fn unacceptable_accept_header_is_406() {
    let app = test_app().await;
    let reply = app
        .post_raw(r#"{"query":"{ tags { name } }"}"#, Some("text/csv"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn get_runs_queries_from_the_query_string() {
    let app = test_app().await;
    let reply = app
        .get(
            "/graphql?query=%7B%20user(id%3A%20%222%22)%20%7B%20id%20%7D%20%7D",
            Some("application/graphql-response+json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["data"]["user"]["id"], "2");
}

#[tokio::test]
async fn get_refuses_mutations_with_405() {
    let app = test_app().await;
    let reply = app
        .get(
            "/graphql?query=mutation%20%7B%20follow(followeeId%3A%222%22)%20%7B%20id%20%7D%20%7D",
            Some("application/json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.error_codes(), ["METHOD_NOT_ALLOWED"]);
    assert!(reply.headers.get(header::ALLOW).is_some());
}

#[tokio::test]
async fn browser_get_without_query_serves_graphiql() {
    let app = test_app().await;
    let reply = app
        .get("/graphql", Some("text/html,application/xhtml+xml"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("text/html"));
    assert!(reply.text.contains("graphiql"), "not a GraphiQL page");
    assert!(
        !reply.text.contains("unpkg.com") && !reply.text.contains("https://"),
        "the page loads nothing from the internet"
    );
}

#[tokio::test]
async fn graphiql_files_are_served_from_the_binary() {
    let app = test_app().await;
    for (file, media) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
    ] {
        let reply = app.get(&format!("/graphql/assets/{file}"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{file}");
        assert!(reply.content_type().starts_with(media), "{file}");
        assert!(reply.text.len() > 5_000, "{file}");
    }
    let missing = app.get("/graphql/assets/nothing.js", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn graphiql_can_be_turned_off() {
    let app = crate::helpers::test_app_with(|s| s.limits.disable_graphiql = true).await;
    let reply = app.get("/graphql", Some("text/html")).await;
    assert_ne!(reply.status, StatusCode::OK);
    let asset = app.get("/graphql/assets/graphiql.min.js", None).await;
    assert_eq!(asset.status, StatusCode::NOT_FOUND);
}
