//! One batched statement against one statement per parent, for "the latest 3 comments of
//! each post" over every post of the test fixture, on SQLite and (if installed) PostgreSQL.
//!
//! Run: `cargo bench -p loader-seaorm --bench batch_vs_per_row`

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use criterion::{Criterion, criterion_group, criterion_main};
use entity::comment;
use fixture::{Backend, Fixture};
use loader_core::BatchFn;
use loader_seaorm::HasMany;
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (name, backend) in [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)] {
        let Some(fx) = rt.block_on(Fixture::new(backend, "batch_vs_per_row")) else {
            continue;
        };
        let latest = HasMany::<comment::Entity>::new(fx.db.clone(), comment::Column::PostId)
            .order_by(comment::Column::CreatedAt, Order::Desc)
            .limit(3);
        let mut group = c.benchmark_group(format!(
            "latest_3_comments_of_{}_posts/{name}",
            fx.post_ids.len()
        ));
        group.bench_function("has_many_batch", |b| {
            b.to_async(&rt).iter(|| latest.load(&fx.post_ids))
        });
        group.bench_function("per_row_queries", |b| {
            b.to_async(&rt).iter(|| async {
                for &post in &fx.post_ids {
                    comment::Entity::find()
                        .filter(comment::Column::PostId.eq(post))
                        .order_by_desc(comment::Column::CreatedAt)
                        .order_by_asc(comment::Column::Id)
                        .limit(3)
                        .all(&fx.db)
                        .await
                        .unwrap();
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
