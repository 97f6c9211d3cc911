//! A host that stalls: spells during which every call runs slower, whatever the load.
//!
//! Real databases share their host: a noisy neighbour, a checkpoint, a pause of the runtime
//! or of the scheduler slows every call for a few milliseconds to tens of milliseconds, and
//! the engine's windows of a few dozen calls see it as a slowdown that the limit did not
//! cause. The spells are drawn once per run from the scenario's seed (with a generator of
//! their own, so that a scenario without stalls draws exactly what it drew before), as a
//! [`Schedule`] of the backend's speed that [`ProcessorSharing`](super::ProcessorSharing)
//! applies to every call in service.

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{Schedule, scenario::BackendSpec};

/// The backend's speed over `[0, horizon_s]`: 1, and `1 / stall_factor` during each stall.
/// Stalls last `stall_ms` on average and the gaps between them `stall_ms × (1 - share) /
/// share`, both exponentially distributed, so that the host stalls `stall_share` of the
/// time; each parameter is read at the time its spell starts. A constant 1 when
/// `stall_share` is 0 throughout.
///
/// ```
/// use loader_sim::{BackendSpec, backend::stall_speed};
/// let spec: BackendSpec = toml::from_str(
///     "capacity = 8\nbase_latency_ms = 5\nstall_share = 0.1\nstall_factor = 4\nstall_ms = 10",
/// ).unwrap();
/// let speed = stall_speed(&spec, 7, 60.0);
/// assert_eq!(speed.min(), 0.25);
/// assert_eq!(speed, stall_speed(&spec, 7, 60.0)); // the same seed, the same stalls
/// ```
pub fn stall_speed(spec: &BackendSpec, seed: u64, horizon_s: f64) -> Schedule {
    if spec.stall_share.max() <= 0.0 {
        return Schedule::constant(1.0);
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x57a1_1ed0_4057_0001);
    // Exponential with mean `mean` (inverse transform; `random` is in [0, 1)).
    let mut exp = |mean: f64| -mean * (1.0 - rng.random::<f64>()).ln();
    let mut steps = vec![(0.0, 1.0)];
    let mut t = 0.0;
    while t < horizon_s {
        let share = spec.stall_share.at(t).clamp(0.0, 0.9);
        let mean_s = spec.stall_ms.at(t).max(0.01) / 1000.0;
        if share <= 0.0 {
            // No stalls now: look again at the schedule's next step.
            match spec.stall_share.next_step_after(t) {
                Some(next) => {
                    t = next;
                    continue;
                }
                None => break,
            }
        }
        t += exp(mean_s * (1.0 - share) / share);
        if t >= horizon_s {
            break;
        }
        let factor = spec.stall_factor.at(t).max(1.0);
        let end = t + exp(mean_s).max(1e-6);
        steps.push((t, 1.0 / factor));
        steps.push((end, 1.0));
        t = end;
    }
    Schedule::steps(steps).expect("increasing, finite steps")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> BackendSpec {
        toml::from_str(&format!("capacity = 8\nbase_latency_ms = 5\n{extra}")).unwrap()
    }

    #[test]
    fn without_stalls_the_speed_is_one() {
        let speed = stall_speed(&spec(""), 1, 100.0);
        assert_eq!(speed, Schedule::constant(1.0));
    }

    #[test]
    fn the_host_stalls_the_share_of_time_asked_at_the_factor_asked() {
        let s = spec("stall_share = 0.1\nstall_factor = 4\nstall_ms = 10");
        let speed = stall_speed(&s, 3, 200.0);
        let points = speed.points();
        let stalled: f64 = points
            .windows(2)
            .filter(|w| w[0].1 < 1.0)
            .map(|w| w[1].0 - w[0].0)
            .sum();
        let share = stalled / 200.0;
        assert!((0.08..0.12).contains(&share), "{share}");
        let spells = points.iter().filter(|(_, v)| *v < 1.0).count() as f64;
        let mean_ms = stalled / spells * 1000.0;
        assert!((8.0..12.0).contains(&mean_ms), "{mean_ms}");
        assert!(points.iter().all(|(_, v)| *v == 1.0 || *v == 0.25));
        assert_ne!(
            speed,
            stall_speed(&s, 4, 200.0),
            "another seed, other stalls"
        );
    }

    #[test]
    fn stalls_follow_their_schedule() {
        // stalls only from 50 s on
        let s = spec("stall_share = [[0, 0], [50, 0.2]]");
        let speed = stall_speed(&s, 9, 100.0);
        let first = speed.points()[1].0;
        assert!(first >= 50.0, "{first}");
        assert_eq!(speed.min(), 1.0 / 3.0, "the default factor is 3");
    }
}
