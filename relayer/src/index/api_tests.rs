//! The public API over a real store and a real socket: filters and pages over HTTP, every
//! refusal a 400 naming its parameter, 404 for an unknown id, bodies refused, and the rate
//! limit answering 429 with `Retry-After`.

use std::{net::SocketAddr, time::Duration};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{config::RateLimit, store::testing::*};

struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

async fn request(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Response {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut text))
        .await
        .expect("an answer in time")
        .expect("read");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Response {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, "").await
}

/// Serves the API over `store` on port 0; the overview holds a fixed value.
async fn serve_api(store: Store, limit: RateLimit) -> (SocketAddr, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (_tx, overview) = watch::channel(json!({ "chains": {}, "tokens": [] }));
    // the sender may go: the receiver keeps the last value
    let router = router(
        ApiState {
            store,
            overview,
            metrics: Arc::new(Metrics::keyless()),
            readiness: Arc::default(),
        },
        Arc::new(RateLimiter::new(limit)),
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(crate::index::server::serve(
        listener,
        router,
        crate::index::server::Limits::PUBLIC,
        shutdown.clone(),
    ));
    (addr, shutdown)
}

const GENEROUS: RateLimit = RateLimit {
    per_second: 10_000,
    burst: 10_000,
    clients: 16,
};

/// Twelve deposits, recipients alternating between two addresses, three landed.
async fn seed(store: &Store) {
    let mut main = batch(Chain::Main, 10);
    let mut side = batch(Chain::Side, 10);
    for n in 1..=12u8 {
        let mut r = record(n, Direction::Deposit, u64::from(n));
        r.transfer.recipient = Address::repeat_byte(0x50 + n % 2);
        main.new_transfers.push(r);
        if n % 4 == 0 {
            side.executions
                .push(execution(Direction::Deposit, u64::from(n), n, false));
            side.completed.push(id(n));
        }
    }
    store.commit_watch(&main).await.expect("main");
    store.commit_watch(&side).await.expect("side");
}

async fn the_api_filters_pages_and_refuses_by_name(store: Store) {
    seed(&store).await;
    let (addr, shutdown) = serve_api(store, GENEROUS).await;

    // newest first, four at a time, the cursor leading through all twelve
    let mut seen = Vec::new();
    let mut path = "/api/transfers?limit=4".to_string();
    loop {
        let page = get(addr, &path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let body = page.json();
        for t in body["transfers"].as_array().expect("a list") {
            seen.push(t["nonce"].as_u64().expect("nonce"));
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/transfers?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=12).rev().collect::<Vec<u64>>());

    let even = format!("{}", Address::repeat_byte(0x50));
    let body = get(addr, &format!("/api/transfers?address={even}&state=landed"))
        .await
        .json();
    let nonces: Vec<_> = body["transfers"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| t["nonce"].as_u64().expect("nonce"))
        .collect();
    assert_eq!(nonces, [12, 8, 4]);
    let landed = &body["transfers"][0];
    assert_eq!(landed["state"], "landed");
    assert_eq!(landed["destination"]["chain"], "side");
    assert_eq!(
        landed["destination"]["txHash"],
        json!(B256::repeat_byte(0x70 + 12))
    );
    let by_dst = get(
        addr,
        &format!("/api/transfers?tx={}", B256::repeat_byte(0x70 + 8)),
    )
    .await
    .json();
    assert_eq!(by_dst["transfers"][0]["nonce"], 8);

    let one = get(addr, &format!("/api/transfers/{}", id(3))).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["state"], "confirmed");
    assert_eq!(
        get(addr, &format!("/api/transfers/{}", id(99)))
            .await
            .status,
        404
    );
    assert_eq!(get(addr, "/api/transfers/0x12").await.status, 400);

    for (path, parameter) in [
        ("/api/transfers?adress=0x00", "adress"),
        ("/api/transfers?limit=5&limit=6", "limit"),
        ("/api/transfers?limit=0", "limit"),
        ("/api/transfers?limit=201", "limit"),
        ("/api/transfers?state=pending", "state"),
        ("/api/transfers?direction=up", "direction"),
        ("/api/transfers?token=0x1234", "token"),
        ("/api/transfers?tx=0xzz", "tx"),
        ("/api/transfers?cursor=yesterday", "cursor"),
    ] {
        let r = get(addr, path).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.json()["parameter"], parameter, "{path}: {}", r.body);
    }

    assert_eq!(get(addr, "/healthz").await.status, 200);
    assert_eq!(get(addr, "/api/overview").await.json()["tokens"], json!([]));
    assert_eq!(get(addr, "/nope").await.status, 404);
    let page = get(addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script src=\"/app.js\">"));
    assert!(
        page.head
            .contains("content-security-policy: default-src 'self'")
    );
    assert!(get(addr, "/app.js").await.body.contains("data"));
    let posted = request(addr, "POST", "/api/transfers", "Content-Length: 3\r\n").await;
    assert!(
        posted.status == 405 || posted.status == 413,
        "{}",
        posted.status
    );
    let with_body = request(addr, "GET", "/api/transfers", "Content-Length: 5\r\n").await;
    assert_eq!(with_body.status, 413);
    shutdown.cancel();
}

on_both_backends!(the_api_filters_pages_and_refuses_by_name);

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(dir.path().join("i.db").to_str().expect("utf-8"))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let limit = RateLimit {
        per_second: 1,
        burst: 3,
        clients: 16,
    };
    let (addr, shutdown) = serve_api(store, limit).await;
    for _ in 0..3 {
        assert_eq!(get(addr, "/healthz").await.status, 200);
    }
    let refused = get(addr, "/healthz").await;
    assert_eq!(refused.status, 429);
    assert!(refused.head.contains("retry-after: 1"), "{}", refused.head);
    shutdown.cancel();
}

#[test]
fn queries_parse_into_filters() {
    let pairs = |s: &[(&str, &str)]| -> Vec<(String, String)> {
        s.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let address = "0x00000000000000000000000000000000000000aa";
    let q = parse_query(&pairs(&[
        ("address", address),
        ("direction", "withdrawal"),
        ("state", "ready"),
        ("limit", "7"),
    ]))
    .expect("valid");
    assert_eq!(q.limit, 7);
    assert_eq!(q.filter.address, Some(Address::with_last_byte(0xaa)));
    assert_eq!(q.filter.direction, Some(Direction::Withdrawal));
    assert_eq!(q.filter.state, Some(IndexState::Ready));
    assert_eq!(parse_query(&[]).expect("empty").limit, DEFAULT_LIMIT);
    let err = parse_query(&pairs(&[("sender", address)])).expect_err("unknown");
    assert_eq!(err, QueryError::Unknown("sender".into()));
    // an address without its 0x is refused, not guessed at
    let err = parse_query(&pairs(&[("address", &address[2..])])).expect_err("no 0x");
    assert_eq!(err.parameter(), "address");
}
