//! A real Jaeger v2 for tests: built once with the machine's Go from the module proxy and
//! cached outside the work tree, started on free ports with a configuration of the project's
//! own, read back through its HTTP query API, and killed when the test ends (even when the
//! test process dies).

mod binary;
mod config;
mod error;
mod process;
mod query;
mod skip;
mod trace;

pub use binary::{JAEGER_MODULE_VERSION, jaeger_binary};
pub use config::JaegerPorts;
pub use error::JaegerError;
pub use process::Jaeger;
pub use skip::{jaeger_or_skip, start_jaeger_or_skip};
pub use trace::{JaegerSpan, JaegerTrace, RefType, Reference, same_trace_id};
