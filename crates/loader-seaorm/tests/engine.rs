//! Through the real engine: identical shapes from separate loaders (as from concurrent
//! requests) share one statement; a different shape gets its own.

mod fixture;

use entity::comment;
use fixture::Fixture;
use futures::future::join_all;
use loader_core::Engine;
use loader_seaorm::HasMany;
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};

fn latest(fx: &Fixture, n: u64) -> HasMany<comment::Entity> {
    HasMany::<comment::Entity>::new(fx.db.clone(), comment::Column::PostId)
        .order_by(comment::Column::CreatedAt, Order::Desc)
        .limit(n)
}

async fn same_shape_coalesces_across_loaders_and_other_shapes_do_not(fx: &Fixture) {
    let engine = Engine::builder().build().unwrap();
    // Two requests' loaders with the same shape, and one with another per-parent limit.
    let (request_a, request_b) = (engine.loader(latest(fx, 2)), engine.loader(latest(fx, 2)));
    let other_shape = engine.loader(latest(fx, 4));
    assert_eq!(request_a.group(), request_b.group());
    assert_ne!(request_a.group(), other_shape.group());

    fx.counter.reset();
    let keys = &fx.post_ids;
    let (a, b, c) = tokio::join!(
        join_all(keys.iter().map(|&k| request_a.load(k))),
        join_all(keys.iter().rev().map(|&k| request_b.load(k))),
        join_all(keys.iter().map(|&k| other_shape.load(k))),
    );
    assert_eq!(
        fx.counter.count(),
        2,
        "one statement per shape: {:#?}",
        fx.counter.statements()
    );

    for (i, &post) in keys.iter().enumerate() {
        let naive = |n| {
            comment::Entity::find()
                .filter(comment::Column::PostId.eq(post))
                .order_by_desc(comment::Column::CreatedAt)
                .order_by_asc(comment::Column::Id)
                .limit(n)
                .all(&fx.db)
        };
        let two = naive(2).await.unwrap();
        assert_eq!(a[i].as_ref().unwrap().as_ref(), Some(&two), "post {post}");
        assert_eq!(
            b[keys.len() - 1 - i].as_ref().unwrap().as_ref(),
            Some(&two),
            "post {post}"
        );
        let four = naive(4).await.unwrap();
        assert_eq!(c[i].as_ref().unwrap().as_ref(), Some(&four), "post {post}");
    }
}

on_both_backends! {
    engine_coalesces_identical_shapes_into_one_statement => same_shape_coalesces_across_loaders_and_other_shapes_do_not;
}
