//! Accepting connections under limits, so that an unauthenticated flood cannot lock
//! collectors out or exhaust file descriptors:
//!
//! - at most `max_connections` open at once (TLS handshakes included); at the limit, the
//!   oldest connection that has not sent a single byte yet (not even a TLS ClientHello, which
//!   a real client sends at once) is closed to make room, and when every connection has spoken
//!   the listener waits for one to close (the kernel's backlog holds the newcomers);
//! - a connection that sends nothing for `idle_timeout` is closed (HTTP/2 pings count: a
//!   collector waiting for its acks pings);
//! - the TLS handshake has its own deadline, set on tonic's TLS acceptor (`server.rs`).
//!
//! File descriptors: one per connection, plus the store's and the dataset writer's files
//! (deploy/README.md gives the sizing of `LimitNOFILE`).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once, handshakes included.
    pub max_connections: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
}

/// What the accept loop knows of a connection it handed out.
#[derive(Debug, Default)]
struct Slot {
    /// The peer sent at least one byte.
    heard: AtomicBool,
    /// Closed to make room: the next read fails.
    evicted: AtomicBool,
    /// The connection's task, woken to notice the eviction.
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().expect("waker lock").take() {
            w.wake();
        }
    }
}

/// An accepted TCP connection under the limits; its permit is given back when it closes.
#[derive(Debug)]
pub struct Conn {
    tcp: TcpStream,
    slot: Arc<Slot>,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    _permit: OwnedSemaphorePermit,
}

/// Accepts on `listener` under `limits`: the stream to serve with tonic's
/// `serve_with_incoming`. Accepting stops when the stream is dropped.
pub fn incoming(
    listener: TcpListener,
    limits: Limits,
) -> impl Stream<Item = Result<Conn, io::Error>> + Send + 'static {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(accept_loop(listener, limits, tx));
    ReceiverStream::new(rx).map(Ok)
}

async fn accept_loop(listener: TcpListener, limits: Limits, tx: mpsc::Sender<Conn>) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Connections that have not spoken yet, oldest first.
    let mut silent: VecDeque<Weak<Slot>> = VecDeque::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = tx.closed() => return,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // EMFILE and the like: pause rather than spin; connections closing free fds.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        silent.retain(|w| {
            w.upgrade().is_some_and(|s| {
                !s.heard.load(Ordering::Acquire) && !s.evicted.load(Ordering::Acquire)
            })
        });
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                match silent.pop_front().and_then(|w| w.upgrade()) {
                    Some(oldest) => {
                        tracing::warn!(
                            limit = limits.max_connections,
                            "connection limit reached: closing the oldest connection that never sent a byte"
                        );
                        oldest.evict();
                    }
                    None => tracing::warn!(
                        limit = limits.max_connections,
                        "connection limit reached: waiting for a connection to close"
                    ),
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                    _ = tx.closed() => return,
                }
            }
        };
        let slot = Arc::new(Slot::default());
        silent.push_back(Arc::downgrade(&slot));
        let conn = Conn {
            tcp,
            slot,
            idle: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            idle_timeout: limits.idle_timeout,
            _permit: permit,
        };
        if tx.send(conn).await.is_err() {
            return;
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.slot.evicted.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed at the connection limit before it sent anything",
            )));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.tcp).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.slot.heard.store(true, Ordering::Release);
                    let next = Instant::now() + this.idle_timeout;
                    this.idle.as_mut().reset(next);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if !this.slot.heard.load(Ordering::Acquire) {
                    *this.slot.waker.lock().expect("waker lock") = Some(cx.waker().clone());
                    if this.slot.evicted.load(Ordering::Acquire) {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                if this.idle.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "closed: nothing received for {} s (idle-timeout-secs)",
                            this.idle_timeout.as_secs()
                        ),
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.tcp.connect_info()
    }
}
