use std::{
    net::SocketAddr,
    os::unix::process::CommandExt as _,
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use super::{ChromiumError, HEADLESS_FLAGS};
use crate::watchdog;

/// How long Chromium may take to print its DevTools address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start a [`HeadlessChromium`].
#[derive(Debug, Clone)]
#[must_use]
pub struct Launch {
    binary: PathBuf,
    proxy: Option<SocketAddr>,
    window: (u32, u32),
}

impl Launch {
    /// Chromium from `binary` ([`chromium_binary`](super::chromium_binary)), with
    /// [`HEADLESS_FLAGS`] and a fresh profile.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            proxy: None,
            window: (1280, 800),
        }
    }

    /// Sends every non-loopback connection through the HTTP proxy at `addr` (a
    /// [`ProxyTrap`](super::ProxyTrap)), and resolves no host name but `localhost`, so
    /// nothing reaches the network. By default, there is no proxy: the machine's network.
    pub fn proxy(mut self, addr: SocketAddr) -> Self {
        self.proxy = Some(addr);
        self
    }

    /// The window size. By default, 1280×800.
    pub fn window_size(mut self, width: u32, height: u32) -> Self {
        self.window = (width, height);
        self
    }

    /// Starts the browser with the DevTools protocol on a free port, and waits until it
    /// listens.
    pub async fn start(self) -> Result<HeadlessChromium, ChromiumError> {
        let profile = tempfile::Builder::new()
            .prefix("chromium-profile-")
            .tempdir()
            .map_err(|err| ChromiumError::io("a temporary profile directory", err))?;
        let mut command = Command::new(&self.binary);
        command
            .args(HEADLESS_FLAGS)
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={},{}", self.window.0, self.window.1));
        if let Some(proxy) = self.proxy {
            command
                .arg(format!("--proxy-server=http://{proxy}"))
                .arg("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]");
        }
        command
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, so that the browser and its helpers die together.
        command.as_std_mut().process_group(0);
        let mut child = command
            .spawn()
            .map_err(|err| ChromiumError::io(format!("starting {}", self.binary.display()), err))?;
        let pid = child.id().ok_or_else(|| ChromiumError::Start {
            reason: "exited at once".into(),
            log: String::new(),
        })?;
        let watchdog = watchdog::spawn(
            "chromium-watchdog",
            profile.path(),
            // The shell's own `kill` (procps may be missing): a negative pid is the group.
            &["kill".to_owned(), "-KILL".to_owned(), format!("-{pid}")],
        )
        .map_err(|err| ChromiumError::io("starting Chromium's watchdog", err))?;

        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (address, found) = tokio::sync::oneshot::channel();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut address = Some(address);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("DevTools listening on ")
                    && let Some(address) = address.take()
                {
                    let _ = address.send(url.trim().to_owned());
                }
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut chromium = HeadlessChromium {
            child,
            pid,
            devtools_url: String::new(),
            log,
            watchdog: Some(watchdog),
            _profile: profile,
        };
        match tokio::time::timeout(START_TIMEOUT, found).await {
            Ok(Ok(url)) => {
                chromium.devtools_url = url;
                Ok(chromium)
            }
            Ok(Err(_)) => Err(ChromiumError::Start {
                reason: "it exited without listening".into(),
                log: chromium.log(),
            }),
            Err(_) => Err(ChromiumError::Start {
                reason: format!("no DevTools address within {START_TIMEOUT:?}"),
                log: chromium.log(),
            }),
        }
    }
}

/// A running headless Chromium ([`Launch::start`]). Dropping it kills the browser and its
/// helper processes and removes the profile; a watchdog does the same if the test process
/// dies first.
pub struct HeadlessChromium {
    child: Child,
    pid: u32,
    devtools_url: String,
    log: Arc<Mutex<String>>,
    watchdog: Option<std::process::Child>,
    _profile: tempfile::TempDir,
}

impl HeadlessChromium {
    /// The browser's DevTools WebSocket, for [`DevTools::connect`](super::DevTools::connect).
    pub fn devtools_url(&self) -> &str {
        &self.devtools_url
    }

    /// What the browser wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }
}

impl Drop for HeadlessChromium {
    fn drop(&mut self) {
        // The whole process group: the browser, its zygotes and renderers.
        let _ = std::process::Command::new("sh")
            .args(["-c", &format!("kill -KILL -{}", self.pid)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.start_kill();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}
