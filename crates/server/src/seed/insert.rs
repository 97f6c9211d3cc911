//! Writing a plan's rows: many rows per statement, one transaction, a progress bar.

use std::time::Instant;

use anyhow::Context as _;
use entity::{comment, follow, post, post_tag, tag, user};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QuerySelect, TransactionTrait,
};

use super::{Generator, IdBase, SeedPlan};

/// Rows per `INSERT`: 1 000 rows of at most 6 columns stay far below the bound-parameter
/// limits of SQLite (32 766) and PostgreSQL (65 535).
const ROWS_PER_STATEMENT: usize = 1_000;
/// Posts and comments generated at a time, so large plans need little memory.
const ROWS_PER_CHUNK: u64 = 20_000;

/// Inserts the rows of `plan` after the ids already in the database. Shows a progress bar
/// when `progress` is set and standard error is a terminal.
pub async fn run(db: &DatabaseConnection, plan: SeedPlan, progress: bool) -> anyhow::Result<()> {
    let plan = plan.normalized();
    let started = Instant::now();
    let bar = if progress {
        ProgressBar::new(plan.rows())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );

    let txn = db.begin().await?;
    let base = IdBase {
        user: max_id::<user::Entity>(&txn, user::Column::Id).await?,
        post: max_id::<post::Entity>(&txn, post::Column::Id).await?,
        comment: max_id::<comment::Entity>(&txn, comment::Column::Id).await?,
        tag: max_id::<tag::Entity>(&txn, tag::Column::Id).await?,
    };
    let mut generator = Generator::new(plan, base);

    bar.set_message("users");
    let users = generator.users().into_iter().map(|u| user::ActiveModel {
        id: Set(u.id),
        name: Set(u.name),
        email: Set(u.email),
        created_at: Set(u.created_at),
    });
    insert_all::<user::Entity, _>(&txn, users, &bar).await?;

    bar.set_message("tags");
    let tags = generator.tags().into_iter().map(|t| tag::ActiveModel {
        id: Set(t.id),
        name: Set(t.name),
    });
    insert_all::<tag::Entity, _>(&txn, tags, &bar).await?;

    bar.set_message("posts");
    for start in (0..plan.posts).step_by(ROWS_PER_CHUNK as usize) {
        let posts = generator.posts(start..(start + ROWS_PER_CHUNK).min(plan.posts));
        let links: Vec<post_tag::ActiveModel> = posts
            .iter()
            .flat_map(|p| {
                p.tag_ids.iter().map(|t| post_tag::ActiveModel {
                    post_id: Set(p.id),
                    tag_id: Set(*t),
                })
            })
            .collect();
        let posts = posts.into_iter().map(|p| post::ActiveModel {
            id: Set(p.id),
            author_id: Set(p.author_id),
            title: Set(p.title),
            body: Set(p.body),
            published: Set(p.published),
            created_at: Set(p.created_at),
        });
        insert_all::<post::Entity, _>(&txn, posts, &bar).await?;
        insert_all::<post_tag::Entity, _>(&txn, links, &ProgressBar::hidden()).await?;
    }

    bar.set_message("comments");
    for start in (0..plan.comments).step_by(ROWS_PER_CHUNK as usize) {
        let comments = generator
            .comments(start..(start + ROWS_PER_CHUNK).min(plan.comments))
            .into_iter()
            .map(|c| comment::ActiveModel {
                id: Set(c.id),
                post_id: Set(c.post_id),
                author_id: Set(c.author_id),
                body: Set(c.body),
                created_at: Set(c.created_at),
            });
        insert_all::<comment::Entity, _>(&txn, comments, &bar).await?;
    }

    bar.set_message("follows");
    let follows = generator
        .follows()
        .into_iter()
        .map(|f| follow::ActiveModel {
            follower_id: Set(f.follower_id),
            followee_id: Set(f.followee_id),
            created_at: Set(f.created_at),
        });
    insert_all::<follow::Entity, _>(&txn, follows, &bar).await?;

    if txn.get_database_backend() == DbBackend::Postgres {
        // Explicit ids do not advance PostgreSQL's sequences; move them past the new rows.
        for table in ["users", "posts", "comments", "tags"] {
            txn.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 GREATEST((SELECT MAX(id) FROM {table}), 1))"
            ))
            .await
            .with_context(|| format!("moving the id sequence of {table}"))?;
        }
    }
    txn.commit().await?;
    bar.finish_with_message("done");
    tracing::info!(
        rows = plan.rows(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "seeded the database"
    );
    Ok(())
}

async fn max_id<E: EntityTrait>(txn: &DatabaseTransaction, id: E::Column) -> anyhow::Result<i64> {
    let max: Option<Option<i64>> = E::find()
        .select_only()
        .column_as(id.max(), "max_id")
        .into_tuple()
        .one(txn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

async fn insert_all<E, A>(
    txn: &DatabaseTransaction,
    rows: impl IntoIterator<Item = A>,
    bar: &ProgressBar,
) -> anyhow::Result<()>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        let n = chunk.len() as u64;
        E::insert_many(chunk)
            .exec_without_returning(txn)
            .await
            .with_context(|| format!("inserting into {}", E::default().table_name()))?;
        bar.inc(n);
    }
    Ok(())
}
