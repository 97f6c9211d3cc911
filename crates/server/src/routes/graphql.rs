//! `POST /graphql` and `GET /graphql`, following the GraphQL-over-HTTP conventions.
//!
//! - Requests: `POST` with `Content-Type: application/json` (`{query, operationName,
//!   variables, extensions}`); `GET` with the same fields in the query string, for queries
//!   only (a mutation over `GET` is `405`). `GET` without a query from a browser serves the
//!   GraphiQL page (`graphiql.rs`).
//! - Responses: `application/graphql-response+json` when the client accepts it, otherwise
//!   `application/json`. With the former, a request that fails before execution (bad JSON,
//!   parse or validation error, too deep or too complex) is `400` and has no `data`; with
//!   the latter such responses are `200`, as legacy clients expect. Field errors are `200`.
//! - Errors are always the GraphQL JSON shape with `extensions.code`. An `OVERLOADED` error
//!   adds a `Retry-After` header. Messages quote at most a short prefix of the input
//!   ([`crate::echo`]).
//! - Identity: an `Authorization: Bearer <JWT>` header is verified before anything runs
//!   ([`crate::auth`]); a bad one is `401` with `WWW-Authenticate` and code `INVALID_TOKEN`.
//!   A mutation without a token (any request, with `REQUIRE_AUTH`) is `401` with code
//!   `UNAUTHENTICATED`. The verified caller goes into the request's data as a [`Caller`].

use std::{collections::BTreeMap, time::Duration};

use async_graphql::{
    Name, ServerError, Value, Variables,
    parser::types::{DocumentOperations, OperationDefinition, OperationType},
};
use axum::{
    body::Bytes,
    extract::{RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use tokio::time::Instant;

use super::refusals::REFUSALS;
use crate::{
    auth::{Caller, TokenError},
    echo::{bound_message, quote},
    error::AppError,
    graphql::{LoaderBackend, Loaders},
    state::AppState,
};

/// The media type the client gets back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMedia {
    /// `application/graphql-response+json`: status codes carry meaning.
    GraphqlResponse,
    /// `application/json`: always `200` for well-formed requests.
    Json,
}

impl ResponseMedia {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            ResponseMedia::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            ResponseMedia::Json => "application/json; charset=utf-8",
        })
    }

    /// Picks the response type from the `Accept` header; `None` when nothing acceptable is
    /// offered. No header means `application/json`.
    pub fn negotiate(headers: &HeaderMap) -> Option<ResponseMedia> {
        let accept: Vec<&str> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        if accept.iter().all(|v| v.trim().is_empty()) {
            return Some(ResponseMedia::Json);
        }
        accept.iter().find_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next()?.to_ascii_lowercase();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            if refused {
                return None;
            }
            match media.as_str() {
                "application/graphql-response+json" => Some(ResponseMedia::GraphqlResponse),
                "application/json" | "application/*" | "*/*" => Some(ResponseMedia::Json),
                _ => None,
            }
        })
    }
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = ResponseMedia::negotiate(&headers) else {
        return not_acceptable();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "PAYLOAD_TOO_LARGE"
            } else {
                "BAD_REQUEST"
            };
            return error_response(status, media, code, &rejection.body_text());
        }
    };
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let content_type = content_type.to_str().unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "UNSUPPORTED_MEDIA_TYPE",
                &format!(
                    "unsupported Content-Type {}; send application/json",
                    quote(content_type)
                ),
            );
        }
    }
    let request = match parse_body(&body) {
        Ok(request) => request,
        Err(message) => {
            return error_response(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", &message);
        }
    };
    execute(state, &headers, request, media, false).await
}

/// `GET /graphql`: a query in the query string, or the GraphiQL page.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let has_query = query.split('&').any(|p| p.starts_with("query="));
    if !has_query && wants_html && !state.settings.limits.disable_graphiql {
        return super::graphiql::page().into_response();
    }
    let Some(media) = ResponseMedia::negotiate(&headers) else {
        return not_acceptable();
    };
    if !has_query {
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            "BAD_REQUEST",
            "missing `query` parameter",
        );
    }
    match async_graphql::http::parse_query_string(&query) {
        Ok(request) => execute(state, &headers, request, media, true).await,
        Err(err) => error_response(
            StatusCode::BAD_REQUEST,
            media,
            "BAD_REQUEST",
            &format!("invalid query string: {err}"),
        ),
    }
}

fn parse_body(body: &[u8]) -> Result<async_graphql::Request, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err("the request body is empty; send {\"query\": \"...\"}".into()),
        Some(b'[') => return Err("batched requests (a JSON array) are not supported".into()),
        Some(b'{') => {}
        Some(_) => return Err("the request body must be a JSON object".into()),
    }
    let request: async_graphql::Request = serde_json::from_slice(body)
        .map_err(|err| format!("the request body is not a valid GraphQL request: {err}"))?;
    if request.query.trim().is_empty() {
        return Err("the request has no `query`".into());
    }
    Ok(request)
}

async fn execute(
    state: AppState,
    headers: &HeaderMap,
    mut request: async_graphql::Request,
    media: ResponseMedia,
    is_get: bool,
) -> Response {
    // Admission at the door: under overload a new request is refused before it costs a
    // parse, a root query or a first level. Once admitted it is served whole: its loads are
    // never refused.
    let admitted = match &state.loaders {
        LoaderBackend::Engine(engine) => match engine.admit_request().await {
            Ok(scope) => Some(scope),
            Err(err) => {
                let err = AppError::from(err);
                REFUSALS.note(&err);
                return overloaded(media, &err);
            }
        },
        _ => None,
    };
    // Then who is asking: a bad token ends the request here, whatever it asks for.
    let caller = match state.auth.authenticate(headers) {
        Ok(caller) => caller,
        Err(err) => return unauthorized(media, &err),
    };
    if caller == Caller::Anonymous && state.auth.requires_auth() {
        return unauthorized(media, &TokenError::request_needs_token());
    }
    // Then parse: a parse failure is a request error with its own code, and `GET` must
    // not run mutations.
    let operation_name = request.operation_name.clone();
    let variables = request.variables.clone();
    let operation = match request.parsed_query() {
        Ok(doc) => {
            let selected = selected_operation(&doc.operations, operation_name.as_deref());
            if let Some(missing) = selected.and_then(|op| missing_variable(op, &variables)) {
                return render(
                    async_graphql::Response::from_errors(vec![ServerError::new(missing, None)]),
                    media,
                    Some("GRAPHQL_VALIDATION_FAILED"),
                );
            }
            selected.map(|op| op.ty)
        }
        Err(err) => {
            return render(
                async_graphql::Response::from_errors(vec![err]),
                media,
                Some("GRAPHQL_PARSE_FAILED"),
            );
        }
    };
    if is_get && operation.is_some_and(|op| op != OperationType::Query) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "METHOD_NOT_ALLOWED",
            "only queries may be sent with GET; send mutations with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return response;
    }
    if caller == Caller::Anonymous && operation == Some(OperationType::Mutation) {
        return unauthorized(media, &TokenError::mutation_needs_token());
    }
    if state.settings.limits.disable_introspection {
        request = request.disable_introspection();
    }

    let timeout = state.settings.limits.request_timeout();
    let deadline = Instant::now() + timeout;
    // Loads give up a little before the request does, so that the request ends with its
    // own answer (a whole `TIMEOUT`, see `render`) rather than being cut mid-write.
    let load_deadline = deadline - (timeout / 10).min(Duration::from_millis(100));
    let mut loaders = Loaders::new(&state.loaders, &state.db, load_deadline);
    if let Some(scope) = admitted {
        loaders = loaders.in_request(scope);
    }
    // The engine sees when the request has registered a level's keys (one statement per
    // level, `loader_core::RequestScope::track`).
    let scope = loaders.request_scope().cloned();
    let request = request.data(loaders).data(caller);
    let executed = state.schema.execute(request);
    let executed = match &scope {
        Some(scope) => futures::future::Either::Left(scope.track(executed)),
        None => futures::future::Either::Right(executed),
    };
    match tokio::time::timeout_at(deadline, executed).await {
        Ok(response) => render(response, media, Some("GRAPHQL_VALIDATION_FAILED")),
        Err(_) => timed_out(media, timeout),
    }
}

/// `504` with a `TIMEOUT` error and no data: the request did not finish in time.
fn timed_out(media: ResponseMedia, timeout: Duration) -> Response {
    error_response(
        StatusCode::GATEWAY_TIMEOUT,
        media,
        "TIMEOUT",
        &format!("the request took longer than {} ms", timeout.as_millis()),
    )
}

/// A response is whole or refused: one whose fields failed for load (`OVERLOADED`) or time
/// (`TIMEOUT`) is answered as a whole refusal (`503`) or timeout (`504`), without the data
/// that did load, so a client never takes data with holes for an answer. Such field errors
/// do not come from the engine (an admitted request's loads are never refused, and wait
/// until the request's deadline); this holds whatever produced them.
fn whole_failure(response: &async_graphql::Response, media: ResponseMedia) -> Option<Response> {
    let code = |e: &ServerError| match e.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(Value::String(c)) => Some(c.clone()),
        _ => None,
    };
    let field_errors = || response.errors.iter().filter(|e| !e.path.is_empty());
    if let Some(retry) = retry_after(&response.errors) {
        let message = field_errors()
            .find(|e| code(e).as_deref() == Some("OVERLOADED"))
            .map_or("the server is overloaded", |e| e.message.as_str());
        return Some(overloaded_response(media, message, retry));
    }
    field_errors()
        .any(|e| code(e).as_deref() == Some("TIMEOUT"))
        .then(|| {
            error_response(
                StatusCode::GATEWAY_TIMEOUT,
                media,
                "TIMEOUT",
                "the request did not finish before its deadline",
            )
        })
}

fn selected_operation<'a>(
    ops: &'a DocumentOperations,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match ops {
        DocumentOperations::Single(op) => Some(&op.node),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, op)| &op.node),
            None if ops.len() == 1 => ops.values().next().map(|op| &op.node),
            None => None,
        },
    }
}

/// A request error when the operation declares a non-null variable without a default that
/// the request does not provide (async-graphql would only notice it while executing the
/// field, as a 200 with a field error).
fn missing_variable(op: &OperationDefinition, variables: &Variables) -> Option<String> {
    op.variable_definitions.iter().find_map(|def| {
        let def = &def.node;
        let name = def.name.node.as_str();
        let provided = variables
            .get(&Name::new(name))
            .is_some_and(|v| !matches!(v, Value::Null));
        (!def.var_type.node.nullable && def.default_value.is_none() && !provided).then(|| {
            format!(
                "variable `${name}` of type `{}` is required but was not provided",
                def.var_type.node
            )
        })
    })
}

/// Turns an executed response into HTTP. `request_error_code` labels errors of a response
/// that failed before execution.
fn render(
    mut response: async_graphql::Response,
    media: ResponseMedia,
    request_error_code: Option<&str>,
) -> Response {
    if let Some(whole) = whole_failure(&response, media) {
        return whole;
    }
    let request_error = response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if request_error && let Some(code) = request_error_code {
        for error in &mut response.errors {
            label(error, code);
        }
    }
    // Parser and validation messages may quote a variable whole.
    for error in &mut response.errors {
        if let std::borrow::Cow::Owned(bounded) = bound_message(&error.message) {
            error.message = bounded;
        }
    }
    let body = Body {
        data: (!request_error).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    // Serialised straight from async-graphql's values: fields stay in selection order.
    let body = serde_json::to_string(&body).unwrap_or_else(|err| {
        tracing::error!(error = %err, "cannot serialise a GraphQL response");
        r#"{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL"}}]}"#
            .to_string()
    });
    let status = if request_error && media == ResponseMedia::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut http = (status, body).into_response();
    http.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    http
}

fn label(error: &mut ServerError, code: &str) {
    let ext = error.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
}

/// The longest `retryAfterMs` of the `OVERLOADED` errors, if any.
fn retry_after(errors: &[ServerError]) -> Option<Duration> {
    errors
        .iter()
        .filter_map(|e| e.extensions.as_ref())
        .filter(|ext| matches!(ext.get("code"), Some(Value::String(c)) if c == "OVERLOADED"))
        .filter_map(|ext| match ext.get("retryAfterMs") {
            Some(Value::Number(n)) => n.as_u64().map(Duration::from_millis),
            _ => None,
        })
        .max()
}

/// The response body: `data` absent on request errors, empty parts left out.
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

/// A request that failed before GraphQL saw it, in the GraphQL error shape.
pub fn error_response(
    status: StatusCode,
    media: ResponseMedia,
    code: &str,
    message: &str,
) -> Response {
    let body = json!({ "errors": [{
        "message": bound_message(message),
        "extensions": { "code": code },
    }] });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// `401 Unauthorized` with a `WWW-Authenticate: Bearer` challenge: the credentials were
/// refused, or a token is needed and none was sent. Nothing of the request ran.
fn unauthorized(media: ResponseMedia, error: &TokenError) -> Response {
    let body = json!({ "errors": [{
        "message": error.to_string(),
        "extensions": { "code": error.code(), "reason": error.reason() },
    }] });
    let mut response = (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    if let Ok(challenge) = HeaderValue::from_str(&error.challenge()) {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// `503 Service Unavailable` with `Retry-After`: the engine refused the request before it
/// ran; nothing was read or written.
fn overloaded(media: ResponseMedia, error: &AppError) -> Response {
    let retry = match error {
        AppError::Overloaded { retry_after, .. } => *retry_after,
        _ => Duration::from_secs(1),
    };
    overloaded_response(media, &error.to_string(), retry)
}

/// `503` with one `OVERLOADED` error, its `retryAfterMs` and a `Retry-After` header.
fn overloaded_response(media: ResponseMedia, message: &str, retry: Duration) -> Response {
    let body = json!({ "errors": [{
        "message": message,
        "extensions": { "code": "OVERLOADED", "retryAfterMs": retry.as_millis() as u64 },
    }] });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    let secs = retry.as_millis().div_ceil(1000).max(1);
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    response
}

fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        ResponseMedia::Json,
        "NOT_ACCEPTABLE",
        "the Accept header allows neither application/graphql-response+json nor application/json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn no_accept_header_means_json() {
        assert_eq!(
            ResponseMedia::negotiate(&HeaderMap::new()),
            Some(ResponseMedia::Json)
        );
    }

    #[test]
    fn graphql_response_json_is_preferred_when_listed_first() {
        let headers = accept("application/graphql-response+json, application/json;q=0.9");
        assert_eq!(
            ResponseMedia::negotiate(&headers),
            Some(ResponseMedia::GraphqlResponse)
        );
    }

    #[test]
    fn unacceptable_accept_header_is_refused() {
        assert_eq!(ResponseMedia::negotiate(&accept("text/html")), None);
        assert_eq!(
            ResponseMedia::negotiate(&accept("application/json;q=0")),
            None
        );
    }

    fn overloaded_error(retry_after_ms: u64) -> ServerError {
        let mut error = ServerError::new("the server is overloaded", None);
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("code", "OVERLOADED");
        ext.set("retryAfterMs", retry_after_ms);
        error.path = vec![async_graphql::PathSegment::Field("users".into())];
        error
    }

    #[tokio::test]
    async fn data_with_overloaded_field_errors_becomes_a_whole_503_with_retry_after() {
        let mut response = async_graphql::Response::new(
            Value::from_json(json!({"users": [{"name": "a"}]})).unwrap(),
        );
        response.errors = vec![overloaded_error(250), overloaded_error(1_500)];
        let http = render(response, ResponseMedia::GraphqlResponse, None);
        assert_eq!(http.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(http.headers()[header::RETRY_AFTER], "2");
        let body = axum::body::to_bytes(http.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(body.get("data").is_none(), "no partial data: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "OVERLOADED");
    }

    #[tokio::test]
    async fn data_with_a_timed_out_field_becomes_a_whole_504() {
        let mut response = async_graphql::Response::new(
            Value::from_json(json!({"users": [{"name": "a"}]})).unwrap(),
        );
        let mut error = ServerError::new("the request timed out", None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "TIMEOUT");
        error.path = vec![async_graphql::PathSegment::Field("users".into())];
        response.errors = vec![error];
        let http = render(response, ResponseMedia::Json, None);
        assert_eq!(http.status(), StatusCode::GATEWAY_TIMEOUT);
        let body = axum::body::to_bytes(http.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(body.get("data").is_none(), "no partial data: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT");
    }

    #[test]
    fn other_field_errors_keep_their_data() {
        let mut response =
            async_graphql::Response::new(Value::from_json(json!({"user": null})).unwrap());
        let mut error = ServerError::new("user 9 does not exist", None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "NOT_FOUND");
        error.path = vec![async_graphql::PathSegment::Field("user".into())];
        response.errors = vec![error];
        let http = render(response, ResponseMedia::Json, None);
        assert_eq!(http.status(), StatusCode::OK);
    }

    #[test]
    fn response_without_overload_has_no_retry_after() {
        let http = render(
            async_graphql::Response::new(Value::Null),
            ResponseMedia::Json,
            None,
        );
        assert!(http.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn batched_body_is_refused_with_a_reason() {
        assert!(parse_body(b"[{}]").unwrap_err().contains("batched"));
        assert!(parse_body(b"").unwrap_err().contains("empty"));
        assert!(
            parse_body(b"{\"query\": 1}")
                .unwrap_err()
                .contains("not a valid")
        );
        assert!(
            parse_body(b"{\"variables\": {}}")
                .unwrap_err()
                .contains("no `query`")
        );
    }
}
