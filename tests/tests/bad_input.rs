//! Bad input at `POST /graphql` (and `GET`), in-process through the router (`oneshot`), on
//! SQLite and on PostgreSQL: malformed JSON, invalid GraphQL, unknown fields, wrong variable
//! types, huge bodies, 10k-deep nesting, alias amplification, SQL-looking strings, invalid
//! cursors and ids.
//!
//! Each case gets a clear error in the GraphQL-over-HTTP shape (a JSON object whose `errors`
//! each carry a `message` and an `extensions.code`; no `data` on a request error) with the
//! right status code for `Accept: application/graphql-response+json`. Nothing panics (a
//! caught panic would be a `500 INTERNAL`), and the database's row counts are unchanged.

mod faults_common;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use faults_common::row_counts;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use server::{config::Settings, database, seed, startup};
use tower::ServiceExt as _;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// One bad request and what it must get back.
struct Case {
    name: &'static str,
    method: &'static str,
    uri: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: StatusCode,
    /// Every error's `extensions.code` must be one of these.
    codes: &'static [&'static str],
    /// A word the first error message must contain (case-insensitive), telling what is wrong.
    says: &'static str,
}

fn post(
    name: &'static str,
    body: impl Into<Vec<u8>>,
    status: StatusCode,
    codes: &'static [&'static str],
    says: &'static str,
) -> Case {
    Case {
        name,
        method: "POST",
        uri: "/graphql".into(),
        content_type: Some("application/json"),
        body: body.into(),
        status,
        codes,
        says,
    }
}

fn query(
    name: &'static str,
    query: &str,
    variables: Value,
    status: StatusCode,
    codes: &'static [&'static str],
    says: &'static str,
) -> Case {
    post(
        name,
        json!({ "query": query, "variables": variables }).to_string(),
        status,
        codes,
        says,
    )
}

fn cases(max_body: usize) -> Vec<Case> {
    use StatusCode as S;
    let deep = format!(
        "{{ user(id: \"1\") {}{}",
        "{ followers ".repeat(10_000),
        "}".repeat(10_001)
    );
    let aliases_complex: String = (0..3_000)
        .map(|i| format!("a{i}: users(first: 100) {{ posts(first: 100) {{ id }} }} "))
        .collect();
    let aliases_cheap: String = (0..5_000)
        .map(|i| format!("a{i}: tags {{ name }} "))
        .collect();
    let huge = format!(
        "{{\"query\": \"{{ tags {{ name }} }}\", \"variables\": {{\"pad\": \"{}\"}}}}",
        "x".repeat(max_body * 2)
    );
    let sql = "1; DROP TABLE users; --";
    vec![
        post("malformed JSON", r#"{"query": "{ tags { name } }""#, S::BAD_REQUEST, &["BAD_REQUEST"], "not a valid"),
        post("JSON that is not an object", r#""{ tags { name } }""#, S::BAD_REQUEST, &["BAD_REQUEST"], "object"),
        post("empty body", "", S::BAD_REQUEST, &["BAD_REQUEST"], "empty"),
        post("batched array", r#"[{"query": "{ tags { name } }"}]"#, S::BAD_REQUEST, &["BAD_REQUEST"], "batched"),
        post("query is null", r#"{"query": null}"#, S::BAD_REQUEST, &["BAD_REQUEST"], "not a valid GraphQL request"),
        post("variables not an object", r#"{"query": "{ tags { name } }", "variables": [1, 2]}"#, S::BAD_REQUEST, &["BAD_REQUEST"], "expected a map"),
        post("invalid UTF-8", vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'], S::BAD_REQUEST, &["BAD_REQUEST"], "not a valid"),
        Case {
            content_type: Some("text/plain"),
            ..post("wrong content type", r#"{"query": "{ tags { name } }"}"#, S::UNSUPPORTED_MEDIA_TYPE, &["UNSUPPORTED_MEDIA_TYPE"], "content-type")
        },
        query("invalid GraphQL", "{ tags { name }", json!(null), S::BAD_REQUEST, &["GRAPHQL_PARSE_FAILED"], "expected"),
        query("garbage GraphQL", "SELECT * FROM users", json!(null), S::BAD_REQUEST, &["GRAPHQL_PARSE_FAILED"], "expected"),
        query("unknown field", "{ tags { nope } }", json!(null), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "nope"),
        query("unknown root field", "{ secrets }", json!(null), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "secrets"),
        query("unknown argument", "{ users(limit: 5) { id } }", json!(null), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "limit"),
        query("wrong literal type", "{ users(first: \"ten\") { id } }", json!(null), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "first"),
        query("wrong variable type", "query($n: Int!) { users(first: $n) { id } }", json!({ "n": "ten" }), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "n"),
        query("object where an id goes", "query($id: ID!) { user(id: $id) { name } }", json!({ "id": { "$ne": 1 } }), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "id"),
        query("missing required variable", "query($id: ID!) { user(id: $id) { name } }", json!({}), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "id"),
        query("unknown operation name", "query A { tags { name } } query B { tags { id } }", json!(null), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"], "operation"),
        post("huge body", huge, S::PAYLOAD_TOO_LARGE, &["PAYLOAD_TOO_LARGE"], "length limit"),
        query("10k-deep nesting", &deep, json!(null), S::BAD_REQUEST, &["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"], ""),
        query("3000 expensive aliases", &format!("{{ {aliases_complex} }}"), json!(null), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "complex"),
        query("5000 cheap aliases", &format!("{{ {aliases_cheap} }}"), json!(null), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], ""),
        query("page size too large", "{ users(first: 101) { id } }", json!(null), S::OK, &["BAD_USER_INPUT"], "first"),
        query("negative page size", "{ users(first: -1) { id } }", json!(null), S::OK, &["BAD_USER_INPUT"], "first"),
        query("SQL in an id", "query($id: ID!) { user(id: $id) { name } }", json!({ "id": sql }), S::OK, &["BAD_USER_INPUT"], "not a valid id"),
        query("SQL in a post id", "query($id: ID!) { post(id: $id) { title } }", json!({ "id": "1 OR 1=1" }), S::OK, &["BAD_USER_INPUT"], "not a valid id"),
        query("SQL in a cursor", "query($c: String) { users(after: $c) { id } }", json!({ "c": "' OR '1'='1" }), S::OK, &["BAD_USER_INPUT"], "cursor"),
        query("invalid cursor", "{ posts(after: \"not-a-cursor\") { id } }", json!(null), S::OK, &["BAD_USER_INPUT"], "cursor"),
        query("cursor of another list", "query($c: String) { posts(after: $c) { id } }", json!({ "c": "dXNlcjox" }), S::OK, &["BAD_USER_INPUT"], "cursor"),
        query("negative id", "{ user(id: \"-5\") { name } }", json!(null), S::OK, &["BAD_USER_INPUT"], "not a valid id"),
        query("id out of range", "{ post(id: \"99999999999999999999999\") { title } }", json!(null), S::OK, &["BAD_USER_INPUT"], "not a valid id"),
        query(
            "SQL in a mutation's e-mail",
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({ "i": { "name": "Robert'); DROP TABLE users;--", "email": "'; DROP TABLE users; --" } }),
            S::OK,
            &["BAD_USER_INPUT"],
            "email",
        ),
        query(
            "mutation with a missing author",
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
            json!({ "i": { "authorId": "999999", "title": "x'; DELETE FROM posts; --", "body": "b" } }),
            S::OK,
            &["NOT_FOUND"],
            "does not exist",
        ),
        query(
            "mutation with an empty title",
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
            json!({ "i": { "authorId": "1", "title": "", "body": "b" } }),
            S::OK,
            &["BAD_USER_INPUT"],
            "title",
        ),
        Case {
            name: "mutation over GET",
            method: "GET",
            uri: "/graphql?query=mutation%20%7B%20follow(followerId%3A%20%221%22%2C%20followeeId%3A%20%222%22)%20%7B%20id%20%7D%20%7D".into(),
            content_type: None,
            body: Vec::new(),
            status: S::METHOD_NOT_ALLOWED,
            codes: &["METHOD_NOT_ALLOWED"],
            says: "post",
        },
        Case {
            name: "GET with broken variables",
            method: "GET",
            uri: "/graphql?query=%7B%20tags%20%7B%20name%20%7D%20%7D&variables=%7Bnot-json".into(),
            content_type: None,
            body: Vec::new(),
            status: S::BAD_REQUEST,
            codes: &["BAD_REQUEST"],
            says: "invalid",
        },
    ]
}

async fn app(url: String) -> (Router, DatabaseConnection, usize) {
    let settings = Settings::for_database(url);
    let max_body = settings.limits.max_body_bytes;
    let db = database::connect(&settings).await.unwrap();
    database::migrate(&db).await.unwrap();
    seed::run(&db, seed::SeedPlan::small(42), false)
        .await
        .unwrap();
    let state = startup::app_state(settings, db.clone()).unwrap();
    (server::router(state), db, max_body)
}

async fn send(router: &Router, case: &Case) -> (StatusCode, Value, String) {
    let mut request = Request::builder()
        .method(case.method)
        .uri(&case.uri)
        .header(header::ACCEPT, GRAPHQL_RESPONSE);
    if let Some(ct) = case.content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(case.body.clone())).unwrap())
        .await
        .expect("the router is infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{}: the body is not JSON ({e}): {}",
            case.name,
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
    });
    (status, json, content_type)
}

async fn every_bad_input_gets_a_clear_error_and_changes_nothing(url: String, backend: &str) {
    let (router, db, max_body) = app(url).await;
    let before = row_counts(&db).await;
    let mut failures = Vec::new();
    for case in cases(max_body) {
        let started = std::time::Instant::now();
        let (status, json, content_type) = send(&router, &case).await;
        let errors = json["errors"].as_array().cloned().unwrap_or_default();
        let codes: Vec<&str> = errors
            .iter()
            .map(|e| e["extensions"]["code"].as_str().unwrap_or(""))
            .collect();
        let message = errors
            .first()
            .and_then(|e| e["message"].as_str())
            .unwrap_or("")
            .to_string();
        let short: String = message.chars().take(110).collect();
        println!(
            "[bad-input] {backend}: {:32} -> {} {:?} in {:.0} ms: {short}",
            case.name,
            status.as_u16(),
            codes,
            started.elapsed().as_secs_f64() * 1e3
        );
        let mut wrong = Vec::new();
        if status != case.status {
            wrong.push(format!("status {status}, expected {}", case.status));
        }
        if status == StatusCode::INTERNAL_SERVER_ERROR || codes.contains(&"INTERNAL") {
            wrong.push("an internal error (a caught panic or a database failure)".into());
        }
        if errors.is_empty() {
            wrong.push("no errors".into());
        }
        if !errors
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))
        {
            wrong.push("an error without a message".into());
        }
        if !codes.iter().all(|c| case.codes.contains(c)) {
            wrong.push(format!("codes {codes:?}, expected one of {:?}", case.codes));
        }
        if !message.to_lowercase().contains(&case.says.to_lowercase()) {
            wrong.push(format!("the message does not say `{}`", case.says));
        }
        if status.is_client_error() && json.get("data").is_some() {
            wrong.push("a request error must not have `data`".into());
        }
        if !content_type.starts_with(GRAPHQL_RESPONSE)
            && !content_type.starts_with("application/json")
        {
            wrong.push(format!("content type `{content_type}`"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {} (body: {short})",
                case.name,
                wrong.join("; ")
            ));
        }
    }
    let after = row_counts(&db).await;
    println!("[bad-input] {backend}: row counts before {before:?}, after {after:?}");
    assert!(
        failures.is_empty(),
        "bad input handled wrongly:\n{}",
        failures.join("\n")
    );
    assert_eq!(before, after, "bad input changed the database");
    // The server still serves good requests.
    let ok = send(
        &router,
        &query(
            "good",
            "{ tags { name } }",
            json!(null),
            StatusCode::OK,
            &[],
            "",
        ),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK);
    assert!(
        ok.1["data"]["tags"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
}

#[tokio::test]
async fn bad_input_on_sqlite_gets_clear_errors_and_leaves_the_database_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    every_bad_input_gets_a_clear_error_and_changes_nothing(
        test_support::sqlite_url(dir.path()),
        "sqlite",
    )
    .await;
}

#[tokio::test]
async fn bad_input_on_postgres_gets_clear_errors_and_leaves_the_database_unchanged() {
    let url = test_support::pg_or_skip!();
    every_bad_input_gets_a_clear_error_and_changes_nothing(url, "postgres").await;
}
