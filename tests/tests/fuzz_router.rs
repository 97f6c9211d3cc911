//! Fuzzing the router in-process (`tower::ServiceExt::oneshot`, no socket) with proptest:
//! random bytes, random JSON, and random GraphQL-ish token soup, sent as `POST` bodies (and
//! as `GET` query strings) with assorted `Content-Type`/`Accept` headers.
//!
//! Every response must be well formed: a status the GraphQL-over-HTTP conventions allow
//! (never `500`, which is what a caught panic becomes), a JSON object with `data` or a
//! non-empty `errors` list whose entries carry a `message`, and no `data` on a `4xx`
//! response for `application/graphql-response+json`. Requests go without a token, with a
//! valid one (so mutations run) or with a broken one (`401`).
//!
//! `PROPTEST_CASES` sets the number of cases per target (defaults below keep CI short).

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};
use serde_json::{Value, json};
use server::{config::Settings, database, seed, startup};
use tower::ServiceExt as _;

/// One fuzzed request.
#[derive(Debug, Clone)]
struct Fuzzed {
    get: bool,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    auth: Auth,
    body: Vec<u8>,
}

/// The `Authorization` header of a fuzzed request.
#[derive(Debug, Clone, Copy)]
enum Auth {
    None,
    Valid,
    Broken,
}

const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/graphql"),
    Some("text/plain"),
    None,
];
const ACCEPTS: &[Option<&str>] = &[
    Some("application/graphql-response+json"),
    Some("application/json"),
    Some("*/*"),
    Some("image/png"),
    None,
];

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    ":",
    ",",
    "...",
    "@skip(if: true)",
    "@include(if: $x)",
    "query",
    "mutation",
    "subscription",
    "fragment F on User",
    "on",
    "Post",
    "user",
    "users",
    "post",
    "posts",
    "tag",
    "tags",
    "id",
    "name",
    "title",
    "body",
    "author",
    "comments",
    "followers",
    "following",
    "cursor",
    "first:",
    "after:",
    "id:",
    "\"1\"",
    "\"-1\"",
    "\"abc\"",
    "1",
    "-1",
    "1e309",
    "100000",
    "null",
    "true",
    "$x",
    "$id: ID!",
    "__typename",
    "__schema",
    "__type",
    "a:",
    "b:",
    "createUser",
    "createPost",
    "follow",
    "addComment",
    "tagPost",
    "followeeId:",
    "input:",
    "{ name: \"x\" }",
    "[",
    "]",
    "\"' OR 1=1 --\"",
    "#",
    "\"\"\"",
    "\\u0000",
    "é",
];

fn headers() -> impl Strategy<Value = (bool, Option<&'static str>, Option<&'static str>)> {
    (
        prop::bool::weighted(0.15),
        prop_oneof![4 => Just(Some("application/json")), 1 => prop::sample::select(CONTENT_TYPES)],
        prop_oneof![3 => Just(Some("application/graphql-response+json")), 1 => prop::sample::select(ACCEPTS)],
    )
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("query".to_string()),
                    Just("variables".to_string()),
                    Just("operationName".to_string()),
                    Just("extensions".to_string()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn graphqlish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.join(" "))
}

/// Scalars and relations (field, argument kind, target type) of each object type.
fn schema_type(
    ty: &str,
) -> (
    &'static [&'static str],
    &'static [(&'static str, bool, &'static str)],
) {
    match ty {
        "User" => (
            &["id", "name", "email", "cursor", "createdAt", "__typename"],
            &[
                ("posts", true, "Post"),
                ("comments", true, "Comment"),
                ("followers", true, "User"),
                ("following", true, "User"),
            ],
        ),
        "Post" => (
            &["id", "title", "body", "published", "cursor", "createdAt"],
            &[
                ("author", false, "User"),
                ("comments", true, "Comment"),
                ("tags", false, "Tag"),
            ],
        ),
        "Comment" => (
            &["id", "body", "createdAt"],
            &[("author", false, "User"), ("post", false, "Post")],
        ),
        _ => (&["id", "name"], &[("posts", true, "Post")]),
    }
}

/// A selection set on `ty`, `depth` levels deep at most, with random page sizes (some out
/// of range) and an occasional unknown field.
fn selection(ty: &'static str, depth: u32) -> BoxedStrategy<String> {
    let (scalars, relations) = schema_type(ty);
    let scalar = prop_oneof![
        9 => prop::sample::select(scalars).prop_map(str::to_string),
        1 => Just("nope".to_string()),
    ]
    .boxed();
    let field = if depth == 0 {
        scalar
    } else {
        let relation = (
            prop::sample::select(relations),
            -3_i64..120,
            selection_of(depth - 1),
        )
            .prop_map(|((name, paged, target), first, sub)| {
                let arg = if paged {
                    format!("(first: {first})")
                } else {
                    String::new()
                };
                let sub = sub(target);
                (format!("{name}{arg}"), sub)
            })
            .prop_flat_map(|(head, sub)| sub.prop_map(move |s| format!("{head} {{ {s} }}")));
        prop_oneof![2 => scalar, 1 => relation].boxed()
    };
    prop::collection::vec(field, 1..4)
        .prop_map(|f| f.join(" "))
        .boxed()
}

/// Defers choosing the target type until the relation is picked.
fn selection_of(
    depth: u32,
) -> impl Strategy<Value = fn(&'static str) -> BoxedStrategy<String>> + Clone {
    let pick: [fn(&'static str) -> BoxedStrategy<String>; 4] = [
        |t| selection(t, 0),
        |t| selection(t, 1),
        |t| selection(t, 2),
        |t| selection(t, 3),
    ];
    Just(pick[depth.min(3) as usize])
}

/// Syntactically valid queries over the schema's real fields with random arguments, so the
/// fuzzing reaches validation, the guards, the resolvers, the loader and the database.
fn well_formed_query() -> impl Strategy<Value = String> {
    const ROOTS: &[(&str, &str)] = &[
        ("user(id: \"1\")", "User"),
        ("user(id: \"999\")", "User"),
        ("users(first: 5)", "User"),
        ("post(id: \"2\")", "Post"),
        ("posts(first: 3)", "Post"),
        ("posts(tag: \"x\")", "Post"),
        ("tag(name: \"a\")", "Tag"),
        ("tags", "Tag"),
    ];
    prop::collection::vec(
        (prop::sample::select(ROOTS), prop::option::of("[a-z]{1,3}")).prop_flat_map(
            |((root, ty), alias)| {
                selection(ty, 3).prop_map(move |sel| {
                    let alias = alias.clone().map(|a| format!("{a}: ")).unwrap_or_default();
                    format!("{alias}{root} {{ {sel} }}")
                })
            },
        ),
        1..4,
    )
    .prop_map(|fields| format!("{{ {} }}", fields.join(" ")))
}

fn request(body: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Fuzzed> {
    let auth = prop_oneof![2 => Just(Auth::None), 2 => Just(Auth::Valid), 1 => Just(Auth::Broken)];
    (headers(), auth, body).prop_map(|((get, content_type, accept), auth, body)| Fuzzed {
        get,
        content_type,
        accept,
        auth,
        body,
    })
}

/// The router and a valid bearer token for user 1.
async fn app(dir: &std::path::Path) -> (Router, String) {
    let settings = Settings::for_database(test_support::sqlite_url(dir));
    let db = database::connect(&settings).await.unwrap();
    database::migrate(&db).await.unwrap();
    seed::run(&db, seed::SeedPlan::small(42), false)
        .await
        .unwrap();
    let state = startup::app_state(settings, db).unwrap();
    let token = state
        .auth
        .mint(1, std::time::Duration::from_secs(3_600))
        .unwrap();
    (server::router(state), token)
}

/// Percent-encodes everything but unreserved characters.
fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (*b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Checks one response; returns its status and whether it carried `data`.
async fn check(router: &Router, token: &str, input: Fuzzed) -> Result<(u16, bool), String> {
    let mut builder = if input.get {
        Request::get(format!("/graphql?query={}", percent_encode(&input.body)))
    } else {
        Request::post("/graphql")
    };
    if let Some(ct) = input.content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    if let Some(accept) = input.accept {
        builder = builder.header(header::ACCEPT, accept);
    }
    match input.auth {
        Auth::None => {}
        Auth::Valid => builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Auth::Broken => builder = builder.header(header::AUTHORIZATION, "Bearer x.y.z"),
    }
    let body = if input.get {
        Body::empty()
    } else {
        Body::from(input.body.clone())
    };
    let response = router
        .clone()
        .oneshot(builder.body(body).unwrap())
        .await
        .map_err(|e| format!("router error: {e}"))?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| format!("unreadable body: {e}"))?;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    let allowed = [
        StatusCode::OK,
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::METHOD_NOT_ALLOWED,
        StatusCode::NOT_ACCEPTABLE,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    ];
    if !allowed.contains(&status) {
        return Err(format!("status {status} (a 500 is a caught panic): {text}"));
    }
    let json: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("body is not JSON ({e}): {text}"))?;
    let object = json
        .as_object()
        .ok_or(format!("body is not an object: {text}"))?;
    if !object.contains_key("data") && !object.contains_key("errors") {
        return Err(format!("neither data nor errors: {text}"));
    }
    if let Some(errors) = object.get("errors") {
        let errors = errors
            .as_array()
            .ok_or(format!("errors is not a list: {text}"))?;
        if errors.is_empty() {
            return Err(format!("empty errors list: {text}"));
        }
        if !errors.iter().all(|e| e["message"].as_str().is_some()) {
            return Err(format!("an error without a message: {text}"));
        }
    }
    if status.is_client_error()
        && input.accept == Some("application/graphql-response+json")
        && object.contains_key("data")
    {
        return Err(format!("a {status} response with data: {text}"));
    }
    Ok((
        status.as_u16(),
        object.get("data").is_some_and(|d| !d.is_null()),
    ))
}

fn fuzz(default_cases: u32, strategy: impl Strategy<Value = Fuzzed>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (router, token) = runtime.block_on(app(dir.path()));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let seen = std::sync::Mutex::new(std::collections::BTreeMap::<String, usize>::new());
    let result = runner.run(&strategy, |input| {
        let (status, data) = runtime
            .block_on(check(&router, &token, input))
            .map_err(TestCaseError::fail)?;
        let key = format!("{status}{}", if data { "+data" } else { "" });
        *seen.lock().unwrap().entry(key).or_insert(0) += 1;
        Ok(())
    });
    println!(
        "[fuzz] {cases} cases in {:.1} s; responses (status, +data when data was returned): {:?}",
        started.elapsed().as_secs_f64(),
        seen.lock().unwrap()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_bytes_get_a_well_formed_response() {
    fuzz(512, request(prop::collection::vec(any::<u8>(), 0..2_048)));
}

#[test]
fn random_json_gets_a_well_formed_response() {
    fuzz(
        512,
        request(json_value().prop_map(|v| v.to_string().into_bytes())),
    );
}

#[test]
fn random_graphql_ish_queries_get_a_well_formed_response() {
    let body = (graphqlish(), prop::option::of(json_value())).prop_map(|(query, variables)| {
        json!({ "query": query, "variables": variables })
            .to_string()
            .into_bytes()
    });
    fuzz(1_024, request(body));
}

#[test]
fn random_well_formed_queries_get_a_well_formed_response() {
    let body =
        well_formed_query().prop_map(|query| json!({ "query": query }).to_string().into_bytes());
    fuzz(512, request(body));
}
