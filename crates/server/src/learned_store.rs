//! [`LearnedStore`]: what the loader engine learned, shared between replicas through the
//! `loader_learned` table, so a new replica starts warm instead of at
//! `initial_concurrency`.
//!
//! - At start, [`LearnedStore::restore`] reads the rows of its scope written within
//!   `max_age` and hands them to [`Engine::restore`]: the strategy warm-starts at the best
//!   limit and each query group sizes its batches from its learned costs at once.
//! - While serving, [`LearnedStore::spawn_saver`] writes [`Engine::learned`] every interval:
//!   one upsert of a row per query group plus one engine-wide row. The last writer of a row
//!   wins: right for costs (every replica measures the same database) and for the limit
//!   (the most recent replica's view of its share of the database).
//!
//! The same table carries each replica's live limit (`fleet.rs`), which sharing also starts.
//!
//! Turning rows into a [`LearnedState`] is pure ([`state_from_rows`]) and tested without a
//! database.
//!
//! ```no_run
//! # async fn run(db: sea_orm::DatabaseConnection, engine: loader_core::Engine) -> Result<(), sea_orm::DbErr> {
//! use std::time::Duration;
//! use server::learned_store::LearnedStore;
//!
//! let store = LearnedStore::new(db, "default");
//! store.restore(&engine).await?;                      // warm start from the other replicas
//! store.spawn_saver(engine, Duration::from_secs(5));  // share what this replica learns
//! # Ok(()) }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use loader_core::{Engine, LearnedGroup, LearnedState};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr,
    sea_query::{Alias, Expr, ExprTrait as _, OnConflict, Query},
};
use serde::{Deserialize, Serialize};

/// Flags and environment of learned-state sharing (flattened into the server's settings).
#[derive(Debug, Clone, clap::Args)]
pub struct SharingSettings {
    /// Share what the loader learned with the other replicas through the `loader_learned`
    /// table: restore it at start (a warm start), save it periodically.
    #[arg(long, env = "LOADER_SHARE_LEARNED")]
    pub loader_share_learned: bool,
    /// What the shared state is about: replicas of one database use the same scope.
    #[arg(long, env = "LOADER_LEARNED_SCOPE", default_value = "default")]
    pub loader_learned_scope: String,
    /// How often the learned state is saved (ms).
    #[arg(long, env = "LOADER_LEARNED_SAVE_MS", default_value_t = 5_000)]
    pub loader_learned_save_ms: u64,
    /// How often a replica tells the others its live concurrency limit and reads theirs
    /// (ms), so that its limit experiments are judged by the fleet's goodput (`fleet.rs`).
    #[arg(long, env = "LOADER_FLEET_SYNC_MS", default_value_t = 250)]
    pub loader_fleet_sync_ms: u64,
}

/// With sharing on: restores the shared state into `engine` (a failure only logs: the
/// replica then starts cold) and starts the periodic saver, whose handle is returned.
pub async fn start_sharing(
    settings: &SharingSettings,
    db: &DatabaseConnection,
    engine: &Engine,
) -> Option<tokio::task::JoinHandle<()>> {
    if !settings.loader_share_learned {
        return None;
    }
    if std::env::var_os("LOADER_FLEET_MODE").is_some() {
        tracing::warn!(
            "LOADER_FLEET_MODE is no longer read: the `follow` mode was removed (it measured \
             worse); every replica runs its own strategy, judged by the fleet's goodput"
        );
    }
    let store = LearnedStore::new(db.clone(), settings.loader_learned_scope.as_str());
    if let Err(error) = store.restore(engine).await {
        tracing::warn!(%error, "cannot read the shared learned state; starting cold");
    }
    let every = Duration::from_millis(std::cmp::max(settings.loader_learned_save_ms, 100));
    let saver = AbortOnDrop(store.spawn_saver(engine.clone(), every));
    let fleet_every = Duration::from_millis(std::cmp::max(settings.loader_fleet_sync_ms, 100));
    let fleet = AbortOnDrop(
        crate::fleet::FleetSync::new(db.clone(), settings.loader_learned_scope.as_str())
            .spawn(engine.clone(), fleet_every),
    );
    // One handle for both: aborting it drops (and so aborts) the two tasks.
    Some(tokio::spawn(async move {
        let _tasks = (saver, fleet);
        std::future::pending::<()>().await;
    }))
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The table (created by the `m20261125_000007_create_loader_learned` migration).
pub const TABLE: &str = "loader_learned";

/// The `group_name` of the engine-wide row (no query group is named like this).
pub const ENGINE_ROW: &str = "*engine*";

/// The engine-wide part of a [`LearnedState`], as stored in the [`ENGINE_ROW`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineRow {
    /// Format version ([`LearnedState::VERSION`]).
    pub version: u32,
    /// The strategy that learned it: a limit is only restored into the same strategy.
    pub strategy: String,
    /// The limit of the best throughput seen.
    pub best_limit: Option<usize>,
}

/// One stored row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The query group's name, or [`ENGINE_ROW`].
    pub group_name: String,
    /// JSON of a [`LearnedGroup`] or an [`EngineRow`].
    pub state: String,
    /// When a replica last wrote it.
    pub updated_at: DateTime<Utc>,
}

/// Reads and writes the learned state of one scope (one engine's downstream, e.g. one
/// database) in the `loader_learned` table.
#[derive(Debug, Clone)]
pub struct LearnedStore {
    db: DatabaseConnection,
    scope: String,
    max_age: Duration,
}

impl LearnedStore {
    /// A store for `scope` on `db` (the database whose migrations created the table).
    pub fn new(db: DatabaseConnection, scope: impl Into<String>) -> Self {
        Self {
            db,
            scope: scope.into(),
            max_age: Duration::from_secs(24 * 3600),
        }
    }

    /// Rows older than this are ignored when loading (the database may have changed since).
    /// By default, this is 24 hours.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The stored state of this scope, or `None` when nothing recent is stored.
    pub async fn load(&self) -> Result<Option<LearnedState>, DbErr> {
        let rows = select_rows(&self.db, &self.scope, None).await?;
        Ok(state_from_rows(&rows, Utc::now(), self.max_age))
    }

    /// Writes `state`: one upsert for every group with at least one measured call, and the
    /// engine row when it has a best limit. Nothing is written for an empty state, so a
    /// fresh replica never overwrites what the others learned.
    pub async fn save(&self, state: &LearnedState) -> Result<usize, DbErr> {
        let rows = rows_from_state(state);
        if rows.is_empty() {
            return Ok(0);
        }
        upsert_rows(&self.db, &self.scope, &rows).await?;
        Ok(rows.len())
    }

    /// Deletes every row of this scope (a fresh start); returns how many there were.
    pub async fn clear(&self) -> Result<u64, DbErr> {
        let delete = Query::delete()
            .from_table(Alias::new(TABLE))
            .and_where(Expr::col(Alias::new("scope")).eq(self.scope.as_str()))
            .to_owned();
        Ok(self.db.execute(&delete).await?.rows_affected())
    }

    /// Loads the stored state and restores it into `engine` (costs always; the best limit
    /// only when it was learned by the same strategy). Returns what was restored.
    pub async fn restore(&self, engine: &Engine) -> Result<Option<LearnedState>, DbErr> {
        let Some(mut state) = self.load().await? else {
            return Ok(None);
        };
        if state.strategy != engine.snapshot().strategy {
            state.best_limit = None;
        }
        engine.restore(&state);
        tracing::info!(
            scope = %self.scope,
            groups = state.groups.len(),
            best_limit = ?state.best_limit,
            "restored the loader's learned state shared by other replicas"
        );
        Ok(Some(state))
    }

    /// Saves `engine.learned()` every `every` until the returned task is aborted (or the
    /// runtime stops). A failed save is logged and retried at the next tick.
    pub fn spawn_saver(self, engine: Engine, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(error) = self.save(&engine.learned()).await {
                    tracing::warn!(%error, scope = %self.scope, "cannot save the loader's learned state");
                }
            }
        })
    }
}

/// Upserts `(group_name, state)` rows of `scope`, stamped now (the last writer wins).
pub(crate) async fn upsert_rows(
    db: &DatabaseConnection,
    scope: &str,
    rows: &[(String, String)],
) -> Result<(), DbErr> {
    let now = Utc::now();
    let mut insert = Query::insert();
    insert.into_table(Alias::new(TABLE)).columns([
        Alias::new("scope"),
        Alias::new("group_name"),
        Alias::new("state"),
        Alias::new("updated_at"),
    ]);
    for (group, json) in rows {
        insert.values_panic([
            scope.into(),
            group.as_str().into(),
            json.as_str().into(),
            now.into(),
        ]);
    }
    insert.on_conflict(
        OnConflict::columns([Alias::new("scope"), Alias::new("group_name")])
            .update_columns([Alias::new("state"), Alias::new("updated_at")])
            .to_owned(),
    );
    db.execute(&insert).await?;
    Ok(())
}

/// The rows of `scope`, only those whose `group_name` starts with `prefix` if given.
pub(crate) async fn select_rows(
    db: &DatabaseConnection,
    scope: &str,
    prefix: Option<&str>,
) -> Result<Vec<Row>, DbErr> {
    let mut select = Query::select()
        .columns([
            Alias::new("group_name"),
            Alias::new("state"),
            Alias::new("updated_at"),
        ])
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("scope")).eq(scope))
        .to_owned();
    if let Some(prefix) = prefix {
        select.and_where(Expr::col(Alias::new("group_name")).like(format!("{prefix}%")));
    }
    let mut rows = Vec::new();
    for row in db.query_all(&select).await? {
        rows.push(Row {
            group_name: row.try_get("", "group_name")?,
            state: row.try_get("", "state")?,
            updated_at: row.try_get("", "updated_at")?,
        });
    }
    Ok(rows)
}

/// The rows to write for `state`: `(group_name, json)`, groups without a measured call
/// left out, the engine row only with a best limit.
pub fn rows_from_state(state: &LearnedState) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = state
        .groups
        .iter()
        .filter(|(_, g)| g.cost.samples > 0)
        .filter_map(|(name, g)| Some((name.clone(), serde_json::to_string(g).ok()?)))
        .collect();
    if state.best_limit.is_some() {
        let engine = EngineRow {
            version: state.version,
            strategy: state.strategy.clone(),
            best_limit: state.best_limit,
        };
        if let Ok(json) = serde_json::to_string(&engine) {
            rows.push((ENGINE_ROW.to_string(), json));
        }
    }
    rows
}

/// The state stored in `rows`, ignoring rows older than `max_age` at `now` and rows that do
/// not parse; `None` when nothing usable remains.
pub fn state_from_rows(
    rows: &[Row],
    now: DateTime<Utc>,
    max_age: Duration,
) -> Option<LearnedState> {
    let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let fresh = rows.iter().filter(|r| now - r.updated_at <= max_age);
    let mut state = LearnedState::empty("");
    let mut any = false;
    // Replica rows (`fleet.rs`) carry live limits, not learned state.
    let fresh = fresh.filter(|r| !r.group_name.starts_with(crate::fleet::REPLICA_PREFIX));
    for row in fresh {
        if row.group_name == ENGINE_ROW {
            if let Ok(engine) = serde_json::from_str::<EngineRow>(&row.state)
                && engine.version == LearnedState::VERSION
            {
                state.strategy = engine.strategy;
                state.best_limit = engine.best_limit;
                any = true;
            }
        } else if let Ok(group) = serde_json::from_str::<LearnedGroup>(&row.state) {
            state.groups.insert(row.group_name.clone(), group);
            any = true;
        }
    }
    any.then_some(state)
}

#[cfg(test)]
mod tests {
    use loader_core::metrics::CostEstimate;

    use super::*;

    #[tokio::test]
    async fn a_new_engine_restores_what_another_saved_through_the_table() {
        let db = crate::database::migrated_in_memory().await;
        let store = LearnedStore::new(db.clone(), "test");
        assert_eq!(store.load().await.unwrap(), None, "nothing stored yet");

        assert_eq!(
            store.save(&learned()).await.unwrap(),
            2,
            "one measured group and the engine row"
        );
        let mut newer = learned();
        newer.best_limit = Some(11);
        store.save(&newer).await.unwrap();

        let engine = Engine::builder().max_concurrency(32).build().unwrap();
        let restored = store.restore(&engine).await.unwrap().expect("state stored");
        assert_eq!(restored.best_limit, Some(11), "the last writer wins");
        assert_eq!(
            engine.limit(),
            11,
            "the engine warm-starts at the shared best limit"
        );
        let cost = engine.learned().groups["users.by_id"].cost;
        assert!(
            (cost.fixed_ms - 1.2).abs() < 1e-9 && (cost.per_key_ms - 0.01).abs() < 1e-9,
            "the group's cost model is restored: {cost:?}"
        );
        assert_eq!(
            LearnedStore::new(db.clone(), "other").load().await.unwrap(),
            None
        );
        assert_eq!(store.clear().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn sharing_restores_at_start_and_saves_what_the_engine_learns() {
        let db = crate::database::migrated_in_memory().await;
        let mut settings = crate::config::Settings::defaults().learned;
        let engine = Engine::builder().max_concurrency(32).build().unwrap();
        assert!(
            start_sharing(&settings, &db, &engine).await.is_none(),
            "off by default"
        );

        settings.loader_share_learned = true;
        settings.loader_learned_scope = "shared".into();
        settings.loader_learned_save_ms = 100;
        LearnedStore::new(db.clone(), "shared")
            .save(&learned())
            .await
            .unwrap();
        let saver = start_sharing(&settings, &db, &engine)
            .await
            .expect("a saver");
        assert_eq!(engine.limit(), 9, "warm start from the shared row");
        saver.abort();

        // Replicas of another scope each learn the other's live limit (the exchange runs
        // every 100 ms).
        settings.loader_learned_scope = "fleet".into();
        settings.loader_fleet_sync_ms = 100;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let (a, b) = (
            Engine::builder().initial_concurrency(3).build().unwrap(),
            Engine::builder().initial_concurrency(5).build().unwrap(),
        );
        let a_saver = start_sharing(&settings, &db, &a).await.expect("a saver");
        let b_saver = start_sharing(&settings, &db, &b).await.expect("a saver");
        while a.snapshot().fleet_others != b.limit() || b.snapshot().fleet_others != a.limit() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "fleet not seen: {} / {}",
                a.snapshot().fleet_others,
                b.snapshot().fleet_others
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for task in [a_saver, b_saver] {
            task.abort();
        }
    }

    fn learned() -> LearnedState {
        let mut state = LearnedState::empty("adaptive");
        state.best_limit = Some(9);
        state.groups.insert(
            "users.by_id".into(),
            LearnedGroup {
                cost: CostEstimate {
                    fixed_ms: 1.2,
                    per_key_ms: 0.01,
                    samples: 50,
                },
                best_limit: Some(8),
            },
        );
        state
            .groups
            .insert("posts.unmeasured".into(), LearnedGroup::default());
        state
    }

    fn rows_at(state: &LearnedState, at: DateTime<Utc>) -> Vec<Row> {
        rows_from_state(state)
            .into_iter()
            .map(|(group_name, state)| Row {
                group_name,
                state,
                updated_at: at,
            })
            .collect()
    }

    #[test]
    fn stored_rows_read_back_as_the_measured_part_of_the_state() {
        let now = Utc::now();
        let state = learned();
        let back = state_from_rows(&rows_at(&state, now), now, Duration::from_secs(60)).unwrap();
        assert_eq!(back.strategy, "adaptive");
        assert_eq!(back.best_limit, Some(9));
        assert_eq!(back.groups["users.by_id"], state.groups["users.by_id"]);
        assert!(
            !back.groups.contains_key("posts.unmeasured"),
            "groups without a measured call are not shared"
        );
    }

    #[test]
    fn an_empty_state_writes_no_rows() {
        assert!(rows_from_state(&LearnedState::empty("adaptive")).is_empty());
    }

    #[test]
    fn stale_and_corrupt_rows_are_ignored() {
        let now = Utc::now();
        let mut rows = rows_at(&learned(), now - chrono::Duration::hours(2));
        rows.push(Row {
            group_name: "broken".into(),
            state: "{ not json".into(),
            updated_at: now,
        });
        assert_eq!(state_from_rows(&rows, now, Duration::from_secs(3600)), None);
    }
}
