//! The HTTP/1.1 server: hyper driven directly, so that every connection is bounded.
//!
//! - **Header-read timeout**: from the first byte of a request (or from the accept, for a
//!   connection's first request) until its headers are complete. A client that sends nothing,
//!   or stops mid-headers, is closed when it passes.
//! - **Idle timeout**: a keep-alive connection with no request in flight and no byte read since
//!   its last response is closed when it passes.
//! - A connection with a request in flight has no connection timeout: its handler has its own
//!   (see `http::router`), its body a deadline, and an event stream (`GET /api/v1/events`)
//!   stays open as long as it runs.
//! - **Connection cap**: at most `max_connections` are served at once. When the cap is full
//!   and another connection arrives, the connection that has waited longest without a request
//!   in flight (idle or still sending headers) is closed to make room. When every connection
//!   has a request in flight, the new one waits (in the kernel's accept backlog) for a slot,
//!   and the next connection whose request ends is closed for it. Silent sockets therefore
//!   never keep a request out; connections with a request in flight do, until one ends: an
//!   ordinary request within the handler's 30 s timeout (its body included), an event stream
//!   only when it closes. `max_connections` must leave room above the event streams.
//! - **Keep-alive limits**: keep-alive can be turned off; a connection serves at most
//!   `max_requests_per_connection` requests, the last answered with `Connection: close`.
//!
//! Graceful stop: accepting stops, connections without a request in flight (idle, or still
//! sending headers) close at once, in-flight requests finish.

use crate::config::ServerLimits;
use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where a connection stands, for its timeouts and for eviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in flight and no byte read since this instant: the accept (`fresh`), or the
    /// end of the last response.
    Idle { since: Instant, fresh: bool },
    /// Bytes of a request arrived from this instant (the accept, for a connection's first
    /// request); its headers are not complete yet.
    Headers { since: Instant },
    /// This many requests are being answered.
    Busy { requests: u64 },
}

/// The kinds of [`Phase`], in the top two bits of [`Track::state`].
const FRESH: u64 = 0;
const IDLE: u64 = 1;
const HEADERS: u64 = 2;
const BUSY: u64 = 3;
const KIND_SHIFT: u32 = 62;
/// The rest of the word: nanoseconds from the accept (a quiet phase's start), or the number
/// of requests in flight.
const VALUE: u64 = (1 << KIND_SHIFT) - 1;

const fn pack(kind: u64, value: u64) -> u64 {
    (kind << KIND_SHIFT) | (value & VALUE)
}

/// A connection's [`Phase`], in one atomic word: every socket read loads it, and only a
/// change of phase writes it.
#[derive(Debug)]
struct Track {
    accepted: Instant,
    state: AtomicU64,
    evict: CancellationToken,
    /// Told when a request ends and the connection becomes quiet (see [`wait_for_slot`]).
    quiet: Arc<Notify>,
}

impl Track {
    fn new(quiet: Arc<Notify>) -> Self {
        Self {
            accepted: Instant::now(),
            state: AtomicU64::new(pack(FRESH, 0)),
            evict: CancellationToken::new(),
            quiet,
        }
    }

    /// Now, as nanoseconds from the accept.
    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_nanos()).map_or(VALUE, |n| n.min(VALUE))
    }

    fn phase(&self) -> Phase {
        let word = self.state.load(Ordering::Acquire);
        let value = word & VALUE;
        let since = self.accepted + Duration::from_nanos(value);
        match word >> KIND_SHIFT {
            FRESH => Phase::Idle { since, fresh: true },
            IDLE => Phase::Idle {
                since,
                fresh: false,
            },
            HEADERS => Phase::Headers { since },
            _ => Phase::Busy { requests: value },
        }
    }

    /// Bytes were read: an idle connection starts sending a request. Its header-read timeout
    /// runs from the end of the last response, or from the accept for its first request.
    fn read_some(&self) {
        let word = self.state.load(Ordering::Acquire);
        let since = match word >> KIND_SHIFT {
            FRESH => word & VALUE,
            IDLE => self.now(),
            _ => return,
        };
        // Lost only to a request that started meanwhile: then there is nothing to do.
        let _ = self.state.compare_exchange(
            word,
            pack(HEADERS, since),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    fn request_started(&self) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                Some(match word >> KIND_SHIFT {
                    BUSY => pack(BUSY, (word & VALUE).saturating_add(1)),
                    _ => pack(BUSY, 1),
                })
            });
    }

    fn request_finished(&self) {
        let now = self.now();
        let before = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                Some(match (word >> KIND_SHIFT, word & VALUE) {
                    (BUSY, requests) if requests > 1 => pack(BUSY, requests - 1),
                    _ => pack(IDLE, now),
                })
            })
            .unwrap_or_else(|word| word);
        if before >> KIND_SHIFT != BUSY || before & VALUE <= 1 {
            self.quiet.notify_waiters();
        }
    }

    /// When this connection is to be closed if nothing changes; `None` while busy.
    fn deadline(&self, limits: &ServerLimits) -> Option<Instant> {
        match self.phase() {
            Phase::Idle { since, fresh: true } | Phase::Headers { since } => {
                Some(since + limits.header_read_timeout)
            }
            Phase::Idle {
                since,
                fresh: false,
            } => Some(since + limits.idle_timeout),
            Phase::Busy { .. } => None,
        }
    }

    /// Why it is closed when its deadline passes.
    fn timeout_reason(&self) -> &'static str {
        match self.phase() {
            Phase::Idle { fresh: false, .. } => "idle_timeout",
            _ => "header_timeout",
        }
    }

    /// Since when it has had no request in flight (`None` while busy).
    fn quiet_since(&self) -> Option<Instant> {
        match self.phase() {
            Phase::Idle { since, .. } | Phase::Headers { since } => Some(since),
            Phase::Busy { .. } => None,
        }
    }
}

/// A socket that tells its [`Track`] when bytes arrive.
struct Tracked {
    io: TcpStream,
    track: Arc<Track>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.track.read_some();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The open connections, for eviction when the cap is full.
#[derive(Debug, Default)]
struct Registry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Track>>>,
    /// Told by every connection whose last request in flight ends.
    quiet: Arc<Notify>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Track>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, track: Arc<Track>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, track);
        id
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the connection that has had no request in flight for longest, unless one is
    /// already closing for the slot. False when every connection is busy.
    fn evict_oldest_quiet(&self) -> bool {
        let open = self.lock();
        if open.values().any(|t| t.evict.is_cancelled()) {
            return true;
        }
        let oldest = open
            .values()
            .filter_map(|t| t.quiet_since().map(|s| (s, t)))
            .min_by_key(|(s, _)| *s);
        match oldest {
            Some((_, t)) => {
                t.evict.cancel();
                true
            }
            None => false,
        }
    }
}

/// Waits for a free slot while the cap is full. A quiet connection is closed for it at
/// once, and again whenever a request ends while every connection was busy. `None` on
/// shutdown.
async fn wait_for_slot(
    slots: &Arc<Semaphore>,
    registry: &Registry,
    shutdown: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    loop {
        // Listening before looking: a request that ends meanwhile is not missed.
        let quieted = registry.quiet.notified();
        tokio::pin!(quieted);
        quieted.as_mut().enable();
        registry.evict_oldest_quiet();
        tokio::select! {
            () = shutdown.cancelled() => return None,
            p = slots.clone().acquire_owned() => return p.ok(),
            () = quieted => {}
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Registry::default());
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little
                    // (the backlog keeps what arrives), never spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    }
                }
            },
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                crate::telemetry::connection_cap_reached();
                match wait_for_slot(&slots, &registry, &shutdown).await {
                    Some(p) => p,
                    None => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let track = Arc::new(Track::new(registry.quiet.clone()));
        let id = registry.add(track.clone());
        let app = app.clone();
        let limits = limits.clone();
        let registry = registry.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            serve_connection(stream, app, track, &limits, shutdown).await;
            registry.remove(id);
            drop(permit);
            tracing::trace!(%peer, "connection closed");
        });
    }
    drop(listener);
    // Every connection gives its slot back when it ends: all slots back means all done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    track: Arc<Track>,
    limits: &ServerLimits,
    shutdown: CancellationToken,
) {
    let served = Arc::new(AtomicU64::new(0));
    let max_requests = limits.max_requests_per_connection;
    let service_track = track.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        // In flight from the moment its headers are complete, before its first poll.
        service_track.request_started();
        let guard = Finished(service_track.clone());
        let mut app = app.clone();
        let n = served.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        async move {
            let req = req.map(Body::new);
            let res = match tower::Service::call(&mut app, req).await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            Ok::<_, std::convert::Infallible>(in_flight_until_sent(res, guard, n >= max_requests))
        }
    });
    let io = TokioIo::new(Tracked {
        io: stream,
        track: track.clone(),
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(limits.keep_alive)
        .timer(hyper_util::rt::TokioTimer::new())
        // Header reads are timed here, with the idle time apart (see `Track::deadline`).
        .header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        // While busy, look again now and then: the phase changes without waking this task.
        let wake = track.deadline(limits).unwrap_or_else(|| {
            Instant::now() + limits.idle_timeout.min(limits.header_read_timeout)
        });
        tokio::select! {
            // The connection first: headers already received start their request before a
            // shutdown is looked at.
            biased;
            _ = conn.as_mut() => return,
            () = track.evict.cancelled() => {
                crate::telemetry::connection_closed("evicted");
                return;
            }
            () = shutdown.cancelled(), if !stopping => {
                if track.quiet_since().is_some() {
                    // Idle or still sending headers: closing loses no request.
                    return;
                }
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(wake) => {
                if track.deadline(limits).is_some_and(|d| d <= Instant::now()) {
                    // Nothing in flight: closing loses no request.
                    crate::telemetry::connection_closed(track.timeout_reason());
                    return;
                }
            }
        }
    }
}

/// `res`, whose request stays in flight until its body is written (or dropped), answered
/// with `Connection: close` when it is the connection's `last`.
fn in_flight_until_sent(
    res: axum::response::Response,
    guard: Finished,
    last: bool,
) -> hyper::Response<Body> {
    let (mut parts, body) = res.into_parts();
    if last {
        parts.headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    let body = body.map_frame(move |frame| {
        let _ = &guard;
        frame
    });
    hyper::Response::from_parts(parts, Body::new(body))
}

/// Marks the end of a request when dropped (with its response body).
struct Finished(Arc<Track>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// Descriptors kept for everything but client connections: the store's files, PostgreSQL
/// and outbound clients, logs.
const RESERVED_DESCRIPTORS: usize = 64;

/// Lowers `max_connections` to what the process's descriptor limit allows (its soft
/// `RLIMIT_NOFILE`, read from `/proc/self/limits`), with a warning: the cap must be reached
/// before the descriptors run out, or accepting fails for everyone.
pub fn fit_to_descriptors(mut limits: ServerLimits) -> ServerLimits {
    let Some(soft) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| open_files_limit(&text))
    else {
        return limits;
    };
    let room = soft.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    if limits.max_connections > room {
        tracing::warn!(
            configured = limits.max_connections,
            descriptor_limit = soft,
            serving = room,
            "max_connections lowered to fit the open-file limit; raise `ulimit -n` to serve more"
        );
        limits.max_connections = room;
    }
    limits
}

/// The soft limit of the `Max open files` line of `/proc/<pid>/limits`.
fn open_files_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::{Notify, Phase, Track, open_files_limit};
    use std::sync::Arc;

    /// The phase word: a first request's header read counts from the accept, requests nest,
    /// and the end of the last one makes the connection idle and tells the waiters.
    #[tokio::test]
    async fn a_connection_moves_through_its_phases() {
        let quiet = Arc::new(Notify::new());
        let track = Track::new(quiet.clone());
        let accepted = track.accepted;
        std::thread::sleep(std::time::Duration::from_millis(5));
        track.read_some();
        assert_eq!(track.phase(), Phase::Headers { since: accepted });
        track.request_started();
        track.request_started();
        assert_eq!(track.phase(), Phase::Busy { requests: 2 });
        let told = quiet.notified();
        tokio::pin!(told);
        told.as_mut().enable();
        track.request_finished();
        assert_eq!(track.phase(), Phase::Busy { requests: 1 });
        track.request_finished();
        let Phase::Idle {
            since: idle,
            fresh: false,
        } = track.phase()
        else {
            panic!("not idle: {:?}", track.phase());
        };
        assert!(idle > accepted);
        told.await;
        // A later request's header read counts from its first byte.
        std::thread::sleep(std::time::Duration::from_millis(5));
        track.read_some();
        assert!(matches!(track.phase(), Phase::Headers { since } if since > idle));
    }

    #[test]
    fn the_soft_open_file_limit_is_read() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             63704                63704                processes \n\
                    Max open files            256                  524288               files     \n";
        assert_eq!(open_files_limit(text), Some(256));
        assert_eq!(
            open_files_limit(
                "Max open files            unlimited            unlimited            files"
            ),
            None
        );
    }
}
