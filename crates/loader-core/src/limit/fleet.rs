//! [`FleetView`]: what one replica knows of the other replicas sharing its downstream.
//!
//! Replicas of a server on one database each run an engine. What the others hold moves what
//! this one measures: on a saturated database a permit taken here is a permit's worth of
//! goodput lost there, and a step by one replica slows every replica's calls by its share of
//! the whole. So a fleet-aware caller (the server's `fleet.rs`) tells the engine, every
//! heartbeat, how many others there are and how many permits they hold; the engine hands
//! that to its strategy ([`ScalingStrategy::set_fleet`](super::ScalingStrategy::set_fleet)).

/// One replica's view of its fleet. The default is a replica alone.
///
/// ```
/// use loader_core::limit::FleetView;
///
/// // Two other replicas, holding 10 permits between them.
/// let view = FleetView { replicas: 2, others_permits: 10 };
/// assert!(view.in_fleet());
/// assert!(!FleetView::default().in_fleet());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetView {
    /// How many other replicas share the downstream (0: alone, or not known).
    pub replicas: usize,
    /// The concurrency limits of those other replicas, summed.
    pub others_permits: usize,
}

impl FleetView {
    /// Whether other replicas share the downstream.
    pub fn in_fleet(&self) -> bool {
        self.replicas > 0
    }
}

impl crate::Engine {
    /// What this replica knows of the other replicas of its fleet on the same downstream
    /// ([`FleetView`]): how many they are and the permits they hold. A server's replicas
    /// learn each other's limits through a shared table (the server's `fleet.rs`) and call
    /// this every heartbeat; the engine hands the view to its strategy.
    ///
    /// The adaptive strategy uses it twice. The first time a cold engine (no warm start,
    /// nothing learned yet) hears of others, it takes its share of `initial_concurrency`, so
    /// the fleet starts where one engine would, in total. And its free test takes a step's
    /// size against the calls in flight at the downstream, its own limit plus the others'
    /// permits ([`Tuning::fleet_free`](super::Tuning::fleet_free)): past the knee a step up
    /// by one replica slows every replica's calls by its share of the whole, so it neither
    /// pays nor is free, and independent replicas settle near the capacity
    /// (`limit/adaptive/tests.rs`).
    /// [`FleetView::default`] is a replica alone.
    ///
    /// ```
    /// use loader_core::limit::FleetView;
    ///
    /// let engine = loader_core::Engine::builder().build().unwrap();
    /// engine.set_fleet(FleetView { replicas: 2, others_permits: 6 });
    /// assert_eq!(engine.snapshot().fleet_others, 6);
    /// // Cold, one of three replicas: its share of the initial limit of 4.
    /// assert_eq!(engine.limit(), 1);
    /// ```
    pub fn set_fleet(&self, view: FleetView) {
        let inner = &self.inner;
        let now = inner.now();
        let change = inner.controller.lock().set_fleet(now, view);
        if let Some(change) = change {
            inner.apply_limit_change(&change);
        }
    }
}
