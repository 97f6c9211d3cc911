//! Limit changes reach OTLP as span events of the `loader.batch` span whose sample caused
//! them (old limit, new limit, reason). One test per binary: it installs the global
//! subscriber.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use loader_core::{BatchFn, Engine, QueryGroup};
use observability::{
    telemetry::{self, OtlpExport, OtlpProtocol, TelemetryConfig},
    test_collector::TestCollector,
};
use tokio::task::JoinSet;

struct Slow;

impl BatchFn for Slow {
    type Key = u64;
    type Value = u64;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("slow")
    }

    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, Infallible> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(keys.iter().map(|k| (*k, *k)).collect())
    }
}

fn changed(engine: &Engine) -> bool {
    engine
        .snapshot()
        .limit_history
        .iter()
        .any(|p| p.reason != "steady")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_change_is_an_event_of_the_batch_span_that_caused_it() {
    let collector = TestCollector::start().await.expect("collector listens");
    let guard = telemetry::init_with(
        TelemetryConfig::new("otel-limit-test")
            .log_filter("warn")
            .otlp(Some(
                OtlpExport::from_env()
                    .endpoint(collector.endpoint())
                    .protocol(OtlpProtocol::Grpc),
            )),
    )
    .expect("telemetry installs");

    let engine = Engine::builder()
        .batch_delay(Duration::from_millis(1))
        .max_batch_size(2)
        .build()
        .unwrap();
    let mut workers = JoinSet::new();
    for worker in 0..32u64 {
        let engine = engine.clone();
        workers.spawn(async move {
            for round in 0.. {
                let loader = engine.loader(Slow);
                let _ = loader.load(worker * 1_000_000 + round).await;
                // A refused load returns at once; yield so the workers cannot starve the
                // test's own task (and `abort_all` takes effect).
                tokio::task::yield_now().await;
            }
        });
    }
    // The adaptive strategy probes for capacity under load: wait for its first move.
    for _ in 0..400 {
        if changed(&engine) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    workers.abort_all();
    assert!(changed(&engine), "the limit never changed under load");

    guard.flush().expect("spans exported");
    let spans = collector
        .wait_for(Duration::from_secs(20), |spans| {
            spans.iter().any(|s| {
                s.name() == "loader.batch"
                    && s.events()
                        .iter()
                        .any(|(name, _)| name == "concurrency limit changed")
            })
        })
        .await
        .expect("a loader.batch span carries the limit change event");
    let event = spans
        .iter()
        .filter(|s| s.name() == "loader.batch")
        .flat_map(|s| s.events())
        .find(|(name, _)| name == "concurrency limit changed")
        .unwrap();
    let attrs: HashMap<String, String> = event.1.into_iter().collect();
    let old: usize = attrs["old"].parse().unwrap();
    let new: usize = attrs["new"].parse().unwrap();
    assert_ne!(old, new);
    assert!(!attrs["reason"].is_empty());
    drop(guard);
}
