//! [`LoadReport`]: the figures of one load run, and their one-paragraph text form.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use super::tally::Tally;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

/// One second of the run (including the warm-up), for plots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondPoint {
    /// Start of the second, from the start of the run.
    pub t_s: f64,
    /// Responses received in this second (its requests/s).
    pub answered: u64,
    /// Complete responses (data, no errors).
    pub ok: u64,
    /// Responses with errors (partial, refused and other).
    pub errors: u64,
    /// Partial responses (data plus errors).
    #[serde(default)]
    pub partial: u64,
    /// Refusals (`503`).
    #[serde(default)]
    pub refused: u64,
    /// Responses with an `OVERLOADED` error.
    pub overloaded: u64,
    /// Requests that hit the client timeout.
    pub timeouts: u64,
    /// Requests that got no response.
    pub transport_errors: u64,
    /// Median latency of the responses.
    pub p50_ms: f64,
    /// 99th percentile latency of the responses.
    pub p99_ms: f64,
    /// 99th percentile latency of the responses without errors.
    pub ok_p99_ms: f64,
}

/// The figures of one load run. Totals cover the measured part (after the warm-up);
/// `issued`, `completed` and `answered_total` cover the whole run; `seconds` is the whole
/// run second by second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadReport {
    /// The endpoint.
    pub url: String,
    /// Closed-loop clients.
    pub clients: usize,
    /// Warm-up length, seconds.
    pub warmup_s: f64,
    /// Planned measured length, seconds.
    pub duration_s: f64,
    /// Actual measured length (until the last request finished), seconds.
    pub elapsed_s: f64,
    /// Requests sent over the whole run.
    pub issued: u64,
    /// Requests finished (answered, failed or timed out) over the whole run.
    pub completed: u64,
    /// Requests answered over the whole run.
    pub answered_total: u64,
    /// Responses received (measured part).
    pub answered: u64,
    /// Complete responses: `2xx`, data, no errors.
    pub ok: u64,
    /// Responses with at least one error (partial, refused and other error answers).
    pub error_requests: u64,
    /// Partial responses: data plus errors (also in `error_requests`).
    #[serde(default)]
    pub partial: u64,
    /// Refusals: `503` (also in `error_requests`).
    #[serde(default)]
    pub refused: u64,
    /// Requests that failed otherwise: error answers without data, transport failures,
    /// timeouts.
    #[serde(default)]
    pub other_errors: u64,
    /// Responses with an `OVERLOADED` error (also in `error_requests`).
    pub overloaded: u64,
    /// Requests that got no response (connection refused or reset).
    pub transport_errors: u64,
    /// Of those, connections that could not be opened.
    pub connect_errors: u64,
    /// Requests that hit the client timeout.
    pub timeouts: u64,
    /// Responses per `extensions.code` (a response with two codes counts under each).
    pub errors_by_code: BTreeMap<String, u64>,
    /// Responses per second.
    pub requests_per_s: f64,
    /// Complete responses per second (goodput).
    pub ok_per_s: f64,
    /// Partial responses per second.
    #[serde(default)]
    pub partial_per_s: f64,
    /// Refusals per second.
    #[serde(default)]
    pub refused_per_s: f64,
    /// Other failed requests per second.
    #[serde(default)]
    pub other_errors_per_s: f64,
    /// Failed requests (errors, transport, timeouts) over all finished requests.
    pub error_rate: f64,
    /// Latency of every response.
    pub latency: LatencySummary,
    /// Latency of the complete responses.
    pub ok_latency: LatencySummary,
    /// The run second by second.
    pub seconds: Vec<SecondPoint>,
    /// The per-second tallies behind `seconds`, for phase summaries.
    #[serde(skip)]
    pub(crate) second_tallies: Vec<Tally>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} clients, {:.1} s measured (+{:.1} s warm-up) against {}",
            self.clients, self.elapsed_s, self.warmup_s, self.url
        )?;
        writeln!(
            f,
            "  requests/s {:>9.1}   complete/s {:>9.1}   partial/s {:.1}   refused/s {:.1}   other errors/s {:.1}   answered {}   issued {} (whole run)",
            self.requests_per_s,
            self.ok_per_s,
            self.partial_per_s,
            self.refused_per_s,
            self.other_errors_per_s,
            self.answered,
            self.issued
        )?;
        let l = &self.latency;
        writeln!(
            f,
            "  latency ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (complete only: p50 {:.2}, p99 {:.2})",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, self.ok_latency.p50_ms, self.ok_latency.p99_ms
        )?;
        write!(
            f,
            "  errors {} ({:.2}%): partial {}, refused {}; overloaded {}, transport {}, timeouts {}",
            self.error_requests,
            self.error_rate * 100.0,
            self.partial,
            self.refused,
            self.overloaded,
            self.transport_errors,
            self.timeouts
        )?;
        if !self.errors_by_code.is_empty() {
            let codes: Vec<String> = self
                .errors_by_code
                .iter()
                .map(|(c, n)| format!("{c}={n}"))
                .collect();
            write!(f, "  [{}]", codes.join(", "))?;
        }
        Ok(())
    }
}
