//! Row counts of a GraphQL answer ([`count_rows`]) and their comparison between two
//! servers ([`compare_row_counts`]): before PostGraphile is timed, each query of the mix is
//! sent to both servers with the same ids, and the users, posts, comments and tags in both
//! answers must agree, so that both do the same work. Pure: the answers come from outside.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kind of row a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A user.
    User,
    /// A post.
    Post,
    /// A comment.
    Comment,
    /// A tag.
    Tag,
}

/// Which field names hold which kind of row, in one server's schema. Fields not named
/// (connections' `nodes`, join rows such as `postTagsByPostId`) are looked through.
#[derive(Debug, Clone, Copy)]
pub struct Naming(pub &'static [(&'static str, RowKind)]);

/// This server's schema.
pub const OUR_NAMING: Naming = Naming(&[
    ("user", RowKind::User),
    ("users", RowKind::User),
    ("author", RowKind::User),
    ("followers", RowKind::User),
    ("following", RowKind::User),
    ("post", RowKind::Post),
    ("posts", RowKind::Post),
    ("comments", RowKind::Comment),
    ("tag", RowKind::Tag),
    ("tags", RowKind::Tag),
]);

/// PostGraphile 4's schema of the same tables.
pub const POSTGRAPHILE_NAMING: Naming = Naming(&[
    ("allUsers", RowKind::User),
    ("userById", RowKind::User),
    ("userByAuthorId", RowKind::User),
    ("userByFollowerId", RowKind::User),
    ("userByFolloweeId", RowKind::User),
    ("allPosts", RowKind::Post),
    ("postById", RowKind::Post),
    ("postsByAuthorId", RowKind::Post),
    ("commentsByPostId", RowKind::Comment),
    ("commentsByAuthorId", RowKind::Comment),
    ("tagByTagId", RowKind::Tag),
]);

impl Naming {
    fn kind(&self, field: &str) -> Option<RowKind> {
        self.0
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, k)| *k)
    }
}

/// Rows of each kind in an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    /// Users.
    pub users: u64,
    /// Posts.
    pub posts: u64,
    /// Comments.
    pub comments: u64,
    /// Tags.
    pub tags: u64,
}

impl RowCounts {
    fn add(&mut self, kind: RowKind, n: u64) {
        match kind {
            RowKind::User => self.users += n,
            RowKind::Post => self.posts += n,
            RowKind::Comment => self.comments += n,
            RowKind::Tag => self.tags += n,
        }
    }

    /// Every kind added up.
    pub fn total(&self) -> u64 {
        self.users + self.posts + self.comments + self.tags
    }
}

impl fmt::Display for RowCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} users, {} posts, {} comments, {} tags",
            self.users, self.posts, self.comments, self.tags
        )
    }
}

/// Counts the rows in `data` (an answer's `data`): a named field holding an object is one
/// row of its kind, a list (or a connection's `nodes`) one per non-null element; what they
/// hold is counted too.
///
/// ```
/// use bench::e2e::{OUR_NAMING, POSTGRAPHILE_NAMING, RowCounts, count_rows};
/// use serde_json::json;
///
/// let ours = json!({"users": [{"name": "a", "posts": [{"tags": [{"name": "x"}]}]}]});
/// let theirs = json!({"allUsers": {"nodes": [{"name": "a", "postsByAuthorId": {"nodes": [
///     {"postTagsByPostId": {"nodes": [{"tagByTagId": {"name": "x"}}]}}]}}]}});
/// let one_each = RowCounts { users: 1, posts: 1, comments: 0, tags: 1 };
/// assert_eq!(count_rows(&ours, &OUR_NAMING), one_each);
/// assert_eq!(count_rows(&theirs, &POSTGRAPHILE_NAMING), one_each);
/// ```
pub fn count_rows(data: &Value, naming: &Naming) -> RowCounts {
    let mut counts = RowCounts::default();
    walk(data, naming, &mut counts);
    counts
}

fn walk(value: &Value, naming: &Naming, counts: &mut RowCounts) {
    match value {
        Value::Object(fields) => {
            for (name, inner) in fields {
                match naming.kind(name) {
                    Some(kind) => rows(inner, kind, naming, counts),
                    None => walk(inner, naming, counts),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, naming, counts)),
        _ => {}
    }
}

/// `value` is held by a field of `kind`: an object (a row, or a connection with `nodes`),
/// a list of rows, or null.
fn rows(value: &Value, kind: RowKind, naming: &Naming, counts: &mut RowCounts) {
    match value {
        Value::Array(items) => {
            for item in items.iter().filter(|v| !v.is_null()) {
                counts.add(kind, 1);
                walk(item, naming, counts);
            }
        }
        Value::Object(fields) => match fields.get("nodes") {
            Some(nodes @ Value::Array(_)) => rows(nodes, kind, naming, counts),
            _ => {
                counts.add(kind, 1);
                walk(value, naming, counts);
            }
        },
        _ => {}
    }
}

/// Why two answers are not the same work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowMismatch {
    /// The counts differ.
    #[error("`{query}`: this server answered {ours}, the peer {theirs}")]
    Differ {
        /// The query's name in the mix.
        query: String,
        /// This server's counts.
        ours: RowCounts,
        /// The peer's counts.
        theirs: RowCounts,
    },
    /// Both answers are empty: nothing was compared (an empty database, wrong ids).
    #[error("`{query}`: both answers hold no rows, so nothing was compared")]
    Empty {
        /// The query's name in the mix.
        query: String,
    },
}

/// `Ok` when both answers hold the same rows of every kind, and some rows.
///
/// ```
/// use bench::e2e::{RowCounts, compare_row_counts};
///
/// let a = RowCounts { users: 50, posts: 500, comments: 2500, tags: 1000 };
/// assert!(compare_row_counts("readme-nested", a, a).is_ok());
/// let fewer = RowCounts { comments: 2499, ..a };
/// let err = compare_row_counts("readme-nested", a, fewer).unwrap_err().to_string();
/// assert!(err.contains("2500 comments") && err.contains("2499 comments"), "{err}");
/// ```
pub fn compare_row_counts(
    query: &str,
    ours: RowCounts,
    theirs: RowCounts,
) -> Result<(), RowMismatch> {
    if ours != theirs {
        return Err(RowMismatch::Differ {
            query: query.to_string(),
            ours,
            theirs,
        });
    }
    if ours.total() == 0 {
        return Err(RowMismatch::Empty {
            query: query.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_readme_query_counts_alike_in_both_schemas() {
        let ours = json!({"users": [
            {"name": "a", "posts": [
                {"title": "t1", "comments": [{"author": {"name": "b"}}, {"author": {"name": "c"}}],
                 "tags": [{"name": "x"}, {"name": "y"}]},
                {"title": "t2", "comments": [], "tags": []}]},
            {"name": "d", "posts": []}]});
        let theirs = json!({"allUsers": {"nodes": [
            {"name": "a", "postsByAuthorId": {"nodes": [
                {"title": "t1",
                 "commentsByPostId": {"nodes": [{"userByAuthorId": {"name": "b"}}, {"userByAuthorId": {"name": "c"}}]},
                 "postTagsByPostId": {"nodes": [{"tagByTagId": {"name": "x"}}, {"tagByTagId": {"name": "y"}}]}},
                {"title": "t2", "commentsByPostId": {"nodes": []}, "postTagsByPostId": {"nodes": []}}]}},
            {"name": "d", "postsByAuthorId": {"nodes": []}}]}});
        let expected = RowCounts {
            users: 4,
            posts: 2,
            comments: 2,
            tags: 2,
        };
        let (a, b) = (
            count_rows(&ours, &OUR_NAMING),
            count_rows(&theirs, &POSTGRAPHILE_NAMING),
        );
        assert_eq!(a, expected, "2 listed users + 2 comment authors");
        assert_eq!(b, expected);
        assert_eq!(compare_row_counts("readme-nested", a, b), Ok(()));
    }

    #[test]
    fn nulls_are_not_rows_and_a_missing_tag_is_caught() {
        let ours = json!({"post": {"title": "t", "author": null, "tags": [{"name": "x"}, null]}});
        let counts = count_rows(&ours, &OUR_NAMING);
        assert_eq!(
            counts,
            RowCounts {
                users: 0,
                posts: 1,
                comments: 0,
                tags: 1
            }
        );
        let theirs = json!({"postById": {"title": "t", "postTagsByPostId": {"nodes": []}}});
        let err = compare_row_counts(
            "post-detail",
            counts,
            count_rows(&theirs, &POSTGRAPHILE_NAMING),
        )
        .unwrap_err();
        assert!(
            matches!(&err, RowMismatch::Differ { theirs, .. } if theirs.tags == 0 && theirs.posts == 1),
            "{err}"
        );
    }

    #[test]
    fn two_empty_answers_are_not_a_match() {
        let none = count_rows(&json!({"users": []}), &OUR_NAMING);
        assert_eq!(
            compare_row_counts("users-feed", none, RowCounts::default()),
            Err(RowMismatch::Empty {
                query: "users-feed".into()
            })
        );
    }

    #[test]
    fn every_count_must_agree_not_just_the_total() {
        let a = RowCounts {
            users: 2,
            posts: 1,
            comments: 0,
            tags: 0,
        };
        let b = RowCounts {
            users: 1,
            posts: 2,
            comments: 0,
            tags: 0,
        };
        assert_eq!(a.total(), b.total());
        assert!(compare_row_counts("q", a, b).is_err());
    }
}
