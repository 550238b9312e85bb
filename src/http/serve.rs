//! Listeners. Both listeners of an office run this accept loop rather than `axum::serve`, for
//! three reasons: the federation handlers must see the office named by the TLS client
//! certificate; every connection must be bounded in time (a client that sends its request head a
//! byte every few seconds, or nothing at all, is cut off); and connections are limited per
//! source address and in all, so that slow or idle clients cannot use them all up.
//!
//! The limits (section 12 of `schemas/README.md`, and the README):
//! - at most `max_connections` open connections per listener, and `max_connections_per_source`
//!   from one IP address (addresses in `exempt_sources`, e.g. the office's own reverse proxy,
//!   count only towards the total); a connection over a limit is closed at once, unanswered;
//! - a TLS handshake must finish within `handshake_timeout`;
//! - once the first byte of a request head has arrived, the whole head must arrive within
//!   `request_head_timeout`, else the connection is closed without an answer;
//! - a connection with no request in progress is closed after `idle_timeout`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;
use tracing::Instrument;

use crate::domain::OfficeId;
use crate::pki;

/// The office of the TLS client certificate of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct PeerOffice(pub OfficeId);

/// The address the connection a request came on was opened from.
#[derive(Debug, Clone, Copy)]
pub struct SourceAddr(pub SocketAddr);

/// How long open connections may take to finish after shutdown was asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request head hyper reads at all; the header limit layer answers with a problem
/// document well below it (`http::limit_headers`).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Bounds on the connections of one listener.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_connections_per_source: usize,
    /// Sources that count only towards the total (a reverse proxy in front of the listener).
    pub exempt_sources: Vec<IpAddr>,
    pub handshake_timeout: Duration,
    pub request_head_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_source: 64,
            exempt_sources: Vec::new(),
            handshake_timeout: Duration::from_secs(10),
            request_head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// How a listener speaks.
#[derive(Clone)]
pub enum Transport {
    /// Plain HTTP/1.1 (the caseworker API on loopback or behind a TLS proxy).
    Plain,
    /// TLS whose client certificate must name an office (the federation listener): HTTP/2 or
    /// HTTP/1.1 by ALPN, each request carrying [`PeerOffice`].
    MutualTls(Arc<rustls::ServerConfig>),
    /// TLS without client certificates (the caseworker listener of an office without a TLS
    /// proxy): HTTP/2 or HTTP/1.1 by ALPN.
    Tls(Arc<rustls::ServerConfig>),
}

/// Counts open connections per source and in all.
struct Admission {
    total: Arc<Semaphore>,
    per_source: Mutex<std::collections::HashMap<IpAddr, usize>>,
    limits: Limits,
}

/// An admitted connection; dropping it frees its place.
struct Admitted {
    admission: Arc<Admission>,
    source: Option<IpAddr>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(ip) = self.source {
            let mut map = self.admission.per_source.lock().expect("admission lock");
            if let Some(n) = map.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&ip);
                }
            }
        }
    }
}

impl Admission {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admitted> {
        let permit = self.total.clone().try_acquire_owned().ok()?;
        let source = if self.limits.exempt_sources.contains(&ip) {
            None
        } else {
            let mut map = self.per_source.lock().expect("admission lock");
            let n = map.entry(ip).or_insert(0);
            if *n >= self.limits.max_connections_per_source {
                return None;
            }
            *n += 1;
            Some(ip)
        };
        Some(Admitted { admission: self.clone(), source, _permit: permit })
    }
}

/// What a connection is doing, for its watchdog.
struct Activity {
    state: Mutex<ActivityState>,
}

struct ActivityState {
    /// Requests being answered.
    busy: usize,
    /// When the connection last became idle (opened, or a response finished).
    idle_since: Instant,
    /// When the first byte of a request head arrived while idle.
    head_started: Option<Instant>,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self { state: Mutex::new(ActivityState { busy: 0, idle_since: Instant::now(), head_started: None }) })
    }

    fn read_some(&self) {
        let mut s = self.state.lock().expect("activity lock");
        if s.busy == 0 && s.head_started.is_none() {
            s.head_started = Some(Instant::now());
        }
    }

    fn request_started(&self) {
        let mut s = self.state.lock().expect("activity lock");
        s.busy += 1;
        s.head_started = None;
    }

    fn request_finished(&self) {
        let mut s = self.state.lock().expect("activity lock");
        s.busy -= 1;
        s.idle_since = Instant::now();
        s.head_started = None;
    }

    /// Resolves when the connection has been too slow with a request head, or idle too long.
    async fn watchdog(&self, limits: &Limits) {
        loop {
            let deadline = {
                let s = self.state.lock().expect("activity lock");
                if s.busy > 0 {
                    None
                } else if let Some(started) = s.head_started {
                    Some(started + limits.request_head_timeout)
                } else {
                    Some(s.idle_since + limits.idle_timeout)
                }
            };
            match deadline {
                Some(at) if Instant::now() >= at => return,
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => tokio::time::sleep(limits.request_head_timeout.min(Duration::from_secs(1))).await,
            }
        }
    }
}

/// An IO stream that tells its [`Activity`] when bytes arrive.
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        poll
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A hyper service that tells its [`Activity`] when a request starts and its answer is done.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

/// Marks the end of a request when dropped, whether its future finished or was cancelled.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

impl<S> hyper::service::Service<hyper::Request<Incoming>> for Tracked<S>
where
    S: hyper::service::Service<hyper::Request<Incoming>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let busy = Busy(self.activity.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            drop(busy);
            result
        })
    }
}

/// A served connection that can be asked to finish gracefully.
trait Graceful: Future {
    fn shut_down(self: Pin<&mut Self>);
}

impl<I, S, B> Graceful for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn shut_down(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, B, E> Graceful for hyper::server::conn::http2::Connection<I, S, E>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn shut_down(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Runs a connection until it ends, its watchdog fires, or shutdown asks it to finish.
async fn run<C>(connection: C, activity: &Activity, limits: &Limits, stop: &CancellationToken)
where
    C: Graceful<Output = Result<(), hyper::Error>>,
{
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = activity.watchdog(limits) => {
            tracing::debug!("connection closed: request head too slow, or idle too long");
        }
        () = stop.cancelled() => {
            connection.as_mut().shut_down();
            let _ = connection.await;
        }
    }
}

/// Serves one accepted connection.
async fn connection(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    transport: Transport,
    router: Router,
    limits: Limits,
    stop: CancellationToken,
) {
    let activity = Activity::new();
    let service = |peer: Option<OfficeId>| {
        let tower = router.clone().map_request(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(SourceAddr(remote));
            if let Some(office) = peer {
                request.extensions_mut().insert(PeerOffice(office));
            }
            request.map(axum::body::Body::new)
        });
        Tracked { inner: TowerToHyperService::new(tower), activity: activity.clone() }
    };
    let h1 = {
        let mut b = hyper::server::conn::http1::Builder::new();
        b.timer(TokioTimer::new())
            .header_read_timeout(limits.request_head_timeout)
            .max_buf_size(MAX_HEAD_BYTES.max(8192))
            .max_header_size(MAX_HEAD_BYTES)
            .max_headers(200);
        b
    };
    let mutual = matches!(transport, Transport::MutualTls(_));
    match transport {
        Transport::Plain => {
            let io = TokioIo::new(Watched { inner: tcp, activity: activity.clone() });
            run(h1.serve_connection(io, service(None)), &activity, &limits, &stop).await;
        }
        Transport::MutualTls(config) | Transport::Tls(config) => {
            let tls = match tokio::time::timeout(limits.handshake_timeout, TlsAcceptor::from(config).accept(tcp)).await
            {
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
            let session = tls.get_ref().1;
            let peer = if mutual {
                let Some(office) =
                    session.peer_certificates().and_then(|chain| chain.first()).and_then(pki::office_id_of)
                else {
                    tracing::warn!("client certificate names no office; connection closed");
                    return;
                };
                tracing::Span::current().record("peer", tracing::field::display(office));
                Some(office)
            } else {
                None
            };
            let h2 = session.alpn_protocol() == Some(b"h2");
            let io = TokioIo::new(Watched { inner: tls, activity: activity.clone() });
            if h2 {
                let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                b.timer(TokioTimer::new()).max_header_list_size(MAX_HEAD_BYTES as u32).max_concurrent_streams(64);
                run(b.serve_connection(io, service(peer)), &activity, &limits, &stop).await;
            } else {
                run(h1.serve_connection(io, service(peer)), &activity, &limits, &stop).await;
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections finish
/// (at most 30 s) and returns.
pub async fn serve(
    listener: TcpListener,
    transport: Transport,
    router: Router,
    limits: Limits,
    name: &'static str,
    shutdown: impl Future<Output = ()> + Send,
) {
    let admission = Arc::new(Admission {
        total: Arc::new(Semaphore::new(limits.max_connections)),
        per_source: Mutex::new(std::collections::HashMap::new()),
        limits: limits.clone(),
    });
    let tracker = TaskTracker::new();
    let stop = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly instead of spinning.
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(admitted) = admission.admit(remote.ip()) else {
            tracing::info!(listener = name, "connection refused: too many open connections");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let span = tracing::info_span!("connection", listener = name, peer = tracing::field::Empty);
        let task = connection(tcp, remote, transport.clone(), router.clone(), limits.clone(), stop.child_token());
        tracker.spawn(
            async move {
                task.await;
                drop(admitted);
            }
            .instrument(span),
        );
    }
    drop(listener);
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait()).await.is_err() {
        tracing::warn!(listener = name, "open connections did not finish in time");
    }
}
