//! [`Mode`]: how the server resolves relations in one benchmark run.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A loader mode of the server (`LOADER=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Our engine with its adaptive limit.
    Adaptive,
    /// Our engine with a fixed concurrency limit.
    Fixed(usize),
    /// async-graphql's built-in `DataLoader` with the same batch functions.
    AsyncGraphql,
    /// No loader: one query per row (the N+1 the loaders replace).
    None,
}

impl Mode {
    /// Whether this mode needs the server's `--loader` switch (the engine's own modes run
    /// through `LOADER_SCALING_STRATEGY` without it).
    pub fn needs_loader_switch(self) -> bool {
        matches!(self, Mode::AsyncGraphql | Mode::None)
    }

    /// Environment variables that put the server in this mode. `has_switch`: the server
    /// understands `LOADER`.
    pub fn server_env(self, has_switch: bool) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if has_switch {
            env.push(("LOADER", self.to_string()));
        }
        match self {
            Mode::Adaptive => env.push(("LOADER_SCALING_STRATEGY", "adaptive".into())),
            Mode::Fixed(n) => env.push(("LOADER_SCALING_STRATEGY", format!("fixed:{n}"))),
            Mode::AsyncGraphql | Mode::None => {}
        }
        env
    }

    /// A file-name-safe label (`fixed-8`).
    pub fn slug(self) -> String {
        self.to_string().replace(':', "-")
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Adaptive => f.write_str("adaptive"),
            Mode::Fixed(n) => write!(f, "fixed:{n}"),
            Mode::AsyncGraphql => f.write_str("async-graphql"),
            Mode::None => f.write_str("none"),
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "adaptive" => Ok(Mode::Adaptive),
            "async-graphql" | "async_graphql" | "dataloader" => Ok(Mode::AsyncGraphql),
            "none" => Ok(Mode::None),
            other => other
                .strip_prefix("fixed:")
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .map(Mode::Fixed)
                .ok_or_else(|| {
                    format!("unknown mode `{s}`: use adaptive, fixed:N, async-graphql or none")
                }),
        }
    }
}

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_their_names() {
        for mode in [
            Mode::Adaptive,
            Mode::Fixed(16),
            Mode::AsyncGraphql,
            Mode::None,
        ] {
            assert_eq!(mode.to_string().parse::<Mode>(), Ok(mode));
        }
        assert_eq!(Mode::Fixed(8).slug(), "fixed-8");
    }

    #[test]
    fn bad_modes_are_rejected_with_the_valid_names() {
        assert!("fixed:0".parse::<Mode>().is_err());
        assert!(
            "fast"
                .parse::<Mode>()
                .unwrap_err()
                .contains("async-graphql")
        );
    }

    #[test]
    fn fixed_mode_sets_the_engine_strategy_with_or_without_the_switch() {
        assert_eq!(
            Mode::Fixed(4).server_env(false),
            [("LOADER_SCALING_STRATEGY", "fixed:4".to_string())]
        );
        let with = Mode::AsyncGraphql.server_env(true);
        assert_eq!(with, [("LOADER", "async-graphql".to_string())]);
        assert!(Mode::None.needs_loader_switch() && !Mode::Adaptive.needs_loader_switch());
    }
}
