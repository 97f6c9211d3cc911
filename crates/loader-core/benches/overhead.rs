//! The engine's own overhead per key, against async-graphql's `DataLoader` on the same work:
//! `CALLERS` concurrent loads of distinct keys through a no-op batch function, on a
//! current-thread tokio runtime.
//!
//! Run: `cargo bench -p loader-core --features async-graphql --bench overhead`
//! (add `-- --quick` for a short run). Criterion reports time per iteration and, with the
//! throughput set to the number of keys, keys per second; ns/key = time / CALLERS.
//!
//! async-graphql's loader runs with `delay(0)`: its default 1 ms delay would measure a sleep,
//! not overhead. Ours runs with its default configuration (adaptive window and strategy,
//! metrics, per-request cache), plus a variant without the per-request cache.

use std::{collections::HashMap, convert::Infallible, hint::black_box, time::Duration};

use async_graphql::dataloader::{DataLoader, Loader as AgLoader};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use loader_core::{BatchFn, Engine, QueryGroup};

struct Noop;

impl BatchFn for Noop {
    type Key = u64;
    type Value = u64;
    type Error = Infallible;
    fn group(&self) -> QueryGroup {
        QueryGroup::new("noop")
    }
    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, Infallible> {
        Ok(keys.iter().map(|k| (*k, *k)).collect())
    }
}

struct AgNoop;

impl AgLoader<u64> for AgNoop {
    type Value = u64;
    type Error = Infallible;
    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, Infallible> {
        Ok(keys.iter().map(|k| (*k, *k)).collect())
    }
}

fn overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("overhead");
    for callers in [100u64, 1000] {
        group.throughput(Throughput::Elements(callers));

        let engine = rt.block_on(async { Engine::builder().build().unwrap() });
        group.bench_with_input(
            BenchmarkId::new("loader-core", callers),
            &callers,
            |b, &n| {
                b.to_async(&rt).iter(|| {
                    let loader = engine.loader(Noop);
                    async move {
                        let values = join_all((0..n).map(|k| loader.load(k))).await;
                        black_box(values);
                    }
                })
            },
        );

        group.bench_with_input(
            BenchmarkId::new("loader-core-no-cache", callers),
            &callers,
            |b, &n| {
                b.to_async(&rt).iter(|| {
                    let loader = engine.loader(Noop).without_cache();
                    async move {
                        let values = join_all((0..n).map(|k| loader.load(k))).await;
                        black_box(values);
                    }
                })
            },
        );

        let ag = rt.block_on(async {
            DataLoader::new(AgNoop, tokio::spawn)
                .delay(Duration::ZERO)
                .max_batch_size(1000)
        });
        group.bench_with_input(
            BenchmarkId::new("async-graphql", callers),
            &callers,
            |b, &n| {
                b.to_async(&rt).iter(|| async {
                    let values = join_all((0..n).map(|k| ag.load_one(k))).await;
                    black_box(values);
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
