//! A fake downstream for the engine's tests: records every batch call and can be told to be
//! slow, to miss keys, to fail, to panic or to hang on chosen keys.
#![allow(dead_code)]

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use loader_core::{BatchFn, QueryGroup};
use parking_lot::Mutex;
use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("backend refused keys {0:?}")]
pub struct BackendError(pub Vec<u64>);

/// Behaviour and records of the fake downstream.
#[derive(Default)]
pub struct Backend {
    /// Every call's keys (sorted), in call order.
    pub calls: Mutex<Vec<Vec<u64>>>,
    /// The group of each call, in call order.
    pub call_groups: Mutex<Vec<String>>,
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
    /// Calls dropped before they finished (cancelled or timed out).
    pub cut: AtomicUsize,
    /// Notified when a call starts.
    pub started: Notify,
    /// Each call sleeps this long (tokio time).
    pub latency: Duration,
    /// Plus this much per key.
    pub per_key: Duration,
    /// Keys at or above this are missing from the answer (0 = none missing).
    pub missing_from: u64,
    /// A batch containing one of these fails.
    pub bad: HashSet<u64>,
    /// A batch containing one of these panics.
    pub panics: HashSet<u64>,
    /// A batch containing one of these never returns.
    pub hangs: HashSet<u64>,
    /// When set, calls wait for this to be notified before answering.
    pub gate: Option<Arc<Notify>>,
}

impl Backend {
    pub fn calls(&self) -> Vec<Vec<u64>> {
        self.calls.lock().clone()
    }

    pub fn keys_loaded(&self) -> usize {
        self.calls.lock().iter().map(Vec::len).sum()
    }
}

/// A batch function of group `group` over a shared [`Backend`].
#[derive(Clone)]
pub struct TestFn {
    pub group: QueryGroup,
    pub backend: Arc<Backend>,
}

impl TestFn {
    pub fn new(group: &str, backend: Backend) -> (Self, Arc<Backend>) {
        let backend = Arc::new(backend);
        (
            Self {
                group: QueryGroup::new(group),
                backend: backend.clone(),
            },
            backend,
        )
    }

    pub fn on(group: &str, backend: &Arc<Backend>) -> Self {
        Self {
            group: QueryGroup::new(group),
            backend: backend.clone(),
        }
    }
}

struct Running<'a> {
    backend: &'a Backend,
    finished: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.backend.running.fetch_sub(1, Ordering::SeqCst);
        if !self.finished {
            self.backend.cut.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl BatchFn for TestFn {
    type Key = u64;
    type Value = u64;
    type Error = BackendError;

    fn group(&self) -> QueryGroup {
        self.group.clone()
    }

    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, BackendError> {
        let b = &*self.backend;
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        {
            // Both records under the calls lock, so that on a multi-threaded runtime the two
            // lists stay in the same order (they are zipped by the tests).
            let mut calls = b.calls.lock();
            calls.push(sorted);
            b.call_groups.lock().push(self.group.to_string());
        }
        let now = b.running.fetch_add(1, Ordering::SeqCst) + 1;
        b.max_running.fetch_max(now, Ordering::SeqCst);
        let mut running = Running {
            backend: b,
            finished: false,
        };
        b.started.notify_waiters();
        if keys.iter().any(|k| b.hangs.contains(k)) {
            std::future::pending::<()>().await;
        }
        let delay = b.latency + b.per_key * keys.len() as u32;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if let Some(gate) = &b.gate {
            gate.notified().await;
        }
        running.finished = true;
        if let Some(k) = keys.iter().find(|k| b.panics.contains(k)) {
            panic!("backend panicked on key {k}");
        }
        let bad: Vec<u64> = keys.iter().copied().filter(|k| b.bad.contains(k)).collect();
        if !bad.is_empty() {
            return Err(BackendError(bad));
        }
        Ok(keys
            .iter()
            .filter(|k| b.missing_from == 0 || **k < b.missing_from)
            .map(|k| (*k, k * 10))
            .collect())
    }
}

/// Lets spawned tasks run until nothing is runnable (paused-time tests).
pub async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// A strategy that records every sample and returns what `next` says (or keeps its limit).
pub struct Recording {
    pub limit: usize,
    pub samples: Arc<Mutex<Vec<loader_core::limit::Sample>>>,
    pub next: Box<dyn FnMut(&loader_core::limit::Sample) -> usize + Send + Sync>,
}

impl Recording {
    /// Keeps `limit`; returns the strategy and its sample log.
    pub fn fixed(limit: usize) -> (Box<Self>, Arc<Mutex<Vec<loader_core::limit::Sample>>>) {
        Self::scripted(limit, move |_| limit)
    }

    pub fn scripted(
        limit: usize,
        next: impl FnMut(&loader_core::limit::Sample) -> usize + Send + Sync + 'static,
    ) -> (Box<Self>, Arc<Mutex<Vec<loader_core::limit::Sample>>>) {
        let samples = Arc::new(Mutex::new(Vec::new()));
        (
            Box::new(Self {
                limit,
                samples: samples.clone(),
                next: Box::new(next),
            }),
            samples,
        )
    }
}

impl loader_core::limit::ScalingStrategy for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }
    fn limit(&self) -> usize {
        self.limit
    }
    fn on_sample(&mut self, sample: &loader_core::limit::Sample) -> usize {
        self.samples.lock().push(*sample);
        self.limit = (self.next)(sample);
        self.limit
    }
    fn reason(&self) -> &str {
        "scripted"
    }
    fn warm_start(&mut self, limit: usize) {
        self.limit = limit;
    }
}

/// Keeps the backend's deliberate panics out of the test output (other panics still print).
pub fn quiet_backend_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .unwrap_or_default();
            if !msg.starts_with("backend panicked") {
                default(info);
            }
        }));
    });
}
