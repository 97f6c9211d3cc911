//! The scenario file: a simulated backend, the load offered to it, and for how long.

use std::path::Path;

use loader_core::LoaderConfig;
use serde::{Deserialize, Serialize};

use crate::{Schedule, SimError};

/// One simulation: backend model, offered load, duration. Parsed from TOML.
///
/// ```
/// let scenario = loader_sim::Scenario::from_toml_str(r#"
///     duration_s = 40
///     seed = 1
///     warmup_s = 8
///     [backend]
///     capacity = [[0, 32], [20, 8]]
///     base_latency_ms = 4.0
///     per_key_latency_ms = 0.1
///     overload_penalty = 0.5
///     jitter = 0.1
///     error_rate = 0
///     [load]
///     mode = "closed"
///     clients = 200
///     keys_per_request = 5
///     key_space = 1000000
///     request_timeout_ms = 2000
/// "#).unwrap();
/// assert_eq!(scenario.backend.capacity.at(25.0), 8.0);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports; by default the file's stem.
    #[serde(default)]
    pub name: String,
    /// Simulated seconds of offered load.
    pub duration_s: f64,
    /// Seed of every random draw (keys, arrivals, jitter, failures).
    #[serde(default)]
    pub seed: u64,
    /// Seconds excluded from steady-state figures.
    #[serde(default)]
    pub warmup_s: f64,
    /// The simulated downstream.
    pub backend: BackendSpec,
    /// The offered load.
    pub load: LoadSpec,
    /// Query groups, each a kind of batch call with its own cost; a request loads them one
    /// after the other, like the levels of a GraphQL query. By default, one group (`rows`,
    /// cost 1, `load.keys_per_request` keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupSpec>,
    /// Optional engine settings (any `LoaderConfig` field); the strategy comes from the
    /// command line. By default the engine's defaults.
    #[serde(default)]
    pub engine: Option<LoaderConfig>,
    /// Replicas of the server, each with its own engine, sharing the backend (a fleet on one
    /// database). The load is split over them round-robin; every engine is told how many
    /// others there are and the permits they hold every [`FLEET_SYNC`](crate::run::FLEET_SYNC)
    /// ([`Engine::set_fleet`](loader_core::Engine::set_fleet)), as the server's replicas
    /// tell each other through the database; a fixed limit is per replica. By default, this
    /// is 1 (left out of the serialized form, so that the oracle-cache key of a scenario
    /// without a fleet stays what it was).
    #[serde(default = "one_replica", skip_serializing_if = "is_one_replica")]
    pub replicas: usize,
}

pub(crate) fn one_replica() -> usize {
    1
}

fn is_one_replica(n: &usize) -> bool {
    *n == 1
}

/// The backend model's parameters; each may be a [`Schedule`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    /// Batch calls served at full speed at once (`C`).
    pub capacity: Schedule,
    /// Full-speed cost of one batch call, in ms.
    pub base_latency_ms: Schedule,
    /// Full-speed cost added per key of the batch, in ms. By default, this is 0.
    #[serde(default = "zero")]
    pub per_key_latency_ms: Schedule,
    /// Slow-down per call beyond capacity: see the crate docs. By default, this is 0.
    #[serde(default = "zero")]
    pub overload_penalty: Schedule,
    /// Sigma of the log-normal factor (median 1) on each service time. By default, this is 0.
    #[serde(default = "zero")]
    pub jitter: Schedule,
    /// Probability that a batch call fails (after its service time), whatever the load.
    /// By default, this is 0.
    #[serde(default = "zero")]
    pub error_rate: Schedule,
    /// Failures that grow with overload: a call arriving with `n` calls in service (itself
    /// included) on capacity `C` fails with probability
    /// `error_rate + overload_error_rate * max(0, n - C) / C` (at most 1). By default, this
    /// is 0.
    #[serde(default = "zero")]
    pub overload_error_rate: Schedule,
    /// Fault injection, to test the accounting: probability that an answer omits one of the
    /// keys it was asked for (a lost key). By default, this is 0.
    #[serde(default = "zero")]
    pub lose_key_rate: Schedule,
    /// Share of the time the host stalls, whatever the load (a noisy neighbour, a
    /// checkpoint, a pause): during a stall every call in service runs `stall_factor` times
    /// slower. Stalls and the gaps between them are drawn from the scenario's seed,
    /// exponentially distributed, the stalls `stall_ms` long on average. By default, this
    /// is 0: no stalls.
    #[serde(default = "zero", skip_serializing_if = "is_zero")]
    pub stall_share: Schedule,
    /// How many times slower calls run during a stall. By default, this is 3.
    #[serde(default = "three", skip_serializing_if = "is_three")]
    pub stall_factor: Schedule,
    /// Mean length of a stall, ms. By default, this is 20.
    #[serde(default = "twenty", skip_serializing_if = "is_twenty")]
    pub stall_ms: Schedule,
}

/// One query group: its name, the cost of its batch calls, how many keys a request loads
/// from it, and how often.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's name (its [`QueryGroup`](loader_core::QueryGroup) is `sim.<name>`).
    pub name: String,
    /// Multiplier on the full-speed service time of this group's batch calls. By default,
    /// this is 1.
    #[serde(default = "one")]
    pub cost: Schedule,
    /// Keys a request loads from this group. By default, `load.keys_per_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Schedule>,
    /// Probability that a request loads this group (drawn per request). The first group is
    /// loaded by every request: its share must be 1. By default, this is 1.
    #[serde(default = "one")]
    pub share: Schedule,
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    /// `clients` callers, each issues a request, waits for it, and issues the next.
    Closed,
    /// Poisson arrivals at `rate_per_s`, whatever the backend does.
    Open,
}

/// The offered load; each number may be a [`Schedule`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// `"closed"` or `"open"`.
    pub mode: LoadMode,
    /// Closed mode: number of clients. By default, this is 0.
    #[serde(default = "zero")]
    pub clients: Schedule,
    /// Open mode: Poisson arrivals per second. By default, this is 0.
    #[serde(default = "zero")]
    pub rate_per_s: Schedule,
    /// Distinct keys loaded by one request.
    pub keys_per_request: Schedule,
    /// Keys are drawn uniformly from `0..key_space`.
    pub key_space: Schedule,
    /// A request not answered within this many ms counts as timed out.
    pub request_timeout_ms: Schedule,
    /// Admit each request at the engine's door ([`Engine::admit_request`]) and load its
    /// groups in its [`RequestScope`], as the server does. By default, this is `false`: each
    /// request is a bare `load_many`.
    ///
    /// [`Engine::admit_request`]: loader_core::Engine::admit_request
    /// [`RequestScope`]: loader_core::RequestScope
    #[serde(default)]
    pub admit: bool,
}

fn zero() -> Schedule {
    Schedule::constant(0.0)
}

fn one() -> Schedule {
    Schedule::constant(1.0)
}

fn three() -> Schedule {
    Schedule::constant(3.0)
}

fn twenty() -> Schedule {
    Schedule::constant(20.0)
}

// The stall fields at their defaults are left out of a scenario's serialized form, so
// that scenarios without stalls keep the form (and the oracle-cache key) they had before
// the fields existed.
fn is_zero(s: &Schedule) -> bool {
    *s == zero()
}

fn is_three(s: &Schedule) -> bool {
    *s == three()
}

fn is_twenty(s: &Schedule) -> bool {
    *s == twenty()
}

impl Scenario {
    /// Reads and validates a scenario file; the name defaults to the file's stem.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut scenario: Scenario = toml::from_str(&text).map_err(|e| SimError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        if scenario.name.is_empty() {
            scenario.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// Parses and validates a scenario from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, SimError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| SimError::Parse {
            path: "<string>".into(),
            source: Box::new(e),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The engine configuration for this scenario (the `[engine]` table or the defaults).
    pub fn engine_config(&self) -> LoaderConfig {
        self.engine.clone().unwrap_or_default()
    }

    /// Overrides one engine setting, as in the `[engine]` table: `set_engine("max_batch_size",
    /// "16")`. Durations are in ms (`batch_delay` in µs), like the configuration file.
    pub fn set_engine(&mut self, key: &str, value: &str) -> Result<(), SimError> {
        let invalid =
            |e: serde_json::Error| SimError::Invalid(format!("engine.{key} = {value}: {e}"));
        let mut config = serde_json::to_value(self.engine_config()).map_err(invalid)?;
        let fields = config
            .as_object_mut()
            .ok_or_else(|| SimError::Invalid("engine configuration is not a table".into()))?;
        if !fields.contains_key(key) {
            return Err(SimError::Invalid(format!(
                "unknown engine setting `{key}`; expected one of: {}",
                fields.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let parsed = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        fields.insert(key.to_string(), parsed);
        self.engine = Some(serde_json::from_value(config).map_err(invalid)?);
        self.validate()
    }

    /// Checks every range; the error names the field.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Invalid(m));
        if !(self.duration_s > 0.0 && self.duration_s.is_finite()) {
            return bad(format!("duration_s ({}) must be positive", self.duration_s));
        }
        if !(0.0..self.duration_s).contains(&self.warmup_s) {
            return bad(format!(
                "warmup_s ({}) must lie in [0, duration_s = {})",
                self.warmup_s, self.duration_s
            ));
        }
        if !(1..=64).contains(&self.replicas) {
            return bad(format!("replicas ({}) must lie in 1..=64", self.replicas));
        }
        let b = &self.backend;
        let l = &self.load;
        let checks: [(&str, &Schedule, f64, f64); 16] = [
            ("backend.capacity", &b.capacity, f64::MIN_POSITIVE, f64::MAX),
            ("backend.base_latency_ms", &b.base_latency_ms, 0.0, f64::MAX),
            (
                "backend.per_key_latency_ms",
                &b.per_key_latency_ms,
                0.0,
                f64::MAX,
            ),
            (
                "backend.overload_penalty",
                &b.overload_penalty,
                0.0,
                f64::MAX,
            ),
            ("backend.jitter", &b.jitter, 0.0, 10.0),
            ("backend.error_rate", &b.error_rate, 0.0, 1.0),
            (
                "backend.overload_error_rate",
                &b.overload_error_rate,
                0.0,
                f64::MAX,
            ),
            ("backend.lose_key_rate", &b.lose_key_rate, 0.0, 1.0),
            ("backend.stall_share", &b.stall_share, 0.0, 0.9),
            ("backend.stall_factor", &b.stall_factor, 1.0, 1000.0),
            ("backend.stall_ms", &b.stall_ms, 0.01, 1e6),
            ("load.clients", &l.clients, 0.0, 1e6),
            ("load.rate_per_s", &l.rate_per_s, 0.0, 1e7),
            ("load.keys_per_request", &l.keys_per_request, 1.0, 1e5),
            ("load.key_space", &l.key_space, 1.0, 1e18),
            ("load.request_timeout_ms", &l.request_timeout_ms, 1.0, 1e9),
        ];
        for (name, s, lo, hi) in checks {
            if s.min() < lo || s.max() > hi {
                return bad(format!("{name} must stay within [{lo}, {hi}]"));
            }
        }
        if l.keys_per_request.max() > l.key_space.min() {
            return bad("load.keys_per_request must not exceed load.key_space".into());
        }
        for (i, g) in self.groups.iter().enumerate() {
            let name = format!("groups[{i}] ({})", g.name);
            if g.name.is_empty() || self.groups[..i].iter().any(|o| o.name == g.name) {
                return bad(format!(
                    "{name}: every group needs a distinct, non-empty name"
                ));
            }
            if g.cost.min() <= 0.0 {
                return bad(format!("{name}.cost must stay above 0"));
            }
            let keys = g.keys.as_ref().unwrap_or(&l.keys_per_request);
            if keys.min() < 1.0 || keys.max() > l.key_space.min() {
                return bad(format!("{name}.keys must stay within [1, load.key_space]"));
            }
            if g.share.min() < 0.0 || g.share.max() > 1.0 {
                return bad(format!("{name}.share must stay within [0, 1]"));
            }
            if i == 0 && g.share.min() < 1.0 {
                return bad(format!(
                    "{name}.share must be 1: every request loads the first group"
                ));
            }
        }
        if b.base_latency_ms.min() + b.per_key_latency_ms.min() <= 0.0 {
            return bad("a batch call must cost some time: raise backend.base_latency_ms".into());
        }
        match l.mode {
            LoadMode::Closed if l.clients.max() < 1.0 => {
                bad("closed mode needs load.clients >= 1 at some time".into())
            }
            LoadMode::Open if l.rate_per_s.max() <= 0.0 => {
                bad("open mode needs load.rate_per_s > 0 at some time".into())
            }
            _ => Ok(()),
        }?;
        self.engine_config().validate()?;
        Ok(())
    }

    /// Every schedule of the scenario that describes the backend or the offered load (the
    /// request timeout and the key space included), with its name.
    pub fn schedules(&self) -> Vec<(String, &Schedule)> {
        let b = &self.backend;
        let l = &self.load;
        let mut all: Vec<(String, &Schedule)> = [
            ("backend.capacity", &b.capacity),
            ("backend.base_latency_ms", &b.base_latency_ms),
            ("backend.per_key_latency_ms", &b.per_key_latency_ms),
            ("backend.overload_penalty", &b.overload_penalty),
            ("backend.jitter", &b.jitter),
            ("backend.error_rate", &b.error_rate),
            ("backend.overload_error_rate", &b.overload_error_rate),
            ("backend.lose_key_rate", &b.lose_key_rate),
            ("backend.stall_share", &b.stall_share),
            ("backend.stall_factor", &b.stall_factor),
            ("backend.stall_ms", &b.stall_ms),
            ("load.clients", &l.clients),
            ("load.rate_per_s", &l.rate_per_s),
            ("load.keys_per_request", &l.keys_per_request),
            ("load.key_space", &l.key_space),
            ("load.request_timeout_ms", &l.request_timeout_ms),
        ]
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
        for g in &self.groups {
            all.push((format!("groups.{}.cost", g.name), &g.cost));
            all.push((format!("groups.{}.share", g.name), &g.share));
            if let Some(keys) = &g.keys {
                all.push((format!("groups.{}.keys", g.name), keys));
            }
        }
        all
    }

    fn schedules_mut(&mut self) -> Vec<&mut Schedule> {
        let b = &mut self.backend;
        let l = &mut self.load;
        let mut all: Vec<&mut Schedule> = vec![
            &mut b.capacity,
            &mut b.base_latency_ms,
            &mut b.per_key_latency_ms,
            &mut b.overload_penalty,
            &mut b.jitter,
            &mut b.error_rate,
            &mut b.overload_error_rate,
            &mut b.lose_key_rate,
            &mut b.stall_share,
            &mut b.stall_factor,
            &mut b.stall_ms,
            &mut l.clients,
            &mut l.rate_per_s,
            &mut l.keys_per_request,
            &mut l.key_space,
            &mut l.request_timeout_ms,
        ];
        for g in &mut self.groups {
            all.push(&mut g.cost);
            all.push(&mut g.share);
            if let Some(keys) = &mut g.keys {
                all.push(keys);
            }
        }
        all
    }

    /// The schedule of parameter `param` (`backend.capacity`, `load.clients`,
    /// `groups.<name>.cost`, ...); a group's `keys` is created from `load.keys_per_request`
    /// when it had none.
    pub fn schedule_mut(&mut self, param: &str) -> Option<&mut Schedule> {
        let (section, name) = param.split_once('.')?;
        let b = &mut self.backend;
        let l = &mut self.load;
        match (section, name) {
            ("backend", "capacity") => Some(&mut b.capacity),
            ("backend", "base_latency_ms") => Some(&mut b.base_latency_ms),
            ("backend", "per_key_latency_ms") => Some(&mut b.per_key_latency_ms),
            ("backend", "overload_penalty") => Some(&mut b.overload_penalty),
            ("backend", "jitter") => Some(&mut b.jitter),
            ("backend", "error_rate") => Some(&mut b.error_rate),
            ("backend", "overload_error_rate") => Some(&mut b.overload_error_rate),
            ("backend", "lose_key_rate") => Some(&mut b.lose_key_rate),
            ("backend", "stall_share") => Some(&mut b.stall_share),
            ("backend", "stall_factor") => Some(&mut b.stall_factor),
            ("backend", "stall_ms") => Some(&mut b.stall_ms),
            ("load", "clients") => Some(&mut l.clients),
            ("load", "rate_per_s") => Some(&mut l.rate_per_s),
            ("load", "keys_per_request") => Some(&mut l.keys_per_request),
            ("load", "key_space") => Some(&mut l.key_space),
            ("load", "request_timeout_ms") => Some(&mut l.request_timeout_ms),
            ("groups", rest) => {
                let (group, field) = rest.split_once('.')?;
                let default_keys = l.keys_per_request.clone();
                let g = self.groups.iter_mut().find(|g| g.name == group)?;
                match field {
                    "cost" => Some(&mut g.cost),
                    "share" => Some(&mut g.share),
                    "keys" => Some(g.keys.get_or_insert(default_keys)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Every time at which any backend or load parameter changes, sorted.
    pub fn change_times(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self
            .schedules()
            .iter()
            .flat_map(|(_, s)| s.changes())
            .collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    }

    /// A copy whose every schedule holds, for the whole run, the value it has at `at_s`:
    /// the conditions of one phase held steady.
    pub fn held_at(&self, at_s: f64, duration_s: f64, warmup_s: f64) -> Self {
        let mut steady = Self {
            duration_s,
            warmup_s,
            ..self.clone()
        };
        for s in steady.schedules_mut() {
            *s = Schedule::constant(s.at(at_s));
        }
        steady
    }

    /// A copy whose time runs `factor` times as fast: duration, warm-up and every schedule's
    /// step times are multiplied by `factor` (values unchanged).
    pub fn time_scaled(&self, factor: f64) -> Self {
        let mut scaled = Self {
            duration_s: self.duration_s * factor,
            warmup_s: self.warmup_s * factor,
            ..self.clone()
        };
        for s in scaled.schedules_mut() {
            *s = s.time_scaled(factor);
        }
        scaled
    }

    /// A copy shortened to `duration_s` (schedules keep their times), e.g. for a smoke test.
    pub fn truncated(&self, duration_s: f64, warmup_s: f64) -> Self {
        Self {
            duration_s,
            warmup_s,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP_DOWN: &str = r#"
        duration_s = 40
        seed = 2
        warmup_s = 8
        [backend]
        capacity = [[0, 32], [20, 8]]
        base_latency_ms = 4.0
        per_key_latency_ms = 0.1
        overload_penalty = 0.5
        jitter = 0.1
        error_rate = [[0, 0.0]]
        [load]
        mode = "closed"
        clients = [[0, 200]]
        rate_per_s = [[0, 0]]
        keys_per_request = 5
        key_space = 1000000
        request_timeout_ms = 2000
    "#;

    #[test]
    fn shared_scenario_format_parses() {
        let s = Scenario::from_toml_str(STEP_DOWN).unwrap();
        assert_eq!(s.backend.capacity.at(10.0), 32.0);
        assert_eq!(s.backend.capacity.at(20.0), 8.0);
        assert_eq!(s.load.mode, LoadMode::Closed);
        assert_eq!(s.load.keys_per_request.at(0.0), 5.0);
        assert_eq!(s.change_times(), vec![20.0]);
    }

    #[test]
    fn every_file_in_scenarios_dir_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let s = Scenario::from_file(&path).unwrap();
                assert!(!s.name.is_empty());
                n += 1;
            }
        }
        assert!(n >= 8, "expected the 8 shared scenarios, found {n}");
    }

    #[test]
    fn unknown_fields_and_bad_ranges_are_rejected() {
        let typo = STEP_DOWN.replace("jitter", "jiter");
        assert!(Scenario::from_toml_str(&typo).is_err());
        let bad_rate = STEP_DOWN.replace("error_rate = [[0, 0.0]]", "error_rate = 1.5");
        assert!(matches!(
            Scenario::from_toml_str(&bad_rate),
            Err(SimError::Invalid(m)) if m.contains("error_rate")
        ));
        let open_no_rate = STEP_DOWN.replace("\"closed\"", "\"open\"");
        assert!(Scenario::from_toml_str(&open_no_rate).is_err());
    }

    #[test]
    fn engine_settings_can_be_overridden_one_by_one() {
        let mut s = Scenario::from_toml_str(STEP_DOWN).unwrap();
        s.set_engine("target_response_time", "6").unwrap();
        s.set_engine("isolate_errors", "true").unwrap();
        let config = s.engine_config();
        assert_eq!(
            config.target_response_time,
            std::time::Duration::from_millis(6)
        );
        assert!(config.isolate_errors);
        assert!(s.set_engine("no_such_knob", "1").is_err());
        assert!(s.set_engine("min_concurrency", "0").is_err());
    }

    #[test]
    fn engine_table_overrides_defaults() {
        let text = format!("{STEP_DOWN}\n[engine]\nmax_concurrency = 64\n");
        let s = Scenario::from_toml_str(&text).unwrap();
        assert_eq!(s.engine_config().max_concurrency, 64);
        assert_eq!(s.engine_config().initial_concurrency, 4);
    }
}
