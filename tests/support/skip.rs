//! The loud skip shared by every real-component test (PostgreSQL, Jaeger, ...): a test whose
//! component is missing passes with a banner nobody can overlook, except under CI, where the
//! component must be there and its absence fails the test.

use std::{fmt::Display, io::Write};

/// What is missing, for the banner and the CI failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing<'a> {
    /// The component, e.g. `"PostgreSQL"`.
    pub component: &'a str,
    /// How it is missing, in capitals for the banner, e.g. `"NOT INSTALLED"`.
    pub state: &'a str,
}

/// Skips `test` loudly because `missing` (explained by `reason`), or panics when the `CI`
/// environment variable is set: in CI these tests must run.
///
/// The banner goes straight to stderr, bypassing the test harness's output capture, so it
/// shows for passing tests too:
///
/// ```text
/// ************************************************************************
/// *** PostgreSQL NOT INSTALLED: skipping e2e_server::app::reads
/// *** PostgreSQL server binaries (initdb, pg_ctl) not found; ...
/// ************************************************************************
/// ```
pub fn skip_loudly(missing: Missing<'_>, test: &str, reason: &dyn Display) {
    let Missing { component, state } = missing;
    if ci_is_set() {
        panic!("{test}: CI is set, so {component} tests must run, but: {reason}");
    }
    let banner = format!(
        "\n\
         ************************************************************************\n\
         *** {component} {state}: skipping {test}\n\
         *** {reason}\n\
         ************************************************************************\n"
    );
    let _ = std::io::stderr().write_all(banner.as_bytes());
}

/// Whether the `CI` environment variable is set (to anything).
pub fn ci_is_set() -> bool {
    std::env::var_os("CI").is_some()
}
