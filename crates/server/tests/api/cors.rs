//! CORS: no grant by default; with allowed origins, a preflight from one of them is answered
//! and every answer to it (errors too) carries the grant; other origins get none.

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};

use crate::helpers::{Reply, TestApp, test_app, test_app_with};

const APP: &str = "https://app.example.org";

async fn preflight(app: &TestApp, origin: &str) -> Reply {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/graphql")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

async fn cross_origin_post(app: &TestApp, origin: &str, query: &str) -> Reply {
    let request = Request::post("/graphql")
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({ "query": query }).to_string(),
        ))
        .unwrap();
    app.send(request).await
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn no_origin_is_allowed_by_default() {
    let app = test_app().await;
    let reply = preflight(&app, APP).await;
    assert!(
        header(&reply.headers, header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "{:?}",
        reply.headers
    );
    assert_ne!(reply.status, StatusCode::OK);
    let reply = cross_origin_post(&app, APP, "{ tags { name } }").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(header(&reply.headers, header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn an_allowed_origin_gets_a_preflight_answer_and_a_grant_on_every_response() {
    let app = test_app_with(|s| {
        s.cors.cors_allowed_origins = vec![APP.into(), "http://localhost:5173".into()];
    })
    .await;
    let reply = preflight(&app, APP).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.headers);
    let h = &reply.headers;
    assert_eq!(header(h, header::ACCESS_CONTROL_ALLOW_ORIGIN), Some(APP));
    let methods = header(h, header::ACCESS_CONTROL_ALLOW_METHODS).unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = header(h, header::ACCESS_CONTROL_ALLOW_HEADERS)
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert_eq!(header(h, header::ACCESS_CONTROL_MAX_AGE), Some("600"));
    assert!(header(h, header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
    let vary = h
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    assert!(vary.contains("origin"), "{vary}");

    // The real request, and a refused one: both readable by the page.
    let reply = cross_origin_post(&app, APP, "{ tags { name } }").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        header(&reply.headers, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(APP)
    );
    let reply =
        cross_origin_post(&app, APP, r#"mutation { follow(followeeId: "2") { id } }"#).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&reply.headers, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(APP)
    );
    let exposed = header(&reply.headers, header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("www-authenticate"), "{exposed}");

    // Another origin is not granted anything.
    for origin in [
        "https://evil.example.org",
        "https://app.example.org.evil.org",
    ] {
        let reply = preflight(&app, origin).await;
        assert!(
            header(&reply.headers, header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
            "{origin}: {:?}",
            reply.headers
        );
        let reply = cross_origin_post(&app, origin, "{ tags { name } }").await;
        assert!(header(&reply.headers, header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }
}

#[tokio::test]
async fn a_wildcard_allows_any_origin() {
    let app = test_app_with(|s| s.cors.cors_allowed_origins = vec!["*".into()]).await;
    let reply = preflight(&app, "https://anywhere.example").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        header(&reply.headers, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("*")
    );
}

#[tokio::test]
async fn a_malformed_origin_is_refused_at_start() {
    let mut settings = server::config::Settings::for_database("sqlite::memory:");
    settings.cors.cors_allowed_origins = vec!["https://app.example.org/".into()];
    let db = server::database::connect(&settings).await.unwrap();
    let err = server::startup::app_state(settings, db)
        .err()
        .expect("refused");
    assert!(
        format!("{err:#}").contains("scheme://host[:port]"),
        "{err:#}"
    );
}
