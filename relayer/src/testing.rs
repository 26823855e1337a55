//! What the crate's unit tests share: waiting for a condition with a deadline (never a fixed
//! sleep as synchronisation), and a fake HTTP server on a port it binds itself.

use std::time::Duration;

/// Polls `check` every 10 ms until it holds; an error after `timeout`.
pub(crate) async fn await_condition(
    timeout: Duration,
    mut check: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("condition not met within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Serves `app` on a loopback port it binds itself (port 0); the address to reach it.
pub(crate) async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
