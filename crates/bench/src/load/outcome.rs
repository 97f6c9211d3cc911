//! [`Outcome`]: what one request came back as, from the HTTP status and GraphQL body.

use std::time::Duration;

use serde_json::Value;

/// The `extensions.code` of a load the server shed.
pub const OVERLOADED: &str = "OVERLOADED";

/// What one request came back as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A response with data and no errors.
    Ok,
    /// A response with GraphQL errors; the distinct `extensions.code`s, sorted (`UNKNOWN`
    /// for an error without a code, `HTTP_<status>` for a non-GraphQL error response).
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

impl Outcome {
    /// Classifies a received response.
    ///
    /// ```
    /// use bench::load::Outcome;
    ///
    /// let shed = br#"{"data":{"post":null},"errors":[{"message":"busy","extensions":{"code":"OVERLOADED"}}]}"#;
    /// assert_eq!(Outcome::from_response(200, shed), Outcome::Errors(vec!["OVERLOADED".into()]));
    /// assert_eq!(Outcome::from_response(200, br#"{"data":{"a":1}}"#), Outcome::Ok);
    /// ```
    pub fn from_response(status: u16, body: &[u8]) -> Outcome {
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            return Outcome::Errors(vec![format!("HTTP_{status}")]);
        };
        let errors = json.get("errors").and_then(Value::as_array);
        match errors {
            Some(errors) if !errors.is_empty() => {
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
                Outcome::Errors(codes)
            }
            _ if (200..300).contains(&status) && json.get("data").is_some_and(|d| !d.is_null()) => {
                Outcome::Ok
            }
            _ => Outcome::Errors(vec![format!("HTTP_{status}")]),
        }
    }

    /// Whether the server answered (anything but a transport error or timeout).
    pub fn answered(&self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Errors(_))
    }

    /// Whether any error of the response is `OVERLOADED`.
    pub fn overloaded(&self) -> bool {
        matches!(self, Outcome::Errors(codes) if codes.iter().any(|c| c == OVERLOADED))
    }
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
        assert!(outcome.overloaded());
        assert!(outcome.answered());
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
    }

    #[test]
    fn empty_error_list_with_data_is_ok() {
        assert_eq!(
            Outcome::from_response(200, br#"{"data":{"a":1},"errors":[]}"#),
            Outcome::Ok
        );
        assert!(!Outcome::Timeout.answered());
        assert!(!Outcome::Transport(TransportKind::Connect).overloaded());
    }
}
