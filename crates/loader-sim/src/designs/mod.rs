//! Designs compared with the law by measurement (issue 17): strategies the simulator can
//! run beside `adaptive`, not offered by the engine.
//!
//! - `usl.rs`: the Universal Scalability Law fitted to the engine's windows, the limit at
//!   the fitted peak (`usl`).
//! - `extremum.rs`: extremum seeking with a square-wave dither (`extremum`).
//! - `window.rs`: the law's windows, and [`Windowed`], which runs a [`Design`] on their
//!   points as a strategy.

mod extremum;
mod usl;
mod window;

pub use extremum::{Extremum, ExtremumTuning};
pub use usl::{Usl, UslTuning};
pub use window::{Design, Windowed};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use loader_core::limit::{Outcome, Sample, StrategyConfig};

    use crate::{Overrides, strategy::build};

    /// Built by name, each design climbs on a downstream with room to spare: calls take
    /// 10 ms whatever the concurrency, so goodput grows with the limit.
    #[test]
    fn both_designs_climb_where_goodput_grows_with_the_limit() {
        for name in ["usl", "extremum"] {
            let config = StrategyConfig {
                initial_concurrency: 4,
                ..StrategyConfig::default()
            };
            let mut s = build(name, config, &Overrides::default()).expect(name);
            let mut now = Duration::ZERO;
            for seq in 0..20_000 {
                let limit = s.limit();
                now += Duration::from_secs_f64(0.01 / limit as f64);
                s.on_sample(&Sample {
                    now,
                    rtt: Duration::from_millis(10),
                    batch_size: 10,
                    loads: 10,
                    in_flight: limit,
                    limit,
                    seq,
                    granted: seq + 1,
                    done_below: seq + 1,
                    queued: 1,
                    local_load: 0.0,
                    outcome: Outcome::Success,
                    requests_ended: 0,
                    group: 0,
                });
            }
            assert!(s.limit() > 16, "{name} stayed at {}", s.limit());
        }
    }
}
