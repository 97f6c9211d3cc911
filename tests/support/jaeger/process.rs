use std::{
    fs::File,
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{
    JaegerError,
    binary::jaeger_binary,
    config::{self, JaegerPorts},
};
use crate::watchdog;

/// How many sets of free ports to try when another process grabs one we picked.
const START_ATTEMPTS: usize = 3;
/// How long Jaeger may take to listen on every port.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Traces kept in memory (Jaeger's all-in-one default is 100 000; a test makes a few).
const MAX_TRACES: u32 = 10_000;

/// A private Jaeger v2 (in-memory storage) listening on `127.0.0.1` at free ports: OTLP over
/// gRPC and HTTP in, the query API out.
///
/// The binary is [built once](super::jaeger_binary) with the machine's Go; the configuration
/// is the project's own ([`config::render`]), written to a temporary directory. Dropping the
/// value kills Jaeger and removes the directory; a watchdog process does the same if the test
/// process dies first.
///
/// ```no_run
/// use test_support::Jaeger;
///
/// let jaeger = Jaeger::start().expect("Go and the module proxy are there");
/// // Point an OTLP exporter at jaeger.otlp_grpc_endpoint() or jaeger.otlp_http_endpoint(),
/// // then read what arrived from jaeger.query_url() (`GET /api/traces/{id}`).
/// assert!(jaeger.query_url().starts_with("http://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct Jaeger {
    child: Mutex<Child>,
    ports: JaegerPorts,
    log_file: PathBuf,
    watchdog: Mutex<Option<Child>>,
    // Last field: removed after `Drop::drop` has killed the process.
    dir: tempfile::TempDir,
}

impl Jaeger {
    /// Builds Jaeger if needed, starts it on free ports and waits until every port accepts
    /// connections. Blocking: call it from `spawn_blocking` in async tests.
    ///
    /// # Errors
    ///
    /// [`JaegerError::Unavailable`] when it cannot be built here (no Go, no module proxy); any
    /// other error when it was built but does not run.
    pub fn start() -> Result<Self, JaegerError> {
        let binary = jaeger_binary()?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&binary) {
                Ok(jaeger) => return Ok(jaeger),
                Err(e @ JaegerError::Start { .. })
                    if e.to_string().contains("address already in use") =>
                {
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("at least one start attempt"))
    }

    fn start_once(binary: &Path) -> Result<Self, JaegerError> {
        let dir = tempfile::Builder::new()
            .prefix("jaeger-test-")
            .tempdir()
            .map_err(|e| JaegerError::io("creating Jaeger's directory", e))?;
        let ports = free_ports()?;
        let config_file = dir.path().join("jaeger.yaml");
        std::fs::write(&config_file, config::render(&ports, MAX_TRACES))
            .map_err(|e| JaegerError::io(format!("writing {}", config_file.display()), e))?;
        let log_file = dir.path().join("jaeger.log");
        let log = File::create(&log_file)
            .map_err(|e| JaegerError::io(format!("creating {}", log_file.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| JaegerError::io("sharing Jaeger's log file", e))?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config_file)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| JaegerError::io(format!("running {}", binary.display()), e))?;
        let pid = child.id();
        let jaeger = Self {
            child: Mutex::new(child),
            ports,
            log_file,
            watchdog: Mutex::new(None),
            dir,
        };
        let stop = ["kill".to_owned(), "-KILL".to_owned(), pid.to_string()];
        *jaeger.watchdog.lock().expect("watchdog lock") = Some(
            watchdog::spawn("jaeger-watchdog", jaeger.dir.path(), &stop)
                .map_err(|e| JaegerError::io("spawning Jaeger's watchdog", e))?,
        );
        jaeger.wait_until_listening()?;
        Ok(jaeger)
    }

    /// Polls every port until it accepts a connection, failing early if Jaeger exits.
    fn wait_until_listening(&self) -> Result<(), JaegerError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut waiting: Vec<u16> = self.ports.all().to_vec();
        while !waiting.is_empty() {
            if let Some(status) = self
                .child
                .lock()
                .expect("child lock")
                .try_wait()
                .map_err(|e| JaegerError::io("checking on Jaeger", e))?
            {
                return Err(self.start_error(format!("it exited with {status}")));
            }
            if Instant::now() > deadline {
                return Err(self.start_error(format!(
                    "ports {waiting:?} not listening after {READY_TIMEOUT:?}"
                )));
            }
            waiting.retain(|&port| {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
            });
            if !waiting.is_empty() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    fn start_error(&self, reason: String) -> JaegerError {
        JaegerError::Start {
            reason,
            log: self.log(),
        }
    }

    /// The ports Jaeger listens on (all on `127.0.0.1`).
    pub fn ports(&self) -> JaegerPorts {
        self.ports
    }

    /// The OTLP/gRPC endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it with
    /// `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`: `http://127.0.0.1:<port>`.
    pub fn otlp_grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.otlp_grpc)
    }

    /// The OTLP/HTTP endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it with
    /// `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` (the exporter appends `/v1/traces`):
    /// `http://127.0.0.1:<port>`.
    pub fn otlp_http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.otlp_http)
    }

    /// The base URL of the query API (and UI): `http://127.0.0.1:<port>`.
    pub fn query_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.query_http)
    }

    /// The process id of the Jaeger process.
    pub fn pid(&self) -> u32 {
        self.child.lock().expect("child lock").id()
    }

    /// The temporary directory holding the configuration and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Jaeger's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }
}

impl Drop for Jaeger {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(mut watchdog) = self.watchdog.lock().ok().and_then(|mut w| w.take()) {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// Four distinct free ports: all four are bound at once before any is released.
fn free_ports() -> Result<JaegerPorts, JaegerError> {
    let listeners = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| JaegerError::io("finding free ports", e))?;
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| JaegerError::io("finding free ports", e))?;
    Ok(JaegerPorts {
        otlp_grpc: ports[0],
        otlp_http: ports[1],
        query_http: ports[2],
        query_grpc: ports[3],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports().unwrap().all();
        let mut sorted = ports.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4, "{ports:?}");
    }

    #[test]
    fn jaeger_is_send_and_sync() {
        fn bounds<T: Send + Sync>() {}
        bounds::<Jaeger>();
    }
}
