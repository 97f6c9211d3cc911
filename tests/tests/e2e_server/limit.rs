//! Every SQL statement runs under the engine's limit: root lists (`users`, `posts`,
//! `tags`, `tag(name)`), relation batches and mutations alike. With `--loader fixed:1`, a
//! burst of concurrent requests of every kind never has two statements running at once,
//! as seen at the database edge (each statement's span from SeaORM's metric callback);
//! the same burst with a limit of 8 does overlap (the probe sees concurrency).

use futures::future::join_all;
use serde_json::{Value, json};
use server::{graphql::LoaderMode, seed::SeedPlan};

use crate::{
    app::{Backend, TestApp, spawn_app_with},
    on_both_backends,
};

/// One request of each kind that reaches the database, root fields and mutations included.
fn burst(round: usize, followee: i64) -> Vec<(String, Value)> {
    let mut requests = vec![
        (
            "{ users(first: 20) { name posts(first: 3) { title comments(first: 2) { author { name } } tags { name } } } }".to_string(),
            Value::Null,
        ),
        ("{ posts(first: 10) { title author { name } } }".into(), Value::Null),
        ("{ posts(first: 5, tag: \"rust\") { title } }".into(), Value::Null),
        ("{ tags { name posts(first: 2) { title } } }".into(), Value::Null),
        ("{ tag(name: \"sql\") { name } }".into(), Value::Null),
        ("{ user(id: \"3\") { followers(first: 3) { name } } }".into(), Value::Null),
        (
            "mutation($email: String!) { createUser(input: {name: \"Probe\", email: $email}) { id } }".into(),
            json!({ "email": format!("probe-{round}@example.org") }),
        ),
        (
            "mutation { addComment(input: {postId: \"1\", body: \"hi\"}) { id } }".into(),
            Value::Null,
        ),
        (
            "mutation { createPost(input: {title: \"t\", body: \"b\", tags: [\"probe\"]}) { id } }".into(),
            Value::Null,
        ),
        ("mutation { tagPost(postId: \"3\", tag: \"probe\") { id } }".into(), Value::Null),
        (format!("mutation {{ follow(followeeId: \"{followee}\") {{ id }} }}"), Value::Null),
    ];
    // Several of each at once.
    let copies = requests.clone();
    requests.extend(
        copies
            .into_iter()
            .filter(|(q, _)| !q.starts_with("mutation")),
    );
    requests
}

/// Runs three bursts of concurrent requests; returns the most statements seen at once.
async fn most_at_once(app: &TestApp) -> usize {
    // Mutations act as the caller, and only a post's author may tag it: every request of
    // the burst carries the token of post 3's author.
    let author = app.data("{ post(id: \"3\") { author { id } } }").await["post"]["author"]["id"]
        .as_str()
        .and_then(|id| id.parse::<i64>().ok())
        .expect("post 3 has an author");
    let followee = if author == 5 { 6 } else { 5 };
    app.edge.reset();
    for round in 0..3 {
        let replies = join_all(
            burst(round, followee)
                .iter()
                .map(|(query, variables)| app.post_as(author, query, variables.clone())),
        )
        .await;
        for (status, body) in replies {
            assert_eq!(status, 200, "{body}");
            assert!(body.get("errors").is_none(), "{body}");
        }
    }
    assert!(
        app.edge.statements() > 60,
        "the bursts reached the database"
    );
    app.edge.most_at_once()
}

async fn with_a_limit_of_one_no_two_statements_ever_run_at_once(backend: Backend, test: &str) {
    let mut seen = Vec::new();
    for mode in ["fixed:8", "fixed:1"] {
        let Some(app) = spawn_app_with(backend, SeedPlan::small(5), test, |s| {
            s.loader_mode = mode.parse::<LoaderMode>().unwrap();
            // The bursts queue on purpose: the door must not shed them.
            s.loader.loader_max_queue_wait_ms = 60_000;
        })
        .await
        else {
            return;
        };
        let most = most_at_once(&app).await;
        let groups = app.state.engine.snapshot().groups;
        for group in ["users.page", "posts.page", "tags.all", "tags.by_name"] {
            assert!(
                groups.contains_key(group),
                "{group} went through the engine"
            );
        }
        for group in [
            "users.create",
            "comments.create",
            "posts.create",
            "posts.tag",
            "follows.create",
        ] {
            assert!(
                groups.contains_key(group),
                "{group} went through the engine"
            );
        }
        seen.push((mode, most));
        app.stop().await;
    }
    eprintln!("{backend:?}: most statements at once: {seen:?}");
    assert!(
        seen[0].1 > 1,
        "the probe sees statements overlap under a limit of 8: {seen:?}"
    );
    assert_eq!(
        seen[1].1, 1,
        "under fixed:1 no two statements overlap: {seen:?}"
    );
}

on_both_backends!(multi_thread: with_a_limit_of_one_no_two_statements_ever_run_at_once);
