//! [`TokenError`]: why a request's credentials were refused. Each becomes HTTP `401` with a
//! `WWW-Authenticate: Bearer` challenge (RFC 6750) and a GraphQL error whose
//! `extensions.code` is `INVALID_TOKEN` (a token was sent and is not acceptable) or
//! `UNAUTHENTICATED` (none was sent and one is needed), with `extensions.reason` naming
//! the rule it broke. Nothing of such a request runs.

use jsonwebtoken::{Algorithm, errors::ErrorKind};

use crate::echo::quote;

/// The realm in every `WWW-Authenticate` challenge.
pub const REALM: &str = "adaptive-graphql";

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token, and the operation (a mutation, or any request with `REQUIRE_AUTH`) needs one.
    #[error("{0}")]
    Missing(&'static str),
    /// The `Authorization` header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`, got {0}")]
    BadHeader(String),
    /// Not three base64url parts with a JSON header and claims.
    #[error("the bearer token is malformed: {0}")]
    Malformed(String),
    /// Signed with another algorithm than the one this server accepts (or `none`).
    #[error("the bearer token is signed with {found}; this server accepts {expected:?} only")]
    WrongAlgorithm {
        /// The token header's `alg`.
        found: String,
        /// The accepted algorithm.
        expected: Algorithm,
    },
    /// The signature does not verify with the server's key.
    #[error("the bearer token's signature does not verify")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("the bearer token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the bearer token is not valid yet (its `nbf` is in the future)")]
    NotYetValid,
    /// A required claim is absent (or of the wrong type).
    #[error("the bearer token has no valid `{0}` claim")]
    MissingClaim(String),
    /// `sub` is not a user id.
    #[error("the bearer token's `sub` must be a user id (a positive integer), got {0}")]
    BadSubject(String),
    /// `iss` is not the configured issuer.
    #[error("the bearer token's issuer is not accepted here")]
    WrongIssuer,
    /// `aud` does not list the configured audience.
    #[error("the bearer token is not meant for this audience")]
    WrongAudience,
}

impl TokenError {
    /// A `Missing` error for a mutation.
    pub fn mutation_needs_token() -> Self {
        TokenError::Missing(
            "mutations need an identity: send `Authorization: Bearer <token>` (in development, \
             `server token --user <id>` prints one)",
        )
    }

    /// A `Missing` error for any request under `REQUIRE_AUTH`.
    pub fn request_needs_token() -> Self {
        TokenError::Missing(
            "this server requires a token on every request: send `Authorization: Bearer <token>`",
        )
    }

    /// A `BadSubject` error quoting (a bounded prefix of) the subject.
    pub fn bad_subject(sub: &str) -> Self {
        TokenError::BadSubject(quote(sub).to_string())
    }

    /// The GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing(_) => "UNAUTHENTICATED",
            _ => "INVALID_TOKEN",
        }
    }

    /// The GraphQL `extensions.reason`: which rule the credentials broke.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Missing(_) => "missing",
            TokenError::BadHeader(_) => "bad_header",
            TokenError::Malformed(_) => "malformed",
            TokenError::WrongAlgorithm { .. } => "wrong_algorithm",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::BadSubject(_) => "bad_subject",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongAudience => "wrong_audience",
        }
    }

    /// The `WWW-Authenticate` challenge: the realm alone when no token was sent (RFC 6750
    /// 3.1), else with `error` and a short `error_description`.
    pub fn challenge(&self) -> String {
        let error = match self {
            TokenError::Missing(_) => return format!("Bearer realm=\"{REALM}\""),
            TokenError::BadHeader(_) => "invalid_request",
            _ => "invalid_token",
        };
        // The description is this crate's text, bounded input only; quotes and
        // backslashes are not allowed inside a quoted-string without escaping.
        let description: String = self
            .to_string()
            .chars()
            .map(|c| match c {
                '"' | '\\' => '\'',
                c if c.is_ascii() && !c.is_ascii_control() => c,
                _ => '?',
            })
            .collect();
        format!("Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{description}\"")
    }

    /// The refusal for a `jsonwebtoken` error; `expected` is the accepted algorithm.
    pub fn from_jwt(error: &jsonwebtoken::errors::Error, expected: Algorithm) -> Self {
        match error.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                TokenError::WrongAlgorithm {
                    found: "another algorithm".into(),
                    expected,
                }
            }
            ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
                TokenError::MissingClaim(bounded_claim(claim))
            }
            ErrorKind::Base64(_) => TokenError::Malformed("a part is not base64url".into()),
            ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                TokenError::Malformed("its header or claims are not a JSON object".into())
            }
            _ => TokenError::Malformed("it is not a signed JWT (header.claims.signature)".into()),
        }
    }
}

fn bounded_claim(claim: &str) -> String {
    claim.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_gets_a_bare_challenge_and_its_own_code() {
        let e = TokenError::mutation_needs_token();
        assert_eq!(e.code(), "UNAUTHENTICATED");
        assert_eq!(e.challenge(), "Bearer realm=\"adaptive-graphql\"");
    }

    #[test]
    fn a_refused_token_says_why_in_the_challenge() {
        let e = TokenError::Expired;
        assert_eq!(e.code(), "INVALID_TOKEN");
        assert_eq!(e.reason(), "expired");
        assert_eq!(
            e.challenge(),
            "Bearer realm=\"adaptive-graphql\", error=\"invalid_token\", \
             error_description=\"the bearer token has expired\""
        );
    }

    #[test]
    fn the_challenge_is_a_valid_header_value_whatever_the_subject() {
        let e = TokenError::bad_subject("\"é\\\n\u{0}");
        let challenge = e.challenge();
        assert!(
            axum::http::HeaderValue::from_str(&challenge).is_ok(),
            "{challenge}"
        );
        assert_eq!(challenge.matches('"').count(), 6, "{challenge}");
    }

    #[test]
    fn a_long_subject_is_echoed_bounded() {
        let e = TokenError::bad_subject(&"x".repeat(10_000));
        assert!(e.to_string().contains("(10000 characters)"), "{e}");
        assert!(e.to_string().len() < 200, "{e}");
    }
}
