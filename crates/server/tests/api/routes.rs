//! `/healthz`, `/readyz`, `/loader/stats`.

use axum::http::StatusCode;

use crate::helpers::test_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = test_app().await;
    let reply = app.get("/healthz", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_while_the_database_answers() {
    let app = test_app().await;
    let reply = app.get("/readyz", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ready");
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_closed() {
    let app = test_app().await;
    app.state.db.clone().close().await.unwrap();
    let reply = app.get("/readyz", None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["status"], "unavailable");
}

#[tokio::test]
async fn loader_stats_lists_the_groups_a_query_used() {
    let app = test_app().await;
    app.data("{ users(first: 3) { posts(first: 4) { tags { name } } } }")
        .await;
    let reply = app.get("/loader/stats", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let stats = reply.json();
    assert!(stats["limit"].as_u64().unwrap() >= 1);
    let groups: Vec<&String> = stats["groups"].as_object().unwrap().keys().collect();
    assert!(
        groups
            .iter()
            .any(|g| g.starts_with("posts.has_many(author_id)") && g.contains("limit(4)")),
        "{groups:?}"
    );
    assert!(
        groups.iter().any(|g| g.starts_with("tags.many_to_many")),
        "{groups:?}"
    );
}
