use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
};

use reqwest::Url;
use serde_json::json;
use tokio::task::JoinHandle;

use super::{ChromiumError, Page};

/// One request a page made, as [`LoopbackOnly`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Whether it was failed (`net::ERR_BLOCKED_BY_CLIENT`) for leaving the machine.
    pub blocked: bool,
}

/// Intercepts every request of a [`Page`] (the DevTools `Fetch` domain) before it is sent:
/// loopback and local URLs ([`is_loopback`]) go on, anything else fails as blocked by the
/// client. Every request is listed, so a test can assert what the page loaded and that it
/// tried nothing else.
pub struct LoopbackOnly {
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    task: JoinHandle<()>,
}

impl LoopbackOnly {
    /// Starts intercepting `page`'s requests, from its next one on.
    pub async fn install(page: &Page) -> Result<Self, ChromiumError> {
        let mut paused = page.subscribe("Fetch.requestPaused");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let list = seen.clone();
        let page_again = page.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = paused.recv().await {
                let request = &event.params["request"];
                let url = request["url"].as_str().unwrap_or_default().to_owned();
                let method = request["method"].as_str().unwrap_or_default().to_owned();
                let id = event.params["requestId"].clone();
                let blocked = !is_loopback(&url);
                list.lock().expect("seen lock").push(SeenRequest {
                    method,
                    url,
                    blocked,
                });
                let answer = if blocked {
                    page_again
                        .call(
                            "Fetch.failRequest",
                            json!({ "requestId": id, "errorReason": "BlockedByClient" }),
                        )
                        .await
                } else {
                    page_again
                        .call("Fetch.continueRequest", json!({ "requestId": id }))
                        .await
                };
                // The page may have gone (navigated away, closed) meanwhile: nothing to do.
                let _ = answer;
            }
        });
        page.call(
            "Fetch.enable",
            json!({ "patterns": [{ "urlPattern": "*" }] }),
        )
        .await?;
        Ok(Self { seen, task })
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("seen lock").clone()
    }

    /// The URLs of the requests that were blocked.
    pub fn blocked(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.blocked)
            .map(|r| r.url)
            .collect()
    }
}

impl Drop for LoopbackOnly {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether loading `url` stays on this machine: `http(s)`/`ws(s)` to `localhost`,
/// `127.0.0.0/8` or `[::1]`, or a URL that needs no network at all (`data:`, `blob:`,
/// `about:`). Anything else, unparsable URLs included, is not.
pub fn is_loopback(url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    match url.scheme() {
        "data" | "blob" | "about" => true,
        "http" | "https" | "ws" | "wss" => {
            // The parser has normalised the host (`[::1]`, `127.0.0.1` for `0x7f.1`, ...).
            let host = url.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_local_urls_stay_on_the_machine() {
        for url in [
            "http://127.0.0.1:8000/graphql",
            "http://127.1.2.3/x",
            "http://localhost:3000/",
            "https://LOCALHOST/",
            "http://[::1]:8000/graphql/assets/graphiql.min.js",
            "ws://127.0.0.1:9222/devtools/browser/x",
            "data:text/plain,hi",
            "blob:http://127.0.0.1:8000/5c1e",
            "about:blank",
        ] {
            assert!(is_loopback(url), "{url}");
        }
    }

    #[test]
    fn every_other_url_leaves_the_machine() {
        for url in [
            "https://unpkg.com/graphiql/graphiql.min.js",
            "https://cdn.jsdelivr.net/npm/react",
            "http://10.0.0.1/",
            "http://192.168.1.1:8000/graphql",
            "http://0.0.0.0:8000/",
            "http://[::ffff:8.8.8.8]/",
            "http://localhost.example.com/",
            "http://127.0.0.1.nip.io/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
