use sea_orm_migration::{prelude::*, schema::*};

use crate::{m20261125_000002_create_posts::Posts, m20261125_000004_create_tags::Tags};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PostTags {
    Table,
    PostId,
    TagId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PostTags::Table)
                    .col(big_integer(PostTags::PostId))
                    .col(big_integer(PostTags::TagId))
                    // The primary key (post_id, tag_id) also indexes post_id.
                    .primary_key(
                        Index::create()
                            .name("pk_post_tags")
                            .col(PostTags::PostId)
                            .col(PostTags::TagId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_post_tags_post_id")
                            .from(PostTags::Table, PostTags::PostId)
                            .to(Posts::Table, Posts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_post_tags_tag_id")
                            .from(PostTags::Table, PostTags::TagId)
                            .to(Tags::Table, Tags::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_post_tags_tag_id_post_id")
                    .table(PostTags::Table)
                    .col(PostTags::TagId)
                    .col(PostTags::PostId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PostTags::Table).to_owned())
            .await
    }
}
