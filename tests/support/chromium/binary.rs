use std::path::PathBuf;

/// Where Chromium is looked for, in order.
const CANDIDATES: [&str; 3] = [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];

/// The flags every test starts Chromium with: headless, no sandbox (tests run as root in
/// containers), no GPU, a fresh profile without first-run pages, and none of the background
/// traffic (component updates, sync, field trials, QUIC) a browser sends on its own.
pub const HEADLESS_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-quic",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--mute-audio",
];

/// Debian's `chromium` (or Chrome), if installed.
pub fn chromium_binary() -> Option<PathBuf> {
    CANDIDATES
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// [`chromium_binary`], or `None` after skipping `test` loudly (see
/// [`skip_missing`](crate::skip_missing): a failure when `CI` is set).
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium_binary();
    if found.is_none() {
        crate::skip_missing(
            "Chromium",
            test,
            "no /usr/bin/chromium: apt-get install -y chromium",
        );
    }
    found
}
