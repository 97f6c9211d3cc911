//! `createPost` (the author is the caller) and `tagPost` (by the post's author only).

use async_graphql::{Context, ID, InputObject, Object, Result};
use entity::{post, user};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use super::{begin_write, tags};
use crate::{
    auth::{caller::unknown_user, caller_id},
    error::{AppError, AppResult},
    graphql::{Loaders, id, types::Post, validate},
};

/// A new post; its author is the caller.
#[derive(InputObject)]
pub struct CreatePostInput {
    /// Title, 1 to 200 characters.
    pub title: String,
    /// Body text, 1 to 10 000 characters.
    pub body: String,
    /// Whether the post is visible.
    #[graphql(default = true)]
    pub published: bool,
    /// Tag names (created when new), at most 10.
    #[graphql(default)]
    pub tags: Vec<String>,
}

/// Mutations of posts.
#[derive(Default)]
pub struct PostMutation;

#[Object]
impl PostMutation {
    /// Writes a post as the caller, creating its tags when new, in one transaction (needs
    /// a bearer token).
    async fn create_post(&self, ctx: &Context<'_>, input: CreatePostInput) -> Result<Post> {
        let author_id = caller_id(ctx)?;
        let title = validate::text("title", &input.title, validate::MAX_TITLE)?;
        let body = validate::text("body", &input.body, validate::MAX_BODY)?;
        let tag_names = tag_names(&input.tags)?;
        let db = ctx.data::<DatabaseConnection>()?;

        let (post, tags) = ctx
            .data::<Loaders>()?
            .statement("posts.create", async {
                let txn = begin_write(db).await.map_err(AppError::from)?;
                if user::Entity::find_by_id(author_id)
                    .one(&txn)
                    .await
                    .map_err(AppError::from)?
                    .is_none()
                {
                    return Err(unknown_user(author_id));
                }
                let post = post::ActiveModel {
                    author_id: Set(author_id),
                    title: Set(title),
                    body: Set(body),
                    published: Set(input.published),
                    ..Default::default()
                }
                .insert(&txn)
                .await
                .map_err(AppError::from)?;
                let tags = tags::find_or_create(&txn, &tag_names).await?;
                tags::link(&txn, post.id, &tags).await?;
                txn.commit().await.map_err(AppError::from)?;
                Ok::<_, AppError>((post, tags))
            })
            .await?;

        let tag_ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
        ctx.data::<Loaders>()?.created_post(&post, &tag_ids);
        Ok(Post(post))
    }

    /// Adds a tag (created when new) to one of the caller's posts; tagging twice is
    /// harmless. Another user's post is `FORBIDDEN`.
    async fn tag_post(&self, ctx: &Context<'_>, post_id: ID, tag: String) -> Result<Post> {
        let caller = caller_id(ctx)?;
        let post_id = id::parse("postId", &post_id)?;
        let tag = validate::tag_name(&tag)?;
        let db = ctx.data::<DatabaseConnection>()?;

        let (post, tags) = ctx
            .data::<Loaders>()?
            .statement("posts.tag", async {
                let txn = begin_write(db).await.map_err(AppError::from)?;
                let post = post::Entity::find_by_id(post_id)
                    .one(&txn)
                    .await
                    .map_err(AppError::from)?
                    .ok_or_else(|| AppError::not_found("post", post_id))?;
                if post.author_id != caller {
                    return Err(AppError::Forbidden(format!(
                        "post {post_id} belongs to another user; only its author may tag it"
                    )));
                }
                let tags = tags::find_or_create(&txn, std::slice::from_ref(&tag)).await?;
                tags::link(&txn, post.id, &tags).await?;
                txn.commit().await.map_err(AppError::from)?;
                Ok::<_, AppError>((post, tags))
            })
            .await?;

        let loaders = ctx.data::<Loaders>()?;
        for tag in &tags {
            loaders.tagged_post(post.id, tag.id);
        }
        Ok(Post(post))
    }
}

/// Validated, distinct tag names in input order.
fn tag_names(names: &[String]) -> AppResult<Vec<String>> {
    if names.len() > validate::MAX_TAGS_PER_POST {
        return Err(AppError::bad_input(
            "tags",
            format!(
                "at most {} tags per post, got {}",
                validate::MAX_TAGS_PER_POST,
                names.len()
            ),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let name = validate::tag_name(name)?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}
