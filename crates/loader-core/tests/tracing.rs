//! The tracing contract: a `loader.batch` span per batch call with its figures, a child of the
//! span of the load that opened it, linked (`follows_from`) to the span of every other load
//! that joined it, and an event per limit change.

mod common;

use std::{collections::HashMap, sync::Arc};

use common::{Backend, Recording, TestFn};
use loader_core::Engine;
use parking_lot::Mutex;
use tracing::{
    Instrument, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

type SpanFields = HashMap<String, String>;

#[derive(Default, Clone)]
struct Captured {
    /// Span id -> (name, fields).
    spans: Arc<Mutex<HashMap<u64, (String, SpanFields)>>>,
    /// Span id -> its parent's span id.
    parents: Arc<Mutex<HashMap<u64, u64>>>,
    /// (span, follows) pairs.
    follows: Arc<Mutex<Vec<(u64, u64)>>>,
    /// Fields of `loader_core::limit` events.
    limit_events: Arc<Mutex<Vec<SpanFields>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Captured {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(parent) = ctx.span(id).and_then(|s| s.parent()) {
            self.parents
                .lock()
                .insert(id.into_u64(), parent.id().into_u64());
        }
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.spans
            .lock()
            .insert(id.into_u64(), (attrs.metadata().name().to_string(), fields));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, _: Context<'_, S>) {
        if let Some((_, fields)) = self.spans.lock().get_mut(&id.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }

    fn on_follows_from(&self, span: &span::Id, follows: &span::Id, _: Context<'_, S>) {
        self.follows
            .lock()
            .push((span.into_u64(), follows.into_u64()));
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "loader_core::limit" {
            let mut fields = HashMap::new();
            event.record(&mut Fields(&mut fields));
            self.limit_events.lock().push(fields);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn each_batch_call_has_a_span_linked_to_the_loads_that_joined_it() {
    let captured = Captured::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));

    let (strategy, _) = Recording::scripted(4, |_| 7);
    let engine = Engine::builder().strategy(strategy).build().unwrap();
    let backend = Arc::new(Backend::default());
    let requests: Vec<_> = [vec![1, 2], vec![1], vec![3]]
        .into_iter()
        .enumerate()
        .map(|(n, keys)| {
            let loader = engine.loader(TestFn::on("users", &backend)).without_cache();
            let span = tracing::info_span!("request", n);
            async move {
                for_each_concurrently(&loader, keys).await;
            }
            .instrument(span)
        })
        .collect();
    futures::future::join_all(requests).await;
    assert_eq!(backend.calls(), vec![vec![1, 2, 3]]);

    let spans = captured.spans.lock();
    let batches: Vec<_> = spans
        .iter()
        .filter(|(_, (name, _))| name == "loader.batch")
        .collect();
    assert_eq!(batches.len(), 1);
    let (batch_id, (_, fields)) = batches[0];
    assert_eq!(fields["group"], "users");
    assert_eq!(fields["batch_size"], "3");
    assert_eq!(fields["keys_requested"], "4");
    assert_eq!(fields["keys_deduplicated"], "1");
    assert_eq!(fields["limit"], "4");
    assert_eq!(fields["in_flight"], "1");
    assert_eq!(fields["outcome"], "success");
    assert!(fields.contains_key("queue_wait_ms"));

    // The load that opened the batch (request 0's, the first to run) is its parent: the
    // batch shows inside that request's trace.
    let parent = captured.parents.lock()[batch_id];
    assert_eq!(spans[&parent].0, "request");
    assert_eq!(
        spans[&parent].1["n"], "0",
        "the opener's span is the parent"
    );

    let mut linked: Vec<String> = captured
        .follows
        .lock()
        .iter()
        .filter(|(span, _)| span == batch_id)
        .map(|(_, from)| spans[from].1["n"].clone())
        .collect();
    linked.sort();
    assert_eq!(
        linked,
        ["1", "2"],
        "one link per distinct request span but the parent's"
    );

    let events = captured.limit_events.lock();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["old"], "4");
    assert_eq!(events[0]["new"], "7");
    assert_eq!(events[0]["reason"], "scripted");
}

async fn for_each_concurrently(loader: &loader_core::Loader<TestFn>, keys: Vec<u64>) {
    let loads = keys.into_iter().map(|k| loader.load(k));
    for r in futures::future::join_all(loads).await {
        r.unwrap();
    }
}
