//! A trace as Jaeger's HTTP query API returns it (`GET /api/traces/{id}`, the JSON the UI
//! reads), resolved into spans that carry their service name and typed references.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// How a span refers to another: Jaeger's name for an OpenTelemetry parent (`CHILD_OF`) and
/// for an OpenTelemetry span link (`FOLLOWS_FROM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    /// The parent span.
    ChildOf,
    /// A span link.
    FollowsFrom,
}

/// One reference of a span to another, possibly in another trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `CHILD_OF` or `FOLLOWS_FROM`.
    pub ref_type: RefType,
    /// The trace of the span referred to, as Jaeger writes it (see [`same_trace_id`]).
    pub trace_id: String,
    /// The span referred to (16 hex digits).
    pub span_id: String,
}

/// One span of a [`JaegerTrace`].
#[derive(Debug, Clone, PartialEq)]
pub struct JaegerSpan {
    /// The trace, as Jaeger writes it (see [`same_trace_id`]).
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// The span name.
    pub operation_name: String,
    /// Parent and links.
    pub references: Vec<Reference>,
    /// Attributes and the OTLP extras Jaeger adds (`span.kind`, `otel.status_code`, ...),
    /// with their JSON values (strings, numbers, booleans).
    pub tags: HashMap<String, Value>,
    /// The `serviceName` of the span's process.
    pub service_name: String,
    /// Start, microseconds since the epoch.
    pub start_time_us: u64,
    /// Duration in microseconds.
    pub duration_us: u64,
}

impl JaegerSpan {
    /// A tag as text: strings as they are, numbers and booleans in JSON form.
    pub fn tag(&self, key: &str) -> Option<String> {
        self.tags.get(key).map(|value| match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// The span id of the `CHILD_OF` reference, if any.
    pub fn parent_span_id(&self) -> Option<&str> {
        self.references
            .iter()
            .find(|r| r.ref_type == RefType::ChildOf)
            .map(|r| r.span_id.as_str())
    }

    /// `(trace id, span id)` of every `FOLLOWS_FROM` reference (the span's links).
    pub fn follows_from(&self) -> impl Iterator<Item = (&str, &str)> {
        self.references
            .iter()
            .filter(|r| r.ref_type == RefType::FollowsFrom)
            .map(|r| (r.trace_id.as_str(), r.span_id.as_str()))
    }
}

/// One trace of the query API's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JaegerTrace {
    /// As Jaeger writes it (see [`same_trace_id`]).
    pub trace_id: String,
    /// Every span Jaeger holds for the trace.
    pub spans: Vec<JaegerSpan>,
    /// Jaeger's own remarks on the trace (e.g. a parent it does not have).
    pub warnings: Vec<String>,
}

impl JaegerTrace {
    /// Parses the body of `GET /api/traces/{id}` (or `GET /api/traces?service=...`):
    /// `{"data": [trace...], "errors": ...}`.
    pub fn parse_response(body: &[u8]) -> Result<Vec<JaegerTrace>, String> {
        let response: RawResponse =
            serde_json::from_slice(body).map_err(|e| format!("not the query API's JSON: {e}"))?;
        if let Some(errors) = response.errors.filter(|e| !e.is_empty()) {
            return Err(format!("the query API reports errors: {errors:?}"));
        }
        response
            .data
            .unwrap_or_default()
            .into_iter()
            .map(JaegerTrace::resolve)
            .collect()
    }

    fn resolve(raw: RawTrace) -> Result<JaegerTrace, String> {
        let spans = raw
            .spans
            .into_iter()
            .map(|span| {
                let service_name = raw
                    .processes
                    .get(&span.process_id)
                    .map(|p| p.service_name.clone())
                    .ok_or_else(|| {
                        format!(
                            "span {} names process {:?}, which the trace lacks",
                            span.span_id, span.process_id
                        )
                    })?;
                let references = span
                    .references
                    .into_iter()
                    .map(|r| {
                        let ref_type = match r.ref_type.as_str() {
                            "CHILD_OF" => RefType::ChildOf,
                            "FOLLOWS_FROM" => RefType::FollowsFrom,
                            other => return Err(format!("unknown refType {other:?}")),
                        };
                        Ok(Reference {
                            ref_type,
                            trace_id: r.trace_id,
                            span_id: r.span_id,
                        })
                    })
                    .collect::<Result<_, String>>()?;
                Ok(JaegerSpan {
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    operation_name: span.operation_name,
                    references,
                    tags: span.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                    service_name,
                    start_time_us: span.start_time,
                    duration_us: span.duration,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(JaegerTrace {
            trace_id: raw.trace_id,
            spans,
            warnings: raw.warnings.unwrap_or_default(),
        })
    }

    /// The spans named `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a JaegerSpan> + 'a {
        self.spans.iter().filter(move |s| s.operation_name == name)
    }

    /// The span with this id.
    pub fn span(&self, span_id: &str) -> Option<&JaegerSpan> {
        self.spans.iter().find(|s| s.span_id == span_id)
    }
}

/// Whether two hex trace ids name the same trace. Jaeger's JSON drops leading zeros
/// (`0af7…` comes back as `af7…`), so compare the numbers, not the text.
pub fn same_trace_id(a: &str, b: &str) -> bool {
    match (u128::from_str_radix(a, 16), u128::from_str_radix(b, 16)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[derive(Deserialize)]
struct RawResponse {
    data: Option<Vec<RawTrace>>,
    errors: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrace {
    #[serde(rename = "traceID")]
    trace_id: String,
    spans: Vec<RawSpan>,
    processes: HashMap<String, RawProcess>,
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpan {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
    operation_name: String,
    #[serde(default)]
    references: Vec<RawReference>,
    start_time: u64,
    duration: u64,
    #[serde(default)]
    tags: Vec<RawTag>,
    #[serde(rename = "processID")]
    process_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReference {
    ref_type: String,
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize)]
struct RawTag {
    key: String,
    value: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProcess {
    service_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"data":[{"traceID":"af7651916cd43dd8448eb211c80319c","spans":[
        {"traceID":"af7651916cd43dd8448eb211c80319c","spanID":"00f067aa0ba902b7","operationName":"loader.batch",
         "references":[{"refType":"CHILD_OF","traceID":"af7651916cd43dd8448eb211c80319c","spanID":"b7ad6b7169203331"},
                       {"refType":"FOLLOWS_FROM","traceID":"af7651916cd43dd8448eb211c80319c","spanID":"53995c3f42cd8ad8"}],
         "startTime":1700000000000000,"duration":1500,
         "tags":[{"key":"batch_size","type":"int64","value":3},{"key":"group","type":"string","value":"posts.by_author"}],
         "logs":[],"processID":"p1","warnings":null}],
        "processes":{"p1":{"serviceName":"adaptive-graphql","tags":[]}},"warnings":null}],
        "total":0,"limit":0,"offset":0,"errors":null}"#;

    #[test]
    fn parses_references_tags_and_the_service_of_the_process() {
        let traces = JaegerTrace::parse_response(BODY.as_bytes()).unwrap();
        assert_eq!(traces.len(), 1);
        let span = &traces[0].spans[0];
        assert_eq!(span.service_name, "adaptive-graphql");
        assert_eq!(span.parent_span_id(), Some("b7ad6b7169203331"));
        assert_eq!(
            span.follows_from().collect::<Vec<_>>(),
            [("af7651916cd43dd8448eb211c80319c", "53995c3f42cd8ad8")]
        );
        assert_eq!(span.tag("batch_size").as_deref(), Some("3"));
        assert_eq!(span.tag("group").as_deref(), Some("posts.by_author"));
        assert_eq!(traces[0].named("loader.batch").count(), 1);
    }

    #[test]
    fn errors_in_the_answer_are_errors() {
        let body = r#"{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}"#;
        let err = JaegerTrace::parse_response(body.as_bytes()).unwrap_err();
        assert!(err.contains("trace not found"), "{err}");
    }

    #[test]
    fn trace_ids_compare_as_numbers() {
        assert!(same_trace_id(
            "0af7651916cd43dd8448eb211c80319c",
            "af7651916cd43dd8448eb211c80319c"
        ));
        assert!(!same_trace_id(
            "0af7651916cd43dd8448eb211c80319c",
            "0af7651916cd43dd8448eb211c80319d"
        ));
        assert!(!same_trace_id("xyz", "xyz"));
    }
}
