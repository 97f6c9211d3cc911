use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Posts {
    Table,
    Id,
    AuthorId,
    Title,
    Body,
    Published,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Posts::Table)
                    .col(big_pk_auto(Posts::Id))
                    .col(big_integer(Posts::AuthorId))
                    .col(string(Posts::Title))
                    .col(text(Posts::Body))
                    .col(boolean(Posts::Published).default(false))
                    .col(timestamp_with_time_zone(Posts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posts_author_id")
                            .from(Posts::Table, Posts::AuthorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Serves the foreign key and "posts of an author, newest first".
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_author_id_created_at")
                    .table(Posts::Table)
                    .col(Posts::AuthorId)
                    .col(Posts::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_created_at")
                    .table(Posts::Table)
                    .col(Posts::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Posts::Table).to_owned())
            .await
    }
}
