//! The node's HTTP surface, for Prometheus, the orchestrator and the operator:
//!
//! - `GET /metrics`: Prometheus text (format 0.0.4) from one registry ([`Metrics`]);
//! - `GET /healthz`: `200 ok` while the process serves at all (liveness);
//! - `GET /readyz`: `200` only when every chain is ready (its watcher caught up and not halted
//!   by a reorg, its RPC answering, the key a current validator there, gas above the runway)
//!   and no forgery alarm is open; otherwise `503`, both with a JSON body saying why
//!   ([`Readiness`]);
//! - `GET /api/transfers/{id}`: one transfer as JSON, or `404`;
//! - `GET /api/transfers?limit=N`: the most recent transfers.
//!
//! The JSON API goes through [`TransferApi`], so this module knows nothing of the store. The
//! surface is unauthenticated: bind it to loopback or a private network.

use std::{collections::BTreeMap, fmt, future::Future, pin::Pin, sync::Arc};

use alloy::primitives::B256;
use axum::{
    Json, Router,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::encoding::prometheus_text;
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

pub use crate::metrics::Metrics;
use crate::{
    domain::{Chain, TransferRecord},
    health::{ChainReadiness, Readiness},
    store::Store,
};

/// A boxed, sendable future: what [`TransferApi`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Read access to transfers for the JSON API. Errors are messages for the HTTP client.
pub trait TransferApi: Send + Sync {
    /// One transfer by id, `None` if unknown.
    fn transfer(&self, id: B256) -> BoxFuture<'_, Result<Option<serde_json::Value>, String>>;
    /// The `limit` most recently changed transfers, newest first.
    fn recent(&self, limit: u32) -> BoxFuture<'_, Result<Vec<serde_json::Value>, String>>;
}

/// Transfers returned by `/api/transfers` without a `limit`.
pub const DEFAULT_RECENT_LIMIT: u32 = 50;
/// Largest `limit` honoured; larger ones are clamped.
pub const MAX_RECENT_LIMIT: u32 = 1_000;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    pub api: Arc<dyn TransferApi>,
}

impl fmt::Debug for HttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpState")
            .field("readiness", &self.readiness)
            .finish_non_exhaustive()
    }
}

/// Serves until `shutdown` is cancelled, then stops accepting and lets requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HttpState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(target: "http", %addr, "serving /metrics, /healthz, /readyz, /api");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// The routes, for [`serve`] or for embedding in another server.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/transfers", get(recent_transfers))
        .route("/api/transfers/{id}", get(transfer))
        .fallback(not_found)
        .with_state(state)
}

async fn metrics(State(state): State<HttpState>) -> Response {
    for chain in Chain::ALL {
        state
            .metrics
            .set_ready(chain, state.readiness.chain(chain).ready);
    }
    metrics_text(&state.metrics)
}

/// The Prometheus text of `metrics` (the relayer's and the index's `/metrics`).
pub(crate) fn metrics_text(metrics: &Metrics) -> Response {
    match metrics.encode() {
        Ok(body) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics encoding failed\n",
        )
            .into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<HttpState>) -> Response {
    let chains: BTreeMap<&str, ChainReadiness> = Chain::ALL
        .into_iter()
        .map(|c| (c.as_str(), state.readiness.chain(c)))
        .collect();
    let alarm = state.readiness.alarm();
    let ready = chains.values().all(|c| c.ready) && alarm.is_none();
    let mut reasons = chains
        .iter()
        .filter(|(_, c)| !c.ready)
        .map(|(name, c)| format!("{name}: {}", c.reason))
        .collect::<Vec<_>>();
    if let Some(alarm) = &alarm {
        reasons.insert(0, format!("alarm: {alarm}"));
    }
    let reason = reasons.join("; ");
    let chains: serde_json::Map<String, serde_json::Value> = chains
        .into_iter()
        .map(|(name, c)| {
            let body = json!({ "ready": c.ready, "halted": c.halted, "reason": c.reason });
            (name.to_string(), body)
        })
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({ "ready": ready, "chains": chains });
    if let Some(alarm) = alarm {
        body["alarm"] = alarm.into();
    }
    if !ready {
        body["reason"] = reason.into();
    }
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn transfer(State(state): State<HttpState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<B256>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "a transfer id is 32 bytes of hex (0x followed by 64 hex digits)",
        );
    };
    match state.api.transfer(id).await {
        Ok(Some(transfer)) => Json(transfer).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("transfer {id} not found")),
        Err(message) => {
            tracing::warn!(target: "http", transfer_id = %id, error = %message, "transfer lookup failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, message)
        }
    }
}

#[derive(Debug, Deserialize)]
struct RecentQuery {
    limit: Option<u32>,
}

async fn recent_transfers(
    State(state): State<HttpState>,
    query: Result<Query<RecentQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("limit must be an integer between 1 and {MAX_RECENT_LIMIT}"),
        );
    };
    let limit = query
        .limit
        .unwrap_or(DEFAULT_RECENT_LIMIT)
        .clamp(1, MAX_RECENT_LIMIT);
    match state.api.recent(limit).await {
        Ok(transfers) => Json(json!({ "transfers": transfers })).into_response(),
        Err(message) => {
            tracing::warn!(target: "http", error = %message, "recent transfers lookup failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, message)
        }
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint")
}

// ---------------------------------------------------------------------------------------------
// The JSON API over the store

/// The JSON API over the store: transfers as JSON for `/api/transfers`.
#[derive(Debug)]
pub struct StoreApi(pub Store);

/// What a transfer is, whoever shows it: its content and fee, as JSON fields.
pub(crate) fn transfer_content(r: &TransferRecord) -> serde_json::Map<String, serde_json::Value> {
    [
        ("id", json!(r.id)),
        ("direction", r.direction.as_str().into()),
        ("nonce", r.nonce().into()),
        ("token", json!(r.transfer.token)),
        ("sender", json!(r.transfer.sender)),
        ("recipient", json!(r.transfer.recipient)),
        ("amount", r.transfer.amount.to_string().into()),
        ("fee", r.fee.to_string().into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn transfer_json(r: &TransferRecord) -> serde_json::Value {
    let mut v = transfer_content(r);
    v.insert("state".into(), r.state.as_str().into());
    v.insert("sourceBlock".into(), r.source_block.into());
    v.insert("sourceTx".into(), json!(r.source_tx));
    v.insert("createdAt".into(), r.created_at.into());
    v.insert("updatedAt".into(), r.updated_at.into());
    v.into()
}

impl TransferApi for StoreApi {
    fn transfer(&self, id: B256) -> BoxFuture<'_, Result<Option<serde_json::Value>, String>> {
        Box::pin(async move {
            self.0
                .transfer(id)
                .await
                .map(|r| r.as_ref().map(transfer_json))
                .map_err(|e| e.to_string())
        })
    }

    fn recent(&self, limit: u32) -> BoxFuture<'_, Result<Vec<serde_json::Value>, String>> {
        Box::pin(async move {
            self.0
                .recent_transfers(limit)
                .await
                .map(|rs| rs.iter().map(transfer_json).collect())
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::{TcpListener, TcpStream},
    };

    use super::*;
    use crate::domain::{Direction, TransferState, TxKind};
    use alloy::primitives::U256;

    /// Answers with a fixed transfer for id 0x11.., nothing for others, and fails for 0xee...
    struct FakeApi;

    const KNOWN: B256 = B256::repeat_byte(0x11);
    const BROKEN: B256 = B256::repeat_byte(0xee);

    impl TransferApi for FakeApi {
        fn transfer(&self, id: B256) -> BoxFuture<'_, Result<Option<serde_json::Value>, String>> {
            Box::pin(async move {
                match id {
                    KNOWN => Ok(Some(json!({ "id": id, "state": "voted" }))),
                    BROKEN => Err("database is down".to_string()),
                    _ => Ok(None),
                }
            })
        }

        fn recent(&self, limit: u32) -> BoxFuture<'_, Result<Vec<serde_json::Value>, String>> {
            Box::pin(async move {
                Ok((0..limit.min(3))
                    .map(|i| json!({ "n": i, "limit": limit }))
                    .collect())
            })
        }
    }

    struct Server {
        addr: std::net::SocketAddr,
        state: HttpState,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = HttpState {
            metrics: Arc::new(Metrics::default()),
            readiness: Arc::new(Readiness::default()),
            api: Arc::new(FakeApi),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, state.clone(), shutdown.clone()));
        Server {
            addr,
            state,
            shutdown,
            task,
        }
    }

    /// A minimal HTTP/1.1 GET: status code and body.
    async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            stream.read_to_string(&mut response),
        )
        .await
        .expect("response within 10s")
        .expect("read");
        let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        (status, head.to_ascii_lowercase(), body.to_string())
    }

    fn json_body(body: &str) -> serde_json::Value {
        serde_json::from_str(body).expect("json body")
    }

    #[tokio::test]
    async fn healthz_answers_ok() {
        let server = start().await;
        let (status, _, body) = get(server.addr, "/healthz").await;
        assert_eq!((status, body.as_str()), (200, "ok\n"));
        let (status, _, body) = get(server.addr, "/nope").await;
        assert_eq!(status, 404);
        assert_eq!(json_body(&body)["error"], "no such endpoint");
    }

    #[tokio::test]
    async fn readyz_needs_every_chain_ready() {
        let server = start().await;
        let readiness = &server.state.readiness;

        let (status, _, body) = get(server.addr, "/readyz").await;
        assert_eq!(status, 503);
        let body = json_body(&body);
        assert_eq!(body["ready"], false);
        assert_eq!(
            body["chains"]["main"]["reason"],
            "waiting for the watcher's first report"
        );

        readiness.set_ready(Chain::Main, true, "caught up");
        readiness.set_ready(Chain::Side, false, "100 blocks behind");
        let (status, _, body) = get(server.addr, "/readyz").await;
        assert_eq!(status, 503);
        assert_eq!(json_body(&body)["reason"], "side: 100 blocks behind");
        assert!(!readiness.is_ready());

        readiness.set_ready(Chain::Side, true, "caught up");
        let (status, _, body) = get(server.addr, "/readyz").await;
        assert_eq!(status, 200);
        let body = json_body(&body);
        assert_eq!(body["ready"], true);
        assert_eq!(body["chains"]["side"]["reason"], "caught up");
        assert!(readiness.is_ready());
        assert!(!readiness.any_halted());

        readiness.set_halted(Chain::Main, "reorg at block 7 deeper than 2 confirmations");
        let (status, _, body) = get(server.addr, "/readyz").await;
        assert_eq!(status, 503);
        let body = json_body(&body);
        assert_eq!(body["chains"]["main"]["halted"], true);
        assert_eq!(
            body["reason"],
            "main: reorg at block 7 deeper than 2 confirmations"
        );
        assert!(readiness.any_halted());
    }

    #[tokio::test]
    async fn metrics_are_prometheus_text_with_bounded_labels() {
        let server = start().await;
        let m = &server.state.metrics;
        m.set_chain_progress(Chain::Main, 120, 100, 18);
        m.tx_sent(Chain::Side, TxKind::ApproveDeposits);
        m.tx_sent(Chain::Side, TxKind::ApproveDeposits);
        m.tx_replaced(Chain::Main, TxKind::Release);
        m.tx_failed(Chain::Side, TxKind::SubmitSignatures);
        m.gas_spent(
            Chain::Side,
            TxKind::ApproveDeposits,
            U256::from(21_000u64 * 7),
        );
        m.gas_spent(Chain::Side, TxKind::ApproveDeposits, U256::from(3u64));
        m.set_balance(Chain::Main, U256::from(10u64).pow(U256::from(18u64)));
        m.reorg_halt(Chain::Side);
        m.set_transfer_counts(&[
            (Direction::Deposit, TransferState::Observed, 4),
            (Direction::Withdrawal, TransferState::Ready, 2),
        ]);
        server
            .state
            .readiness
            .set_ready(Chain::Main, true, "caught up");

        let (status, head, body) = get(server.addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            head.contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        for line in [
            "sidebridge_chain_head_block{chain=\"main\"} 120",
            "sidebridge_chain_cursor_block{chain=\"main\"} 100",
            "sidebridge_chain_lag_blocks{chain=\"main\"} 18",
            "sidebridge_tx_sent_total{chain=\"side\",kind=\"approve_deposits\"} 2",
            "sidebridge_tx_sent_total{chain=\"main\",kind=\"release\"} 0",
            "sidebridge_tx_replaced_total{chain=\"main\",kind=\"release\"} 1",
            "sidebridge_tx_failed_total{chain=\"side\",kind=\"submit_signatures\"} 1",
            "sidebridge_gas_spent_wei_total{chain=\"side\",kind=\"approve_deposits\"} 147003.0",
            "sidebridge_account_balance_wei{chain=\"main\"} 1000000000000000000.0",
            "sidebridge_reorg_halts_total{chain=\"side\"} 1",
            "sidebridge_transfers{direction=\"deposit\",state=\"observed\"} 4",
            "sidebridge_transfers{direction=\"withdrawal\",state=\"ready\"} 2",
            "sidebridge_transfers{direction=\"withdrawal\",state=\"completed\"} 0",
            "sidebridge_ready{chain=\"main\"} 1",
            "sidebridge_ready{chain=\"side\"} 0",
            "# TYPE sidebridge_gas_spent_wei_total counter",
        ] {
            assert!(
                body.lines().any(|l| l == line),
                "missing {line:?} in\n{body}"
            );
        }
        assert_eq!(
            m.gas_spent_wei(Chain::Side, TxKind::ApproveDeposits),
            U256::from(147_003u64)
        );

        // counts that disappear from the store go back to zero
        m.set_transfer_counts(&[]);
        let body = m.encode().expect("encode");
        assert!(body.contains("sidebridge_transfers{direction=\"deposit\",state=\"observed\"} 0"));

        // only bounded label names exist (an RPC endpoint is its position in the config, a
        // stage one of the process's fixed set)
        m.stages().precreate("planner");
        let body = m.encode().expect("encode");
        assert!(body.contains(
            "sidebridge_stage_failures_total{stage=\"planner\",disposition=\"transient\"} 0"
        ));
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            if let Some(labels) = line.split_once('{').map(|(_, rest)| rest) {
                for pair in labels
                    .trim_end_matches(|c| c != '}')
                    .trim_end_matches('}')
                    .split(',')
                {
                    let name = pair.split('=').next().expect("label name");
                    assert!(
                        [
                            "chain",
                            "kind",
                            "direction",
                            "state",
                            "method",
                            "endpoint",
                            "reason",
                            "stage",
                            "disposition"
                        ]
                        .contains(&name),
                        "unexpected label {name} in {line}"
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn gas_totals_stay_exact_beyond_u64() {
        let m = Metrics::default();
        let big = U256::from(u64::MAX);
        m.gas_spent(Chain::Main, TxKind::Release, big);
        m.gas_spent(Chain::Main, TxKind::Release, big);
        m.gas_spent(Chain::Main, TxKind::Release, U256::from(1u64));
        assert_eq!(
            m.gas_spent_wei(Chain::Main, TxKind::Release),
            big * U256::from(2u64) + U256::from(1u64)
        );
    }

    #[tokio::test]
    async fn transfer_api_by_id() {
        let server = start().await;
        let (status, _, body) = get(server.addr, &format!("/api/transfers/{KNOWN}")).await;
        assert_eq!(status, 200);
        assert_eq!(json_body(&body)["state"], "voted");

        let unknown = B256::repeat_byte(0x22);
        let (status, _, body) = get(server.addr, &format!("/api/transfers/{unknown}")).await;
        assert_eq!(status, 404);
        assert_eq!(
            json_body(&body)["error"],
            format!("transfer {unknown} not found")
        );

        let (status, _, body) = get(server.addr, "/api/transfers/0x1234").await;
        assert_eq!(status, 400);
        assert!(
            json_body(&body)["error"]
                .as_str()
                .expect("message")
                .contains("32 bytes")
        );

        let (status, _, body) = get(server.addr, &format!("/api/transfers/{BROKEN}")).await;
        assert_eq!(status, 500);
        assert_eq!(json_body(&body)["error"], "database is down");
    }

    #[tokio::test]
    async fn recent_transfers_take_a_bounded_limit() {
        let server = start().await;
        let (status, _, body) = get(server.addr, "/api/transfers?limit=2").await;
        assert_eq!(status, 200);
        let body = json_body(&body);
        let transfers = body["transfers"].as_array().expect("array");
        assert_eq!(transfers.len(), 2);
        assert_eq!(transfers[0]["limit"], 2);

        let (_, _, body) = get(server.addr, "/api/transfers").await;
        assert_eq!(
            json_body(&body)["transfers"][0]["limit"],
            DEFAULT_RECENT_LIMIT
        );
        let (_, _, body) = get(server.addr, "/api/transfers?limit=99999").await;
        assert_eq!(json_body(&body)["transfers"][0]["limit"], MAX_RECENT_LIMIT);
        let (status, _, body) = get(server.addr, "/api/transfers?limit=lots").await;
        assert_eq!(status, 400);
        assert!(
            json_body(&body)["error"]
                .as_str()
                .expect("message")
                .contains("limit")
        );
    }

    #[tokio::test]
    async fn shutdown_is_graceful() {
        let server = start().await;
        assert_eq!(get(server.addr, "/healthz").await.0, 200);
        server.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), server.task)
            .await
            .expect("stops within 10s")
            .expect("task did not panic");
        assert!(result.is_ok());
        assert!(TcpStream::connect(server.addr).await.is_err());
    }
}
