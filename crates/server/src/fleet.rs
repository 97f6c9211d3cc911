//! [`FleetSync`]: the replicas of one database tell each other their live concurrency limits
//! through the `loader_learned` table, so that each engine knows the calls in flight at the
//! database, not only its own ([`Engine::set_fleet`]).
//!
//! Every interval a replica upserts one row of its scope, `group_name` =
//! `*replica*:<id>` and `state` = `{"limit": N}`, and reads the rows of the other replicas
//! written within three intervals (a replica that stopped drops out by itself). What they
//! hold goes to the engine as a [`FleetView`]: a cold replica takes its share of the initial
//! limit, and the adaptive law sizes its steps against every replica's permits. Without it,
//! a step up by one replica past the database's knee slows the calls by only its share of
//! the whole, looks free, and the fleet's total limit climbs well above the database's best
//! total concurrency.
//!
//! Every replica runs its own strategy: no replica sets the limit of the others.
//!
//! Turning rows into the view is pure ([`view_from_rows`]) and tested without a database.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use loader_core::{Engine, limit::FleetView};
use sea_orm::{DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};

use crate::learned_store::{Row, select_rows, upsert_rows};

/// The prefix of the rows that carry a replica's live limit (no query group is named so).
pub const REPLICA_PREFIX: &str = "*replica*:";

/// What a replica row stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaRow {
    /// The replica's concurrency limit when it wrote the row.
    pub limit: usize,
}

/// The replicas other than `own` whose rows were written within `max_age` of `now`, as
/// `own`'s engine sees them: how many, and the sum of their limits. Rows that are not
/// replica rows, or do not parse, are ignored.
pub fn view_from_rows(rows: &[Row], own: &str, now: DateTime<Utc>, max_age: Duration) -> FleetView {
    let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    rows.iter()
        .filter(|r| now - r.updated_at <= max_age)
        .filter_map(|r| {
            let id = r.group_name.strip_prefix(REPLICA_PREFIX)?;
            (id != own).then_some(())?;
            serde_json::from_str::<ReplicaRow>(&r.state).ok()
        })
        .fold(FleetView::default(), |view, r| FleetView {
            replicas: view.replicas + 1,
            others_permits: view.others_permits + r.limit,
        })
}

/// One replica's side of the exchange.
#[derive(Debug, Clone)]
pub struct FleetSync {
    db: DatabaseConnection,
    scope: String,
    id: String,
}

impl FleetSync {
    /// A replica of `scope` on `db`, with an id unique to this process.
    pub fn new(db: DatabaseConnection, scope: impl Into<String>) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // The start time and the process id: unique among the replicas of a scope.
        let id = format!("{nanos:024x}-{:x}", std::process::id());
        Self::with_id(db, scope, id)
    }

    /// A replica with a chosen id (replicas in one process, tests).
    pub fn with_id(
        db: DatabaseConnection,
        scope: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        Self {
            db,
            scope: scope.into(),
            id: id.into(),
        }
    }

    /// Publishes `limit`, reads the other replicas' rows fresher than `max_age` and returns
    /// what they hold, as this replica's engine is to see it ([`view_from_rows`]).
    pub async fn exchange(&self, limit: usize, max_age: Duration) -> Result<FleetView, DbErr> {
        let state = serde_json::to_string(&ReplicaRow { limit })
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let own = [(format!("{REPLICA_PREFIX}{}", self.id), state)];
        upsert_rows(&self.db, &self.scope, &own).await?;
        let rows = select_rows(&self.db, &self.scope, Some(REPLICA_PREFIX)).await?;
        // A row's age is read on this host's wall clock: hosts on one database agree (NTP)
        // to well within the three intervals a row stays fresh.
        Ok(view_from_rows(&rows, &self.id, Utc::now(), max_age))
    }

    /// Exchanges every `every` until the returned task is aborted, handing the view to
    /// `engine` ([`Engine::set_fleet`]); rows older than three intervals are the replicas
    /// that stopped. A failed exchange is logged, and the last known view stays until the
    /// next.
    pub fn spawn(self, engine: Engine, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.exchange(engine.limit(), every * 3).await {
                    Ok(view) => engine.set_fleet(view),
                    Err(error) => {
                        tracing::warn!(%error, scope = %self.scope, "cannot exchange limits with the other replicas");
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use loader_core::limit::{Sample, ScalingStrategy};

    use super::*;

    fn row(name: &str, state: &str, at: DateTime<Utc>) -> Row {
        Row {
            group_name: name.into(),
            state: state.into(),
            updated_at: at,
        }
    }

    #[test]
    fn the_others_are_the_fresh_replica_rows_but_this_one() {
        let now = DateTime::from_timestamp(1_000_000, 500_000_000).unwrap();
        let old = now - chrono::Duration::seconds(10);
        let rows = [
            row("*replica*:a", r#"{"limit":3}"#, now),
            row("*replica*:b", r#"{"limit":2}"#, now),
            row("*replica*:me", r#"{"limit":7}"#, now),
            row("*replica*:gone", r#"{"limit":9}"#, old),
            row("*replica*:broken", "{ not json", now),
            row("users.by_id", r#"{"limit":5}"#, now),
        ];
        let view = |own| view_from_rows(&rows, own, now, Duration::from_secs(3));
        assert_eq!(
            view("me"),
            FleetView {
                replicas: 2,
                others_permits: 5,
            }
        );
        assert_eq!(
            view("a"),
            FleetView {
                replicas: 2,
                others_permits: 9,
            }
        );
        let alone = view_from_rows(&[], "me", now, Duration::from_secs(3));
        assert_eq!(alone, FleetView::default());
        assert!(!alone.in_fleet());
    }

    #[tokio::test]
    async fn replicas_see_each_others_limits_through_the_table() {
        let db = crate::database::migrated_in_memory().await;
        let a = FleetSync::with_id(db.clone(), "s", "a");
        let b = FleetSync::with_id(db.clone(), "s", "b");
        let elsewhere = FleetSync::with_id(db.clone(), "other", "c");
        let fresh = Duration::from_secs(30);
        let permits = |view: FleetView| (view.replicas, view.others_permits);
        assert_eq!(
            permits(a.exchange(3, fresh).await.unwrap()),
            (0, 0),
            "alone so far"
        );
        assert_eq!(permits(elsewhere.exchange(8, fresh).await.unwrap()), (0, 0));
        assert_eq!(permits(b.exchange(2, fresh).await.unwrap()), (1, 3));
        assert_eq!(permits(a.exchange(4, fresh).await.unwrap()), (1, 2));
        let seen_by_b = b.exchange(2, fresh).await.unwrap();
        assert_eq!(permits(seen_by_b), (1, 4), "a's row was updated");
        // The replica rows are not learned state.
        let learned = crate::learned_store::LearnedStore::new(db.clone(), "s");
        assert_eq!(learned.load().await.unwrap(), None);
    }

    /// Keeps every view the engine hands it; its limit never moves.
    struct Recorder {
        limit: usize,
        views: Arc<Mutex<Vec<FleetView>>>,
    }

    impl ScalingStrategy for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn limit(&self) -> usize {
            self.limit
        }
        fn on_sample(&mut self, _: &Sample) -> usize {
            self.limit
        }
        fn reason(&self) -> &str {
            "recorded"
        }
        fn warm_start(&mut self, _: usize) {}
        fn set_fleet(&mut self, view: FleetView) {
            self.views.lock().unwrap().push(view);
        }
    }

    #[tokio::test]
    async fn on_postgres_each_strategy_gets_the_others_permits() {
        let url = test_support::pg_or_skip!();
        let db = crate::database::connect(&crate::config::Settings::for_database(&url))
            .await
            .unwrap();
        crate::database::migrate(&db).await.unwrap();
        // Three replicas of one scope, holding 2, 3 and 5 permits, exchanging in turn.
        let replicas = [("a", 2), ("b", 3), ("c", 5)].map(|(id, limit)| {
            let views = Arc::new(Mutex::new(Vec::new()));
            let recorder = Recorder {
                limit,
                views: views.clone(),
            };
            let engine = Engine::builder()
                .strategy(Box::new(recorder))
                .build()
                .unwrap();
            (FleetSync::with_id(db.clone(), "pg", id), engine, views)
        });
        for _round in 0..2 {
            for (sync, engine, _) in &replicas {
                let view = sync
                    .exchange(engine.limit(), Duration::from_secs(60))
                    .await
                    .unwrap();
                engine.set_fleet(view);
            }
        }
        for (before, (_, engine, views)) in replicas.iter().enumerate() {
            let views = views.lock().unwrap();
            let (first, last) = (views[0], views[1]);
            assert_eq!(views.len(), 2);
            assert_eq!(
                first.replicas, before,
                "the first round: the replicas that exchanged before it"
            );
            let others = 10 - engine.limit();
            assert_eq!((last.replicas, last.others_permits), (2, others));
            assert_eq!(engine.snapshot().fleet_others, others);
        }
    }
}
