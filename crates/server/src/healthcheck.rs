//! `server healthcheck`: a dependency-free probe of a running server's `GET /healthz`, for
//! container health checks (the runtime image has no curl).

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context as _, bail};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    time::timeout,
};

/// Sends `GET /healthz` to `addr` (an unspecified address such as `0.0.0.0` is probed on
/// loopback) and succeeds when the answer's status is 200 within 2 s.
pub async fn probe(addr: SocketAddr) -> anyhow::Result<()> {
    let mut target = addr;
    if target.ip().is_unspecified() {
        target.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let status = timeout(Duration::from_secs(2), status_line(target))
        .await
        .with_context(|| format!("{target} did not answer /healthz within 2 s"))??;
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        bail!("{target} answered /healthz with `{status}`")
    }
}

async fn status_line(target: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(target)
        .await
        .with_context(|| format!("cannot connect to {target}"))?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    Ok(text.lines().next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use axum::{Router, http::StatusCode, routing::get};

    use super::*;

    async fn serve(status: StatusCode) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/healthz", get(move || async move { status }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn healthy_server_passes() {
        let addr = serve(StatusCode::OK).await;
        probe(addr).await.unwrap();
    }

    #[tokio::test]
    async fn unhealthy_answer_fails_with_the_status() {
        let addr = serve(StatusCode::SERVICE_UNAVAILABLE).await;
        let err = probe(addr).await.unwrap_err().to_string();
        assert!(err.contains("503"), "{err}");
    }

    #[tokio::test]
    async fn nothing_listening_fails_with_a_clear_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = probe(addr).await.unwrap_err().to_string();
        assert!(err.contains("cannot connect"), "{err}");
    }
}
