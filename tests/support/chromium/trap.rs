use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{io::AsyncReadExt, net::TcpListener, task::JoinHandle};

use super::ChromiumError;

/// How long a connection may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A dead end on loopback, given to Chromium as its only proxy
/// ([`Launch::proxy`](super::Launch::proxy)): every connection the browser makes to a
/// non-loopback host (pages, background services) arrives here instead, is recorded by its
/// request line (`CONNECT unpkg.com:443 HTTP/1.1`) and closed unanswered, so the request
/// fails. Chromium connects to loopback directly, never through a proxy.
pub struct ProxyTrap {
    addr: SocketAddr,
    attempts: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ProxyTrap {
    /// Listens on `127.0.0.1` on a free port.
    pub async fn start() -> Result<Self, ChromiumError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|err| ChromiumError::io("binding the proxy trap", err))?;
        let addr = listener
            .local_addr()
            .map_err(|err| ChromiumError::io("the proxy trap's address", err))?;
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let list = attempts.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let list = list.clone();
                tokio::spawn(async move {
                    let line = tokio::time::timeout(READ_TIMEOUT, request_line(&mut socket))
                        .await
                        .unwrap_or_else(|_| "(a connection that sent no request line)".into());
                    list.lock().expect("attempts lock").push(line);
                    // Dropping the socket closes it unanswered.
                });
            }
        });
        Ok(Self {
            addr,
            attempts,
            task,
        })
    }

    /// The address to give as the proxy.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request line of every connection so far (empty when none: nothing tried to leave
    /// the machine).
    pub fn attempts(&self) -> Vec<String> {
        self.attempts.lock().expect("attempts lock").clone()
    }
}

impl Drop for ProxyTrap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The first line a client sent (at most 4 KiB), or a note that it sent none.
async fn request_line(socket: &mut tokio::net::TcpStream) -> String {
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    while received.len() < 4096 && !received.contains(&b'\n') {
        match socket.read(&mut chunk).await {
            Ok(n @ 1..) => received.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&received);
    match text.lines().next() {
        Some(line) if !line.trim().is_empty() => line.trim().to_owned(),
        _ => "(a connection that sent no request line)".to_owned(),
    }
}
