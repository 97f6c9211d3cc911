//! Cross-origin requests from browsers (CORS): which origins' pages may call the API.
//!
//! None by default: without `CORS_ALLOWED_ORIGINS` the server sends no CORS headers, so a
//! browser refuses to let a page on another origin read its answers. With a list, a
//! preflight (`OPTIONS` with `Access-Control-Request-Method`) from a listed origin is
//! answered `200` with the allowed methods (`GET`, `POST`) and headers (`Authorization`,
//! `Content-Type`, `Accept`), and every answer to it carries `Access-Control-Allow-Origin`;
//! other origins get no grant. Tokens travel in `Authorization`, not cookies, so
//! credentials are not allowed and `*` (any origin) is safe to configure.

use std::time::Duration;

use anyhow::bail;
use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Flags and environment of CORS (flattened into the server's settings).
#[derive(Debug, Clone, clap::Args)]
pub struct CorsSettings {
    /// Origins whose pages may call the API from a browser, comma-separated
    /// (`https://app.example.org,http://localhost:5173`), or `*` for any. Empty: none.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// How long a browser may reuse a preflight answer (seconds).
    #[arg(long, env = "CORS_MAX_AGE_SECS", default_value_t = 600)]
    pub cors_max_age_secs: u64,
}

/// The allowed origins, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    /// No CORS headers at all.
    None,
    /// Any origin (`*`).
    Any,
    /// Exactly these serialised origins (`scheme://host[:port]`, lowercase).
    List(Vec<String>),
}

impl CorsSettings {
    /// The configured origins; an error naming the first malformed one.
    pub fn origins(&self) -> anyhow::Result<Origins> {
        let entries: Vec<&str> = self
            .cors_allowed_origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .collect();
        if entries.is_empty() {
            return Ok(Origins::None);
        }
        if entries.contains(&"*") {
            if entries.len() > 1 {
                bail!("CORS_ALLOWED_ORIGINS: `*` allows every origin; list no others with it");
            }
            return Ok(Origins::Any);
        }
        entries
            .into_iter()
            .map(origin)
            .collect::<anyhow::Result<_>>()
            .map(Origins::List)
    }

    /// The CORS layer; `None` when no origin is allowed.
    pub fn layer(&self) -> anyhow::Result<Option<CorsLayer>> {
        let allow = match self.origins()? {
            Origins::None => return Ok(None),
            Origins::Any => AllowOrigin::any(),
            Origins::List(list) => AllowOrigin::list(
                list.iter()
                    .map(|o| HeaderValue::from_str(o).expect("checked by `origin`")),
            ),
        };
        Ok(Some(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
                .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
                .max_age(Duration::from_secs(self.cors_max_age_secs)),
        ))
    }
}

/// One origin as a browser sends it: `http` or `https`, a host, maybe a port; nothing else.
fn origin(entry: &str) -> anyhow::Result<String> {
    let lower = entry.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let valid = rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    if !valid {
        bail!(
            "CORS_ALLOWED_ORIGINS: {} is not an origin; write `scheme://host[:port]` without a \
             path or trailing slash, e.g. `https://app.example.org`",
            crate::echo::quote(entry)
        );
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(origins: &[&str]) -> CorsSettings {
        CorsSettings {
            cors_allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            cors_max_age_secs: 600,
        }
    }

    #[test]
    fn none_by_default() {
        assert_eq!(settings(&[]).origins().unwrap(), Origins::None);
        assert!(settings(&[]).layer().unwrap().is_none());
        assert_eq!(settings(&[" "]).origins().unwrap(), Origins::None);
    }

    #[test]
    fn origins_are_checked_and_lowercased() {
        assert_eq!(
            settings(&["https://App.Example.org", " http://localhost:5173"])
                .origins()
                .unwrap(),
            Origins::List(vec![
                "https://app.example.org".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(settings(&["*"]).origins().unwrap(), Origins::Any);
    }

    #[test]
    fn malformed_origins_are_refused_with_the_form() {
        for bad in [
            "https://app.example.org/",
            "app.example.org",
            "https://",
            "ftp://x.org",
            "https://x.org/path",
        ] {
            let err = settings(&[bad]).origins().unwrap_err().to_string();
            assert!(err.contains("scheme://host[:port]"), "{bad}: {err}");
        }
        assert!(settings(&["*", "https://x.org"]).origins().is_err());
    }
}
