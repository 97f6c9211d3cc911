use super::{Jaeger, JaegerError};
use crate::skip::{Missing, skip_loudly};

/// Unwraps a Jaeger set-up result, or skips the test when Jaeger cannot be built here.
///
/// - `Ok(v)` gives `Some(v)`.
/// - [`JaegerError::Unavailable`] (no Go, no module proxy) prints a loud
///   `Jaeger UNAVAILABLE: skipping ...` banner and gives `None`; when the `CI` environment
///   variable is set it panics instead: in CI the Jaeger tests must run.
/// - Any other error panics: Jaeger could be built but does not work, which a skip would hide.
pub fn jaeger_or_skip<T>(result: Result<T, JaegerError>, test: &str) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err @ JaegerError::Unavailable { .. }) => {
            let missing = Missing {
                component: "Jaeger",
                state: "UNAVAILABLE",
            };
            skip_loudly(missing, test, &err);
            None
        }
        Err(err) => panic!("{test}: Jaeger is unusable: {err}"),
    }
}

/// Starts a [`Jaeger`] (building it first if needed, see [`super::jaeger_binary`]) off the
/// async runtime, or `None` after a loud skip when it cannot be built here (a panic when `CI`
/// is set); see [`jaeger_or_skip`].
pub async fn start_jaeger_or_skip(test: &str) -> Option<Jaeger> {
    let started = tokio::task::spawn_blocking(Jaeger::start)
        .await
        .expect("Jaeger::start does not panic");
    jaeger_or_skip(started, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable() -> Result<u8, JaegerError> {
        Err(JaegerError::Unavailable {
            reason: "no go".into(),
        })
    }

    #[test]
    #[should_panic(expected = "Jaeger is unusable")]
    fn a_broken_build_fails_instead_of_skipping() {
        let broken: Result<u8, JaegerError> = Err(JaegerError::Build {
            command: "go build".into(),
            output: "exit status: 1".into(),
        });
        jaeger_or_skip(broken, "t");
    }

    #[test]
    fn missing_go_skips_outside_ci_and_fails_in_ci() {
        if crate::skip::ci_is_set() {
            let caught = std::panic::catch_unwind(|| jaeger_or_skip(unavailable(), "t"));
            assert!(caught.is_err(), "CI must turn a missing Go into a failure");
        } else {
            assert_eq!(jaeger_or_skip(unavailable(), "t"), None);
        }
    }
}
