//! Batches larger than the per-statement key limit run as the fewest statements that fit,
//! with the same results as one statement.

mod fixture;

use std::collections::HashMap;

use entity::{comment, post_tag, tag, user};
use fixture::{Fixture, USERS};
use loader_core::BatchFn;
use loader_seaorm::{ByKey, DEFAULT_MAX_KEYS_PER_STATEMENT, HasMany, ManyToMany};
use sea_orm::Order;

/// Loads `keys` and returns the values and how many statements ran.
async fn load_counted<F: BatchFn>(
    fx: &Fixture,
    f: &F,
    keys: &[F::Key],
) -> (HashMap<F::Key, F::Value>, u64)
where
    F::Error: std::fmt::Debug,
{
    fx.counter.reset();
    let out = f.load(keys).await.unwrap();
    (out, fx.counter.count())
}

const SMALL: usize = 7;

async fn small_chunks_give_the_same_results_in_ceil_n_over_size_statements(fx: &Fixture) {
    let expected_statements = |n: usize| n.div_ceil(SMALL) as u64;

    let user_ids: Vec<i64> = (1..=USERS).collect();
    let users = ByKey::<user::Entity>::new(fx.db.clone());
    let (whole, one) = load_counted(fx, &users, &user_ids).await;
    let (chunked, n) =
        load_counted(fx, &users.clone().max_keys_per_statement(SMALL), &user_ids).await;
    assert_eq!((one, n), (1, expected_statements(user_ids.len())));
    assert_eq!(whole, chunked);

    let latest = HasMany::<comment::Entity>::new(fx.db.clone(), comment::Column::PostId)
        .order_by(comment::Column::CreatedAt, Order::Desc)
        .limit(2);
    let (whole, one) = load_counted(fx, &latest, &fx.post_ids).await;
    let (chunked, n) = load_counted(
        fx,
        &latest.clone().max_keys_per_statement(SMALL),
        &fx.post_ids,
    )
    .await;
    assert_eq!((one, n), (1, expected_statements(fx.post_ids.len())));
    assert_eq!(whole, chunked);

    let tags = ManyToMany::<tag::Entity, post_tag::Entity>::new(
        fx.db.clone(),
        post_tag::Column::PostId,
        post_tag::Column::TagId,
    );
    let (whole, one) = load_counted(fx, &tags, &fx.post_ids).await;
    let (chunked, n) = load_counted(
        fx,
        &tags.clone().max_keys_per_statement(SMALL),
        &fx.post_ids,
    )
    .await;
    assert_eq!((one, n), (1, expected_statements(fx.post_ids.len())));
    assert_eq!(whole, chunked);
}

/// 70 000 keys exceed PostgreSQL's 65 535 bound parameters (and SQLite's default 32 766):
/// the default chunking must split them, and a batch at the chunk size must stay one
/// statement.
async fn default_chunking_stays_under_the_bound_parameter_limit(fx: &Fixture) {
    let keys: Vec<i64> = (1..=70_000).collect();
    let comments = HasMany::<comment::Entity>::new(fx.db.clone(), comment::Column::PostId).limit(1);
    let (loaded, statements) = load_counted(fx, &comments, &keys).await;
    assert_eq!(statements, 3);
    assert_eq!(loaded.len(), keys.len(), "every key gets an entry");
    let (seeded, _) = load_counted(fx, &comments, &fx.post_ids).await;
    for (post, first_comment) in seeded {
        assert_eq!(loaded[&post], first_comment, "post {post}");
    }
    assert!(
        loaded
            .iter()
            .all(|(k, v)| v.is_empty() || fx.post_ids.contains(k))
    );

    let (_, statements) =
        load_counted(fx, &comments, &keys[..DEFAULT_MAX_KEYS_PER_STATEMENT]).await;
    assert_eq!(statements, 1);
}

/// Keys travel as bound parameters, never spliced into the SQL text.
async fn keys_are_bound_parameters_not_sql_text(fx: &Fixture) {
    let users = ByKey::<user::Entity>::new(fx.db.clone());
    let (_, statements) = load_counted(fx, &users, &[987_654_321]).await;
    assert_eq!(statements, 1);
    let sql = &fx.counter.statements()[0];
    assert!(!sql.contains("987654321"), "key spliced into SQL: {sql}");
    assert!(
        sql.contains('?') || sql.contains("$1"),
        "no placeholder in: {sql}"
    );
}

on_both_backends! {
    small_chunk_size_splits_batches_without_changing_results => small_chunks_give_the_same_results_in_ceil_n_over_size_statements;
    default_chunk_size_splits_only_past_the_parameter_limit => default_chunking_stays_under_the_bound_parameter_limit;
    keys_are_bound_not_spliced_into_sql => keys_are_bound_parameters_not_sql_text;
}
