use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Follows {
    Table,
    FollowerId,
    FolloweeId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Follows::Table)
                    .col(big_integer(Follows::FollowerId))
                    .col(big_integer(Follows::FolloweeId))
                    .col(timestamp_with_time_zone(Follows::CreatedAt))
                    .primary_key(
                        Index::create()
                            .name("pk_follows")
                            .col(Follows::FollowerId)
                            .col(Follows::FolloweeId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_follows_follower_id")
                            .from(Follows::Table, Follows::FollowerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_follows_followee_id")
                            .from(Follows::Table, Follows::FolloweeId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "Whom does X follow, newest first" and "who follows X, newest first".
        manager
            .create_index(
                Index::create()
                    .name("idx_follows_follower_id_created_at")
                    .table(Follows::Table)
                    .col(Follows::FollowerId)
                    .col(Follows::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_follows_followee_id_created_at")
                    .table(Follows::Table)
                    .col(Follows::FolloweeId)
                    .col(Follows::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Follows::Table).to_owned())
            .await
    }
}
