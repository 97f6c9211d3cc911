//! [`Authenticator`]: verifies a request's bearer token and mints tokens (`server token`).
//!
//! A token is accepted when it is a JWS of three base64url parts whose header names the one
//! configured algorithm (so `none` and HS/RS confusion are refused before any signature
//! check), whose signature verifies with the configured key, whose `exp` is not past and
//! `nbf` not future (both within `JWT_LEEWAY_SECS`), whose `iss`/`aud` match when
//! configured, and whose `sub` is a user id.

use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthSettings, Caller, KeySource, TokenError, keys::Keys};
use crate::echo::quote;

/// Longest accepted token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The user id a `sub` claim names: decimal digits of a positive id (RFC 7519 makes `sub` a
/// string; a JSON number is refused rather than guessed at).
fn user_id(sub: &str) -> Result<i64, TokenError> {
    sub.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| sub.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
        .ok_or_else(|| TokenError::bad_subject(sub))
}

/// Verifies tokens with the configured key; built once at start.
pub struct Authenticator {
    keys: Keys,
    validation: Validation,
    require_auth: bool,
    issuer: Option<String>,
    audience: Option<String>,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The server only holds a public key.
    #[error(
        "{0} only verifies tokens; sign them with the matching private key \
         (`server token --private-key-file`) or get them from your identity provider"
    )]
    NoSigningKey(KeySource),
    /// The user id is not positive.
    #[error("a user id is a positive integer, got {0}")]
    BadUser(i64),
    /// Signing failed (a private key that does not fit the algorithm).
    #[error("cannot sign the token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

/// The claims this server reads itself (`jsonwebtoken` checks `exp`, `nbf`, `iss`, `aud`).
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    sub: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

impl Authenticator {
    /// The authenticator the settings describe (reading or creating key files);
    /// `database_url` places the development secret.
    pub fn new(auth: &AuthSettings, database_url: &str) -> anyhow::Result<Self> {
        let keys = Keys::from_settings(auth, database_url)?;
        let mut validation = Validation::new(keys.algorithm);
        validation.leeway = auth.jwt_leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &auth.jwt_issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &auth.jwt_audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Ok(Self {
            keys,
            validation,
            require_auth: auth.require_auth,
            issuer: auth.jwt_issuer.clone(),
            audience: auth.jwt_audience.clone(),
        })
    }

    /// Where the verifying key came from.
    pub fn source(&self) -> &KeySource {
        &self.keys.source
    }

    /// The one accepted algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.keys.algorithm
    }

    /// Whether every request needs a token (`REQUIRE_AUTH`).
    pub fn requires_auth(&self) -> bool {
        self.require_auth
    }

    /// The caller named by the request's `Authorization` header: anonymous without one;
    /// an error for any header that is not a valid bearer token.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, TokenError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(Caller::Anonymous);
        };
        if values.next().is_some() {
            return Err(TokenError::BadHeader(
                "several Authorization headers".into(),
            ));
        }
        let value = value
            .to_str()
            .map_err(|_| TokenError::BadHeader("a value that is not ASCII".into()))?
            .trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Only the scheme is quoted: the rest may be a password.
            return Err(TokenError::BadHeader(format!(
                "a {} credential",
                quote(scheme)
            )));
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(TokenError::BadHeader("an empty token".into()));
        }
        self.verify(token).map(Caller::User)
    }

    /// The user id of a valid token.
    pub fn verify(&self, token: &str) -> Result<i64, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed(format!(
                "it is {} bytes, more than {MAX_TOKEN_BYTES}",
                token.len()
            )));
        }
        self.check_header(token)?;
        let data =
            jsonwebtoken::decode::<Claims>(token.as_bytes(), &self.keys.decoding, &self.validation)
                .map_err(|err| TokenError::from_jwt(&err, self.keys.algorithm))?;
        match data.claims.sub {
            Some(serde_json::Value::String(sub)) => user_id(&sub),
            None | Some(serde_json::Value::Null) => Err(TokenError::MissingClaim("sub".into())),
            Some(other) => Err(TokenError::bad_subject(&other.to_string())),
        }
    }

    /// Refuses a token whose header does not name exactly the accepted algorithm, before
    /// any key touches it.
    fn check_header(&self, token: &str) -> Result<(), TokenError> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(TokenError::Malformed(
                "it is not three dot-separated parts (header.claims.signature)".into(),
            ));
        }
        let header = URL_SAFE_NO_PAD
            .decode(parts[0])
            .map_err(|_| TokenError::Malformed("its header is not base64url".into()))?;
        let header: serde_json::Value = serde_json::from_slice(&header)
            .map_err(|_| TokenError::Malformed("its header is not JSON".into()))?;
        let alg = header
            .get("alg")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| TokenError::Malformed("its header names no `alg`".into()))?;
        let expected = self.keys.algorithm;
        if alg != format!("{expected:?}") {
            return Err(TokenError::WrongAlgorithm {
                found: quote(alg).to_string(),
                expected,
            });
        }
        Ok(())
    }

    /// A token for `user_id` valid for `ttl`, signed with the server's secret (with the
    /// configured issuer and audience).
    pub fn mint(&self, user_id: i64, ttl: Duration) -> Result<String, MintError> {
        let key = self
            .keys
            .encoding
            .as_ref()
            .ok_or_else(|| MintError::NoSigningKey(self.keys.source.clone()))?;
        self.mint_with(key, user_id, ttl)
    }

    /// As [`mint`](Self::mint), signed with `key` (a private key for a public-key server).
    pub fn mint_with(
        &self,
        key: &EncodingKey,
        user_id: i64,
        ttl: Duration,
    ) -> Result<String, MintError> {
        if user_id <= 0 {
            return Err(MintError::BadUser(user_id));
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = MintedClaims {
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl.as_secs(),
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(self.keys.algorithm),
            &claims,
            key,
        )?)
    }

    /// What the server prints at start: production or development, the key, who may do
    /// what, and in development how to get a token. Never the secret itself.
    pub fn announcement(&self) -> String {
        let reads = if self.require_auth {
            "every request needs a token"
        } else {
            "reads are open, mutations need a token"
        };
        let source = &self.keys.source;
        if source.is_development() {
            let how = if matches!(source, KeySource::DevSecretInMemory) {
                "set JWT_SECRET to mint tokens with `server token`"
            } else {
                "get a token with `server token --user 2` (from a checkout: `cargo run -q -p server \
                 -- token --user 2`) and send `Authorization: Bearer <token>`"
            };
            format!(
                "Auth: DEVELOPMENT mode, no JWT_SECRET or JWT_PUBLIC_KEY_FILE set: {:?} tokens \
                 are signed with {source}; {reads}.\n      {how}",
                self.keys.algorithm
            )
        } else {
            format!(
                "Auth: production mode: {:?} bearer tokens verified with {source}; {reads}.",
                self.keys.algorithm
            )
        }
    }
}
