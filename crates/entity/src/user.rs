//! `users`: the people who write posts and comments and follow each other.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[sea_orm(unique)]
    pub email: String,
    pub created_at: DateTimeUtc,
}

/// Direct relations of a user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::post::Entity")]
    Post,
    #[sea_orm(has_many = "super::comment::Entity")]
    Comment,
}

impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl Related<super::comment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Comment.def()
    }
}

/// From a user to the users who follow them (through `follows.followee_id`).
#[derive(Debug, Clone, Copy)]
pub struct Followers;

impl Linked for Followers {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![
            super::follow::Relation::Followee.def().rev(),
            super::follow::Relation::Follower.def(),
        ]
    }
}

/// From a user to the users they follow (through `follows.follower_id`).
#[derive(Debug, Clone, Copy)]
pub struct Following;

impl Linked for Following {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![
            super::follow::Relation::Follower.def().rev(),
            super::follow::Relation::Followee.def(),
        ]
    }
}

#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    async fn before_save<C>(mut self, _db: &C, insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if insert && self.created_at.is_not_set() {
            self.created_at = sea_orm::Set(chrono::Utc::now());
        }
        Ok(self)
    }
}
