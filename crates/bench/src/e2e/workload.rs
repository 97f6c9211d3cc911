//! [`Workload`]: the mixes `bench-e2e` measures (`--mix light,heavy`), each written twice:
//! in this server's schema and in PostGraphile's, asking for the same rows.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::Sizes;
use crate::load::QueryMix;

/// A query mix of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// The load driver's built-in mix of small nested queries ([`QueryMix::builtin`]).
    Light,
    /// The README's nested query alone ([`QueryMix::heavy`]).
    Heavy,
}

/// PostGraphile's orderings that match this server's: posts and comments newest first
/// (`created_at DESC, id DESC`), follows most recent first.
const NEWEST: &str = "orderBy: [CREATED_AT_DESC, ID_DESC]";

impl Workload {
    /// The mix in this server's schema, random ids drawn from `sizes`.
    pub fn mix(self, sizes: &Sizes) -> QueryMix {
        let mix = match self {
            Workload::Light => QueryMix::builtin(),
            Workload::Heavy => QueryMix::heavy(),
        };
        narrow(mix, sizes)
    }

    /// The same mix in PostGraphile 4's schema (`allUsers`, `userById`, connections with
    /// `nodes`, relations named after their foreign keys): the same queries in the same
    /// order with the same weights and random ids, so that one seed draws the same
    /// requests from both, and the same rows in every answer (checked before timing by
    /// [`compare_row_counts`](super::compare_row_counts)). Ids are `BigInt`s, which
    /// PostGraphile reads from strings, as this server reads `ID`s.
    pub fn postgraphile_mix(self, sizes: &Sizes) -> QueryMix {
        let mut mix = self.mix(sizes);
        for query in &mut mix.queries {
            query.query = postgraphile_query(&query.name)
                .unwrap_or_else(|| panic!("no PostGraphile form of the query `{}`", query.name))
                .to_string();
        }
        mix
    }

    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Light => "light",
            Workload::Heavy => "heavy",
        }
    }
}

fn narrow(mix: QueryMix, sizes: &Sizes) -> QueryMix {
    let kinds: Vec<String> = mix.id_ranges.keys().cloned().collect();
    kinds
        .into_iter()
        .fold(mix, |mix, kind| match kind.as_str() {
            "user" => mix.with_id_range("user", sizes.users),
            "post" => mix.with_id_range("post", sizes.posts),
            _ => mix,
        })
}

/// PostGraphile's form of each named query of the light and heavy mixes.
fn postgraphile_query(name: &str) -> Option<String> {
    let tags = "postTagsByPostId { nodes { tagByTagId { name } } }";
    Some(match name {
        "post-detail" => format!(
            "query PostDetail($id: BigInt!) {{ postById(id: $id) {{ title userByAuthorId {{ name }} \
             commentsByPostId(first: 5, {NEWEST}) {{ nodes {{ body userByAuthorId {{ name }} }} }} \
             {tags} }} }}"
        ),
        "user-profile" => format!(
            "query UserProfile($id: BigInt!) {{ userById(id: $id) {{ name \
             postsByAuthorId(first: 5, {NEWEST}) {{ nodes {{ title \
             commentsByPostId(first: 3, {NEWEST}) {{ nodes {{ userByAuthorId {{ name }} }} }} \
             {tags} }} }} \
             followsByFolloweeId(first: 5, orderBy: CREATED_AT_DESC) {{ nodes {{ userByFollowerId {{ name }} }} }} }} }}"
        ),
        "users-feed" => format!(
            "query UsersFeed {{ allUsers(first: 20, orderBy: ID_ASC) {{ nodes {{ name \
             postsByAuthorId(first: 5, {NEWEST}) {{ nodes {{ title \
             commentsByPostId(first: 3, {NEWEST}) {{ nodes {{ body userByAuthorId {{ name }} }} }} \
             {tags} }} }} }} }} }}"
        ),
        "latest-posts" => format!(
            "query LatestPosts {{ allPosts(first: 10, orderBy: ID_DESC) {{ nodes {{ title \
             userByAuthorId {{ name \
             followsByFollowerId(first: 3, orderBy: CREATED_AT_DESC) {{ nodes {{ userByFolloweeId {{ name }} }} }} }} \
             commentsByPostId(first: 3, {NEWEST}) {{ nodes {{ userByAuthorId {{ name }} }} }} \
             {tags} }} }} }}"
        ),
        "readme-nested" => format!(
            "{{ allUsers(first: 50, orderBy: ID_ASC) {{ nodes {{ name \
             postsByAuthorId(first: 10, {NEWEST}) {{ nodes {{ title \
             commentsByPostId(first: 5, {NEWEST}) {{ nodes {{ userByAuthorId {{ name }} }} }} \
             {tags} }} }} }} }} }}"
        ),
        _ => return None,
    })
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "light" | "builtin" => Ok(Workload::Light),
            "heavy" => Ok(Workload::Heavy),
            _ => Err(format!("unknown mix `{s}`: use light or heavy")),
        }
    }
}

impl Serialize for Workload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    fn sizes() -> Sizes {
        Sizes {
            users: 200,
            posts: 4_000,
            comments: 20_000,
            tags: 100,
            follows: 2_000,
        }
    }

    #[test]
    fn both_schemas_draw_the_same_requests_from_one_seed() {
        for workload in [Workload::Light, Workload::Heavy] {
            let ours = workload.mix(&sizes());
            let theirs = workload.postgraphile_mix(&sizes());
            theirs.validate().unwrap();
            let (mut a, mut b) = (StdRng::seed_from_u64(9), StdRng::seed_from_u64(9));
            for _ in 0..50 {
                let (i, body) = ours.pick(&mut a);
                let (j, peer) = theirs.pick(&mut b);
                assert_eq!(i, j);
                assert_eq!(body["variables"], peer["variables"]);
                assert_ne!(body["query"], peer["query"]);
            }
        }
    }

    #[test]
    fn ids_are_drawn_from_the_seeded_sizes() {
        let mix = Workload::Light.mix(&sizes());
        assert_eq!(mix.id_ranges["user"], 200);
        assert_eq!(mix.id_ranges["post"], 4_000);
        assert!(Workload::Heavy.mix(&sizes()).id_ranges.is_empty());
    }

    #[test]
    fn names_round_trip_and_bad_names_say_what_is_valid() {
        for w in [Workload::Light, Workload::Heavy] {
            assert_eq!(w.to_string().parse::<Workload>(), Ok(w));
        }
        assert!(
            "medium"
                .parse::<Workload>()
                .unwrap_err()
                .contains("light or heavy")
        );
    }
}
