//! The span tree of one GraphQL request, checked the same way wherever the spans were read:
//! the in-process OTLP collector (`otel.rs`) or a real Jaeger's query API (`jaeger.rs`).
//!
//! [`TraceSpan`] is what both sources have in common; [`check`] asserts the tree from the
//! caller's `traceparent` down to SQL; [`shape`] draws it with alike siblings folded, as the
//! docs show it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};

use observability::test_collector::{ReceivedSpan, SpanKind};
use test_support::{JaegerSpan, same_trace_id};

/// One exported span, whichever backend it was read from.
pub trait TraceSpan {
    /// The span (operation) name.
    fn name(&self) -> &str;
    /// The trace id, 32 lowercase hex digits.
    fn trace_id(&self) -> String;
    /// The span id, 16 lowercase hex digits.
    fn span_id(&self) -> String;
    /// The parent's span id, `None` for a root.
    fn parent_span_id(&self) -> Option<String>;
    /// `server`, `client`, `internal`, ... (`None` when unset).
    fn kind(&self) -> Option<String>;
    /// An attribute as text (strings unquoted).
    fn attribute(&self, key: &str) -> Option<String>;
    /// `(trace id, span id)` of each link.
    fn links(&self) -> Vec<(String, String)>;
    /// Start, nanoseconds since the epoch (microsecond precision from Jaeger).
    fn start_ns(&self) -> u64;
}

impl TraceSpan for ReceivedSpan {
    fn name(&self) -> &str {
        ReceivedSpan::name(self)
    }
    fn trace_id(&self) -> String {
        ReceivedSpan::trace_id(self)
    }
    fn span_id(&self) -> String {
        ReceivedSpan::span_id(self)
    }
    fn parent_span_id(&self) -> Option<String> {
        ReceivedSpan::parent_span_id(self)
    }
    fn kind(&self) -> Option<String> {
        match ReceivedSpan::kind(self) {
            SpanKind::Unspecified => None,
            kind => Some(
                kind.as_str_name()
                    .trim_start_matches("SPAN_KIND_")
                    .to_lowercase(),
            ),
        }
    }
    fn attribute(&self, key: &str) -> Option<String> {
        ReceivedSpan::attribute(self, key)
    }
    fn links(&self) -> Vec<(String, String)> {
        ReceivedSpan::links(self)
    }
    fn start_ns(&self) -> u64 {
        self.span.start_time_unix_nano
    }
}

/// Jaeger writes trace ids without leading zeros: pad them back to 32 digits.
fn full_trace_id(id: &str) -> String {
    u128::from_str_radix(id, 16).map_or_else(|_| id.to_owned(), |n| format!("{n:032x}"))
}

impl TraceSpan for JaegerSpan {
    fn name(&self) -> &str {
        &self.operation_name
    }
    fn trace_id(&self) -> String {
        full_trace_id(&self.trace_id)
    }
    fn span_id(&self) -> String {
        self.span_id.clone()
    }
    fn parent_span_id(&self) -> Option<String> {
        JaegerSpan::parent_span_id(self).map(str::to_owned)
    }
    fn kind(&self) -> Option<String> {
        self.tag("span.kind")
    }
    fn attribute(&self, key: &str) -> Option<String> {
        self.tag(key)
    }
    fn links(&self) -> Vec<(String, String)> {
        self.follows_from()
            .map(|(trace, span)| (full_trace_id(trace), span.to_owned()))
            .collect()
    }
    fn start_ns(&self) -> u64 {
        self.start_time_us * 1000
    }
}

/// The spans named `name`.
pub fn named<'a, S: TraceSpan>(spans: &'a [S], name: &str) -> Vec<&'a S> {
    spans.iter().filter(|s| s.name() == name).collect()
}

/// Whether every layer of the tree has arrived: HTTP, GraphQL, loader and SQL.
pub fn has_every_layer<S: TraceSpan>(spans: &[S]) -> bool {
    [
        "http.request",
        "request",
        "execute",
        "field",
        "loader.batch",
        "db.query",
    ]
    .iter()
    .all(|name| !named(spans, name).is_empty())
}

/// What [`check`] expects of the request.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The trace id of the caller's `traceparent`.
    pub caller_trace: &'a str,
    /// The span id of the caller's `traceparent`: the parent of `http.request`.
    pub caller_span: &'a str,
    /// `db.system` of the SQL spans (`sqlite`, `postgresql`).
    pub db_system: &'a str,
    /// Relations (last path segment of a `field` span) whose every field span waits on a
    /// batch: no per-request cache can answer them (e.g. `posts` of distinct users).
    pub always_batched: &'a [&'a str],
}

/// Figures of a checked request tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Every span of the trace.
    pub spans: usize,
    /// `field` spans.
    pub fields: usize,
    /// `loader.batch` spans.
    pub batches: usize,
    /// `db.query` spans.
    pub queries: usize,
    /// Field spans some batch is the child of or links to.
    pub linked_fields: usize,
    /// Batches per group.
    pub groups: BTreeMap<String, usize>,
}

/// Asserts the span tree of one GraphQL request, `spans` being every span of its trace:
///
/// - one trace: every span carries the caller's trace id;
/// - `http.request` (kind server, POST /graphql, 200) is the child of the caller's span;
///   `request` its child; `parse`, `validation`, `execute` children of `request`; `field`
///   spans under `execute`, each under `execute` or another field;
/// - every `loader.batch` is the child of the field span that opened it and links to every
///   other field span that waited on it: parent and links are one per key request
///   (`keys_requested`), each a field span of this trace; every field of an
///   [`Expected::always_batched`] relation is reached;
/// - each batch carries its group, size (`batch_size` + `keys_deduplicated` =
///   `keys_requested`), `queue_wait_ms`, the `limit` and `in_flight` at the time, and
///   `outcome=success`;
/// - every `db.query` (kind client) is the child of a batch and carries `db.system`,
///   `db.operation=SELECT`, the batch's `group` and a parameter-free `db.statement`; every
///   batch ran at least one.
pub fn check<S: TraceSpan>(spans: &[S], expected: &Expected<'_>) -> Checked {
    let by_id: HashMap<String, &S> = spans.iter().map(|s| (s.span_id(), s)).collect();
    assert_eq!(by_id.len(), spans.len(), "span ids are unique");
    for span in spans {
        assert!(
            same_trace_id(&span.trace_id(), expected.caller_trace),
            "{} is in trace {}, not the caller's {}",
            span.name(),
            span.trace_id(),
            expected.caller_trace
        );
    }
    let parent_name = |span: &S| {
        span.parent_span_id()
            .and_then(|p| by_id.get(&p).map(|p| p.name().to_owned()))
    };

    // HTTP and GraphQL operation spans.
    let http = one(spans, "http.request");
    assert_eq!(
        http.parent_span_id().as_deref(),
        Some(expected.caller_span),
        "http.request continues the caller's span"
    );
    assert_eq!(http.kind().as_deref(), Some("server"));
    assert_eq!(
        http.attribute("http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(http.attribute("http.route").as_deref(), Some("/graphql"));
    assert_eq!(
        http.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    let request = one(spans, "request");
    assert_eq!(request.parent_span_id(), Some(http.span_id()));
    for name in ["parse", "validation", "execute"] {
        let span = one(spans, name);
        assert_eq!(
            span.parent_span_id(),
            Some(request.span_id()),
            "{name} hangs under request"
        );
    }
    let fields = named(spans, "field");
    assert!(!fields.is_empty(), "no field spans");
    for field in &fields {
        let parent = parent_name(field);
        assert!(
            matches!(parent.as_deref(), Some("execute" | "field")),
            "field {:?} hangs under {parent:?}",
            field.attribute("path")
        );
    }
    let field_ids: HashSet<String> = fields.iter().map(|f| f.span_id()).collect();

    // Batches: a child of a waiting field, linked to every waiting field.
    let batches = named(spans, "loader.batch");
    assert!(!batches.is_empty(), "no loader.batch spans");
    let mut linked_fields = HashSet::new();
    let mut groups = BTreeMap::new();
    for batch in &batches {
        let group = batch.attribute("group").expect("loader.batch has a group");
        *groups.entry(group.clone()).or_default() += 1;
        let tag = |key: &str| {
            batch
                .attribute(key)
                .unwrap_or_else(|| panic!("loader.batch {group} lacks {key}"))
        };
        let number = |key: &str| -> u64 {
            tag(key)
                .parse()
                .unwrap_or_else(|e| panic!("loader.batch {group}: {key} is not a count: {e}"))
        };
        let size = number("batch_size");
        let requested = number("keys_requested");
        assert!(size > 0, "{group}: an empty batch");
        assert_eq!(
            size + number("keys_deduplicated"),
            requested,
            "{group}: distinct keys + duplicates = key requests"
        );
        let queue_wait: f64 = tag("queue_wait_ms")
            .parse()
            .unwrap_or_else(|e| panic!("loader.batch {group}: queue_wait_ms: {e}"));
        assert!(queue_wait >= 0.0, "{group}: queue_wait_ms {queue_wait}");
        assert!(number("limit") > 0, "{group}: the limit at the time");
        assert!(number("in_flight") > 0, "{group}: counts itself in flight");
        assert_eq!(batch.attribute("outcome").as_deref(), Some("success"));

        // The field that opened the batch is its parent; every other field that waited on it
        // is a link. Each field span of this server makes one load, so together they are one
        // per key request.
        let opener = batch.parent_span_id();
        assert!(
            opener.as_ref().is_some_and(|p| field_ids.contains(p)),
            "{group}: the batch hangs under a field span, not {:?}",
            opener.as_ref().map(|p| by_id.get(p).map_or_else(
                || format!("{p}, which the trace lacks"),
                |s| format!("{} {:?}", s.name(), s.attribute("path"))
            ))
        );
        let links = batch.links();
        for (trace, span) in &links {
            assert!(
                same_trace_id(trace, expected.caller_trace),
                "{group}: a link into another trace"
            );
            assert!(
                field_ids.contains(span),
                "{group}: links point at field spans"
            );
            assert!(
                Some(span) != opener.as_ref(),
                "{group}: a link to its own parent"
            );
            linked_fields.insert(span.clone());
        }
        linked_fields.extend(opener);
        assert_eq!(
            links.len() as u64 + 1,
            requested,
            "{group}: the parent and one link per other field span that waited on the batch"
        );
    }
    for relation in expected.always_batched {
        let suffix = format!(".{relation}");
        let waiting: Vec<&&S> = fields
            .iter()
            .filter(|f| f.attribute("path").is_some_and(|p| p.ends_with(&suffix)))
            .collect();
        assert!(!waiting.is_empty(), "no `{relation}` field spans");
        for field in waiting {
            assert!(
                linked_fields.contains(&field.span_id()),
                "{:?} is reached by no batch",
                field.attribute("path")
            );
        }
    }

    // SQL: under its batch, with the batch's group.
    let batch_groups: HashMap<String, String> = batches
        .iter()
        .map(|b| (b.span_id(), b.attribute("group").unwrap_or_default()))
        .collect();
    let queries = named(spans, "db.query");
    let mut batches_with_sql = HashSet::new();
    for query in &queries {
        let parent = query.parent_span_id().expect("db.query has a parent");
        let group = batch_groups
            .get(&parent)
            .unwrap_or_else(|| panic!("db.query under {:?}, not a batch", parent_name(query)));
        batches_with_sql.insert(parent.clone());
        assert_eq!(query.kind().as_deref(), Some("client"));
        assert_eq!(
            query.attribute("db.system").as_deref(),
            Some(expected.db_system)
        );
        assert_eq!(query.attribute("db.operation").as_deref(), Some("SELECT"));
        assert_eq!(
            query.attribute("group").as_ref(),
            Some(group),
            "db.query names its batch's group"
        );
        let statement = query.attribute("db.statement").expect("db.statement");
        assert!(statement.contains("SELECT"), "{statement}");
        assert!(
            statement.contains('?') || statement.contains("$1"),
            "placeholders, not values: {statement}"
        );
    }
    assert_eq!(
        batches_with_sql.len(),
        batches.len(),
        "every batch ran its SQL inside db.query spans"
    );

    Checked {
        spans: spans.len(),
        fields: fields.len(),
        batches: batches.len(),
        queries: queries.len(),
        linked_fields: linked_fields.len(),
        groups,
    }
}

fn one<'a, S: TraceSpan>(spans: &'a [S], name: &str) -> &'a S {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "exactly one {name} span");
    found[0]
}

/// The tree drawn with alike siblings folded into one line with a count: `field` spans by
/// their path with list indices as `N`, batches and SQL by their group.
///
/// ```text
/// http.request POST /graphql
///   request
///     execute
///       field users
///         field users.N.posts  x50
///           loader.batch posts.by_author...  x1
///             db.query posts.by_author...  x1
/// ```
pub fn shape<S: TraceSpan>(spans: &[S]) -> String {
    let mut children: HashMap<Option<String>, Vec<&S>> = HashMap::new();
    let ids: HashSet<String> = spans.iter().map(|s| s.span_id()).collect();
    for span in spans {
        let parent = span.parent_span_id().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(span);
    }
    let mut out = String::new();
    let roots = children.get(&None).cloned().unwrap_or_default();
    draw(&roots, &children, 0, &mut out);
    out
}

fn label<S: TraceSpan>(span: &S) -> String {
    let attr = |k: &str| span.attribute(k).unwrap_or_default();
    match span.name() {
        "http.request" => format!(
            "http.request {} {}",
            attr("http.request.method"),
            attr("http.route")
        ),
        "field" => {
            let path: Vec<String> = attr("path")
                .split('.')
                .map(|seg| {
                    if seg.parse::<u64>().is_ok() {
                        "N".to_owned()
                    } else {
                        seg.to_owned()
                    }
                })
                .collect();
            format!("field {}", path.join("."))
        }
        "loader.batch" | "db.query" => format!("{} {}", span.name(), attr("group")),
        other => other.to_owned(),
    }
}

fn draw<S: TraceSpan>(
    level: &[&S],
    children: &HashMap<Option<String>, Vec<&S>>,
    depth: usize,
    out: &mut String,
) {
    // Fold alike siblings, in the order the first of each started.
    let mut level = level.to_vec();
    level.sort_by_key(|s| s.start_ns());
    let mut order: Vec<String> = Vec::new();
    let mut folded: HashMap<String, Vec<&S>> = HashMap::new();
    for span in level {
        let key = label(span);
        if !folded.contains_key(&key) {
            order.push(key.clone());
        }
        folded.entry(key).or_default().push(span);
    }
    for key in order {
        let group = &folded[&key];
        let count = if group.len() > 1 {
            format!("  x{}", group.len())
        } else {
            String::new()
        };
        out.push_str(&format!("{}{key}{count}\n", "  ".repeat(depth)));
        let below: Vec<&S> = group
            .iter()
            .flat_map(|s| {
                children
                    .get(&Some(s.span_id()))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        draw(&below, children, depth + 1, out);
    }
}
