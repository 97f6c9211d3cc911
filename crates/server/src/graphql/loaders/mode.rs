//! [`LoaderMode`]: how relations are loaded (`--loader` / `LOADER`), for comparing the
//! engine with async-graphql's `DataLoader` and with no loader at all.

use std::{fmt, str::FromStr};

use loader_core::limit::StrategyKind;

/// How the server resolves relation fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoaderMode {
    /// The loader engine with the strategy of `LOADER_SCALING_STRATEGY` (the default).
    #[default]
    Engine,
    /// The loader engine with this strategy: `adaptive` or `fixed:N` (overrides
    /// `LOADER_SCALING_STRATEGY`).
    EngineWith(StrategyKind),
    /// async-graphql's built-in `DataLoader` (one per relation and page size, process-wide,
    /// no cache, 1 ms batch delay) running the same batch functions.
    AsyncGraphql,
    /// No loader: every relation field runs its own query (the N+1 the loaders replace).
    PerRow,
}

impl LoaderMode {
    /// The engine's strategy in this mode, if it overrides the configured one.
    pub fn strategy(self) -> Option<StrategyKind> {
        match self {
            LoaderMode::EngineWith(kind) => Some(kind),
            _ => None,
        }
    }
}

impl fmt::Display for LoaderMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoaderMode::Engine => f.write_str("engine"),
            LoaderMode::EngineWith(kind) => write!(f, "{kind}"),
            LoaderMode::AsyncGraphql => f.write_str("async-graphql"),
            LoaderMode::PerRow => f.write_str("none"),
        }
    }
}

/// The error for an unknown `--loader` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown loader mode `{0}`: expected adaptive, fixed:N (or another scaling strategy), async-graphql or none"
)]
pub struct UnknownLoaderMode(pub String);

impl FromStr for LoaderMode {
    type Err = UnknownLoaderMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "engine" => Ok(LoaderMode::Engine),
            "async-graphql" | "async_graphql" | "dataloader" => Ok(LoaderMode::AsyncGraphql),
            "none" | "per-row" => Ok(LoaderMode::PerRow),
            other => other
                .parse::<StrategyKind>()
                .map(LoaderMode::EngineWith)
                .map_err(|_| UnknownLoaderMode(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_mode_parses() {
        assert_eq!(
            "adaptive".parse(),
            Ok(LoaderMode::EngineWith(StrategyKind::Adaptive))
        );
        assert_eq!(
            "fixed:8".parse(),
            Ok(LoaderMode::EngineWith(StrategyKind::Fixed(Some(8))))
        );
        assert_eq!("async-graphql".parse(), Ok(LoaderMode::AsyncGraphql));
        assert_eq!("none".parse(), Ok(LoaderMode::PerRow));
        assert!("sometimes".parse::<LoaderMode>().is_err());
    }

    #[test]
    fn mode_prints_as_it_parses() {
        for text in ["adaptive", "fixed:8", "async-graphql", "none", "engine"] {
            assert_eq!(text.parse::<LoaderMode>().unwrap().to_string(), text);
        }
    }
}
