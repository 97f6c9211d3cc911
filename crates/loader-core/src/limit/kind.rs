//! [`StrategyKind`]: the strategies by name, as configuration files and flags spell them.

use std::{fmt, str::FromStr};

use super::{Adaptive, Aimd, Fixed, Gradient2, ScalingStrategy, StrategyConfig, Vegas};

/// The strategies by name, as used in configuration files, flags and the simulator.
///
/// ```
/// use loader_core::limit::StrategyKind;
/// let kind: StrategyKind = "gradient2".parse().unwrap();
/// assert_eq!(kind, StrategyKind::Gradient2);
/// assert_eq!("fixed:16".parse::<StrategyKind>().unwrap(), StrategyKind::Fixed(Some(16)));
/// assert!("nope".parse::<StrategyKind>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    /// A fixed limit: the given value, or `initial_concurrency` when `None`.
    Fixed(Option<usize>),
    /// Additive increase, multiplicative decrease.
    Aimd,
    /// TCP-Vegas-style queue estimation.
    Vegas,
    /// Netflix's Gradient2.
    Gradient2,
    /// This project's controller (the default).
    #[default]
    Adaptive,
}

impl StrategyKind {
    /// Every strategy name accepted by [`FromStr`].
    pub const NAMES: [&'static str; 5] = ["fixed", "aimd", "vegas", "gradient2", "adaptive"];

    /// Builds the strategy with the given bounds.
    pub fn build(self, config: StrategyConfig) -> Box<dyn ScalingStrategy> {
        match self {
            StrategyKind::Fixed(limit) => Box::new(Fixed::new(
                config.clamp(limit.unwrap_or(config.initial_concurrency)),
            )),
            StrategyKind::Aimd => Box::new(Aimd::new(config)),
            StrategyKind::Vegas => Box::new(Vegas::new(config)),
            StrategyKind::Gradient2 => Box::new(Gradient2::new(config)),
            StrategyKind::Adaptive => Box::new(Adaptive::new(config)),
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrategyKind::Fixed(Some(n)) => write!(f, "fixed:{n}"),
            StrategyKind::Fixed(None) => f.write_str("fixed"),
            StrategyKind::Aimd => f.write_str("aimd"),
            StrategyKind::Vegas => f.write_str("vegas"),
            StrategyKind::Gradient2 => f.write_str("gradient2"),
            StrategyKind::Adaptive => f.write_str("adaptive"),
        }
    }
}

/// The error for an unknown strategy name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scaling strategy `{0}`: expected one of fixed, fixed:N, aimd, vegas, gradient2, adaptive"
)]
pub struct UnknownStrategy(pub String);

impl FromStr for StrategyKind {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "fixed" => Ok(StrategyKind::Fixed(None)),
            "aimd" => Ok(StrategyKind::Aimd),
            "vegas" => Ok(StrategyKind::Vegas),
            "gradient2" => Ok(StrategyKind::Gradient2),
            "adaptive" => Ok(StrategyKind::Adaptive),
            other => match other.strip_prefix("fixed:").map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 => Ok(StrategyKind::Fixed(Some(n))),
                _ => Err(UnknownStrategy(s.to_string())),
            },
        }
    }
}
