//! One guarded call of a batch function, and per-key error isolation.
//!
//! `call` runs the user's `load` so that nothing it does can escape its batch: a panic is
//! caught (`LoadError::Panicked`), a call running past `batch_timeout` is cut
//! (`LoadError::Timeout`), and its error is shared between the batch's keys (`SharedError`).
//!
//! `isolate` is the optional split-and-retry: when a batch fails, its halves are retried,
//! recursively, so that only the keys that really fail get the error. Depth and the number of
//! extra calls are bounded, so a downstream that fails everything costs a few more calls, not
//! one per key.

use std::{collections::HashMap, panic::AssertUnwindSafe, sync::Arc, time::Duration};

use futures::FutureExt;

use crate::{BatchFn, LoadError, SharedError};

/// Deepest split of a failed batch (2^6 = 64 parts at most).
const MAX_DEPTH: u32 = 6;
/// Extra calls one failed batch may spend on isolation.
const MAX_EXTRA_CALLS: usize = 32;

/// Calls `f.load(keys)` under the per-batch timeout, catching panics.
pub(crate) async fn call<F: BatchFn>(
    f: &F,
    keys: &[F::Key],
    timeout: Duration,
    group: &Arc<str>,
) -> Result<HashMap<F::Key, F::Value>, LoadError> {
    // The future is created inside the guarded block: a `load` that panics before its first
    // await (a plain fn returning a future) is caught too.
    let guarded = AssertUnwindSafe(async { f.load(keys).await }).catch_unwind();
    match tokio::time::timeout(timeout, guarded).await {
        Err(_) => Err(LoadError::Timeout {
            group: group.clone(),
            after: timeout,
        }),
        Ok(Err(panic)) => Err(LoadError::Panicked {
            group: group.clone(),
            message: panic_message(panic.as_ref()).into(),
        }),
        Ok(Ok(Err(error))) => Err(LoadError::Batch {
            group: group.clone(),
            source: SharedError::new(error),
        }),
        Ok(Ok(Ok(values))) => Ok(values),
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// What isolation found: values of the keys that loaded, errors of the keys that did not.
pub(crate) struct Isolated<F: BatchFn> {
    pub(crate) values: HashMap<F::Key, F::Value>,
    pub(crate) failed: HashMap<F::Key, LoadError>,
    /// Extra calls spent.
    pub(crate) calls: usize,
}

/// Splits a failed batch (`keys`, which failed with `error`) and retries the halves
/// recursively until the failing keys are found, within the depth and call bounds; keys of a
/// part that could not be narrowed further keep that part's error.
pub(crate) async fn isolate<F: BatchFn>(
    f: &F,
    keys: Vec<F::Key>,
    error: LoadError,
    timeout: Duration,
    group: &Arc<str>,
) -> Isolated<F> {
    let mut out = Isolated {
        values: HashMap::new(),
        failed: HashMap::new(),
        calls: 0,
    };
    // Parts known to fail, with their error and depth.
    let mut failing = vec![(keys, error, 0u32)];
    while let Some((mut part, error, depth)) = failing.pop() {
        if part.len() <= 1 || depth >= MAX_DEPTH || out.calls + 2 > MAX_EXTRA_CALLS {
            out.failed
                .extend(part.into_iter().map(|k| (k, error.clone())));
            continue;
        }
        let second = part.split_off(part.len() / 2);
        for half in [part, second] {
            out.calls += 1;
            match call(f, &half, timeout, group).await {
                Ok(values) => out.values.extend(values),
                Err(e) => failing.push((half, e, depth + 1)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashSet,
        sync::atomic::{AtomicUsize, Ordering},
    };

    use super::*;
    use crate::QueryGroup;

    #[derive(Debug, thiserror::Error)]
    #[error("bad keys in batch")]
    struct Bad;

    /// Fails any batch containing one of `bad`.
    struct Picky {
        bad: HashSet<u32>,
        calls: AtomicUsize,
    }

    impl BatchFn for Picky {
        type Key = u32;
        type Value = u32;
        type Error = Bad;
        fn group(&self) -> QueryGroup {
            QueryGroup::new("picky")
        }
        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Bad> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if keys.iter().any(|k| self.bad.contains(k)) {
                return Err(Bad);
            }
            Ok(keys.iter().map(|k| (*k, k * 10)).collect())
        }
    }

    fn group() -> Arc<str> {
        "picky".into()
    }

    #[tokio::test]
    async fn isolation_finds_exactly_the_failing_keys() {
        let f = Picky {
            bad: [3, 12].into(),
            calls: AtomicUsize::new(0),
        };
        let keys: Vec<u32> = (0..16).collect();
        let err = call(&f, &keys, Duration::from_secs(1), &group())
            .await
            .unwrap_err();
        let out = isolate(&f, keys, err, Duration::from_secs(1), &group()).await;
        let failed: HashSet<u32> = out.failed.keys().copied().collect();
        assert_eq!(failed, HashSet::from([3, 12]));
        assert_eq!(out.values.len(), 14);
        assert_eq!(out.values[&5], 50);
        assert!(out.calls <= MAX_EXTRA_CALLS);
    }

    #[tokio::test]
    async fn isolation_of_a_batch_that_always_fails_is_bounded() {
        let f = Picky {
            bad: (0..1000).collect(),
            calls: AtomicUsize::new(0),
        };
        let keys: Vec<u32> = (0..1000).collect();
        let err = call(&f, &keys, Duration::from_secs(1), &group())
            .await
            .unwrap_err();
        let out = isolate(&f, keys, err, Duration::from_secs(1), &group()).await;
        assert_eq!(out.failed.len(), 1000);
        assert!(out.calls <= MAX_EXTRA_CALLS, "{} calls", out.calls);
        assert!(matches!(out.failed[&7], LoadError::Batch { .. }));
    }

    struct Panics;

    impl BatchFn for Panics {
        type Key = u32;
        type Value = u32;
        type Error = Bad;
        fn group(&self) -> QueryGroup {
            QueryGroup::new("panics")
        }
        fn load(
            &self,
            keys: &[u32],
        ) -> impl Future<Output = Result<HashMap<u32, u32>, Bad>> + Send {
            assert!(keys.is_empty(), "boom before the future exists");
            async { Ok(HashMap::new()) }
        }
    }

    #[tokio::test]
    async fn a_panic_before_the_first_await_is_caught() {
        let err = call(&Panics, &[1], Duration::from_secs(1), &group())
            .await
            .unwrap_err();
        match err {
            LoadError::Panicked { message, .. } => {
                assert_eq!(&*message, "boom before the future exists")
            }
            other => panic!("unexpected {other}"),
        }
    }

    struct Never;

    impl BatchFn for Never {
        type Key = u32;
        type Value = u32;
        type Error = Bad;
        fn group(&self) -> QueryGroup {
            QueryGroup::new("never")
        }
        async fn load(&self, _keys: &[u32]) -> Result<HashMap<u32, u32>, Bad> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_returns_is_cut_by_the_timeout() {
        let err = call(&Never, &[1], Duration::from_millis(30), &group())
            .await
            .unwrap_err();
        assert!(
            matches!(err, LoadError::Timeout { after, .. } if after == Duration::from_millis(30))
        );
    }
}
