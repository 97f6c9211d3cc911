//! [`AuthSettings`]: how bearer tokens are verified, from flags and environment like every
//! other setting (flattened into [`Settings`](crate::config::Settings)).
//!
//! Configure one key: `JWT_SECRET` or `JWT_SECRET_FILE` (HS256, a shared secret) or
//! `JWT_PUBLIC_KEY_FILE` (RS256/ES256/…, tokens signed by an identity provider). With none,
//! the server runs in development mode on a generated secret ([`super::dev_secret`]).

use std::{fmt, path::PathBuf, str::FromStr};

use jsonwebtoken::Algorithm;

/// Flags and environment of authentication.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthSettings {
    /// Shared secret that signs and verifies HS256 tokens, at least 32 bytes (for example
    /// `openssl rand -hex 32`). Prefer `JWT_SECRET_FILE`: a flag shows in the process list.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// File holding the shared secret (surrounding whitespace ignored).
    #[arg(long, env = "JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// PEM public key (RSA, EC P-256/P-384 or Ed25519) that verifies tokens signed by an
    /// identity provider.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// The one signature algorithm tokens may use. Default: HS256 with a secret; with a
    /// public key, from its type (RS256, ES256 for P-256, ES384 for P-384, EdDSA).
    #[arg(long, env = "JWT_ALGORITHM", ignore_case = true)]
    pub jwt_algorithm: Option<JwtAlgorithm>,
    /// When set, tokens must carry this `iss` claim.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// When set, tokens must list this audience in their `aud` claim.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf` (seconds).
    #[arg(long, env = "JWT_LEEWAY_SECS", default_value_t = 30)]
    pub jwt_leeway_secs: u64,
    /// Every GraphQL request needs a valid token, queries too (by default reads are open
    /// and only mutations need one).
    #[arg(long, env = "REQUIRE_AUTH")]
    pub require_auth: bool,
    /// Where the development secret is kept when no key is configured. Default:
    /// `jwt-dev-secret` beside the SQLite database file (`data/` for PostgreSQL); an
    /// in-memory database keeps it in memory only.
    #[arg(long, env = "JWT_DEV_SECRET_FILE")]
    pub jwt_dev_secret_file: Option<PathBuf>,
}

impl AuthSettings {
    /// Whether a key is configured (production) rather than a development secret.
    pub fn has_configured_key(&self) -> bool {
        self.jwt_secret.is_some()
            || self.jwt_secret_file.is_some()
            || self.jwt_public_key_file.is_some()
    }
}

/// A secret from a flag or the environment. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// A fresh random secret: 32 random bytes as 64 hex digits.
    pub fn random() -> Self {
        let bytes: [u8; 32] = rand::random();
        Secret(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The secret's bytes, for the signing key.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// The signature algorithms a token may use (one is accepted at a time; `none` never is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256 (a shared secret).
    #[value(name = "HS256")]
    Hs256,
    /// HMAC with SHA-384.
    #[value(name = "HS384")]
    Hs384,
    /// HMAC with SHA-512.
    #[value(name = "HS512")]
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (an RSA public key).
    #[value(name = "RS256")]
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[value(name = "RS384")]
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[value(name = "RS512")]
    Rs512,
    /// RSASSA-PSS with SHA-256.
    #[value(name = "PS256")]
    Ps256,
    /// RSASSA-PSS with SHA-384.
    #[value(name = "PS384")]
    Ps384,
    /// RSASSA-PSS with SHA-512.
    #[value(name = "PS512")]
    Ps512,
    /// ECDSA on P-256 with SHA-256 (an EC public key).
    #[value(name = "ES256")]
    Es256,
    /// ECDSA on P-384 with SHA-384.
    #[value(name = "ES384")]
    Es384,
    /// Ed25519.
    #[value(name = "EdDSA")]
    EdDsa,
}

impl JwtAlgorithm {
    /// The `jsonwebtoken` algorithm.
    pub fn to_jwt(self) -> Algorithm {
        match self {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Hs384 => Algorithm::HS384,
            JwtAlgorithm::Hs512 => Algorithm::HS512,
            JwtAlgorithm::Rs256 => Algorithm::RS256,
            JwtAlgorithm::Rs384 => Algorithm::RS384,
            JwtAlgorithm::Rs512 => Algorithm::RS512,
            JwtAlgorithm::Ps256 => Algorithm::PS256,
            JwtAlgorithm::Ps384 => Algorithm::PS384,
            JwtAlgorithm::Ps512 => Algorithm::PS512,
            JwtAlgorithm::Es256 => Algorithm::ES256,
            JwtAlgorithm::Es384 => Algorithm::ES384,
            JwtAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}
