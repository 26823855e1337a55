//! The public listener of the transfer index: what a stranger's connections may cost.
//!
//! `axum::serve` keeps a connection as long as the peer likes, reads headers at any pace and
//! accepts every connection offered. On a public port that lets one client hold the process
//! open with slow headers (slowloris) or thousands of idle sockets. Here each accepted
//! connection needs one of [`MAX_CONNECTIONS`] permits (a connection over the cap is closed at
//! once, so the rest keep being served), must send its request headers within
//! [`HEADER_READ_TIMEOUT`], and is closed after [`CONNECTION_LIFETIME`] however it behaves; a
//! request itself has the rate limit and the deadline of [`super::limit`].
//!
//! The attacker's best strategy is to hold all permits with connections that each send a
//! header line just in time: that costs it [`MAX_CONNECTIONS`] sockets renewed every
//! [`CONNECTION_LIFETIME`], and denies the index to others only while it keeps doing so from
//! addresses the rate limit has not throttled (each connection's requests spend its client's
//! tokens). Operators who need more put the index behind a proxy that limits per client.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

/// Connections served at once; one more is closed as soon as it is accepted.
pub const MAX_CONNECTIONS: usize = 512;
/// How long a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection is kept, busy or idle.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// How long open connections get to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(5);

/// Limits of [`serve`]; [`Limits::PUBLIC`] in production, smaller in tests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connections: usize,
    pub header_read: Duration,
    pub lifetime: Duration,
}

impl Limits {
    pub const PUBLIC: Limits = Limits {
        connections: MAX_CONNECTIONS,
        header_read: HEADER_READ_TIMEOUT,
        lifetime: CONNECTION_LIFETIME,
    };
}

/// Serves `router` on `listener` within `limits` until `shutdown`; each request carries its
/// peer's address as [`ConnectInfo`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.connections));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // out of file descriptors, a reset before accept: the listener goes on
                    tracing::warn!(target: "index", error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            drop(stream); // over the cap: closed at once, nothing read
            continue;
        };
        let service = TowerToHyperService::new(
            router
                .clone()
                .layer(axum::Extension(ConnectInfo::<SocketAddr>(peer))),
        );
        let stop = shutdown.clone();
        connections.spawn(async move {
            let _permit = permit;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = tokio::time::sleep(limits.lifetime) => {}
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(DRAIN, connection).await;
                }
            }
        });
    }
    let _ = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpStream,
    };

    use super::*;

    async fn start(limits: Limits) -> (SocketAddr, CancellationToken) {
        let router = Router::new().route(
            "/",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                peer.ip().to_string()
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let token = CancellationToken::new();
        tokio::spawn(serve(listener, router, limits, token.clone()));
        (addr, token)
    }

    async fn get(addr: SocketAddr) -> std::io::Result<String> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok(out)
    }

    /// Slowloris: a client that sends half a header line and waits is cut off at the header
    /// deadline, and an honest client is served meanwhile, with its own address.
    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_cut_off() {
        let (addr, token) = start(Limits {
            header_read: Duration::from_millis(300),
            ..Limits::PUBLIC
        })
        .await;
        let mut slow = TcpStream::connect(addr).await.expect("connect");
        slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: a")
            .await
            .expect("write");
        let honest = get(addr).await.expect("served");
        assert!(honest.ends_with("127.0.0.1"), "{honest}");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest))
            .await
            .expect("closed by the server within the header deadline");
        assert!(read.is_ok());
        let text = String::from_utf8_lossy(&rest);
        assert!(!text.contains("200 OK"), "{text}");
        token.cancel();
    }

    /// Past the connection cap, a new connection is closed unanswered while those held stay,
    /// and once one is released a new client is served again.
    #[tokio::test]
    async fn connections_over_the_cap_are_closed_and_the_cap_frees_again() {
        let (addr, token) = start(Limits {
            connections: 2,
            ..Limits::PUBLIC
        })
        .await;
        let held: Vec<TcpStream> = two_held(addr).await;
        let mut over = TcpStream::connect(addr).await.expect("the kernel accepts");
        over.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .ok();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), over.read_to_end(&mut answer)).await;
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        drop(held);
        let served = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Ok(text) = get(addr).await
                    && text.contains("200 OK")
                {
                    return text;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("served once a permit is free");
        assert!(served.contains("200 OK"));
        token.cancel();
    }

    /// Two connections that sent a request and keep the connection open.
    async fn two_held(addr: SocketAddr) -> Vec<TcpStream> {
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .expect("write");
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).await.expect("answer");
            assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
            held.push(s);
        }
        held
    }
}
