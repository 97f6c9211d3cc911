//! Scenario families: scenarios drawn by seed from ranges written as data.
//!
//! A [`Family`] (`spec.rs`) is a TOML file under `scenarios/families/`: a name, a one-line
//! purpose, and every backend and load parameter as a [`Draw`] (`draw.rs`): a number, or a
//! range to draw from. [`generate`] (`generate.rs`) turns (family, seed) into a
//! [`Scenario`](crate::Scenario), the same way every time, and lists every number it drew.
//!
//! ```
//! use loader_sim::family::{Family, generate};
//! let family = Family::from_toml_str(r#"
//!     name = "tiny"
//!     purpose = "a small steady backend"
//!     duration_s = 10
//!     warmup_s = 2
//!     [backend]
//!     capacity = { log_int = [16, 200] }
//!     base_latency_ms = { uniform = [2, 8] }
//!     [load]
//!     mode = "closed"
//!     clients = { uniform = [4, 8], per = "capacity" }
//!     keys_per_request = { int = [1, 10] }
//!     [[change]]
//!     param = "backend.capacity"
//!     at_s = { uniform = [4, 6] }
//!     factor = { log_uniform = [0.125, 0.5] }
//! "#).unwrap();
//! let a = generate(&family, 1000).unwrap();
//! let b = generate(&family, 1000).unwrap();
//! assert_eq!(toml::to_string(&a.scenario).unwrap(), toml::to_string(&b.scenario).unwrap());
//! assert_eq!(a.scenario.name, "tiny#1000");
//! assert_eq!(a.scenario.change_times().len(), 1);
//! ```

mod draw;
mod generate;
mod spec;

pub use draw::{Basis, Dist, Draw};
pub(crate) use generate::keys_per_request;
pub use generate::{Drawn, Generated, generate, keys_per_s_bound, nominal_rps};
pub use spec::{ChangeDraw, Family, GroupDraws, LoadDraws};
