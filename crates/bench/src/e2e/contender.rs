//! [`Contender`]: what serves the queries in one benchmark cell: this server in a loader
//! mode on a pool of connections, or a peer (PostGraphile).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Mode;

/// A server under test and its PostgreSQL pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "server", rename_all = "kebab-case")]
pub enum Contender {
    /// This server (`server serve`) in `mode` with `DATABASE_MAX_CONNECTIONS=pool`.
    Ours {
        /// The loader mode.
        mode: Mode,
        /// `DATABASE_MAX_CONNECTIONS`.
        pool: u32,
    },
    /// PostGraphile 4 (Node.js, one process) with `--max-pool-size pool`.
    PostGraphile {
        /// `--max-pool-size`.
        pool: u32,
    },
}

impl Contender {
    /// This server in `mode` on `pool` connections.
    pub fn ours(mode: Mode, pool: u32) -> Self {
        Contender::Ours { mode, pool }
    }

    /// The loader mode, for this server.
    pub fn mode(self) -> Option<Mode> {
        match self {
            Contender::Ours { mode, .. } => Some(mode),
            Contender::PostGraphile { .. } => None,
        }
    }

    /// The connection pool.
    pub fn pool(self) -> u32 {
        match self {
            Contender::Ours { pool, .. } | Contender::PostGraphile { pool } => pool,
        }
    }

    /// Whether this is async-graphql's `DataLoader` (its pool is tuned by hand).
    pub fn is_async_graphql(self) -> bool {
        self.mode() == Some(Mode::AsyncGraphql)
    }

    /// The engine's fixed limit, if this is a fixed mode.
    pub fn fixed_limit(self) -> Option<usize> {
        match self.mode() {
            Some(Mode::Fixed(n)) => Some(n),
            _ => None,
        }
    }

    /// A file-name-safe label (`async-graphql-pool-8`).
    pub fn slug(self) -> String {
        self.to_string().replace([':', ' '], "-").replace("--", "-")
    }
}

impl fmt::Display for Contender {
    /// `adaptive`, `fixed:4`, `none`, `async-graphql pool 8`, `postgraphile`: the pool is
    /// named where it is what varies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contender::Ours {
                mode: Mode::AsyncGraphql,
                pool,
            } => write!(f, "async-graphql pool {pool}"),
            Contender::Ours { mode, .. } => write!(f, "{mode}"),
            Contender::PostGraphile { .. } => f.write_str("postgraphile"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_pool_only_where_it_is_tuned() {
        assert_eq!(Contender::ours(Mode::Adaptive, 32).to_string(), "adaptive");
        assert_eq!(Contender::ours(Mode::Fixed(3), 32).slug(), "fixed-3");
        let pooled = Contender::ours(Mode::AsyncGraphql, 8);
        assert_eq!(pooled.to_string(), "async-graphql pool 8");
        assert_eq!(pooled.slug(), "async-graphql-pool-8");
        assert!(pooled.is_async_graphql());
        assert_eq!(Contender::PostGraphile { pool: 32 }.slug(), "postgraphile");
        assert_eq!(Contender::ours(Mode::Fixed(2), 32).fixed_limit(), Some(2));
    }

    #[test]
    fn contenders_round_trip_through_json() {
        for c in [
            Contender::ours(Mode::Fixed(16), 32),
            Contender::PostGraphile { pool: 16 },
        ] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Contender>(&json).unwrap(), c);
        }
        assert_eq!(
            serde_json::to_value(Contender::ours(Mode::AsyncGraphql, 4)).unwrap(),
            serde_json::json!({"server": "ours", "mode": "async-graphql", "pool": 4})
        );
    }
}
