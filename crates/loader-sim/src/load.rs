//! The offered load: closed-loop clients or open-loop Poisson arrivals. Each request is one
//! `load_many` of distinct random keys per query group it loads (one after the other, like
//! the levels of a GraphQL query), each through a fresh [`Loader`](loader_core::Loader),
//! optionally admitted at the engine's door first. With several replicas (a fleet sharing
//! one backend), closed-loop client `id` sends to replica `id % replicas` and open-loop
//! arrival `k` to replica `k % replicas`, as a round-robin balancer would.

use std::{sync::Arc, time::Duration};

use loader_core::{Engine, LoadError};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, Exp};
use tokio::{task::JoinSet, time::Instant};

use crate::{
    backend::SimBatch,
    recorder::{Fate, Recorder},
    scenario::{GroupSpec, LoadMode, LoadSpec},
};

/// Everything a request needs; shared by every client task.
pub(crate) struct Traffic {
    /// One engine per replica (one without a fleet).
    pub engines: Vec<Engine>,
    /// One batch function per query group (one when the scenario names none).
    pub batches: Vec<Arc<SimBatch>>,
    /// The scenario's query groups (empty: the default group only).
    pub groups: Vec<GroupSpec>,
    pub recorder: Arc<Recorder>,
    pub spec: LoadSpec,
    pub start: Instant,
    pub duration_s: f64,
}

/// The keys a request loads from one query group.
struct Level {
    group: usize,
    keys: Vec<u64>,
}

/// Longest a closed-loop client honours a refusal's `retry_after`.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Shortest pause after a request that ended without any simulated time passing (keeps a
/// refused client from spinning at one instant, which would stop virtual time).
const MIN_BACKOFF: Duration = Duration::from_millis(1);

impl Traffic {
    fn now_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn at(&self, t_s: f64) -> Instant {
        self.start + Duration::from_secs_f64(t_s)
    }

    fn draw_keys(&self, rng: &mut StdRng, now_s: f64, keys: &crate::Schedule) -> Vec<u64> {
        let k = keys.at(now_s).round().max(1.0) as usize;
        let space = (self.spec.key_space.at(now_s).round() as u64).max(k as u64);
        let mut keys: Vec<u64> = Vec::with_capacity(k);
        if k <= 64 {
            while keys.len() < k {
                let key = rng.random_range(0..space);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        } else {
            let mut seen = std::collections::HashSet::with_capacity(k);
            while keys.len() < k {
                let key = rng.random_range(0..space);
                if seen.insert(key) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// The levels of one request: the first group always, each other group with its share.
    fn draw_request(&self, rng: &mut StdRng, now_s: f64) -> Vec<Level> {
        let Some((first, rest)) = self.groups.split_first() else {
            let keys = self.draw_keys(rng, now_s, &self.spec.keys_per_request);
            return vec![Level { group: 0, keys }];
        };
        let keys_of = |g: &GroupSpec| g.keys.clone().unwrap_or(self.spec.keys_per_request.clone());
        let mut levels = vec![Level {
            group: 0,
            keys: self.draw_keys(rng, now_s, &keys_of(first)),
        }];
        for (i, g) in rest.iter().enumerate() {
            if rng.random::<f64>() < g.share.at(now_s) {
                levels.push(Level {
                    group: i + 1,
                    keys: self.draw_keys(rng, now_s, &keys_of(g)),
                });
            }
        }
        levels
    }

    /// Loads every level of one request, one after the other, in one request scope.
    async fn load_levels(
        &self,
        engine: &Engine,
        levels: &[Level],
        deadline: Instant,
    ) -> Result<(usize, usize), LoadError> {
        let scope = if self.spec.admit {
            Some(engine.admit_request().await?)
        } else {
            None
        };
        let (mut served, mut missing) = (0, 0);
        for level in levels {
            let f = self.batches[level.group].clone();
            let loader = match &scope {
                Some(scope) => scope.loader_shared(f),
                None => engine.loader_shared(f),
            }
            .with_deadline(deadline);
            let values = loader.load_many(level.keys.iter().copied()).await?;
            let lost = level
                .keys
                .iter()
                .filter(|k| !values.contains_key(k))
                .count();
            served += level.keys.len() - lost;
            missing += lost;
        }
        Ok((served, missing))
    }

    /// Issues one request to replica `replica` (modulo the replicas) and records its fate;
    /// returns the fate and how long a closed-loop client should wait before its next
    /// request.
    async fn request(&self, levels: Vec<Level>, replica: usize) -> (Fate, Duration) {
        let engine = &self.engines[replica % self.engines.len()];
        let issued_at = Instant::now();
        let timeout =
            Duration::from_secs_f64(self.spec.request_timeout_ms.at(self.now_s()) / 1000.0);
        self.recorder.issued();
        let result = tokio::time::timeout(
            timeout,
            self.load_levels(engine, &levels, issued_at + timeout),
        )
        .await;
        let (fate, backoff) = match result {
            Err(_elapsed) => (Fate::TimedOut, Duration::ZERO),
            Ok(Ok((keys, missing))) => (Fate::Ok { keys, missing }, Duration::ZERO),
            Ok(Err(LoadError::Overloaded { retry_after, .. })) => {
                (Fate::Refused, retry_after.min(MAX_BACKOFF))
            }
            Ok(Err(LoadError::DeadlineExceeded { .. } | LoadError::Timeout { .. })) => {
                (Fate::TimedOut, Duration::ZERO)
            }
            Ok(Err(_)) => (Fate::Error, Duration::ZERO),
        };
        let latency = issued_at.elapsed();
        self.recorder
            .ended(self.now_s(), latency.as_secs_f64(), fate);
        let backoff = if latency < MIN_BACKOFF && !matches!(fate, Fate::Ok { .. }) {
            backoff.max(MIN_BACKOFF)
        } else {
            backoff
        };
        (fate, backoff)
    }
}

/// Offers the scenario's load until `duration_s`, then waits for every request to end.
pub(crate) async fn drive(traffic: Arc<Traffic>, seed: u64) {
    match traffic.spec.mode {
        LoadMode::Closed => closed(traffic, seed).await,
        LoadMode::Open => open(traffic, seed).await,
    }
}

async fn closed(traffic: Arc<Traffic>, seed: u64) {
    let max_clients = traffic.spec.clients.max().round().max(0.0) as usize;
    let mut clients = JoinSet::new();
    for id in 0..max_clients {
        clients.spawn(client(traffic.clone(), id, seed));
    }
    while clients.join_next().await.is_some() {}
}

/// Client `id` is active while `id < clients(t)`; it issues a request, waits for it, repeats.
async fn client(traffic: Arc<Traffic>, id: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    loop {
        let now = traffic.now_s();
        if now >= traffic.duration_s {
            break;
        }
        let active = traffic.spec.clients.at(now).round().max(0.0) as usize;
        if id >= active {
            let wake = traffic
                .spec
                .clients
                .next_step_after(now)
                .unwrap_or(traffic.duration_s)
                .min(traffic.duration_s);
            tokio::time::sleep_until(traffic.at(wake)).await;
            continue;
        }
        let levels = traffic.draw_request(&mut rng, now);
        let (_, backoff) = traffic.request(levels, id).await;
        if !backoff.is_zero() {
            tokio::time::sleep(backoff).await;
        }
    }
}

/// Poisson arrivals at `rate_per_s(t)`; arrival times are exact, requests start at the
/// timer tick that follows them (several may share a tick).
async fn open(traffic: Arc<Traffic>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x09e0_a771_7a15_0001);
    let spec = &traffic.spec;
    let mut requests = JoinSet::new();
    let mut t = 0.0_f64;
    let mut arrivals = 0usize;
    loop {
        let rate = spec.rate_per_s.at(t);
        let step = spec.rate_per_s.next_step_after(t);
        if rate <= 0.0 {
            match step {
                Some(s) => {
                    t = s;
                    continue;
                }
                None => break,
            }
        }
        let gap = Exp::new(rate).map_or(f64::INFINITY, |d| d.sample(&mut rng));
        if let Some(s) = step
            && t + gap > s
        {
            // memoryless: restart the draw at the rate change
            t = s;
            continue;
        }
        t += gap;
        if t >= traffic.duration_s {
            break;
        }
        if t > traffic.now_s() {
            tokio::time::sleep_until(traffic.at(t)).await;
        }
        let levels = traffic.draw_request(&mut rng, t);
        let traffic = traffic.clone();
        let replica = arrivals;
        arrivals += 1;
        requests.spawn(async move {
            traffic.request(levels, replica).await;
        });
        while requests.try_join_next().is_some() {}
    }
    while requests.join_next().await.is_some() {}
}
