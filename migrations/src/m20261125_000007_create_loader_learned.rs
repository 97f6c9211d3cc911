//! `loader_learned`: what the loader engines of a deployment learned (per query group costs,
//! best limits), shared through the database so a new replica starts warm.
//!
//! One row per `(scope, group_name)`; `state` is the JSON of one `loader_core::LearnedGroup`
//! (or, for the engine-wide row, of the engine's best limit), `updated_at` when a replica
//! last wrote it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum LoaderLearned {
    Table,
    Scope,
    GroupName,
    State,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoaderLearned::Table)
                    .col(string(LoaderLearned::Scope))
                    .col(string(LoaderLearned::GroupName))
                    .col(text(LoaderLearned::State))
                    .col(timestamp_with_time_zone(LoaderLearned::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(LoaderLearned::Scope)
                            .col(LoaderLearned::GroupName),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoaderLearned::Table).to_owned())
            .await
    }
}
