//! Golden responses: fixed queries on a fixed small seed give byte-identical JSON on
//! SQLite and PostgreSQL, equal to `tests/golden/<name>.json`.
//!
//! After an intended change, regenerate with `UPDATE_GOLDENS=1 cargo test -p test-support
//! --test e2e_server goldens` and review the diff.

use std::path::PathBuf;

use serde_json::Value;
use server::seed::SeedPlan;

use crate::{
    app::{Backend, spawn_app},
    on_both_backends,
};

/// The seed every golden was made from.
const GOLDEN_SEED: u64 = 2024;

const CASES: &[(&str, &str)] = &[
    (
        "users_first_page",
        "{ users(first: 3) { id name email createdAt cursor posts(first: 2) { id title published createdAt tags { name } } } }",
    ),
    (
        "users_second_page",
        "{ users(first: 2, after: \"dXNlcjoz\") { id name } }",
    ),
    (
        "post_detail",
        "{ post(id: \"7\") { id title body published createdAt author { id name } comments(first: 3) { id body createdAt author { name } post { id } } tags { id name } } }",
    ),
    (
        "posts_by_tag",
        "{ tag(name: \"rust\") { id name posts(first: 3) { id title author { name } } } posts(first: 4, tag: \"sql\") { id title } }",
    ),
    (
        "follow_graph",
        "{ user(id: \"2\") { name followers(first: 5) { id name } following(first: 5) { id name } comments(first: 2) { body post { title } } } }",
    ),
    (
        "bad_input_errors",
        "{ user(id: \"nope\") { id } posts(first: 1000) { id } }",
    ),
];

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(format!("{name}.json"))
}

async fn responses_equal_the_goldens(backend: Backend, test: &str) {
    let Some(app) = spawn_app(backend, SeedPlan::small(GOLDEN_SEED), test).await else {
        return;
    };
    let update = std::env::var_os("UPDATE_GOLDENS").is_some();
    let mut mismatched = Vec::new();
    for (name, query) in CASES {
        let (_, body) = app.post(query, Value::Null).await;
        let actual = serde_json::to_string_pretty(&body).unwrap() + "\n";
        let path = golden_path(name);
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            mismatched.push(format!("--- {}\n{actual}", path.display()));
        }
    }
    assert!(
        mismatched.is_empty(),
        "{backend:?}: responses differ from the goldens (UPDATE_GOLDENS=1 to regenerate):\n{}",
        mismatched.join("\n")
    );
    app.stop().await;
}

on_both_backends!(responses_equal_the_goldens);
