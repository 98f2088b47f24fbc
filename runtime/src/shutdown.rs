//! Graceful shutdown: the signals that start it, the readiness it withdraws and the
//! connections it closes when the grace period is over.
//!
//! On the first SIGTERM or Ctrl-C the service reports NOT_SERVING (gRPC health of every
//! service, `GET /readyz`), goes on serving for `server.shutdown_delay_ms`, then stops
//! accepting connections and lets the calls in flight finish for at most
//! `server.shutdown_grace_ms`; the connections still open then (a client holding a
//! stream, say) are closed. A second signal closes them at once.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// One item per stop signal the process receives, named: `SIGTERM` or `SIGINT` (Ctrl-C).
///
/// The handlers are installed when this is called (inside the runtime), so call it
/// before the service reports that it serves.
pub fn signals() -> impl Stream<Item = &'static str> {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        for (kind, name) in [
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::interrupt(), "SIGINT"),
        ] {
            match signal(kind) {
                Ok(mut received) => {
                    let sender = sender.clone();
                    tokio::spawn(async move {
                        while received.recv().await.is_some() {
                            if sender.send(name).await.is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(error) => tracing::warn!(%error, signal = name, "cannot listen for the signal"),
            }
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if sender.send("Ctrl-C").await.is_err() {
                break;
            }
        }
    });
    ReceiverStream::new(receiver)
}

/// Whether the service takes new work: the gRPC health statuses and `GET /readyz`.
#[derive(Debug, Clone)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    health: HealthReporter,
    services: &'static [&'static str],
}

impl Readiness {
    /// Reports every one of `services` (fully qualified names) SERVING through `health`.
    pub async fn serving(health: HealthReporter, services: &'static [&'static str]) -> Self {
        for service in services {
            health
                .set_service_status(service, ServingStatus::Serving)
                .await;
        }
        Self {
            ready: Arc::new(AtomicBool::new(true)),
            health,
            services,
        }
    }

    /// Whether the service is ready: until [`Readiness::withdraw`].
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Reports every service, and the server as a whole (`""`), NOT_SERVING: health
    /// checks fail and `Watch` streams receive the change.
    pub async fn withdraw(&self) {
        self.ready.store(false, Ordering::Release);
        for service in self.services.iter().chain(&[""]) {
            self.health
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
    }
}

/// The connections of the servers: counted, and all closed at once by
/// [`Connections::close_all`].
#[derive(Debug, Clone, Default)]
pub struct Connections {
    shared: Arc<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    /// Set by [`Connections::close_all`]: connections accepted later start closed.
    closed: AtomicBool,
    /// The open connections, by number.
    open: Mutex<HashMap<u64, Arc<Slot>>>,
    next: AtomicU64,
}

/// What a connection and [`Connections::close_all`] share: the request path only reads
/// an atomic flag, and registers its task's waker when the socket makes it wait.
#[derive(Debug, Default)]
struct Slot {
    closed: AtomicBool,
    waker: AtomicWaker,
}

impl Registry {
    fn slots(&self) -> MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Connections {
    /// Tracks a newly accepted connection.
    pub fn track<IO>(&self, io: IO) -> Connection<IO> {
        let slot = Arc::new(Slot::default());
        let id = self.shared.next.fetch_add(1, Ordering::Relaxed);
        {
            let mut slots = self.shared.slots();
            // Read under the lock `close_all` takes: a connection is either closed by it
            // or sees its flag.
            slot.closed.store(
                self.shared.closed.load(Ordering::Acquire),
                Ordering::Release,
            );
            slots.insert(id, Arc::clone(&slot));
        }
        Connection {
            io,
            slot,
            id,
            registry: Arc::clone(&self.shared),
        }
    }

    /// How many connections are open.
    #[must_use]
    pub fn open(&self) -> usize {
        self.shared.slots().len()
    }

    /// Closes every connection, open or to come: each one's next read or write fails,
    /// which ends its calls and its streams.
    pub fn close_all(&self) {
        let slots = self.shared.slots();
        self.shared.closed.store(true, Ordering::Release);
        for slot in slots.values() {
            slot.closed.store(true, Ordering::Release);
            slot.waker.wake();
        }
    }
}

/// A connection that [`Connections::close_all`] closes.
pub struct Connection<IO> {
    io: IO,
    slot: Arc<Slot>,
    id: u64,
    registry: Arc<Registry>,
}

impl<IO> Connection<IO> {
    /// The connection itself.
    pub const fn get_ref(&self) -> &IO {
        &self.io
    }

    fn is_closed(&self) -> bool {
        self.slot.closed.load(Ordering::Acquire)
    }

    /// Whether the connection is closed, once the task is registered to be woken when
    /// it is (so that a close between the two is not missed).
    fn wake_when_closed(&self, cx: &Context<'_>) -> bool {
        self.slot.waker.register(cx.waker());
        self.is_closed()
    }
}

impl<IO> fmt::Debug for Connection<IO> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<IO> Drop for Connection<IO> {
    fn drop(&mut self) {
        self.registry.slots().remove(&self.id);
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "closed at the end of the shutdown grace period",
    )
}

/// Fails once closed; while the connection waits, a close wakes it.
macro_rules! poll_io {
    ($this:ident, $cx:ident, $poll:expr) => {{
        if $this.is_closed() {
            return Poll::Ready(Err(closed()));
        }
        match $poll {
            Poll::Pending if $this.wake_when_closed($cx) => Poll::Ready(Err(closed())),
            polled => polled,
        }
    }};
}

impl<IO: AsyncRead + Unpin> AsyncRead for Connection<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_io!(this, cx, Pin::new(&mut this.io).poll_read(cx, buf))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Connection<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        poll_io!(this, cx, Pin::new(&mut this.io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        poll_io!(
            this,
            cx,
            Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_io!(this, cx, Pin::new(&mut this.io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_io!(this, cx, Pin::new(&mut this.io).poll_shutdown(cx))
    }
}

impl<IO: tonic::transport::server::Connected> tonic::transport::server::Connected
    for Connection<IO>
{
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}
