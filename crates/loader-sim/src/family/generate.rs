//! Drawing one scenario from a family: deterministic in (family, seed).

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use super::{
    Basis, Draw, Family,
    spec::{BACKEND, LOAD},
};
use crate::{BackendSpec, LoadSpec, Scenario, Schedule, SimError, scenario::GroupSpec};

/// One scenario drawn from a family, with every number drawn.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generated {
    /// The family's name.
    pub family: String,
    /// The seed it was drawn with.
    pub seed: u64,
    /// The scenario, named `<family>#<seed>`.
    pub scenario: Scenario,
    /// Every number drawn, in drawing order.
    pub draws: Vec<Drawn>,
}

/// One number drawn, and the range it was drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    /// `backend.capacity`, `change 0 at_s`, `change 0 factor`, ...
    pub name: String,
    /// The number drawn (before `per` and rounding).
    pub value: f64,
    /// The distribution's range.
    pub range: (f64, f64),
}

/// Parameters whose values are whole numbers (rounded, at least 1 except `clients`).
fn is_integer(param: &str) -> bool {
    matches!(
        param,
        "backend.capacity" | "load.clients" | "load.keys_per_request" | "load.key_space"
    ) || (param.starts_with("groups.") && param.ends_with(".keys"))
}

fn finish(param: &str, v: f64) -> f64 {
    if !is_integer(param) {
        return v;
    }
    let lowest = if param == "load.clients" { 0.0 } else { 1.0 };
    v.round().max(lowest)
}

/// FNV-1a: a hash of the family's name that does not change between builds.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A number drawn but not yet resolved: relative draws wait for the backend.
#[derive(Debug, Clone, Copy)]
struct Raw {
    value: f64,
    per: Option<Basis>,
}

struct Event {
    at_s: f64,
    value: Option<Raw>,
    factor: Option<f64>,
    until_s: Option<f64>,
}

struct Drawer {
    rng: StdRng,
    draws: Vec<Drawn>,
}

impl Drawer {
    fn draw(&mut self, name: String, d: &Draw) -> Raw {
        let value = d.sample(&mut self.rng);
        self.draws.push(Drawn {
            name,
            value,
            range: d.range(),
        });
        Raw { value, per: d.per }
    }
}

/// Full-speed cost of one request's calls, ms of one capacity slot, at `t_s`, its keys
/// riding in batches of `batch(keys, cost)` keys per group, weighted by the group's share.
fn request_cost_ms(s: &Scenario, t_s: f64, batch: impl Fn(f64, f64) -> f64) -> f64 {
    let b = &s.backend;
    let (base, per_key) = (b.base_latency_ms.at(t_s), b.per_key_latency_ms.at(t_s));
    let level = |keys: f64, cost: f64| {
        let n = batch(keys, cost).max(1.0);
        keys * cost * (base / n + per_key)
    };
    if s.groups.is_empty() {
        return level(s.load.keys_per_request.at(t_s), 1.0);
    }
    s.groups
        .iter()
        .map(|g| {
            let keys = g.keys.as_ref().unwrap_or(&s.load.keys_per_request).at(t_s);
            g.share.at(t_s) * level(keys, g.cost.at(t_s))
        })
        .sum()
}

/// The backend's nominal request throughput at `t_s`, requests/s: `capacity` calls at once,
/// each carrying the batch the engine aims for (the most keys whose full-speed time stays
/// within `target_response_time`, at most `max_batch_size`, at least one request's keys).
/// The engine's batches under overload are often smaller, so this is an upper bound of what
/// it serves, and an overload drawn against it (`per = "capacity_rps"`) is at least that
/// overload. The basis of `per = "capacity_rps"`.
///
/// ```
/// let s = loader_sim::Scenario::from_toml_str(r#"
///     duration_s = 10
///     [backend]
///     capacity = 16
///     base_latency_ms = 5.0
///     per_key_latency_ms = 0.5
///     [load]
///     mode = "open"
///     rate_per_s = 1000
///     keys_per_request = 5
///     key_space = 1000000
///     request_timeout_ms = 2000
/// "#).unwrap();
/// // batches of 40 keys (5 + 0.5 * 40 = 25 ms): 8 requests per call of 25 ms, 16 at once
/// let rps = loader_sim::family::nominal_rps(&s, 0.0);
/// assert!((rps - 16.0 * 8.0 / 0.025).abs() < 1e-6, "{rps}");
/// ```
pub fn nominal_rps(s: &Scenario, t_s: f64) -> f64 {
    let config = s.engine_config();
    let target_ms = config.target_response_time.as_secs_f64() * 1000.0;
    let max_batch = config.max_batch_size as f64;
    let b = &s.backend;
    let (base, per_key) = (b.base_latency_ms.at(t_s), b.per_key_latency_ms.at(t_s));
    let batch = |keys: f64, cost: f64| {
        let fits = if per_key > 0.0 {
            ((target_ms / cost - base) / per_key).floor()
        } else {
            max_batch
        };
        fits.min(max_batch).max(keys)
    };
    b.capacity.at(t_s) * 1000.0 / request_cost_ms(s, t_s, batch)
}

/// Largest batch [`keys_per_s_bound`] assumes.
const BUDGET_BATCH: f64 = 200.0;

/// An estimate of the most keys per second `s` makes the engine handle at its busiest
/// moment. Closed loop: what the backend serves with the limit at the capacity,
/// `C * B / (cost * (base + per_key * B))` for batches of `B` keys, the keys of every
/// client's request spread over the capacity (at most [`BUDGET_BATCH`]), `cost` the
/// cheapest group's. Open loop: what it is offered, `rate * keys` (a refused request costs
/// the engine work too).
pub fn keys_per_s_bound(s: &Scenario) -> f64 {
    let b = &s.backend;
    let l = &s.load;
    let mut times = vec![0.0];
    times.extend(s.change_times());
    times
        .iter()
        .map(|&t| {
            let cheapest = s
                .groups
                .iter()
                .map(|g| g.cost.at(t))
                .fold(f64::INFINITY, f64::min);
            let cost = if cheapest.is_finite() { cheapest } else { 1.0 };
            let c = b.capacity.at(t);
            let keys = keys_per_request(s, t);
            match l.mode {
                crate::LoadMode::Closed => {
                    let batch = (l.clients.at(t) * keys / c).clamp(1.0, BUDGET_BATCH);
                    let call_ms =
                        cost * (b.base_latency_ms.at(t) + b.per_key_latency_ms.at(t) * batch);
                    c * batch * 1000.0 / call_ms.max(1e-9)
                }
                crate::LoadMode::Open => l.rate_per_s.at(t) * keys,
            }
        })
        .fold(0.0, f64::max)
}

/// Keys one request loads on average at `t_s`.
pub(crate) fn keys_per_request(s: &Scenario, t_s: f64) -> f64 {
    if s.groups.is_empty() {
        return s.load.keys_per_request.at(t_s);
    }
    s.groups
        .iter()
        .map(|g| g.share.at(t_s) * g.keys.as_ref().unwrap_or(&s.load.keys_per_request).at(t_s))
        .sum()
}

/// Builds the schedule of `param` from its base value and its changes.
fn fill(
    scenario: &mut Scenario,
    param: &str,
    base: Raw,
    events: &[(String, Event)],
    family: &Family,
    seed: u64,
) -> Result<(), SimError> {
    let resolve = |raw: Raw, at_s: f64, s: &Scenario| match raw.per {
        None => raw.value,
        Some(Basis::Capacity) => raw.value * s.backend.capacity.max(),
        Some(Basis::CapacityRps) => raw.value * nominal_rps(s, at_s),
    };
    let mut steps: Vec<(f64, f64)> = Vec::new();
    let mut value = finish(param, resolve(base, 0.0, scenario));
    steps.push((0.0, value));
    let mut mine: Vec<&Event> = events
        .iter()
        .filter(|(p, _)| p == param)
        .map(|(_, e)| e)
        .collect();
    mine.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    for e in mine {
        let before = value;
        value = match (e.value, e.factor) {
            (Some(raw), _) => finish(param, resolve(raw, e.at_s, scenario)),
            (None, Some(f)) => finish(param, before * f),
            (None, None) => before,
        };
        steps.push((e.at_s, value));
        if let Some(until) = e.until_s {
            steps.push((until, before));
            value = before;
        }
    }
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    steps.dedup_by(|later, earlier| {
        let same = later.0 <= earlier.0;
        if same {
            earlier.1 = later.1;
        }
        same
    });
    let schedule = Schedule::steps(steps).map_err(|e| {
        SimError::Invalid(format!("family {} seed {seed}: {param}: {e}", family.name))
    })?;
    *scenario.schedule_mut(param).ok_or_else(|| {
        SimError::Invalid(format!("family {}: unknown parameter {param}", family.name))
    })? = schedule;
    Ok(())
}

/// Draws scenario `seed` of `family`. The same (family, seed) always gives the same
/// scenario; the scenario's own `seed` (arrivals, keys, jitter, failures) is drawn too.
/// A family of one scenario file ([`Family::of_scenario`]) gives that scenario with its
/// `seed` set to `seed`.
pub fn generate(family: &Family, seed: u64) -> Result<Generated, SimError> {
    if let Some(fixed) = &family.fixed {
        let mut scenario = (**fixed).clone();
        scenario.seed = seed;
        scenario.name = format!("{}#{seed}", family.name);
        return Ok(Generated {
            family: family.name.clone(),
            seed,
            scenario,
            draws: Vec::new(),
        });
    }
    let mut d = Drawer {
        rng: StdRng::seed_from_u64(
            name_hash(&family.name) ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        ),
        draws: Vec::new(),
    };
    let sim_seed: u64 = d.rng.random();

    // Base values, in a fixed order: backend, load, groups.
    let mut params: Vec<(String, Raw)> = Vec::new();
    for (name, default) in BACKEND {
        let param = format!("backend.{name}");
        let raw = match family.backend.get(name) {
            Some(draw) => d.draw(param.clone(), draw),
            None => Raw {
                value: default.unwrap_or(0.0),
                per: None,
            },
        };
        params.push((param, raw));
    }
    for (name, default) in LOAD {
        let param = format!("load.{name}");
        let raw = match family.load.params.get(name) {
            Some(draw) => d.draw(param.clone(), draw),
            None => Raw {
                value: default.unwrap_or(0.0),
                per: None,
            },
        };
        params.push((param, raw));
    }
    for g in &family.groups {
        for (field, draw) in [("cost", &g.cost), ("share", &g.share), ("keys", &g.keys)] {
            let param = format!("groups.{}.{field}", g.name);
            let raw = match draw {
                Some(draw) => d.draw(param.clone(), draw),
                None if field == "keys" => continue,
                None => Raw {
                    value: 1.0,
                    per: None,
                },
            };
            params.push((param, raw));
        }
    }

    // Changes, in the family's order.
    let mut events: Vec<(String, Event)> = Vec::new();
    for (i, c) in family.changes.iter().enumerate() {
        let at_s = d.draw(format!("change {i} at_s"), &c.at_s).value;
        let value = c
            .value
            .as_ref()
            .map(|v| d.draw(format!("change {i} value"), v));
        let factor = c
            .factor
            .as_ref()
            .map(|f| d.draw(format!("change {i} factor"), f).value);
        let until_s = c
            .for_s
            .as_ref()
            .map(|f| at_s + d.draw(format!("change {i} for_s"), f).value);
        events.push((
            c.param.clone(),
            Event {
                at_s,
                value,
                factor,
                until_s,
            },
        ));
    }

    // Drawn after everything else, so that a family without it draws as before.
    let replicas = family.replicas.as_ref().map_or(1, |r| {
        d.draw("replicas".into(), r).value.round().max(1.0) as usize
    });

    // The scenario with placeholder schedules, filled below.
    let constant = |v: f64| Schedule::constant(v);
    let mut scenario = Scenario {
        name: format!("{}#{seed}", family.name),
        duration_s: family.duration_s,
        seed: sim_seed,
        warmup_s: family.warmup_s,
        backend: BackendSpec {
            capacity: constant(1.0),
            base_latency_ms: constant(1.0),
            per_key_latency_ms: constant(0.0),
            overload_penalty: constant(0.0),
            jitter: constant(0.0),
            error_rate: constant(0.0),
            overload_error_rate: constant(0.0),
            lose_key_rate: constant(0.0),
            stall_share: constant(0.0),
            stall_factor: constant(3.0),
            stall_ms: constant(20.0),
        },
        load: LoadSpec {
            mode: family.load.mode,
            clients: constant(0.0),
            rate_per_s: constant(0.0),
            keys_per_request: constant(1.0),
            key_space: constant(1.0),
            request_timeout_ms: constant(1.0),
            admit: family.load.admit,
        },
        groups: family
            .groups
            .iter()
            .map(|g| GroupSpec {
                name: g.name.clone(),
                cost: constant(1.0),
                keys: None,
                share: constant(1.0),
            })
            .collect(),
        engine: family.engine.clone(),
        replicas,
    };
    // Relative values (`per`, only on load.clients and load.rate_per_s) last: they need
    // the others, and the budget's scaling of the latencies.
    let relative = |p: &str| p == "load.clients" || p == "load.rate_per_s";
    for (param, base) in params.iter().filter(|(p, _)| !relative(p)) {
        fill(&mut scenario, param, *base, &events, family, seed)?;
    }
    for (param, base) in params.iter().filter(|(p, _)| relative(p)) {
        fill(&mut scenario, param, *base, &events, family, seed)?;
    }
    // The budget: slow every call down until the run cannot serve more than
    // `max_keys_per_s`. An open-loop rate drawn against the nominal capacity slows down
    // with it (it stays the same multiple of the capacity).
    let scale = keys_per_s_bound(&scenario) / family.max_keys_per_s;
    if scale > 1.0 {
        let mut scaled = vec!["backend.base_latency_ms", "backend.per_key_latency_ms"];
        let rate_is_relative = params
            .iter()
            .any(|(p, r)| p == "load.rate_per_s" && r.per == Some(Basis::CapacityRps))
            || events.iter().any(|(p, e)| {
                p == "load.rate_per_s" && e.value.is_some_and(|v| v.per == Some(Basis::CapacityRps))
            });
        if rate_is_relative {
            scaled.push("load.rate_per_s");
        }
        for param in scaled {
            let by = if param == "load.rate_per_s" {
                1.0 / scale
            } else {
                scale
            };
            let s = scenario.schedule_mut(param).expect("a known parameter");
            *s = Schedule::steps(s.points().iter().map(|(t, v)| (*t, v * by)).collect())
                .expect("scaling keeps the steps valid");
        }
        d.draws.push(Drawn {
            name: "latency scale (max_keys_per_s)".into(),
            value: scale,
            range: (1.0, f64::INFINITY),
        });
    }
    scenario.validate().map_err(|e| {
        SimError::Invalid(format!(
            "family {} seed {seed} draws an invalid scenario: {e}",
            family.name
        ))
    })?;
    Ok(Generated {
        family: family.name.clone(),
        seed,
        scenario,
        draws: d.draws,
    })
}
