//! [`SeedPlan`]: how much data to generate.

/// How much data to make, and from which random seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPlan {
    /// Users.
    pub users: u64,
    /// Posts.
    pub posts: u64,
    /// Comments.
    pub comments: u64,
    /// Tags.
    pub tags: u64,
    /// Follow relations.
    pub follows: u64,
    /// Random seed.
    pub seed: u64,
}

impl SeedPlan {
    /// The demo set made on first start: 300 users, 3 000 posts, 12 000 comments, 40 tags,
    /// 3 000 follows.
    pub fn demo(seed: u64) -> Self {
        Self {
            users: 300,
            posts: 3_000,
            comments: 12_000,
            tags: 40,
            follows: 3_000,
            seed,
        }
    }

    /// A small set for golden tests: 12 users, 40 posts, 120 comments, 6 tags, 30 follows.
    pub fn small(seed: u64) -> Self {
        Self {
            users: 12,
            posts: 40,
            comments: 120,
            tags: 6,
            follows: 30,
            seed,
        }
    }

    /// The plan with impossible parts dropped (no posts without users, no comments
    /// without posts).
    pub fn normalized(mut self) -> Self {
        if self.users == 0 {
            self.posts = 0;
            self.follows = 0;
        }
        if self.posts == 0 {
            self.comments = 0;
        }
        self
    }

    /// Rows this plan inserts (post-tag links not counted).
    pub fn rows(&self) -> u64 {
        self.users + self.posts + self.comments + self.tags + self.follows
    }
}
