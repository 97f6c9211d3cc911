//! Bad input at `POST /graphql` (and `GET`), in-process through the router (`oneshot`), on
//! SQLite and on PostgreSQL: malformed JSON, invalid GraphQL, unknown fields, wrong variable
//! types, huge bodies, 10k-deep nesting, alias amplification, SQL-looking strings, invalid
//! cursors and ids, 200 KB strings in every kind of argument, missing and invalid tokens.
//!
//! Each case gets a clear error in the GraphQL-over-HTTP shape (a JSON object whose `errors`
//! each carry a `message` and an `extensions.code`; no `data` on a request error) with the
//! right status code for `Accept: application/graphql-response+json`. Nothing panics (a
//! caught panic would be a `500 INTERNAL`), and the database's row counts are unchanged.
//! No response and no log line repeats more than a short prefix of a long input.

mod faults_common;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use std::sync::{Arc, Mutex};

use faults_common::row_counts;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use server::{AppState, config::Settings, database, seed, startup};
use tower::ServiceExt as _;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter, layer::SubscriberExt as _};

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
    /// Send `Authorization: Bearer <token of user N>` (`Some(0)`: a broken token).
    as_user: Option<i64>,
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
        as_user: None,
    }
}

/// As [`query`], with a bearer token of `user`.
fn query_as(
    user: i64,
    name: &'static str,
    query_text: &str,
    variables: Value,
    status: StatusCode,
    codes: &'static [&'static str],
    says: &'static str,
) -> Case {
    Case {
        as_user: Some(user),
        ..query(name, query_text, variables, status, codes, says)
    }
}

/// The filler of the long inputs: no response or log line may repeat more than the echo
/// bound of it.
const FILL: char = 'Z';

fn long(chars: usize) -> String {
    FILL.to_string().repeat(chars)
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
    let big = long(200_000);
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
        query_as(
            1,
            "SQL in a mutation's e-mail",
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({ "i": { "name": "Robert'); DROP TABLE users;--", "email": "'; DROP TABLE users; --" } }),
            S::OK,
            &["BAD_USER_INPUT"],
            "email",
        ),
        query_as(
            999_999,
            "mutation by a token for a missing user",
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
            json!({ "i": { "title": "x'; DELETE FROM posts; --", "body": "b" } }),
            S::OK,
            &["UNAUTHENTICATED"],
            "does not exist",
        ),
        query_as(
            1,
            "mutation with an empty title",
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
            json!({ "i": { "title": "", "body": "b" } }),
            S::OK,
            &["BAD_USER_INPUT"],
            "title",
        ),
        query(
            "mutation without a token",
            "mutation { follow(followeeId: \"2\") { id } }",
            json!(null),
            S::UNAUTHORIZED,
            &["UNAUTHENTICATED"],
            "authorization",
        ),
        query_as(
            0,
            "mutation with a broken token",
            "mutation { follow(followeeId: \"2\") { id } }",
            json!(null),
            S::UNAUTHORIZED,
            &["INVALID_TOKEN"],
            "token",
        ),
        query_as(
            1,
            "mutation naming its author",
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
            json!({ "i": { "authorId": "2", "title": "t", "body": "b" } }),
            S::BAD_REQUEST,
            &["GRAPHQL_VALIDATION_FAILED"],
            "authorId",
        ),
        query("200 KB id variable", "query($id: ID!) { user(id: $id) { name } }", json!({ "id": big }), S::OK, &["BAD_USER_INPUT"], "(200000 characters)"),
        query("200 KB Int variable", "query($n: Int!) { users(first: $n) { id } }", json!({ "n": big }), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], "n"),
        query("200 KB cursor variable", "query($c: String) { users(after: $c) { id } }", json!({ "c": big }), S::OK, &["BAD_USER_INPUT"], "(200000 characters)"),
        query("200 KB tag variable", "query($t: String!) { tag(name: $t) { id } }", json!({ "t": big }), S::OK, &["BAD_USER_INPUT"], "(200000 characters)"),
        query("200 KB tag filter", "query($t: String) { posts(tag: $t) { id } }", json!({ "t": big }), S::OK, &["BAD_USER_INPUT"], "(200000 characters)"),
        query("200 KB string where an object goes", "query($i: CreatePostInput!) { __typename }", json!({ "i": big }), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED"], ""),
        query("200 KB unknown variable", "{ tags { name } }", json!({ "pad": big }), S::OK, &[], ""),
        query("20 KB literal id", &format!("{{ user(id: \"{}\") {{ name }} }}", long(20_000)), json!(null), S::OK, &["BAD_USER_INPUT"], "(20000 characters)"),
        post("200 KB operation name", json!({ "query": "query A { tags { name } }", "operationName": big }).to_string(), S::BAD_REQUEST, &["GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"], "operation"),
        post("200 KB variables that are a string", format!("{{\"query\": \"{{ tags {{ name }} }}\", \"variables\": \"{big}\"}}"), S::BAD_REQUEST, &["BAD_REQUEST"], "expected a map"),
        query_as(1, "200 KB e-mail", "mutation($e: String!) { createUser(input: {name: \"n\", email: $e}) { id } }", json!({ "e": big }), S::OK, &["BAD_USER_INPUT"], "at most 254"),
        query_as(1, "200 KB e-mail that is no address", "mutation($e: String!) { createUser(input: {name: \"n\", email: $e}) { id } }", json!({ "e": format!("{}@", long(200)) }), S::OK, &["BAD_USER_INPUT"], "(201 characters)"),
        query_as(1, "200 KB tag of a new post", "mutation($t: String!) { createPost(input: {title: \"t\", body: \"b\", tags: [$t]}) { id } }", json!({ "t": big }), S::OK, &["BAD_USER_INPUT"], "(200000 characters)"),
        query_as(1, "200 KB post id of a comment", "mutation($p: ID!) { addComment(input: {postId: $p, body: \"b\"}) { id } }", json!({ "p": big }), S::OK, &["BAD_USER_INPUT"], "(200000 characters)"),
        query_as(1, "200 KB followee id", "mutation($f: ID!) { follow(followeeId: $f) { id } }", json!({ "f": big }), S::OK, &["BAD_USER_INPUT"], "(200000 characters)"),
        query_as(1, "200 KB body of a comment", "mutation($b: String!) { addComment(input: {postId: \"1\", body: $b}) { id } }", json!({ "b": big }), S::OK, &["BAD_USER_INPUT"], "at most 10000"),
        Case {
            content_type: Some("text/plain; charset=ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"),
            ..post("long content type", r#"{"query": "{ tags { name } }"}"#, S::UNSUPPORTED_MEDIA_TYPE, &["UNSUPPORTED_MEDIA_TYPE"], "characters)")
        },
        Case {
            name: "mutation over GET",
            method: "GET",
            uri: "/graphql?query=mutation%20%7B%20follow(followeeId%3A%20%222%22)%20%7B%20id%20%7D%20%7D".into(),
            content_type: None,
            body: Vec::new(),
            status: S::METHOD_NOT_ALLOWED,
            codes: &["METHOD_NOT_ALLOWED"],
            says: "post",
            as_user: Some(1),
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
            as_user: None,
        },
    ]
}

struct App {
    router: Router,
    db: DatabaseConnection,
    state: AppState,
    max_body: usize,
}

async fn app(url: String) -> App {
    let settings = Settings::for_database(url);
    let max_body = settings.limits.max_body_bytes;
    let db = database::connect(&settings).await.unwrap();
    database::migrate(&db).await.unwrap();
    seed::run(&db, seed::SeedPlan::small(42), false)
        .await
        .unwrap();
    let state = startup::app_state(settings, db.clone()).unwrap();
    App {
        router: server::router(state.clone()),
        db,
        state,
        max_body,
    }
}

/// Status, JSON body, content type and the body's text.
async fn send(app: &App, case: &Case) -> (StatusCode, Value, String, String) {
    let mut request = Request::builder()
        .method(case.method)
        .uri(&case.uri)
        .header(header::ACCEPT, GRAPHQL_RESPONSE);
    if let Some(ct) = case.content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    match case.as_user {
        Some(0) => request = request.header(header::AUTHORIZATION, "Bearer not.a.token"),
        Some(user) => {
            let token = app
                .state
                .auth
                .mint(user, std::time::Duration::from_secs(3_600))
                .unwrap();
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        None => {}
    }
    let response = app
        .router
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
    (
        status,
        json,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Log lines go here while the guard lives: this thread's events, with the server's default
/// filter, written both as the server's text lines and as JSON with every enclosing span's
/// fields.
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Sink;
        fn make_writer(&'a self) -> Sink {
            self.clone()
        }
    }
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new(server::telemetry::DEFAULT_FILTER))
        .with(tracing_subscriber::fmt::layer().with_writer(Sink(buffer.clone())))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_span_list(true)
                .with_writer(Sink(buffer.clone())),
        );
    (buffer, tracing::subscriber::set_default(subscriber))
}

async fn every_bad_input_gets_a_clear_error_and_changes_nothing(url: String, backend: &str) {
    let app = app(url).await;
    let db = app.db.clone();
    let before = row_counts(&db).await;
    let mut failures = Vec::new();
    let (log, _capture) = capture_logs();
    // Lowercase: tag names are echoed lowercased.
    let echo = FILL
        .to_ascii_lowercase()
        .to_string()
        .repeat(server::echo::MAX_ECHO_CHARS + 1);
    for case in cases(app.max_body) {
        let started = std::time::Instant::now();
        let (status, json, content_type, text) = send(&app, &case).await;
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
        if errors.is_empty() != case.codes.is_empty() {
            wrong.push(format!("errors {errors:?}"));
        }
        if text.to_ascii_lowercase().contains(&echo) {
            wrong.push(format!(
                "the response repeats the input ({} bytes)",
                text.len()
            ));
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
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    println!(
        "[bad-input] {backend}: {} bytes of log lines, longest {} bytes",
        logged.len(),
        logged.lines().map(str::len).max().unwrap_or(0)
    );
    if let Some(line) = logged
        .lines()
        .find(|l| l.to_ascii_lowercase().contains(&echo))
    {
        failures.push(format!(
            "a log line repeats the input ({} bytes): {:.300}",
            line.len(),
            line
        ));
    }
    assert!(
        failures.is_empty(),
        "bad input handled wrongly:\n{}",
        failures.join("\n")
    );
    assert_eq!(before, after, "bad input changed the database");
    // The server still serves good requests.
    let ok = send(
        &app,
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
