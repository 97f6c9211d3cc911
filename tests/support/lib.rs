//! Test tooling shared by the workspace's database and end-to-end tests.
//!
//! - [`PgCluster`]: a throwaway PostgreSQL cluster made with Debian's `initdb`/`pg_ctl` in a
//!   temporary directory, on a free port, removed afterwards. [`PgCluster::shared`] gives one
//!   cluster per test binary; [`pg_database_or_skip`] / [`pg_or_skip!`] hand each test a fresh
//!   database, or skip loudly when PostgreSQL is not installed (and panic when `CI` is set).
//! - [`sqlite_url`]: a fresh SQLite file database in a directory the test owns.
//! - [`Jaeger`]: a real Jaeger v2 built once with the machine's Go ([`jaeger_binary`]), on
//!   free ports, read back through its HTTP query API; [`start_jaeger_or_skip`] skips loudly
//!   without Go or the Go module proxy (and panics when `CI` is set).
//! - [`ServerProcess`]: the workspace's `server` binary ([`server_binary`]) as a child process
//!   with an environment of the test's choosing.
//! - [`Launch`] → [`HeadlessChromium`], [`DevTools`], [`Page`]: a real headless Chromium driven
//!   through the DevTools protocol, with no network beyond loopback ([`ProxyTrap`],
//!   [`LoopbackOnly`]); [`chromium_or_skip`] skips loudly without Chromium.
//! - [`artifacts_dir`]: `target/test-artifacts/`, where tests leave screenshots for people.
//! - [`skip_loudly`] / [`skip_missing`]: the one loud way to skip a test whose real component
//!   (PostgreSQL, Chromium, Node.js, Jaeger) is missing; a failure when `CI` is set.
//!
//! ```no_run
//! # async fn example() {
//! // In a `#[tokio::test]`: a fresh database on the binary's shared cluster.
//! let url = test_support::pg_or_skip!();
//! assert!(url.starts_with("postgres://postgres@127.0.0.1:"));
//! # }
//! ```

mod artifacts;
mod chromium;
mod jaeger;
mod pg;
mod server_process;
mod skip;
mod sqlite;
mod watchdog;

pub use artifacts::{announce_artifact, artifacts_dir};
pub use chromium::{
    Chord, ChromiumError, DevTools, Event, HEADLESS_FLAGS, HeadlessChromium, Launch, LoopbackOnly,
    Page, ProxyTrap, SeenRequest, chromium_binary, chromium_or_skip, is_loopback,
};
pub use jaeger::{
    JAEGER_MODULE_VERSION, Jaeger, JaegerError, JaegerPorts, JaegerSpan, JaegerTrace, RefType,
    Reference, jaeger_binary, jaeger_or_skip, same_trace_id, start_jaeger_or_skip,
};
pub use pg::{PgCluster, PgError, pg_database_or_skip, skip_unless_installed};
pub use server_process::{ServerProcess, server_binary};
pub use skip::{Missing, ci_is_set, skip_loudly, skip_missing};
pub use sqlite::sqlite_url;
