//! Quickstart: one engine, two query groups, many concurrent "requests".
//!
//! Run: `cargo run -p loader-core --example quickstart`
//!
//! A fake database answers each batch after 2 ms + 0.05 ms per key. Two hundred requests load
//! authors and their posts concurrently; the engine coalesces their keys into a few batch
//! calls, keeps the number of concurrent calls under its adaptive limit, and reports what it
//! measured.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use loader_core::{BatchFn, Engine, QueryGroup};

/// `SELECT id, name FROM authors WHERE id = ANY($1)`
struct AuthorNames;

impl BatchFn for AuthorNames {
    type Key = u32;
    type Value = String;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("authors.by_id[name]")
    }

    async fn load(&self, ids: &[u32]) -> Result<HashMap<u32, String>, Infallible> {
        fake_query(ids.len()).await;
        Ok(ids
            .iter()
            .filter(|id| **id < 50) // authors 50+ do not exist: they load as None
            .map(|id| (*id, format!("author #{id}")))
            .collect())
    }
}

/// `SELECT author_id, count(*) FROM posts WHERE author_id = ANY($1) GROUP BY author_id`
struct PostCounts;

impl BatchFn for PostCounts {
    type Key = u32;
    type Value = u64;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("posts.count_by_author")
    }

    async fn load(&self, ids: &[u32]) -> Result<HashMap<u32, u64>, Infallible> {
        fake_query(ids.len()).await;
        Ok(ids.iter().map(|id| (*id, u64::from(id % 7))).collect())
    }
}

async fn fake_query(keys: usize) {
    tokio::time::sleep(Duration::from_millis(2) + Duration::from_micros(50) * keys as u32).await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::builder()
        .max_concurrency(16)
        .target_response_time(Duration::from_millis(10))
        .build()?;

    let requests = (0..200u32).map(|r| {
        let engine = engine.clone();
        tokio::spawn(async move {
            // Each request asks for a place at the door first: under overload it is refused
            // there, before it ran, or admitted and then served whole. One set of loaders per
            // request: their caches live as long as the request.
            let request = engine.admit_request().await?;
            let authors = request.loader(AuthorNames);
            let posts = request.loader(PostCounts);
            let id = r % 60;
            let (name, count) = tokio::join!(authors.load(id), posts.load(id));
            Ok::<_, loader_core::LoadError>((id, name, count))
        })
    });
    let mut missing = 0;
    for request in futures::future::join_all(requests).await {
        let (_id, name, count) = request??;
        if name?.is_none() {
            missing += 1;
        }
        count?;
    }

    let snapshot = engine.snapshot();
    println!("400 loads, {missing} unknown authors");
    println!(
        "{} batch calls, limit {}, strategy {}",
        snapshot.total.batches, snapshot.limit, snapshot.strategy
    );
    for (group, g) in &snapshot.groups {
        println!(
            "  {group}: {} batches, mean batch {:.1} keys, p99 latency {:.2} ms, cost {:.2} ms + {:.3} ms/key",
            g.batches, g.batch_size.mean, g.latency_ms.p99, g.cost.fixed_ms, g.cost.per_key_ms
        );
    }
    // What the engine learned is plain serde data: keeping it (a file here) is the caller's.
    let path = std::env::temp_dir().join("loader-core-quickstart.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&engine.learned())?)?;
    println!("learned state saved to {}", path.display());
    Ok(())
}
