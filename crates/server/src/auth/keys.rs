//! [`Keys`]: the one key and algorithm that verify tokens, from the settings.
//!
//! Exactly one of `JWT_SECRET`, `JWT_SECRET_FILE`, `JWT_PUBLIC_KEY_FILE` may be set. A
//! secret signs and verifies (HS256/384/512, at least 32 bytes); a public key only
//! verifies, and its type fixes the algorithm family. With none, the development secret
//! ([`super::dev_secret`]) is used. Every mismatch is refused at start, with the remedy.

use std::{fmt, path::PathBuf};

use anyhow::{Context as _, bail};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

use super::{AuthSettings, Secret, dev_secret};

/// Shortest accepted shared secret, in bytes (RFC 7518 3.2: at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Where the verifying key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `JWT_SECRET`.
    SecretSetting,
    /// `JWT_SECRET_FILE`.
    SecretFile(PathBuf),
    /// `JWT_PUBLIC_KEY_FILE`.
    PublicKeyFile(PathBuf),
    /// No key configured: the development secret in this file.
    DevSecretFile {
        /// The file.
        path: PathBuf,
        /// Whether this start created it.
        created: bool,
    },
    /// No key configured and an in-memory database: a secret of this process only.
    DevSecretInMemory,
}

impl KeySource {
    /// Whether this is a development secret (no key configured).
    pub fn is_development(&self) -> bool {
        matches!(
            self,
            KeySource::DevSecretFile { .. } | KeySource::DevSecretInMemory
        )
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::SecretSetting => f.write_str("the secret in JWT_SECRET"),
            KeySource::SecretFile(path) => write!(f, "the secret in {}", path.display()),
            KeySource::PublicKeyFile(path) => write!(f, "the public key in {}", path.display()),
            KeySource::DevSecretFile { path, created } => write!(
                f,
                "a development secret {} {}",
                if *created { "generated in" } else { "kept in" },
                path.display()
            ),
            KeySource::DevSecretInMemory => {
                f.write_str("a development secret of this process (the database is in memory)")
            }
        }
    }
}

/// The verifying key, its algorithm and, for a secret, the signing key.
pub struct Keys {
    /// The one accepted algorithm.
    pub algorithm: Algorithm,
    /// Verifies signatures.
    pub decoding: DecodingKey,
    /// Signs tokens (shared secrets only).
    pub encoding: Option<EncodingKey>,
    /// Where the key came from.
    pub source: KeySource,
}

impl Keys {
    /// The keys the settings describe; `database_url` places the development secret.
    pub fn from_settings(auth: &AuthSettings, database_url: &str) -> anyhow::Result<Self> {
        let configured = [
            auth.jwt_secret.as_ref().map(|_| "JWT_SECRET"),
            auth.jwt_secret_file.as_ref().map(|_| "JWT_SECRET_FILE"),
            auth.jwt_public_key_file
                .as_ref()
                .map(|_| "JWT_PUBLIC_KEY_FILE"),
        ];
        let configured: Vec<&str> = configured.into_iter().flatten().collect();
        if configured.len() > 1 {
            bail!(
                "{} are all set; configure one key: a shared secret or a public key",
                configured.join(" and ")
            );
        }
        let algorithm = auth.jwt_algorithm.map(|a| a.to_jwt());
        if let Some(secret) = &auth.jwt_secret {
            return secret_keys(secret, "JWT_SECRET", algorithm, KeySource::SecretSetting);
        }
        if let Some(path) = &auth.jwt_secret_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read JWT_SECRET_FILE {}", path.display()))?;
            let secret = Secret::new(text.trim());
            let source = KeySource::SecretFile(path.clone());
            return secret_keys(&secret, "JWT_SECRET_FILE", algorithm, source);
        }
        if let Some(path) = &auth.jwt_public_key_file {
            return public_keys(path, algorithm);
        }
        let (secret, source) = match dev_secret::location(auth, database_url) {
            Some(path) => {
                let (secret, created) = dev_secret::load_or_create(&path)?;
                (secret, KeySource::DevSecretFile { path, created })
            }
            None => (Secret::random(), KeySource::DevSecretInMemory),
        };
        secret_keys(&secret, "the development secret", algorithm, source)
    }
}

fn secret_keys(
    secret: &Secret,
    name: &str,
    algorithm: Option<Algorithm>,
    source: KeySource,
) -> anyhow::Result<Keys> {
    let algorithm = algorithm.unwrap_or(Algorithm::HS256);
    if algorithm.family() != AlgorithmFamily::Hmac {
        bail!(
            "JWT_ALGORITHM={algorithm:?} verifies with a public key: set JWT_PUBLIC_KEY_FILE \
             (a shared secret only signs HS256, HS384 or HS512)"
        );
    }
    let len = secret.expose().len();
    if len < MIN_SECRET_BYTES {
        bail!(
            "{name} is {len} bytes; a shared secret needs at least {MIN_SECRET_BYTES} \
             (generate one with `openssl rand -hex 32`)"
        );
    }
    Ok(Keys {
        algorithm,
        decoding: DecodingKey::from_secret(secret.expose())?,
        encoding: Some(EncodingKey::from_secret(secret.expose())?),
        source,
    })
}

fn public_keys(path: &PathBuf, algorithm: Option<Algorithm>) -> anyhow::Result<Keys> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read JWT_PUBLIC_KEY_FILE {}", path.display()))?;
    let not_a_key = || {
        anyhow::anyhow!(
            "JWT_PUBLIC_KEY_FILE {} holds no PEM public key (RSA, EC P-256/P-384 or Ed25519)",
            path.display()
        )
    };
    let (decoding, inferred) = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        (key, Algorithm::RS256)
    } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        let inferred = match key.kind() {
            DecodingKeyKind::SecretOrDer(point) if point.len() == 97 => Algorithm::ES384,
            _ => Algorithm::ES256,
        };
        (key, inferred)
    } else if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
        (key, Algorithm::EdDSA)
    } else {
        return Err(not_a_key());
    };
    let algorithm = algorithm.unwrap_or(inferred);
    if algorithm.family() != inferred.family() {
        bail!(
            "JWT_ALGORITHM={algorithm:?} does not fit the {:?} key in {}",
            inferred.family(),
            path.display()
        );
    }
    if let DecodingKeyKind::SecretOrDer(point) = decoding.kind()
        && inferred.family() == AlgorithmFamily::Ec
    {
        let expected = if algorithm == Algorithm::ES384 {
            97
        } else {
            65
        };
        if point.len() != expected {
            bail!(
                "the EC key in {} is not on the curve of {algorithm:?} (P-256 for ES256, P-384 \
                 for ES384)",
                path.display()
            );
        }
    }
    Ok(Keys {
        algorithm,
        decoding,
        encoding: None,
        source: KeySource::PublicKeyFile(path.clone()),
    })
}
