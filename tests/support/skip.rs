//! The one loud way a test skips because a real component is missing: [`skip_loudly`] (and
//! its short form [`skip_missing`] for a component that is not installed).
//!
//! Tests run against real components (PostgreSQL, Chromium, Node.js with graphql-js, Jaeger).
//! On a developer's machine without one of them a test may skip, but never silently: the
//! test harness swallows a passing test's output, so the banner is written straight to the
//! process's standard error, where it shows for passing tests too. When the `CI`
//! environment variable is set, a missing component is a failure instead: CI installs every
//! component (`.ci/run`), so a skip there would hide a broken set-up.

use std::{fmt::Display, io::Write};

/// What is missing, for the banner and the CI failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing<'a> {
    /// The component, e.g. `"PostgreSQL"`.
    pub component: &'a str,
    /// How it is missing, in capitals for the banner, e.g. `"NOT INSTALLED"`.
    pub state: &'a str,
}

/// Skips `test` loudly because `missing` (explained by `reason`: what was looked for, and
/// how to install it), or panics when the `CI` environment variable is set: in CI these tests
/// must run.
///
/// The banner goes straight to stderr, bypassing the test harness's output capture:
///
/// ```text
/// ************************************************************************
/// *** PostgreSQL NOT INSTALLED: skipping e2e_server::app::reads
/// *** PostgreSQL server binaries (initdb, pg_ctl) not found; ...
/// ************************************************************************
/// ```
pub fn skip_loudly(missing: Missing<'_>, test: &str, reason: &dyn Display) {
    let Missing { component, .. } = missing;
    if ci_is_set() {
        panic!("{test}: CI is set, so tests that need {component} must run, but: {reason}");
    }
    let _ = std::io::stderr().write_all(banner(missing, test, reason).as_bytes());
}

/// Skips `test` loudly because `component` is not installed (`why`: what was looked for, and
/// how to install it); see [`skip_loudly`]. Call it and return from the test:
///
/// ```no_run
/// #[test]
/// fn renders_in_a_browser() {
///     let Some(browser) = which_browser() else {
///         test_support::skip_missing("Chromium", module_path!(), "apt-get install chromium");
///         return;
///     };
///     // ...
/// }
/// # fn which_browser() -> Option<std::path::PathBuf> { None }
/// ```
pub fn skip_missing(component: &str, test: &str, why: &str) {
    let missing = Missing {
        component,
        state: "NOT INSTALLED",
    };
    skip_loudly(missing, test, &why);
}

/// The banner [`skip_loudly`] prints.
fn banner(missing: Missing<'_>, test: &str, reason: &dyn Display) -> String {
    let Missing { component, state } = missing;
    format!(
        "\n\
         ************************************************************************\n\
         *** {component} {state}: skipping {test}\n\
         *** {reason}\n\
         ************************************************************************\n"
    )
}

/// Whether the `CI` environment variable is set (to anything).
pub fn ci_is_set() -> bool {
    std::env::var_os("CI").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_component_the_test_and_the_remedy() {
        let missing = Missing {
            component: "Chromium",
            state: "NOT INSTALLED",
        };
        let text = banner(missing, "tests::graphiql", &"apt-get install chromium");
        assert!(text.contains("Chromium NOT INSTALLED: skipping tests::graphiql"));
        assert!(text.contains("apt-get install chromium"));
    }

    #[test]
    fn a_skip_returns_outside_ci_and_fails_in_ci() {
        // The environment is process-wide: check the branch that matches it.
        let caught = std::panic::catch_unwind(|| skip_missing("X", "t", "install X"));
        assert_eq!(
            caught.is_err(),
            ci_is_set(),
            "a skip fails exactly when CI is set"
        );
    }
}
