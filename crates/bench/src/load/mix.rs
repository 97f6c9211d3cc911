//! [`QueryMix`]: the weighted set of GraphQL queries the clients send, with variables
//! filled by random ids.
//!
//! A mix file is TOML:
//!
//! ```toml
//! # Highest id of each kind; random ids are drawn from 1..=max.
//! [id_ranges]
//! user = 10000
//! post = 200000
//!
//! [[query]]
//! name = "post-detail"
//! weight = 4
//! query = "query($id: ID!) { post(id: $id) { title author { name } } }"
//! random_ids = { id = "post" }   # variable `id` gets a random post id
//! ```

use std::{collections::BTreeMap, path::Path};

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::BenchError;

/// A weighted set of queries; see the module docs for the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryMix {
    /// Highest id of each kind (`user`, `post`, ...); random ids are drawn from `1..=max`.
    #[serde(default)]
    pub id_ranges: BTreeMap<String, u64>,
    /// The queries.
    #[serde(rename = "query")]
    pub queries: Vec<MixQuery>,
}

/// One query of a mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixQuery {
    /// Short name used in reports.
    pub name: String,
    /// Relative frequency. By default, this is 1.
    #[serde(default = "one")]
    pub weight: u32,
    /// The GraphQL document.
    pub query: String,
    /// Fixed variables.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// Variables filled with a random id of the named kind, as a string (`ID`).
    #[serde(default)]
    pub random_ids: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// The README's nested query: the heavy mix ([`QueryMix::heavy`]).
pub const HEAVY_QUERY: &str = "{ users(first: 50) { name posts(first: 10) { title \
     comments(first: 5) { author { name } } tags { name } } } }";

/// The id ranges of the benchmark data set (`server seed` defaults).
pub const DEFAULT_USERS: u64 = 10_000;
/// Posts in the default data set.
pub const DEFAULT_POSTS: u64 = 200_000;

impl QueryMix {
    /// The built-in mix of nested forum queries: post pages, user profiles, a feed of users
    /// with their posts, comments and tags, and the latest posts with their authors. Ids
    /// are drawn from the default seed sizes (10 000 users, 200 000 posts); narrow them with
    /// [`with_id_range`](Self::with_id_range) for a smaller data set.
    pub fn builtin() -> Self {
        let q = |name: &str, weight, query: &str, ids: &[(&str, &str)]| MixQuery {
            name: name.into(),
            weight,
            query: query.into(),
            variables: Map::new(),
            random_ids: ids
                .iter()
                .map(|(var, kind)| (var.to_string(), kind.to_string()))
                .collect(),
        };
        Self {
            id_ranges: BTreeMap::from([
                ("user".to_string(), DEFAULT_USERS),
                ("post".to_string(), DEFAULT_POSTS),
            ]),
            queries: vec![
                q(
                    "post-detail",
                    4,
                    "query PostDetail($id: ID!) { post(id: $id) { title author { name } \
                     comments(first: 5) { body author { name } } tags { name } } }",
                    &[("id", "post")],
                ),
                q(
                    "user-profile",
                    3,
                    "query UserProfile($id: ID!) { user(id: $id) { name posts(first: 5) { title \
                     comments(first: 3) { author { name } } tags { name } } \
                     followers(first: 5) { name } } }",
                    &[("id", "user")],
                ),
                q(
                    "users-feed",
                    1,
                    "query UsersFeed { users(first: 20) { name posts(first: 5) { title \
                     comments(first: 3) { body author { name } } tags { name } } } }",
                    &[],
                ),
                q(
                    "latest-posts",
                    2,
                    "query LatestPosts { posts(first: 10) { title author { name \
                     following(first: 3) { name } } comments(first: 3) { author { name } } \
                     tags { name } } }",
                    &[],
                ),
            ],
        }
    }

    /// The README's nested query alone: 50 users, 10 posts each, 5 comments per post with
    /// their authors, and the posts' tags (about 2 800 objects and 3 500 loads per request
    /// on the default data set). The same every time: no random ids.
    pub fn heavy() -> Self {
        Self {
            id_ranges: BTreeMap::new(),
            queries: vec![MixQuery {
                name: "readme-nested".into(),
                weight: 1,
                query: HEAVY_QUERY.into(),
                variables: Map::new(),
                random_ids: BTreeMap::new(),
            }],
        }
    }

    /// `builtin` (or `light`) for the built-in mix, `heavy` for [`heavy`](Self::heavy),
    /// otherwise the path of a TOML mix file.
    pub fn load(spec: &str) -> Result<Self, BenchError> {
        match spec {
            "builtin" | "light" => return Ok(Self::builtin()),
            "heavy" => return Ok(Self::heavy()),
            _ => {}
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|source| BenchError::ReadMix {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Parses and validates a TOML mix.
    pub fn from_toml(text: &str) -> Result<Self, BenchError> {
        let mix: Self = toml::from_str(text).map_err(|e| BenchError::InvalidMix(e.to_string()))?;
        mix.validate()?;
        Ok(mix)
    }

    /// Sets the highest id of `kind`.
    #[must_use]
    pub fn with_id_range(mut self, kind: &str, max: u64) -> Self {
        self.id_ranges.insert(kind.to_string(), max);
        self
    }

    /// Checks there is something to send and every random id has a non-empty range.
    pub fn validate(&self) -> Result<(), BenchError> {
        if self.queries.is_empty() {
            return Err(BenchError::InvalidMix("no [[query]] entries".into()));
        }
        for query in &self.queries {
            if query.weight == 0 {
                return Err(BenchError::InvalidMix(format!(
                    "query `{}` has weight 0; remove it or give it a positive weight",
                    query.name
                )));
            }
            if query.query.trim().is_empty() {
                return Err(BenchError::InvalidMix(format!(
                    "query `{}` has an empty document",
                    query.name
                )));
            }
            for (var, kind) in &query.random_ids {
                match self.id_ranges.get(kind) {
                    Some(max) if *max > 0 => {}
                    _ => {
                        return Err(BenchError::InvalidMix(format!(
                            "query `{}` draws `${var}` from `{kind}` ids, but [id_ranges] has no \
                             positive `{kind}`",
                            query.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Picks a query by weight and builds its request body (`{query, variables}`).
    ///
    /// Returns the index of the query in [`queries`](Self::queries) and the body.
    pub fn pick(&self, rng: &mut impl Rng) -> (usize, Value) {
        let total: u64 = self.queries.iter().map(|q| u64::from(q.weight)).sum();
        let mut ticket = rng.random_range(0..total.max(1));
        let index = self
            .queries
            .iter()
            .position(|q| {
                let w = u64::from(q.weight);
                if ticket < w {
                    true
                } else {
                    ticket -= w;
                    false
                }
            })
            .unwrap_or(0);
        (index, self.body(index, rng))
    }

    /// The request body (`{query, variables}`) of query `index`, its random ids drawn from
    /// `rng`.
    ///
    /// # Panics
    ///
    /// When `index` is not a query of the mix.
    pub fn body(&self, index: usize, rng: &mut impl Rng) -> Value {
        let query = &self.queries[index];
        let mut variables = query.variables.clone();
        for (var, kind) in &query.random_ids {
            let max = self.id_ranges.get(kind).copied().unwrap_or(1).max(1);
            variables.insert(
                var.clone(),
                Value::String(rng.random_range(1..=max).to_string()),
            );
        }
        json!({ "query": query.query, "variables": variables })
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    const FILE: &str = r#"
        [id_ranges]
        post = 3

        [[query]]
        name = "detail"
        weight = 3
        query = "query($id: ID!) { post(id: $id) { title } }"
        random_ids = { id = "post" }

        [[query]]
        name = "feed"
        query = "{ users(first: $n) { name } }"
        variables = { n = 5 }
    "#;

    #[test]
    fn mix_file_parses_with_weights_defaults_and_variables() {
        let mix = QueryMix::from_toml(FILE).unwrap();
        assert_eq!(mix.queries.len(), 2);
        assert_eq!(mix.queries[0].weight, 3);
        assert_eq!(mix.queries[1].weight, 1, "weight defaults to 1");
        assert_eq!(mix.queries[1].variables["n"], json!(5));
        assert_eq!(mix.id_ranges["post"], 3);
    }

    #[test]
    fn random_ids_stay_within_their_range_and_are_strings() {
        let mix = QueryMix::from_toml(FILE).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let (index, body) = mix.pick(&mut rng);
            if index == 0 {
                let id: u64 = body["variables"]["id"].as_str().unwrap().parse().unwrap();
                assert!((1..=3).contains(&id));
                seen.insert(id);
            } else {
                assert_eq!(body["variables"], json!({ "n": 5 }));
            }
            assert_eq!(body["query"], json!(mix.queries[index].query));
        }
        assert_eq!(seen.len(), 3, "every id in the range is drawn");
    }

    #[test]
    fn picks_follow_the_weights() {
        let mix = QueryMix::from_toml(FILE).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let detail = (0..4000).filter(|_| mix.pick(&mut rng).0 == 0).count();
        // Expected 3000 of 4000; a wide band, the point is "about 3:1", not 1:1.
        assert!((2700..3300).contains(&detail), "{detail}");
    }

    #[test]
    fn random_id_without_a_range_is_rejected_with_its_names() {
        let err = QueryMix::from_toml(
            r#"
            [[query]]
            name = "x"
            query = "{ a }"
            random_ids = { id = "comment" }
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("comment") && err.contains("id_ranges"),
            "{err}"
        );
    }

    #[test]
    fn empty_mix_and_zero_weights_are_rejected() {
        assert!(QueryMix::from_toml("query = []").is_err());
        let zero = "[[query]]\nname = \"z\"\nweight = 0\nquery = \"{ a }\"";
        assert!(
            QueryMix::from_toml(zero)
                .unwrap_err()
                .to_string()
                .contains("weight 0")
        );
    }

    #[test]
    fn builtin_mix_is_valid_and_narrows_to_a_small_data_set() {
        let mix = QueryMix::builtin().with_id_range("post", 10);
        mix.validate().unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let (index, body) = mix.pick(&mut rng);
            if mix.queries[index].name == "post-detail" {
                let id: u64 = body["variables"]["id"].as_str().unwrap().parse().unwrap();
                assert!(id <= 10);
            }
        }
    }

    #[test]
    fn heavy_mix_is_the_readme_query_with_nothing_random() {
        assert_eq!(QueryMix::load("heavy").unwrap(), QueryMix::heavy());
        assert_eq!(QueryMix::load("light").unwrap(), QueryMix::builtin());
        let mix = QueryMix::heavy();
        mix.validate().unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let (_, first) = mix.pick(&mut rng);
        assert_eq!(mix.pick(&mut rng).1, first);
        assert_eq!(
            first["query"],
            "{ users(first: 50) { name posts(first: 10) { title comments(first: 5) { author { name } } tags { name } } } }"
        );
    }

    #[test]
    fn builtin_mix_round_trips_through_its_file_format() {
        let text = toml::to_string(&QueryMix::builtin()).unwrap();
        assert_eq!(QueryMix::from_toml(&text).unwrap(), QueryMix::builtin());
    }
}
