use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::extract::MatchedPath;
use http::{Request, Response};
use tower::{Layer, Service};
use tracing::{Instrument, Span, field::Empty, instrument::Instrumented};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::remote_parent;

/// A tower layer that runs every request inside an `http.request` span.
///
/// The span follows OpenTelemetry's HTTP server conventions: `otel.kind = "server"`,
/// `http.request.method`, `url.path`, `http.route` (axum's matched route, when the layer is
/// added with `Router::layer`), `user_agent.original`, and on completion
/// `http.response.status_code` (plus `otel.status_code = "ERROR"` for 5xx). When the request
/// carries a valid W3C `traceparent`, the span continues that trace.
///
/// ```
/// use axum::{Router, routing::get};
/// use observability::telemetry::HttpTraceLayer;
///
/// let app: Router = Router::new()
///     .route("/healthz", get(|| async { "ok" }))
///     .layer(HttpTraceLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpTraceLayer {
    _private: (),
}

impl HttpTraceLayer {
    /// A layer with the span described above.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for HttpTraceLayer {
    type Service = HttpTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpTrace { inner }
    }
}

/// The service made by [`HttpTraceLayer`].
#[derive(Debug, Clone)]
pub struct HttpTrace<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for HttpTrace<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = HttpTraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let span = request_span(&req);
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        HttpTraceFuture {
            inner: future.instrument(span.clone()),
            span,
        }
    }
}

fn request_span<B>(req: &Request<B>) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let span = tracing::info_span!(
        "http.request",
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = req.uri().path(),
        url.query = req.uri().query(),
        http.route = route,
        network.protocol.version = ?req.version(),
        user_agent.original = user_agent,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    );
    if let Some(parent) = remote_parent(req.headers()) {
        // Fails only when no OpenTelemetry layer is installed: nothing to continue then.
        let _ = span.set_parent(parent);
    }
    span
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpTrace`]: records the status code on the span.
    pub struct HttpTraceFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        span: Span,
    }
}

impl<F, ResBody, E> Future for HttpTraceFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        match &result {
            Ok(response) => {
                let status = response.status();
                this.span
                    .record("http.response.status_code", status.as_u16());
                if status.is_server_error() {
                    this.span.record("otel.status_code", "ERROR");
                }
            }
            Err(_) => {
                this.span.record("otel.status_code", "ERROR");
            }
        }
        Poll::Ready(result)
    }
}
