//! [`Outcome`]: what one request came back as, from the HTTP status and GraphQL body.

use std::time::Duration;

use serde_json::Value;

/// The `extensions.code` of a load the server shed.
pub const OVERLOADED: &str = "OVERLOADED";

/// What one request came back as. The classes are exclusive: a response is complete,
/// partial, refused or another error, whatever its error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A complete answer: a `2xx` status, `data` that is not null, no errors.
    Ok,
    /// A partial answer: `data` that is not null together with GraphQL errors (fields with
    /// holes in them); the distinct `extensions.code`s, sorted.
    Partial(Vec<String>),
    /// A refusal: `503 Service Unavailable` (the server ran nothing; safe to retry); the
    /// codes of its body, if any.
    Refused(Vec<String>),
    /// Any other error response: GraphQL errors without data, or a status other than `2xx`
    /// and `503`; the distinct `extensions.code`s, sorted (`UNKNOWN` for an error without a
    /// code, `HTTP_<status>` for a response that is not GraphQL or has neither data nor
    /// errors).
    Errors(Vec<String>),
    /// No response: connection refused or reset, body cut.
    Transport(TransportKind),
    /// No response within the client's timeout.
    Timeout,
}

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be opened.
    Connect,
    /// The request or the response body failed mid-way.
    Request,
}

/// The largest `extensions.retryAfterMs` of an `OVERLOADED` response's errors.
///
/// ```
/// use std::time::Duration;
/// use bench::load::retry_after_hint;
///
/// let body = br#"{"errors":[{"message":"busy","extensions":{"code":"OVERLOADED","retryAfterMs":40}}]}"#;
/// assert_eq!(retry_after_hint(body), Some(Duration::from_millis(40)));
/// assert_eq!(retry_after_hint(br#"{"data":{}}"#), None);
/// ```
pub fn retry_after_hint(body: &[u8]) -> Option<Duration> {
    let json = serde_json::from_slice::<Value>(body).ok()?;
    json.get("errors")?
        .as_array()?
        .iter()
        .filter_map(|e| e.pointer("/extensions/retryAfterMs")?.as_u64())
        .max()
        .map(Duration::from_millis)
}

/// The `Retry-After` header's delay in seconds (an HTTP date is not supported: `None`).
///
/// ```
/// use std::time::Duration;
/// use bench::load::retry_after_header;
///
/// assert_eq!(retry_after_header(Some("2")), Some(Duration::from_secs(2)));
/// assert_eq!(retry_after_header(Some("Fri, 31 Dec 1999 23:59:59 GMT")), None);
/// ```
pub fn retry_after_header(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse().ok().map(Duration::from_secs)
}

impl Outcome {
    /// Classifies a received response by its status and body.
    ///
    /// ```
    /// use bench::load::Outcome;
    ///
    /// let holes = br#"{"data":{"post":null},"errors":[{"message":"busy","extensions":{"code":"OVERLOADED"}}]}"#;
    /// assert_eq!(Outcome::from_response(200, holes), Outcome::Partial(vec!["OVERLOADED".into()]));
    /// let refused = br#"{"errors":[{"message":"busy","extensions":{"code":"OVERLOADED"}}]}"#;
    /// assert_eq!(Outcome::from_response(503, refused), Outcome::Refused(vec!["OVERLOADED".into()]));
    /// assert_eq!(Outcome::from_response(200, br#"{"data":{"a":1}}"#), Outcome::Ok);
    /// ```
    pub fn from_response(status: u16, body: &[u8]) -> Outcome {
        let json = serde_json::from_slice::<Value>(body).ok();
        let codes = json.as_ref().and_then(error_codes);
        if status == 503 {
            return Outcome::Refused(codes.unwrap_or_default());
        }
        let Some(json) = json else {
            return Outcome::Errors(vec![format!("HTTP_{status}")]);
        };
        let has_data = json.get("data").is_some_and(|d| !d.is_null());
        let success = (200..300).contains(&status);
        match codes {
            Some(codes) if has_data && success => Outcome::Partial(codes),
            Some(codes) => Outcome::Errors(codes),
            None if has_data && success => Outcome::Ok,
            None => Outcome::Errors(vec![format!("HTTP_{status}")]),
        }
    }

    /// Whether the server answered (anything but a transport error or timeout).
    pub fn answered(&self) -> bool {
        !matches!(self, Outcome::Transport(_) | Outcome::Timeout)
    }

    /// The error codes of an answer with errors (empty for the others).
    pub fn codes(&self) -> &[String] {
        match self {
            Outcome::Partial(codes) | Outcome::Refused(codes) | Outcome::Errors(codes) => codes,
            Outcome::Ok | Outcome::Transport(_) | Outcome::Timeout => &[],
        }
    }

    /// Whether any error of the response is `OVERLOADED`.
    pub fn overloaded(&self) -> bool {
        self.codes().iter().any(|c| c == OVERLOADED)
    }

    /// Whether the server asked the client to come back later: a refusal, or an answer
    /// with an `OVERLOADED` error.
    pub fn asks_to_retry_later(&self) -> bool {
        matches!(self, Outcome::Refused(_)) || self.overloaded()
    }
}

/// The distinct, sorted `extensions.code`s of a body's `errors`; `None` when it has none.
fn error_codes(json: &Value) -> Option<Vec<String>> {
    let errors = json.get("errors")?.as_array().filter(|e| !e.is_empty())?;
    let mut codes: Vec<String> = errors
        .iter()
        .map(|e| {
            e.pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or("UNKNOWN")
                .to_string()
        })
        .collect();
    codes.sort();
    codes.dedup();
    Some(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_sorted_and_default_to_unknown() {
        let body = br#"{"data":null,"errors":[
            {"message":"a","extensions":{"code":"TIMEOUT"}},
            {"message":"b","extensions":{"code":"OVERLOADED"}},
            {"message":"c","extensions":{"code":"OVERLOADED"}},
            {"message":"d"}]}"#;
        let outcome = Outcome::from_response(200, body);
        assert_eq!(
            outcome,
            Outcome::Errors(vec![
                "OVERLOADED".into(),
                "TIMEOUT".into(),
                "UNKNOWN".into()
            ])
        );
        assert!(outcome.overloaded() && outcome.asks_to_retry_later());
        assert!(outcome.answered());
    }

    #[test]
    fn data_with_errors_is_partial_and_data_without_errors_is_complete() {
        let partial = br#"{"data":{"a":{"b":null}},"errors":[{"message":"x","path":["a","b"],"extensions":{"code":"BAD_USER_INPUT"}}]}"#;
        assert_eq!(
            Outcome::from_response(200, partial),
            Outcome::Partial(vec!["BAD_USER_INPUT".into()])
        );
        assert!(!Outcome::from_response(200, partial).asks_to_retry_later());
        assert_eq!(
            Outcome::from_response(200, br#"{"data":{"a":1},"errors":[]}"#),
            Outcome::Ok
        );
    }

    #[test]
    fn every_503_is_a_refusal_whatever_its_body() {
        assert_eq!(
            Outcome::from_response(503, b"Service Unavailable"),
            Outcome::Refused(vec![])
        );
        let with_data =
            br#"{"data":{"a":1},"errors":[{"message":"busy","extensions":{"code":"OVERLOADED"}}]}"#;
        let refused = Outcome::from_response(503, with_data);
        assert_eq!(refused, Outcome::Refused(vec!["OVERLOADED".into()]));
        assert!(refused.asks_to_retry_later());
        assert!(Outcome::Refused(vec![]).asks_to_retry_later());
    }

    #[test]
    fn non_json_or_dataless_responses_count_as_http_errors() {
        assert_eq!(
            Outcome::from_response(502, b"Bad Gateway"),
            Outcome::Errors(vec!["HTTP_502".into()])
        );
        assert_eq!(
            Outcome::from_response(500, br#"{"data":{"a":1}}"#),
            Outcome::Errors(vec!["HTTP_500".into()])
        );
        assert_eq!(
            Outcome::from_response(200, br#"{"data":null}"#),
            Outcome::Errors(vec!["HTTP_200".into()])
        );
        let bad =
            br#"{"errors":[{"message":"x","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}"#;
        assert_eq!(
            Outcome::from_response(400, bad),
            Outcome::Errors(vec!["GRAPHQL_VALIDATION_FAILED".into()])
        );
    }

    #[test]
    fn transport_failures_are_not_answers() {
        assert!(!Outcome::Timeout.answered());
        assert!(!Outcome::Transport(TransportKind::Connect).overloaded());
        assert!(
            Outcome::Transport(TransportKind::Request)
                .codes()
                .is_empty()
        );
    }
}
