//! Deterministic data generation: the same plan and seed always give the same rows. No I/O.

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::{
    SeedPlan,
    words::{FIRST_NAMES, LAST_NAMES, TAGS, WORDS},
};

/// A generated user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

/// A generated post and its tag ids.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRow {
    pub id: i64,
    pub author_id: i64,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub created_at: DateTime<Utc>,
    pub tag_ids: Vec<i64>,
}

/// A generated comment.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentRow {
    pub id: i64,
    pub post_id: i64,
    pub author_id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A generated tag.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
}

/// A generated follow.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowRow {
    pub follower_id: i64,
    pub followee_id: i64,
    pub created_at: DateTime<Utc>,
}

/// Where ids start: one past the highest id of each table already in the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdBase {
    pub user: i64,
    pub post: i64,
    pub comment: i64,
    pub tag: i64,
}

/// Makes the rows of a plan, table by table, from one random stream.
///
/// Call in this order: [`users`](Self::users), [`tags`](Self::tags),
/// [`posts`](Self::posts) (in chunks), [`comments`](Self::comments) (in chunks),
/// [`follows`](Self::follows).
pub struct Generator {
    plan: SeedPlan,
    base: IdBase,
    rng: StdRng,
    post_times: Vec<i64>,
}

/// 2024-01-01T00:00:00Z: every generated time is this plus whole seconds.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

const YEAR_S: u64 = 365 * 24 * 3600;

impl Generator {
    /// A generator for `plan` whose ids start after `base`.
    pub fn new(plan: SeedPlan, base: IdBase) -> Self {
        Self {
            rng: StdRng::seed_from_u64(plan.seed),
            plan,
            base,
            post_times: Vec::new(),
        }
    }

    /// A skewed pick in `0..n`: low indices are chosen far more often (a few prolific
    /// authors and popular posts, a long tail of quiet ones).
    fn skewed(&mut self, n: u64) -> u64 {
        let x: f64 = self.rng.random();
        ((x * x * x) * n as f64).min((n - 1) as f64) as u64
    }

    fn sentence(&mut self, min: usize, max: usize) -> String {
        let len = self.rng.random_range(min..=max);
        let mut words: Vec<&str> = (0..len)
            .map(|_| WORDS[self.rng.random_range(0..WORDS.len())])
            .collect();
        let mut first = words[0].to_string();
        first[..1].make_ascii_uppercase();
        let rest = words.split_off(1).join(" ");
        if rest.is_empty() {
            format!("{first}.")
        } else {
            format!("{first} {rest}.")
        }
    }

    fn paragraph(&mut self, sentences: std::ops::RangeInclusive<usize>) -> String {
        let n = self.rng.random_range(sentences);
        (0..n)
            .map(|_| self.sentence(4, 12))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn at(&mut self, offset_s: u64) -> DateTime<Utc> {
        epoch() + chrono::Duration::seconds(offset_s as i64)
    }

    /// Every user.
    pub fn users(&mut self) -> Vec<UserRow> {
        (0..self.plan.users)
            .map(|i| {
                let id = self.base.user + 1 + i as i64;
                let first = FIRST_NAMES[self.rng.random_range(0..FIRST_NAMES.len())];
                let last = LAST_NAMES[self.rng.random_range(0..LAST_NAMES.len())];
                let offset = self.rng.random_range(0..YEAR_S);
                UserRow {
                    id,
                    name: format!("{first} {last}"),
                    email: format!(
                        "{}.{}.{id}@example.org",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ),
                    created_at: self.at(offset),
                }
            })
            .collect()
    }

    /// Every tag: the word list first, then `topic-N`; suffixed with the id when the
    /// database already had tags, so names stay unique.
    pub fn tags(&mut self) -> Vec<TagRow> {
        (0..self.plan.tags)
            .map(|i| {
                let id = self.base.tag + 1 + i as i64;
                let word = TAGS
                    .get(i as usize)
                    .map(|w| w.to_string())
                    .unwrap_or_else(|| format!("topic-{}", i + 1));
                let name = if self.base.tag == 0 {
                    word
                } else {
                    format!("{word}-{id}")
                };
                TagRow { id, name }
            })
            .collect()
    }

    /// Posts `range` (indices into the plan's posts), in id order.
    pub fn posts(&mut self, range: std::ops::Range<u64>) -> Vec<PostRow> {
        range
            .map(|i| {
                let id = self.base.post + 1 + i as i64;
                let author_id = self.base.user + 1 + self.skewed(self.plan.users) as i64;
                let offset = self.rng.random_range(0..YEAR_S);
                self.post_times.push(offset as i64);
                let title = self.sentence(3, 7);
                let title = title.trim_end_matches('.').to_string();
                let body = self.paragraph(2..=5);
                let published = self.rng.random_bool(0.9);
                let n_tags = if self.plan.tags == 0 {
                    0
                } else {
                    self.rng.random_range(0..=3u64.min(self.plan.tags))
                };
                let mut tag_ids = Vec::with_capacity(n_tags as usize);
                while (tag_ids.len() as u64) < n_tags {
                    let tag = self.base.tag + 1 + self.skewed(self.plan.tags) as i64;
                    if !tag_ids.contains(&tag) {
                        tag_ids.push(tag);
                    }
                }
                tag_ids.sort_unstable();
                PostRow {
                    id,
                    author_id,
                    title,
                    body,
                    published,
                    created_at: self.at(offset),
                    tag_ids,
                }
            })
            .collect()
    }

    /// Comments `range`, in id order; each comes after its post.
    pub fn comments(&mut self, range: std::ops::Range<u64>) -> Vec<CommentRow> {
        range
            .map(|i| {
                let id = self.base.comment + 1 + i as i64;
                let post = self.skewed(self.plan.posts);
                let author_id =
                    self.base.user + 1 + self.rng.random_range(0..self.plan.users) as i64;
                let after = self.rng.random_range(60..30 * 24 * 3600u64);
                let body = self.paragraph(1..=2);
                let at = self.post_times[post as usize] as u64 + after;
                CommentRow {
                    id,
                    post_id: self.base.post + 1 + post as i64,
                    author_id,
                    body,
                    created_at: self.at(at),
                }
            })
            .collect()
    }

    /// Every follow: distinct pairs, nobody follows themselves.
    pub fn follows(&mut self) -> Vec<FollowRow> {
        let users = self.plan.users;
        let possible = users.saturating_mul(users.saturating_sub(1));
        let wanted = self.plan.follows.min(possible);
        let mut seen = HashSet::with_capacity(wanted as usize);
        let mut out = Vec::with_capacity(wanted as usize);
        while (out.len() as u64) < wanted {
            let follower = self.rng.random_range(0..users);
            let followee = self.skewed(users);
            if follower == followee || !seen.insert((follower, followee)) {
                continue;
            }
            let offset = self.rng.random_range(0..YEAR_S);
            out.push(FollowRow {
                follower_id: self.base.user + 1 + follower as i64,
                followee_id: self.base.user + 1 + followee as i64,
                created_at: self.at(offset),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rows = (
        Vec<UserRow>,
        Vec<TagRow>,
        Vec<PostRow>,
        Vec<CommentRow>,
        Vec<FollowRow>,
    );

    fn plan() -> SeedPlan {
        SeedPlan {
            users: 20,
            posts: 50,
            comments: 200,
            tags: 8,
            follows: 40,
            seed: 7,
        }
    }

    fn all(plan: SeedPlan) -> Rows {
        let mut g = Generator::new(plan, IdBase::default());
        let users = g.users();
        let tags = g.tags();
        let posts = g.posts(0..plan.posts);
        let comments = g.comments(0..plan.comments);
        let follows = g.follows();
        (users, tags, posts, comments, follows)
    }

    #[test]
    fn same_seed_gives_the_same_rows() {
        assert_eq!(all(plan()), all(plan()));
    }

    #[test]
    fn different_seed_gives_different_rows() {
        let other = SeedPlan { seed: 8, ..plan() };
        assert_ne!(all(plan()).2, all(other).2);
    }

    #[test]
    fn chunked_generation_equals_one_pass() {
        let mut g = Generator::new(plan(), IdBase::default());
        g.users();
        g.tags();
        let mut posts = g.posts(0..20);
        posts.extend(g.posts(20..50));
        assert_eq!(posts, all(plan()).2);
    }

    #[test]
    fn references_point_at_generated_rows() {
        let (users, tags, posts, comments, follows) = all(plan());
        let user_ids = 1..=users.len() as i64;
        assert!(posts.iter().all(|p| user_ids.contains(&p.author_id)));
        assert!(
            posts
                .iter()
                .flat_map(|p| &p.tag_ids)
                .all(|t| (1..=tags.len() as i64).contains(t))
        );
        assert!(
            comments
                .iter()
                .all(|c| (1..=posts.len() as i64).contains(&c.post_id))
        );
        assert!(
            comments
                .iter()
                .all(|c| { c.created_at > posts[(c.post_id - 1) as usize].created_at })
        );
        assert!(follows.iter().all(|f| f.follower_id != f.followee_id));
        let pairs: HashSet<_> = follows
            .iter()
            .map(|f| (f.follower_id, f.followee_id))
            .collect();
        assert_eq!(pairs.len(), follows.len());
    }

    #[test]
    fn ids_start_after_the_base() {
        let base = IdBase {
            user: 100,
            post: 1000,
            comment: 5000,
            tag: 10,
        };
        let mut g = Generator::new(plan(), base);
        assert_eq!(g.users()[0].id, 101);
        let tags = g.tags();
        assert_eq!(tags[0].id, 11);
        assert_eq!(tags[0].name, "rust-11");
        assert_eq!(g.posts(0..1)[0].id, 1001);
    }

    #[test]
    fn follows_are_capped_by_the_possible_pairs() {
        let tiny = SeedPlan {
            users: 3,
            follows: 100,
            ..plan()
        };
        let mut g = Generator::new(tiny, IdBase::default());
        g.users();
        assert_eq!(g.follows().len(), 6);
    }
}
