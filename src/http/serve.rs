//! Listeners. `axum::serve` cannot show a handler the client certificate, so the federation
//! listener runs its own accept loop: TLS handshake with tokio-rustls (client certificate
//! required by the rustls verifier), office id read from the verified certificate, then the
//! connection is served by hyper with that id in every request's extensions. A connection
//! without a valid certificate naming an office never reaches a handler.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tracing::Instrument;

use crate::domain::OfficeId;
use crate::pki;

/// The office of the TLS client certificate of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct PeerOffice(pub OfficeId);

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` over mutual TLS until `shutdown` resolves, then drains open connections.
pub async fn serve_mtls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        let span = tracing::info_span!("federation_connection", remote = %remote, peer = tracing::field::Empty);
        tokio::spawn(
            async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::info!(error = %e, "TLS handshake refused");
                        return;
                    }
                    Err(_) => {
                        tracing::info!("TLS handshake timed out");
                        return;
                    }
                };
                let peer =
                    tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).and_then(pki::office_id_of);
                let Some(peer) = peer else {
                    tracing::warn!("client certificate names no office; connection closed");
                    return;
                };
                tracing::Span::current().record("peer", tracing::field::display(peer));
                let service = router.map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(PeerOffice(peer));
                    request.map(axum::body::Body::new)
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                let connection = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
                if let Err(e) = watcher.watch(connection.into_owned()).await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            .instrument(span),
        );
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("open federation connections did not finish in time");
    }
}

/// Serves `router` over plain HTTP until `shutdown` resolves.
pub async fn serve_plain(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
