//! Reading from a test Jaeger through its HTTP query API, the API its UI reads.

use std::time::{Duration, Instant};

use super::{Jaeger, JaegerError, JaegerTrace};

/// How often [`Jaeger::wait_for_trace`] asks again.
const POLL_EVERY: Duration = Duration::from_millis(100);

impl Jaeger {
    /// `GET /api/traces/{trace_id}`: the trace, or `None` while Jaeger does not have it
    /// (`404`). `trace_id` is 32 hex digits.
    pub async fn trace(&self, trace_id: &str) -> Result<Option<JaegerTrace>, JaegerError> {
        let url = format!("{}/api/traces/{trace_id}", self.query_url());
        let Some(body) = get(&url).await? else {
            return Ok(None);
        };
        let mut traces =
            JaegerTrace::parse_response(&body).map_err(|message| JaegerError::Query {
                url: url.clone(),
                message,
            })?;
        match traces.len() {
            0 => Ok(None),
            1 => Ok(traces.pop()),
            n => Err(JaegerError::Query {
                url,
                message: format!("{n} traces for one trace id"),
            }),
        }
    }

    /// Asks for the trace every 100 ms until it is there and `ready` says it is whole, for at
    /// most `timeout`.
    ///
    /// # Errors
    ///
    /// [`JaegerError::Query`] after `timeout`, saying how much of the trace had arrived, or
    /// when the API answers something else than a trace.
    pub async fn wait_for_trace(
        &self,
        trace_id: &str,
        timeout: Duration,
        ready: impl Fn(&JaegerTrace) -> bool,
    ) -> Result<JaegerTrace, JaegerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = match self.trace(trace_id).await? {
                Some(trace) if ready(&trace) => return Ok(trace),
                seen => seen,
            };
            if Instant::now() >= deadline {
                let what = match &seen {
                    None => "no such trace".to_owned(),
                    Some(trace) => format!(
                        "{} spans, not yet what the test waits for: {:?}",
                        trace.spans.len(),
                        span_names(trace)
                    ),
                };
                return Err(JaegerError::Query {
                    url: format!("{}/api/traces/{trace_id}", self.query_url()),
                    message: format!("after {timeout:?}: {what}"),
                });
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// `GET /api/traces?service=...`: the traces of `service` started in the last hour (at
    /// most `limit`).
    pub async fn traces_of(
        &self,
        service: &str,
        limit: usize,
    ) -> Result<Vec<JaegerTrace>, JaegerError> {
        let url = format!(
            "{}/api/traces?service={service}&limit={limit}&lookback=1h",
            self.query_url()
        );
        let body = get(&url).await?.unwrap_or_default();
        JaegerTrace::parse_response(&body).map_err(|message| JaegerError::Query { url, message })
    }

    /// `GET /api/services`: the service names Jaeger has spans of.
    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        let url = format!("{}/api/services", self.query_url());
        let body = get(&url).await?.unwrap_or_default();
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| JaegerError::Query {
                url: url.clone(),
                message: format!("not JSON: {e}"),
            })?;
        Ok(json["data"]
            .as_array()
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The body of a `200`, `None` for a `404`, an error otherwise.
async fn get(url: &str) -> Result<Option<Vec<u8>>, JaegerError> {
    let error = |message: String| JaegerError::Query {
        url: url.to_owned(),
        message,
    };
    let response = reqwest::get(url).await.map_err(|e| error(e.to_string()))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| error(e.to_string()))?;
    match status.as_u16() {
        200 => Ok(Some(body.to_vec())),
        404 => Ok(None),
        _ => Err(error(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body).trim()
        ))),
    }
}

/// `name x count` of each span name, for failure messages.
fn span_names(trace: &JaegerTrace) -> Vec<String> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for span in &trace.spans {
        *counts.entry(span.operation_name.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(name, n)| format!("{name} x{n}"))
        .collect()
}
