//! The HTTP(S) listener: hyper's connection builder with the limits a public
//! daemon needs, because `axum::serve` sets none of them.
//!
//! - **Connection cap**: at most `max_connections` connections are served;
//!   past that, new ones wait in the kernel's accept queue (backpressure, not
//!   errors) until one closes.
//! - **Header-read timeout**: hyper closes a connection whose request head has
//!   not fully arrived within `header_read_timeout`. Hyper starts this clock
//!   whenever it waits for a request head, from the first read on, so it also
//!   ends connections that send nothing and idle keep-alive connections
//!   (slowloris and forgotten sockets alike). HTTP/1.1 only, for that reason.
//! - **TLS handshake**: bounded by the same timeout.
//! - **Request timeout**: a `tower-http` layer on the router (see `web::router`).
//! - **Shutdown deadline**: on shutdown, every connection is told to finish
//!   its request and close; after `shutdown_timeout` the rest are dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::WebConfig;

/// The limits the listener enforces (from `[web]`).
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time for a request head to arrive (also the keep-alive idle limit) and for a TLS handshake.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for open connections.
    pub shutdown_timeout: Duration,
}

impl ServerLimits {
    /// The limits configured in `[web]`.
    pub fn from_config(w: &WebConfig) -> Self {
        ServerLimits {
            max_connections: w.max_connections,
            header_read_timeout: w.header_read_timeout,
            shutdown_timeout: w.shutdown_timeout,
        }
    }
}

/// A TLS acceptor from PEM files (certificate chain, private key).
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("web.tls_cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("web.tls_cert {}: no certificate in the file", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("web.tls_key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("web.tls_cert/web.tls_key do not make a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until `shutdown`, within `limits`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    let closing = CancellationToken::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => break,
        };
        let (tcp, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let closing = closing.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = permit;
            match tls {
                None => serve_connection(tcp, remote, router, limits, closing).await,
                Some(acceptor) => match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => serve_connection(stream, remote, router, limits, closing).await,
                    Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                },
            }
        });
    }
    drop(listener);
    closing.cancel();
    connections.close();
    if tokio::time::timeout(limits.shutdown_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown deadline; closing them"
        );
    }
    Ok(())
}

async fn serve_connection<I>(
    io: I,
    remote: SocketAddr,
    router: Router,
    limits: ServerLimits,
    closing: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        let mut router = router.clone();
        async move { tower::Service::call(&mut router, req).await }
    });
    // HTTP/1.1 only: hyper's HTTP/1 timer starts at the connection's first
    // read, so a client that connects and sends nothing is closed too (the
    // HTTP/2 auto-detection would first wait for bytes with no deadline).
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%remote, error = %e, "connection ended");
            }
        }
        _ = closing.cancelled() => {
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(%remote, error = %e, "connection ended during shutdown");
            }
        }
    }
}
