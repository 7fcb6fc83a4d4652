//! Serves a router on a listener with the limits a public endpoint needs: at most
//! `max_connections` at once (further clients wait in the listen backlog), a deadline for each
//! request's headers that also closes idle kept-alive connections, a cap on header size, and a
//! lifetime per connection after which it finishes its request and closes (a client that never
//! reads its response cannot hold a connection forever).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Largest request head (request line and headers) accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Connection limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Connections served at once (`--max-connections`).
    pub max_connections: usize,
    /// Time to send a request's headers, from connecting or from the end of the previous
    /// response (`--read-header-timeout`): bounds slow headers and idle connections.
    pub header_read_timeout: Duration,
    /// After this long a connection finishes its current request and closes; a request still
    /// running `lifetime` later is dropped.
    pub lifetime: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            lifetime: Duration::from_secs(240),
        }
    }
}

/// Serves `router` until `shutdown` completes, then lets open connections finish their
/// requests. Each request carries the peer address as [`ConnectInfo<SocketAddr>`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = router
            .clone()
            .map_request(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = TowerToHyperService::new(service.map_err(|e: Infallible| match e {}));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_header_size(MAX_HEADER_BYTES)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    log_connection_end(peer, result);
                    return;
                }
                () = tokio::time::sleep(limits.lifetime) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            // Finish the request in flight, if any, then close; a request that does not
            // finish within another lifetime is dropped.
            connection.as_mut().graceful_shutdown();
            if let Ok(result) = tokio::time::timeout(limits.lifetime, connection).await {
                log_connection_end(peer, result);
            }
        });
    }
    let _ = stop_tx.send(true);
    drop(listener);
    // Wait for the connections still open (each bounded by its lifetime).
    let _ = slots
        .acquire_many(u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX))
        .await;
}

fn log_connection_end(peer: SocketAddr, result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts and resets are the client's doing: debug, not warn.
        tracing::debug!(%peer, error = %e, "connection closed");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use super::*;

    /// Generous bound for "the server closed it" in these tests; the limits are far shorter.
    const PATIENCE: Duration = Duration::from_secs(20);

    async fn start(limits: ServerLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, router, limits, async move {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    fn limits(max_connections: usize, header_read_timeout: Duration) -> ServerLimits {
        ServerLimits {
            max_connections,
            header_read_timeout,
            lifetime: Duration::from_secs(600),
        }
    }

    /// Reads until the server closes the connection; what it sent.
    async fn read_to_close(stream: &mut TcpStream) -> String {
        let mut out = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
            .await
            .expect("the server closes the connection")
            .ok();
        String::from_utf8_lossy(&out).into_owned()
    }

    async fn get_peer(stream: &mut TcpStream, close: bool) -> String {
        let connection = if close { "close" } else { "keep-alive" };
        stream
            .write_all(
                format!("GET /peer HTTP/1.1\r\nhost: x\r\nconnection: {connection}\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let mut buf = vec![0; 4096];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[tokio::test]
    async fn slow_request_headers_are_cut_off() {
        let (addr, _stop) = start(limits(8, Duration::from_millis(300))).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        // The header never ends: the server answers 408 or just closes, but does not wait.
        let sent = read_to_close(&mut slow).await;
        assert!(!sent.contains("200 OK"), "{sent}");
    }

    #[tokio::test]
    async fn idle_connections_are_closed() {
        let (addr, _stop) = start(limits(8, Duration::from_millis(300))).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let answer = get_peer(&mut idle, false).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer.ends_with("127.0.0.1"),
            "the peer address reaches handlers: {answer}"
        );
        // Kept alive, then silent: closed.
        assert_eq!(read_to_close(&mut idle).await, "");
    }

    #[tokio::test]
    async fn connections_over_the_cap_wait_for_a_free_slot() {
        let (addr, _stop) = start(limits(1, Duration::from_secs(600))).await;
        let mut first = TcpStream::connect(addr).await.unwrap();
        assert!(
            get_peer(&mut first, false)
                .await
                .starts_with("HTTP/1.1 200")
        );
        // The only slot is held by `first`: `second` is not served meanwhile.
        let mut second = TcpStream::connect(addr).await.unwrap();
        second
            .write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0; 64];
        assert!(
            tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf))
                .await
                .is_err(),
            "served over the cap"
        );
        drop(first);
        assert!(read_to_close(&mut second).await.starts_with("HTTP/1.1 200"));
    }
}
