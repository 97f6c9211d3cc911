//! `server token --user N`: a bearer token the server (same settings) accepts. It is the
//! only line on standard output, so `TOKEN=$(server token --user 2)` works; what it is and
//! how long it lasts goes to standard error.

use anyhow::{Context as _, bail};
use jsonwebtoken::{AlgorithmFamily, EncodingKey};

use super::{Authenticator, KeySource};
use crate::config::{Settings, TokenArgs};

/// Mints the token `args` asks for with the key `settings` configure: the shared secret
/// (the development secret when none is configured, created when missing), or
/// `--private-key-file` for a server that verifies with a public key.
pub fn mint(settings: &Settings, args: &TokenArgs) -> anyhow::Result<String> {
    let auth = Authenticator::new(&settings.auth, &settings.database_url)
        .context("invalid authentication settings")?;
    let token = match &args.private_key_file {
        Some(path) => {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let key = match auth.algorithm().family() {
                AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(&pem),
                AlgorithmFamily::Ec => EncodingKey::from_ec_pem(&pem),
                AlgorithmFamily::Ed => EncodingKey::from_ed_pem(&pem),
                AlgorithmFamily::Hmac => bail!(
                    "this server verifies with {}; drop --private-key-file",
                    auth.source()
                ),
            }
            .with_context(|| {
                format!(
                    "{} holds no {:?} private key in PEM",
                    path.display(),
                    auth.algorithm()
                )
            })?;
            auth.mint_with(&key, args.user, args.ttl)?
        }
        None => {
            if *auth.source() == KeySource::DevSecretInMemory {
                bail!(
                    "the database is in memory, and so is the development secret of each \
                     server process: set JWT_SECRET (for the server and for this command) to \
                     mint tokens it accepts"
                );
            }
            auth.mint(args.user, args.ttl)?
        }
    };
    eprintln!(
        "token for user {} valid for {} s ({:?}, signed with {}); send it as \
         `Authorization: Bearer <token>`",
        args.user,
        args.ttl.as_secs(),
        auth.algorithm(),
        auth.source()
    );
    Ok(token)
}
