//! `TestApp`: a router on a fresh, seeded SQLite database, and request helpers. Tokens
//! come from the app's own authenticator (a random secret of the test's settings).

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode, header},
};
use serde_json::Value;
use server::{
    AppState,
    config::Settings,
    database,
    seed::{self, SeedPlan},
    startup,
};
use tempfile::TempDir;
use tower::ServiceExt as _;

/// The seed of the data every in-process test starts from.
pub const SEED: u64 = 42;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    _dir: TempDir,
}

/// A response: status, headers, body text.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `extensions.code` of every error.
    pub fn error_codes(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn test_app() -> TestApp {
    test_app_with(|_| {}).await
}

pub async fn test_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    configure(&mut settings);
    let db = database::connect(&settings)
        .await
        .expect("the database opens");
    database::migrate(&db).await.expect("migrations apply");
    seed::run(&db, SeedPlan::small(SEED), false)
        .await
        .expect("seeding works");
    let state = startup::app_state(settings, db).expect("valid settings");
    TestApp {
        router: server::router(state.clone()),
        state,
        _dir: dir,
    }
}

impl TestApp {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body is readable");
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A bearer token for `user`, valid for an hour.
    pub fn token(&self, user: i64) -> String {
        self.state
            .auth
            .mint(user, Duration::from_secs(3_600))
            .expect("the test settings carry a secret")
    }

    /// `POST /graphql` with a raw body and optional `Accept`.
    pub async fn post_raw(&self, body: impl Into<Body>, accept: Option<&str>) -> Reply {
        self.post_raw_with(body, accept, None).await
    }

    /// `POST /graphql` with a raw body, optional `Accept` and optional `Authorization`.
    pub async fn post_raw_with(
        &self,
        body: impl Into<Body>,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Reply {
        let mut request =
            Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    /// `POST /graphql` of `{query, variables}` with `Accept: application/graphql-response+json`,
    /// anonymous.
    pub async fn graphql(&self, query: &str, variables: Value) -> Reply {
        self.graphql_auth(None, query, variables).await
    }

    /// As [`graphql`](Self::graphql), as `user`.
    pub async fn graphql_as(&self, user: i64, query: &str, variables: Value) -> Reply {
        let authorization = format!("Bearer {}", self.token(user));
        self.graphql_auth(Some(&authorization), query, variables)
            .await
    }

    /// As [`graphql`](Self::graphql), with this `Authorization` header value.
    pub async fn graphql_auth(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Reply {
        let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
        self.post_raw_with(
            body,
            Some("application/graphql-response+json"),
            authorization,
        )
        .await
    }

    /// Runs a query that must succeed, anonymous; returns `data`.
    pub async fn data(&self, query: &str) -> Value {
        Self::data_of(self.graphql(query, Value::Null).await)
    }

    /// Runs a request that must succeed, as `user`; returns `data`.
    pub async fn data_as(&self, user: i64, query: &str) -> Value {
        Self::data_of(self.graphql_as(user, query, Value::Null).await)
    }

    fn data_of(reply: Reply) -> Value {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let json = reply.json();
        assert!(
            json.get("errors").is_none(),
            "unexpected errors: {}",
            reply.text
        );
        json["data"].clone()
    }

    pub async fn get(&self, uri: &str, accept: Option<&str>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }
}
