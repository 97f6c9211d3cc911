//! [`LoadConfig`]: what a load run sends, where, with how many clients, for how long.

use std::time::Duration;

use super::QueryMix;

/// Settings of one closed-loop load run. Build with [`LoadConfig::new`] and adjust the
/// public fields.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The GraphQL endpoint (`http://host:port/graphql`).
    pub url: String,
    /// The queries to send.
    pub mix: QueryMix,
    /// Clients, each sending its next request when the previous one finished.
    /// By default, this is 64.
    pub clients: usize,
    /// Measured length, after the warm-up. By default, this is 30 s.
    pub duration: Duration,
    /// Warm-up: requests finishing in it are in the per-second series, not in the totals.
    /// By default, this is 5 s.
    pub warmup: Duration,
    /// A request without a response after this counts as a timeout. By default, this is 30 s.
    pub timeout: Duration,
    /// Seed of the query picks and random ids. By default, this is 1.
    pub seed: u64,
    /// Draw a progress bar on standard error (hidden when it is not a terminal).
    /// By default, this is `false`.
    pub progress: bool,
    /// A client refused (`503`) or answered with `OVERLOADED` waits the server's hint
    /// (`extensions.retryAfterMs`, else the `Retry-After` header; at most
    /// [`MAX_RETRY_WAIT`]) before its next request, as a well-behaved client does; `false`:
    /// it sends the next one at once, and a closed loop turns refusals into a hot loop that
    /// measures the cost of refusing more than anything else. By default, this is `true`.
    pub honor_retry_after: bool,
    /// Sent as `Authorization: Bearer <token>` with every request: needed for a mix with
    /// mutations, or against a server with `REQUIRE_AUTH`. By default, this is `None`.
    pub bearer_token: Option<String>,
}

/// The longest a client waits on a `retryAfterMs` hint.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(1);

impl LoadConfig {
    /// Settings for `url` and `mix` with every other default.
    pub fn new(url: impl Into<String>, mix: QueryMix) -> Self {
        Self {
            url: url.into(),
            mix,
            clients: 64,
            duration: Duration::from_secs(30),
            warmup: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            seed: 1,
            progress: false,
            honor_retry_after: true,
            bearer_token: None,
        }
    }
}
