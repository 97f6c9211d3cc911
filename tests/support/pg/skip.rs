use super::{PgCluster, PgError};

/// Unwraps a PostgreSQL set-up result, or skips the test when PostgreSQL is not installed.
///
/// - `Ok(v)` gives `Some(v)`.
/// - [`PgError::NotInstalled`] skips through [`skip_missing`](crate::skip_missing): a loud
///   banner straight to the terminal (bypassing the test harness's output capture, so it
///   shows for passing tests too) and `None`; when the `CI` environment variable is set it
///   panics instead: in CI these tests must run.
/// - Any other error panics: PostgreSQL is installed but broken, which a skip would hide.
pub fn skip_unless_installed<T>(result: Result<T, PgError>, test: &str) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err @ PgError::NotInstalled { .. }) => {
            crate::skip_missing("PostgreSQL", test, &err.to_string());
            None
        }
        Err(err) => panic!("{test}: PostgreSQL is installed but unusable: {err}"),
    }
}

/// A fresh database on this test binary's [shared cluster](PgCluster::shared), or `None`
/// (after a loud message) when PostgreSQL is not installed; see [`skip_unless_installed`].
pub fn pg_database_or_skip(test: &str) -> Option<String> {
    skip_unless_installed(
        PgCluster::shared().and_then(PgCluster::fresh_database),
        test,
    )
}

/// Evaluates to the URL of a fresh database on the binary's shared cluster, or returns from
/// the enclosing test (after a loud "PostgreSQL NOT INSTALLED" message) when PostgreSQL is
/// not installed. Panics instead of skipping when `CI` is set.
///
/// ```no_run
/// #[tokio::test]
/// async fn reads_back_on_postgres() {
///     let url = test_support::pg_or_skip!();
///     // connect to `url` ...
/// }
/// ```
#[macro_export]
macro_rules! pg_or_skip {
    () => {
        $crate::pg_or_skip!(::std::module_path!())
    };
    ($test:expr) => {
        match $crate::pg_database_or_skip($test) {
            ::std::option::Option::Some(url) => url,
            ::std::option::Option::None => return,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_installed() -> Result<u8, PgError> {
        Err(PgError::NotInstalled {
            searched: "nowhere".into(),
        })
    }

    #[test]
    fn success_passes_through() {
        assert_eq!(skip_unless_installed(Ok::<_, PgError>(7), "t"), Some(7));
    }

    #[test]
    #[should_panic(expected = "installed but unusable")]
    fn a_broken_installation_fails_instead_of_skipping() {
        let broken: Result<u8, PgError> = Err(PgError::InvalidName("X".into()));
        skip_unless_installed(broken, "t");
    }

    #[test]
    fn missing_postgres_skips_outside_ci_and_fails_in_ci() {
        // The environment is process-wide: check the branch that matches it.
        if std::env::var_os("CI").is_some() {
            let caught = std::panic::catch_unwind(|| skip_unless_installed(not_installed(), "t"));
            assert!(
                caught.is_err(),
                "CI must turn a missing PostgreSQL into a failure"
            );
        } else {
            assert_eq!(skip_unless_installed(not_installed(), "t"), None);
        }
    }
}
