//! Who is asking: identity from `Authorization: Bearer <JWT>`.
//!
//! - [`settings`]: the `JWT_*` flags and environment, [`AuthSettings`].
//! - [`keys`]: the key that verifies tokens — a configured secret or public key
//!   (production), or a development secret generated once and kept with the data.
//! - [`dev_secret`]: where that development secret lives and how it is created.
//! - [`authenticator`]: [`Authenticator`], built once at start: checks a request's
//!   `Authorization` header (signature, algorithm, `exp`/`nbf` with a leeway, `iss`/`aud`
//!   when configured, `sub`) and mints tokens for `server token`.
//! - [`token_error`]: why a token was refused ([`TokenError`]), as HTTP `401` with
//!   `WWW-Authenticate` and a GraphQL error code.
//! - [`caller`]: [`Caller`], the identity in each request's data, and [`caller_id`], what
//!   every mutation asks first.
//! - [`token_command`]: `server token --user N`.
//!
//! Reads are open unless `REQUIRE_AUTH`; every mutation acts as the token's user and is
//! refused (`UNAUTHENTICATED`) without one. See `docs/auth.md`.

pub mod authenticator;
pub mod caller;
pub mod dev_secret;
pub mod keys;
pub mod settings;
pub mod token_command;
pub mod token_error;

pub use authenticator::{Authenticator, MintError};
pub use caller::{Caller, caller_id};
pub use keys::KeySource;
pub use settings::{AuthSettings, JwtAlgorithm, Secret};
pub use token_error::TokenError;
