//! Strategies by name, with tuning overrides handed to them without recompiling:
//! `adaptive`, `fixed:32`, `adaptive[alarm=0,step=0.2]`.
//!
//! [`build`] is the hook: it turns a name, the engine's bounds and the [`Overrides`] into a
//! strategy. The built-in strategies take no overrides. To make a tunable strategy
//! available to `loader-sim`, add one arm to [`build`] that reads its tuning from the
//! overrides, e.g. for a `Tuning` struct that derives `Serialize` and `Deserialize`:
//!
//! ```text
//! "law" => Ok(Box::new(Law::new(config, overrides.apply(&Tuning::default())?))),
//! ```
//!
//! [`Overrides::apply`] sets each named field of the struct and rejects a name that is not a
//! field, so a typo on the command line is an error, not a silently ignored switch.

use std::{collections::BTreeMap, fmt, str::FromStr, sync::Arc};

use loader_core::limit::{ScalingStrategy, StrategyConfig, StrategyKind};
use serde::{Serialize, de::DeserializeOwned};

use crate::{CustomStrategy, SimError};

/// Tuning overrides: `name = value` pairs, values written as in JSON (`0.2`, `true`) or bare
/// strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides(BTreeMap<String, String>);

impl Overrides {
    /// Parses `name=value` items (as given to `--set`).
    ///
    /// ```
    /// let o = loader_sim::Overrides::parse(["gain=0.2", "probe = false"]).unwrap();
    /// assert_eq!(o.get("probe"), Some("false"));
    /// assert!(loader_sim::Overrides::parse(["gain"]).is_err());
    /// ```
    pub fn parse<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Result<Self, SimError> {
        let mut map = BTreeMap::new();
        for item in items {
            let item = item.as_ref();
            let (k, v) = item
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| {
                    SimError::Invalid(format!("tuning override `{item}`: expected NAME=VALUE"))
                })?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(Self(map))
    }

    /// No override.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every `(name, value)`, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// These overrides, then `later`'s (which win).
    pub fn merged(&self, later: &Overrides) -> Self {
        let mut map = self.0.clone();
        map.extend(later.0.clone());
        Self(map)
    }

    /// `defaults` with every overridden field set: each name must be a field of `T` (as
    /// serialised), and each value must parse as that field's type.
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// struct Tuning { gain: f64, probe: bool }
    /// let o = loader_sim::Overrides::parse(["probe=false"]).unwrap();
    /// let t = o.apply(&Tuning { gain: 0.1, probe: true }).unwrap();
    /// assert_eq!(t, Tuning { gain: 0.1, probe: false });
    /// let typo = loader_sim::Overrides::parse(["prob=false"]).unwrap();
    /// assert!(typo.apply(&Tuning { gain: 0.1, probe: true }).unwrap_err().contains("probe"));
    /// ```
    pub fn apply<T: Serialize + DeserializeOwned>(&self, defaults: &T) -> Result<T, String> {
        let mut value = serde_json::to_value(defaults).map_err(|e| e.to_string())?;
        let fields = value
            .as_object_mut()
            .ok_or("the tuning is not a struct of named fields")?;
        for (k, v) in &self.0 {
            if !fields.contains_key(k) {
                let mut known: Vec<&String> = fields.keys().collect();
                known.sort();
                return Err(format!(
                    "unknown tuning `{k}`; expected one of: {}",
                    known
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let parsed =
                serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.clone()));
            fields.insert(k.clone(), parsed);
        }
        serde_json::from_value(value).map_err(|e| format!("tuning {self}: {e}"))
    }
}

impl fmt::Display for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&items.join(","))
    }
}

/// Builds strategy `name` for the engine's bounds `config`, with its tuning `overrides`:
/// the hook where a tunable strategy is connected (see the module's docs).
pub fn build(
    name: &str,
    config: StrategyConfig,
    overrides: &Overrides,
) -> Result<Box<dyn ScalingStrategy>, String> {
    // Tunable strategies are connected here, before the built-in ones.
    if name == "adaptive" {
        let tuning = overrides.apply(&loader_core::limit::Tuning::default())?;
        return Ok(Box::new(loader_core::limit::Adaptive::with_tuning(
            config, tuning,
        )));
    }
    if name == "usl" {
        let tuning = overrides.apply(&crate::UslTuning::default())?;
        return Ok(Box::new(crate::Windowed::<crate::Usl>::new(config, tuning)));
    }
    if name == "extremum" {
        let tuning = overrides.apply(&crate::ExtremumTuning::default())?;
        return Ok(Box::new(crate::Windowed::<crate::Extremum>::new(
            config, tuning,
        )));
    }
    if name == "schedule" {
        return schedule(overrides).map(|s| Box::new(s) as Box<dyn ScalingStrategy>);
    }
    if name == LATE {
        return Err(format!(
            "`{LATE}` replays a scenario's per-phase oracle switched late, so it runs only in \
             `loader-sim eval`, where each scenario's oracle is known"
        ));
    }
    let kind: StrategyKind = name.parse().map_err(|e| format!("{e}"))?;
    if !overrides.is_empty() {
        return Err(format!(
            "strategy `{name}` takes no tuning overrides (got {overrides}); connect a tunable \
             strategy in crates/loader-sim/src/strategy.rs"
        ));
    }
    Ok(kind.build(config))
}

/// The name of the per-phase oracle switched late, `late[s=SECONDS]` (`loader-sim eval`
/// only, [`StrategySpec::late`]).
pub const LATE: &str = "late";

/// `schedule[0=4,20=16]`: limit 4 from 0 s, 16 from 20 s (an oracle's limits, replayed).
fn schedule(overrides: &Overrides) -> Result<crate::oracle::ScheduledLimit, String> {
    let mut steps = Vec::new();
    for (at, limit) in overrides.iter() {
        let at: f64 = at
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| format!("schedule: `{at}` is not a time in seconds"))?;
        let limit: usize = limit
            .parse()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| format!("schedule: `{limit}` is not a limit"))?;
        steps.push((std::time::Duration::from_secs_f64(at), limit));
    }
    if steps.is_empty() {
        return Err("schedule needs at least one AT_S=LIMIT, e.g. schedule[0=4,20=16]".into());
    }
    Ok(crate::oracle::ScheduledLimit::new(steps))
}

/// A strategy to run: a name known to [`build`], and its overrides. Written `name` or
/// `name[key=value,key=value]`.
///
/// ```
/// use loader_sim::StrategySpec;
/// let s: StrategySpec = "fixed:8".parse().unwrap();
/// assert_eq!(s.fixed_limit(), Some(8));
/// let t: StrategySpec = "adaptive[a=1,b=false]".parse().unwrap();
/// assert_eq!(t.name, "adaptive");
/// assert_eq!(t.to_string(), "adaptive[a=1,b=false]");
/// assert!("adaptive[a=1".parse::<StrategySpec>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StrategySpec {
    /// The strategy's name: `adaptive`, `aimd`, `vegas`, `gradient2`, `fixed:N`,
    /// `schedule` (overrides `AT_S=LIMIT`), `late` (`s=SECONDS`, [`StrategySpec::late`]),
    /// the compared designs `usl` and `extremum`, or one
    /// connected in [`build`].
    pub name: String,
    /// Its tuning overrides.
    pub overrides: Overrides,
}

impl FromStr for StrategySpec {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, SimError> {
        let s = s.trim();
        let (name, overrides) = match s.split_once('[') {
            None => (s, Overrides::default()),
            Some((name, rest)) => {
                let inner = rest.strip_suffix(']').ok_or_else(|| {
                    SimError::Invalid(format!("strategy `{s}`: expected NAME[KEY=VALUE,...]"))
                })?;
                let items = inner.split(',').filter(|i| !i.trim().is_empty());
                (name.trim(), Overrides::parse(items)?)
            }
        };
        if name.is_empty() {
            return Err(SimError::Invalid(format!("strategy `{s}`: no name")));
        }
        Ok(Self {
            name: name.to_ascii_lowercase(),
            overrides,
        })
    }
}

impl fmt::Display for StrategySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.overrides.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}[{}]", self.name, self.overrides)
        }
    }
}

impl StrategySpec {
    /// The limit of `fixed:N`.
    pub fn fixed_limit(&self) -> Option<usize> {
        match self.name.parse::<StrategyKind>() {
            Ok(StrategyKind::Fixed(n)) => n,
            _ => None,
        }
    }

    /// With `late[s=SECONDS]`: how late the per-phase oracle's limits are switched, each
    /// phase's limit taking over `SECONDS` after the change that starts it: what an operator
    /// who knew every phase's best limit but took that long to notice a change would serve.
    /// `None` for another strategy; an error for a `late` without a valid `s`.
    ///
    /// ```
    /// use loader_sim::StrategySpec;
    /// let late: StrategySpec = "late[s=0.5]".parse().unwrap();
    /// assert_eq!(late.late().unwrap(), Some(std::time::Duration::from_millis(500)));
    /// assert_eq!("adaptive".parse::<StrategySpec>().unwrap().late().unwrap(), None);
    /// assert!("late".parse::<StrategySpec>().unwrap().late().is_err());
    /// assert!("late[s=-1]".parse::<StrategySpec>().unwrap().late().is_err());
    /// ```
    pub fn late(&self) -> Result<Option<std::time::Duration>, SimError> {
        if self.name != LATE {
            return Ok(None);
        }
        let bad = || {
            SimError::Invalid(format!(
                "strategy {self}: `{LATE}` takes one override, s=SECONDS (a delay of 0 or more), \
                 e.g. {LATE}[s=1]"
            ))
        };
        let mut items = self.overrides.iter();
        let (Some(("s", secs)), None) = (items.next(), items.next()) else {
            return Err(bad());
        };
        let secs: f64 = secs.parse().map_err(|_| bad())?;
        if !secs.is_finite() || secs < 0.0 {
            return Err(bad());
        }
        Ok(Some(std::time::Duration::from_secs_f64(secs)))
    }

    /// The same strategy with `extra` overrides added (they win over its own).
    pub fn with_overrides(&self, extra: &Overrides) -> Self {
        Self {
            name: self.name.clone(),
            overrides: self.overrides.merged(extra),
        }
    }

    /// Checks the name and the overrides by building one instance, then returns what
    /// [`RunOptions::custom`](crate::RunOptions::custom) runs.
    pub fn to_custom(&self, config: StrategyConfig) -> Result<CustomStrategy, SimError> {
        build(&self.name, config, &self.overrides)
            .map_err(|e| SimError::Invalid(format!("strategy {self}: {e}")))?;
        let (name, overrides) = (self.name.clone(), self.overrides.clone());
        Ok(CustomStrategy {
            label: self.to_string(),
            build: Arc::new(move |config| {
                build(&name, config, &overrides).expect("checked when the spec was built")
            }),
        })
    }
}
