//! [`discover_id_ranges`]: the highest user and post ids a server holds, learned through its
//! public GraphQL API at start, so that the random ids of a [`QueryMix`](super::QueryMix)
//! hit real rows whatever data set the server was seeded with.
//!
//! - posts: `posts(first: 1)` lists the newest post first, so its id is the highest.
//! - users: `users` pages in id order, so the highest id is found by probing `user(id)`:
//!   doubling until a probe misses, then bisecting (about `2 log2(n)` small requests).
//!   Seeded ids are dense from 1, which this relies on.

use serde_json::{Value, json};

use crate::BenchError;

/// Highest user and post ids on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRanges {
    /// Highest user id.
    pub users: u64,
    /// Highest post id.
    pub posts: u64,
}

/// Asks the GraphQL endpoint `url` for its highest user and post ids. Fails with a message
/// saying what to do when the server does not answer or holds no users or posts.
pub async fn discover_id_ranges(
    client: &reqwest::Client,
    url: &str,
) -> Result<IdRanges, BenchError> {
    let ask = Asker { client, url };
    let newest = ask.data(json!("{ posts(first: 1) { id } }")).await?;
    let posts = newest["posts"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    let users = highest(|id| ask.user_exists(id)).await?;
    if users == 0 || posts == 0 {
        return Err(BenchError::Discovery(format!(
            "{url} holds {users} users and {posts} posts: seed it first (the server creates \
             demo data on an empty database unless --no-demo-data)"
        )));
    }
    Ok(IdRanges { users, posts })
}

/// The highest `n >= 1` with `exists(n)`, given that ids `1..=n` all exist; 0 when 1 does
/// not.
async fn highest<F, Fut>(exists: F) -> Result<u64, BenchError>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<bool, BenchError>>,
{
    if !exists(1).await? {
        return Ok(0);
    }
    // `low` exists, `high` does not.
    let (mut low, mut high) = (1u64, 2u64);
    while exists(high).await? {
        low = high;
        high = high
            .checked_mul(2)
            .ok_or_else(|| BenchError::Discovery("every probed id exists up to 2^63".into()))?;
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if exists(mid).await? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(low)
}

struct Asker<'a> {
    client: &'a reqwest::Client,
    url: &'a str,
}

impl Asker<'_> {
    async fn user_exists(&self, id: u64) -> Result<bool, BenchError> {
        let data = self
            .data(json!(format!("{{ user(id: \"{id}\") {{ id }} }}")))
            .await?;
        Ok(!data["user"].is_null())
    }

    /// `data` of a query that must succeed.
    async fn data(&self, query: Value) -> Result<Value, BenchError> {
        let failed = |why: String| {
            BenchError::Discovery(format!(
                "cannot learn the id ranges from {}: {why}; pass --users and --posts instead",
                self.url
            ))
        };
        let response = self
            .client
            .post(self.url)
            .json(&json!({ "query": query }))
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| failed(format!("{status}, not a JSON body: {e}")))?;
        if let Some(errors) = body.get("errors") {
            return Err(failed(format!("{status}, errors: {errors}")));
        }
        Ok(body["data"].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn highest_of(n: u64) -> (u64, usize) {
        let probes = std::sync::atomic::AtomicUsize::new(0);
        let found = highest(|id| {
            probes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move { Ok(id <= n) }
        })
        .await
        .unwrap();
        (found, probes.into_inner())
    }

    #[tokio::test]
    async fn the_highest_id_is_found_in_logarithmic_probes() {
        for n in [0, 1, 2, 3, 299, 300, 301, 1024, 10_000, 200_000] {
            let (found, probes) = highest_of(n).await;
            assert_eq!(found, n);
            let bound = 2 * (64 - n.max(1).leading_zeros() as usize) + 2;
            assert!(probes <= bound, "{n}: {probes} probes");
        }
    }
}
