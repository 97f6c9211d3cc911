//! [`FleetSync`]: the replicas of one database tell each other their live concurrency limits
//! through the `loader_learned` table, so that each engine judges its limit experiments by
//! what they do to the whole fleet's goodput ([`Engine::set_fleet_concurrency`]).
//!
//! Every interval a replica upserts one row of its scope, `group_name` =
//! `*replica*:<id>` and `state` = `{"limit": N}`, and reads the rows of the other replicas
//! written within three intervals (a replica that stopped drops out by itself). The sum of
//! their limits goes to the engine. Without it, each replica's own goodput rises with every
//! permit it takes from the others on a saturated database, and the fleet's total limit
//! settles well above the database's best total concurrency. The replicas also take turns
//! at their experiments ([`Engine::set_fleet_turn`]): by rank of their ids, each starts its
//! probes in its own slot of the wall clock while the others hold still.
//!
//! Turning rows into the others' sum is pure ([`others_from_rows`]) and tested without a
//! database.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use loader_core::Engine;
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

/// The other replicas of a fleet as one replica sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Others {
    /// How many other replicas are live.
    pub replicas: usize,
    /// The sum of their limits.
    pub permits: usize,
    /// How many of them have an id that sorts before this replica's: this replica's rank in
    /// the fleet's turns ([`Engine::set_fleet_turn`]).
    pub rank: usize,
    /// The limit of the fleet's leader, the live replica whose id sorts first (ids start
    /// with the start time: the oldest), when that is another replica.
    pub leader: Option<usize>,
    /// The limit all of them hold, if they hold the same (a leader's followers caught up).
    pub all_at: Option<usize>,
}

/// How the replicas of a fleet set their limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FleetMode {
    /// The oldest replica runs the adaptive strategy; every other replica follows its limit
    /// ([`Engine::follow_fleet_limit`]). All replicas hold the same limit, and each
    /// experiment of the leader moves the whole fleet, so the leader's goodput stands for
    /// the fleet's. Measured worse than `Independent` on the capped database (RELIABILITY.md
    /// runs V–Z).
    Follow,
    /// Every replica runs its own strategy and judges its experiments by the fleet's goodput
    /// ([`Engine::set_fleet_concurrency`]), taking turns ([`Engine::set_fleet_turn`]). The
    /// default.
    #[default]
    Independent,
}

/// The replicas other than `own` whose rows were written within `max_age` of `now`: how many,
/// the sum of their limits, and `own`'s rank among all of them by id. Rows that are not
/// replica rows, or do not parse, are ignored.
pub fn others_from_rows(rows: &[Row], own: &str, now: DateTime<Utc>, max_age: Duration) -> Others {
    let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    rows.iter()
        .filter(|r| now - r.updated_at <= max_age)
        .filter_map(|r| {
            let id = r.group_name.strip_prefix(REPLICA_PREFIX)?;
            (id != own).then_some(())?;
            let row = serde_json::from_str::<ReplicaRow>(&r.state).ok()?;
            Some((id, row))
        })
        .fold((Others::default(), own), |(acc, first), (id, r)| {
            let others = Others {
                replicas: acc.replicas + 1,
                permits: acc.permits + r.limit,
                rank: acc.rank + usize::from(id < own),
                leader: if id < first {
                    Some(r.limit)
                } else {
                    acc.leader
                },
                all_at: match acc.replicas {
                    0 => Some(r.limit),
                    _ => acc.all_at.filter(|&l| l == r.limit),
                },
            };
            (others, if id < first { id } else { first })
        })
        .0
}

/// One replica's side of the exchange.
#[derive(Debug, Clone)]
pub struct FleetSync {
    db: DatabaseConnection,
    scope: String,
    id: String,
    mode: FleetMode,
}

impl FleetSync {
    /// A replica of `scope` on `db`, with an id unique to this process.
    pub fn new(db: DatabaseConnection, scope: impl Into<String>) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // The start time first, zero-padded: ids sort by age, and the oldest replica leads.
        let id = format!("{nanos:024x}-{:x}", std::process::id());
        Self::with_id(db, scope, id)
    }

    /// How this replica sets its limit (by default [`FleetMode::Independent`]).
    pub fn mode(mut self, mode: FleetMode) -> Self {
        self.mode = mode;
        self
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
            mode: FleetMode::default(),
        }
    }

    /// Publishes `limit`, reads the other replicas' rows fresher than `max_age` and returns
    /// how many they are and the sum of their limits.
    pub async fn exchange(&self, limit: usize, max_age: Duration) -> Result<Others, DbErr> {
        let state = serde_json::to_string(&ReplicaRow { limit })
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let own = [(format!("{REPLICA_PREFIX}{}", self.id), state)];
        upsert_rows(&self.db, &self.scope, &own).await?;
        let rows = select_rows(&self.db, &self.scope, Some(REPLICA_PREFIX)).await?;
        Ok(others_from_rows(&rows, &self.id, Utc::now(), max_age))
    }

    /// Hands what the exchange found to `engine`, as [`FleetMode`] says.
    fn apply(&self, engine: &Engine, others: Others) {
        match self.mode {
            FleetMode::Follow => {
                // The leader's share of the database does not change when everyone moves with
                // it: it runs its strategy as if alone, measuring once the others hold its
                // limit.
                engine.set_fleet_concurrency(0, 0);
                engine.follow_fleet_limit(others.leader);
                let followers = if others.leader.is_none() {
                    others.replicas
                } else {
                    0
                };
                engine.set_fleet_followers(followers, others.all_at);
            }
            FleetMode::Independent => {
                engine.follow_fleet_limit(None);
                engine.set_fleet_followers(0, None);
                engine.set_fleet_concurrency(others.permits, others.replicas);
                // Replicas on one database run on hosts whose wall clocks agree (NTP) to
                // well within a turn (2.5 s).
                let clock = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                engine.set_fleet_turn(others.rank, others.replicas + 1, clock);
            }
        }
    }

    /// Exchanges every `every` until the returned task is aborted, handing the others' sum
    /// and this replica's turn to `engine`; rows older than three intervals are the replicas
    /// that stopped. A failed exchange is logged, and the last known sum stays until the next.
    pub fn spawn(self, engine: Engine, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.exchange(engine.limit(), every * 3).await {
                    Ok(others) => self.apply(&engine, others),
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
        let now = Utc::now();
        let old = now - chrono::Duration::seconds(10);
        let rows = [
            row("*replica*:a", r#"{"limit":3}"#, now),
            row("*replica*:b", r#"{"limit":2}"#, now),
            row("*replica*:me", r#"{"limit":7}"#, now),
            row("*replica*:gone", r#"{"limit":9}"#, old),
            row("*replica*:broken", "{ not json", now),
            row("users.by_id", r#"{"limit":5}"#, now),
        ];
        let others = |own| others_from_rows(&rows, own, now, Duration::from_secs(3));
        assert_eq!(
            others("me"),
            Others {
                replicas: 2,
                permits: 5,
                rank: 2,
                leader: Some(3),
                all_at: None,
            }
        );
        assert_eq!(
            others("a"),
            Others {
                replicas: 2,
                permits: 9,
                rank: 0,
                leader: None,
                all_at: None,
            }
        );
        assert_eq!(others("b").rank, 1, "a < b < me");
        assert_eq!(others("b").leader, Some(3), "a leads");
        let agreeing = [
            row("*replica*:a", r#"{"limit":3}"#, now),
            row("*replica*:b", r#"{"limit":3}"#, now),
        ];
        let all_at = others_from_rows(&agreeing, "me", now, Duration::from_secs(3)).all_at;
        assert_eq!(all_at, Some(3), "the followers caught up");
        assert_eq!(
            others_from_rows(&[], "me", now, Duration::from_secs(3)),
            Others::default()
        );
    }

    #[tokio::test]
    async fn replicas_see_each_others_limits_through_the_table() {
        let db = crate::database::migrated_in_memory().await;
        let a = FleetSync::with_id(db.clone(), "s", "a");
        let b = FleetSync::with_id(db.clone(), "s", "b");
        let elsewhere = FleetSync::with_id(db.clone(), "other", "c");
        let fresh = Duration::from_secs(30);
        let permits = |others: Others| (others.replicas, others.permits);
        assert_eq!(
            permits(a.exchange(3, fresh).await.unwrap()),
            (0, 0),
            "alone so far"
        );
        assert_eq!(permits(elsewhere.exchange(8, fresh).await.unwrap()), (0, 0));
        assert_eq!(permits(b.exchange(2, fresh).await.unwrap()), (1, 3));
        assert_eq!(permits(a.exchange(4, fresh).await.unwrap()), (1, 2));
        assert_eq!(
            permits(b.exchange(2, fresh).await.unwrap()),
            (1, 4),
            "a's row was updated"
        );
        // The replica rows are not learned state.
        let learned = crate::learned_store::LearnedStore::new(db.clone(), "s");
        assert_eq!(learned.load().await.unwrap(), None);
    }
}
