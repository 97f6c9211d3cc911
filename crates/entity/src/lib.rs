//! SeaORM entities of the forum data model (tables created by the `migration` crate).
//!
//! | entity | table | relations |
//! |---|---|---|
//! | [`user`] | `users` | has many posts, comments; followers/following through [`follow`] |
//! | [`post`] | `posts` | belongs to an author; has many comments; tags through [`post_tag`] |
//! | [`comment`] | `comments` | belongs to a post and an author |
//! | [`tag`] | `tags` | posts through [`post_tag`] |
//! | [`post_tag`] | `post_tags` | junction `(post_id, tag_id)` |
//! | [`follow`] | `follows` | junction `(follower_id, followee_id)` between users |
//!
//! Ids are `i64` (`BIGINT`, auto-increment). `created_at` is set by the
//! [`ActiveModelBehavior`](sea_orm::ActiveModelBehavior) on insert when left unset, so rows
//! inserted through SeaORM always carry one value format on every backend.
//!
//! ```
//! use entity::{post, prelude::*};
//! use sea_orm::{EntityTrait, QueryFilter, ColumnTrait, QueryTrait, DbBackend};
//!
//! let sql = Post::find()
//!     .filter(post::Column::Published.eq(true))
//!     .build(DbBackend::Sqlite)
//!     .to_string();
//! assert!(sql.contains(r#"FROM "posts""#));
//! ```

pub mod comment;
pub mod follow;
pub mod post;
pub mod post_tag;
pub mod tag;
pub mod user;

/// The entities under short names: `User`, `Post`, `Comment`, `Tag`, `PostTag`, `Follow`.
pub mod prelude {
    pub use crate::{
        comment::Entity as Comment, follow::Entity as Follow, post::Entity as Post,
        post_tag::Entity as PostTag, tag::Entity as Tag, user::Entity as User,
    };
}
