//! [`Loaders`]: what a request's resolvers load relations through.
//!
//! One `Loaders` is made per GraphQL request and put into the request data. It holds one
//! [`loader_core::Loader`] per relation and page size, all created on the one process-wide
//! [`Engine`](loader_core::Engine), so every relation of every request shares the engine's concurrency limit and
//! identical loads from concurrent requests coalesce. The batch functions behind the loaders
//! are made once per process (per relation and page size) and shared by every request, so
//! their query groups are derived once. Each loader caches what it loaded for
//! the rest of the request; mutations report their writes here (`created_post`, ...) and
//! the affected cache entries are dropped or primed, so a read after a write in the same
//! request sees the write.
//!
//! The page size (`first`) is part of the query group: `posts(first: 10)` and
//! `posts(first: 5)` are two groups, each one SQL statement per batch.
//!
//! Database work that is not a relation load (root lists, mutations) goes through
//! [`Loaders::statement`], under the same engine limit.
//!
//! The same resolvers also run on async-graphql's `DataLoader` or on no loader at all
//! ([`LoaderMode`], `--loader`), for comparisons.

mod backend;
mod batch_fns;
mod dataloader;
mod family;
mod mode;
mod statement;

use entity::{comment, follow, post, post_tag, tag, user};
use loader_core::{BatchFn, RequestScope};
use loader_seaorm::{ByKey, HasMany, ManyToMany};
use sea_orm::{DatabaseConnection, Order};
use tokio::time::Instant;

pub use backend::LoaderBackend;
pub use mode::{LoaderMode, UnknownLoaderMode};

use crate::error::AppResult;
use family::Family;

/// The per-request loaders of every relation in the schema.
pub struct Loaders {
    backend: LoaderBackend,
    db: DatabaseConnection,
    deadline: Instant,
    /// Engine mode: the request's place at the engine's door ([`Loaders::in_request`]), so
    /// that its loads are never refused (`loader_core::RequestScope`): it is served whole.
    request: Option<RequestScope>,
    users: Family<ByKey<user::Entity>>,
    posts: Family<ByKey<post::Entity>>,
    posts_of_author: Family<HasMany<post::Entity>>,
    comments_of_post: Family<HasMany<comment::Entity>>,
    comments_of_author: Family<HasMany<comment::Entity>>,
    tags_of_post: Family<ManyToMany<tag::Entity, post_tag::Entity>>,
    posts_of_tag: Family<ManyToMany<post::Entity, post_tag::Entity>>,
    followers_of: Family<ManyToMany<user::Entity, follow::Entity>>,
    followed_by: Family<ManyToMany<user::Entity, follow::Entity>>,
}

impl Loaders {
    /// Attaches the loaders to `request`, a scope the engine already admitted
    /// ([`loader_core::Engine::admit_request`]).
    #[must_use]
    pub fn in_request(mut self, request: RequestScope) -> Self {
        self.request = Some(request);
        self
    }

    /// The request's scope on the engine (engine mode): its execution is run through
    /// [`RequestScope::track`] so that the engine sees when a level is fully registered.
    pub fn request_scope(&self) -> Option<&RequestScope> {
        self.request.as_ref()
    }

    /// Loaders for one request on `backend`; loads still waiting at `deadline` fail.
    pub fn new(backend: &LoaderBackend, db: &DatabaseConnection, deadline: Instant) -> Self {
        Self {
            backend: backend.clone(),
            db: db.clone(),
            deadline,
            request: None,
            users: Family::new("users.by_id", |db, _| ByKey::new(db)),
            posts: Family::new("posts.by_id", |db, _| ByKey::new(db)),
            posts_of_author: Family::new("posts.of_author", |db, limit| {
                HasMany::new(db, post::Column::AuthorId)
                    .order_by(post::Column::CreatedAt, Order::Desc)
                    .order_by(post::Column::Id, Order::Desc)
                    .limit(u64::from(limit))
            }),
            comments_of_post: Family::new("comments.of_post", |db, limit| {
                HasMany::new(db, comment::Column::PostId)
                    .order_by(comment::Column::CreatedAt, Order::Desc)
                    .order_by(comment::Column::Id, Order::Desc)
                    .limit(u64::from(limit))
            }),
            comments_of_author: Family::new("comments.of_author", |db, limit| {
                HasMany::new(db, comment::Column::AuthorId)
                    .order_by(comment::Column::CreatedAt, Order::Desc)
                    .order_by(comment::Column::Id, Order::Desc)
                    .limit(u64::from(limit))
            }),
            tags_of_post: Family::new("tags.of_post", |db, _| {
                ManyToMany::new(db, post_tag::Column::PostId, post_tag::Column::TagId)
                    .order_by(tag::Column::Name, Order::Asc)
            }),
            posts_of_tag: Family::new("posts.of_tag", |db, limit| {
                ManyToMany::new(db, post_tag::Column::TagId, post_tag::Column::PostId)
                    .order_by(post::Column::CreatedAt, Order::Desc)
                    .order_by(post::Column::Id, Order::Desc)
                    .limit(u64::from(limit))
            }),
            followers_of: Family::new("users.followers_of", |db, limit| {
                ManyToMany::new(db, follow::Column::FolloweeId, follow::Column::FollowerId)
                    .order_by_junction(follow::Column::CreatedAt, Order::Desc)
                    .order_by(user::Column::Id, Order::Asc)
                    .limit(u64::from(limit))
            }),
            followed_by: Family::new("users.followed_by", |db, limit| {
                ManyToMany::new(db, follow::Column::FollowerId, follow::Column::FolloweeId)
                    .order_by_junction(follow::Column::CreatedAt, Order::Desc)
                    .order_by(user::Column::Id, Order::Asc)
                    .limit(u64::from(limit))
            }),
        }
    }

    /// The user with this id.
    pub async fn user(&self, id: i64) -> AppResult<Option<user::Model>> {
        self.users.get(self, 0).load(id).await
    }

    /// The post with this id.
    pub async fn post(&self, id: i64) -> AppResult<Option<post::Model>> {
        self.posts.get(self, 0).load(id).await
    }

    /// The newest `first` posts of an author.
    pub async fn posts_of_author(&self, author: i64, first: u32) -> AppResult<Vec<post::Model>> {
        self.many(&self.posts_of_author, author, first).await
    }

    /// The newest `first` comments on a post.
    pub async fn comments_of_post(&self, post: i64, first: u32) -> AppResult<Vec<comment::Model>> {
        self.many(&self.comments_of_post, post, first).await
    }

    /// The newest `first` comments by a user.
    pub async fn comments_of_author(
        &self,
        author: i64,
        first: u32,
    ) -> AppResult<Vec<comment::Model>> {
        self.many(&self.comments_of_author, author, first).await
    }

    /// Every tag of a post, by name.
    pub async fn tags_of_post(&self, post: i64) -> AppResult<Vec<tag::Model>> {
        Ok(self
            .tags_of_post
            .get(self, 0)
            .load(post)
            .await?
            .unwrap_or_default())
    }

    /// The newest `first` posts with a tag.
    pub async fn posts_of_tag(&self, tag: i64, first: u32) -> AppResult<Vec<post::Model>> {
        self.many(&self.posts_of_tag, tag, first).await
    }

    /// The `first` users who most recently followed `user`.
    pub async fn followers_of(&self, user: i64, first: u32) -> AppResult<Vec<user::Model>> {
        self.many(&self.followers_of, user, first).await
    }

    /// The `first` users `user` most recently followed.
    pub async fn followed_by(&self, user: i64, first: u32) -> AppResult<Vec<user::Model>> {
        self.many(&self.followed_by, user, first).await
    }

    async fn many<M: Clone + Send + Sync + 'static, F>(
        &self,
        family: &Family<F>,
        key: i64,
        first: u32,
    ) -> AppResult<Vec<M>>
    where
        F: BatchFn<Key = i64, Value = Vec<M>>,
    {
        if first == 0 {
            return Ok(Vec::new());
        }
        Ok(family.get(self, first).load(key).await?.unwrap_or_default())
    }

    /// A user was created: later reads of it in this request need no query.
    pub fn created_user(&self, user: &user::Model) {
        self.users.get(self, 0).prime(user.id, user.clone());
    }

    /// A post was created with these tags.
    pub fn created_post(&self, post: &post::Model, tag_ids: &[i64]) {
        self.posts.get(self, 0).prime(post.id, post.clone());
        self.posts_of_author.clear(&post.author_id);
        self.tags_of_post.clear(&post.id);
        for tag in tag_ids {
            self.posts_of_tag.clear(tag);
        }
    }

    /// A comment was added.
    pub fn added_comment(&self, comment: &comment::Model) {
        self.comments_of_post.clear(&comment.post_id);
        self.comments_of_author.clear(&comment.author_id);
    }

    /// A post was tagged.
    pub fn tagged_post(&self, post: i64, tag: i64) {
        self.tags_of_post.clear(&post);
        self.posts_of_tag.clear(&tag);
    }

    /// `follower` now follows `followee`.
    pub fn followed(&self, follower: i64, followee: i64) {
        self.followers_of.clear(&followee);
        self.followed_by.clear(&follower);
    }
}
