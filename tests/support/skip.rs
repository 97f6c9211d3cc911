//! [`skip_missing`]: the one loud way a test skips because a real component is missing.
//!
//! Tests run against real components (PostgreSQL, Chromium, Node.js with graphql-js, ...).
//! On a developer's machine without one of them a test may skip, but never silently: the
//! test harness swallows a passing test's output, so the banner is written straight to the
//! process's standard error, where it shows for passing tests too. When the `CI`
//! environment variable is set, a missing component is a failure instead: CI installs every
//! component (`.ci/run`), so a skip there would hide a broken set-up.

use std::io::Write;

/// Reports that `test` does not run because `component` is missing (`why`: what was
/// looked for, and how to install it). Prints a loud banner and returns; panics instead
/// when the `CI` environment variable is set.
///
/// Call it and return from the test:
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
    if ci() {
        panic!("{test}: CI is set, so tests that need {component} must run, but: {why}");
    }
    let _ = std::io::stderr().write_all(banner(component, test, why).as_bytes());
}

/// The banner [`skip_missing`] prints.
fn banner(component: &str, test: &str, why: &str) -> String {
    format!(
        "\n\
         ************************************************************************\n\
         *** {component} NOT INSTALLED: skipping {test}\n\
         *** {why}\n\
         ************************************************************************\n"
    )
}

fn ci() -> bool {
    std::env::var_os("CI").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_component_the_test_and_the_remedy() {
        let text = banner("Chromium", "tests::graphiql", "apt-get install chromium");
        assert!(text.contains("Chromium NOT INSTALLED: skipping tests::graphiql"));
        assert!(text.contains("apt-get install chromium"));
    }

    #[test]
    fn a_skip_returns_outside_ci_and_fails_in_ci() {
        // The environment is process-wide: check the branch that matches it.
        let caught = std::panic::catch_unwind(|| skip_missing("X", "t", "install X"));
        assert_eq!(caught.is_err(), ci(), "a skip fails exactly when CI is set");
    }
}
