use http::HeaderMap;
use opentelemetry::{Context, propagation::Extractor, trace::TraceContextExt};

/// Reads propagation headers (`traceparent`, `tracestate`) from an HTTP header map.
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The caller's span context carried by `headers`, through the global propagator (W3C
/// TraceContext once [`init`](super::init) ran); `None` when there is none or it is invalid.
pub fn remote_parent(headers: &HeaderMap) -> Option<Context> {
    let cx =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    cx.span().span_context().is_valid().then_some(cx)
}
