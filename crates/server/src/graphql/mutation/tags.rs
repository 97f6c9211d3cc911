//! Finding or creating tags by name inside a write transaction.

use entity::{post_tag, tag};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::error::AppResult;

/// The tags with these (validated, distinct) names, creating the missing ones.
pub async fn find_or_create(
    txn: &DatabaseTransaction,
    names: &[String],
) -> AppResult<Vec<tag::Model>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let new_tags = names.iter().map(|name| tag::ActiveModel {
        name: Set(name.clone()),
        ..Default::default()
    });
    tag::Entity::insert_many(new_tags)
        .on_conflict_do_nothing_on([tag::Column::Name])
        .exec_without_returning(txn)
        .await?;
    let tags = tag::Entity::find()
        .filter(tag::Column::Name.is_in(names.iter().cloned()))
        .order_by_asc(tag::Column::Name)
        .all(txn)
        .await?;
    Ok(tags)
}

/// Links a post to tags; links that exist already are kept.
pub async fn link(txn: &DatabaseTransaction, post_id: i64, tags: &[tag::Model]) -> AppResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let links = tags.iter().map(|tag| post_tag::ActiveModel {
        post_id: Set(post_id),
        tag_id: Set(tag.id),
    });
    post_tag::Entity::insert_many(links)
        .on_conflict_do_nothing()
        .exec_without_returning(txn)
        .await?;
    Ok(())
}
