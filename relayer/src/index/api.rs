//! The index's public, read-only HTTP surface:
//!
//! - `GET /`: the status page (HTML and a little JavaScript, embedded in the binary);
//! - `GET /api/transfers`: transfers newest first, filtered by `id`, `tx` (source or
//!   destination transaction), `address` (sender or recipient), `token` (main-chain token),
//!   `state`, `direction`; paged by `limit` and `cursor` (the previous page's `next_cursor`);
//! - `GET /api/transfers/{id}`: one transfer, or 404;
//! - `GET /api/overview`: validators, heads and lag, pause, limits left, fees collected;
//! - `GET /healthz`, `GET /metrics`.
//!
//! A query parameter this API does not know, given twice, or malformed is a 400 whose JSON
//! names it: a typo (`adress=`) must not quietly return every transfer.

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use axum::{
    Json, Router,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::limit::{RateLimiter, guard};
use crate::{
    domain::{Chain, Direction},
    metrics::Metrics,
    store::{IndexFilter, IndexState, IndexedTransfer, Leg, PageCursor, Store},
};

/// Transfers per page without a `limit`.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest `limit` accepted.
pub const MAX_LIMIT: u32 = 200;

const PAGE_HTML: &str = include_str!("page.html");
const PAGE_JS: &str = include_str!("page.js");

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub overview: watch::Receiver<Value>,
    pub metrics: Arc<Metrics>,
    /// The watchers' state, exported as `sidebridge_ready` on each scrape.
    pub readiness: Arc<crate::health::Readiness>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// A query string this API refuses, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "unknown query parameter `{0}` (known: id, tx, address, token, state, direction, limit, cursor)"
    )]
    Unknown(String),
    #[error("query parameter `{0}` is given more than once")]
    Repeated(String),
    #[error("query parameter `{parameter}`: {reason}")]
    Malformed { parameter: String, reason: String },
}

impl QueryError {
    pub fn parameter(&self) -> &str {
        match self {
            QueryError::Unknown(p) | QueryError::Repeated(p) => p,
            QueryError::Malformed { parameter, .. } => parameter,
        }
    }
}

/// A parsed `/api/transfers` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferQuery {
    pub filter: IndexFilter,
    pub cursor: Option<PageCursor>,
    pub limit: u32,
}

/// Parses `/api/transfers` query pairs (already percent-decoded). Pure.
pub fn parse_query(pairs: &[(String, String)]) -> Result<TransferQuery, QueryError> {
    let mut query = TransferQuery {
        filter: IndexFilter::default(),
        cursor: None,
        limit: DEFAULT_LIMIT,
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        if seen.contains(&key.as_str()) {
            return Err(QueryError::Repeated(key.clone()));
        }
        seen.push(key);
        let malformed = |reason: &str| QueryError::Malformed {
            parameter: key.clone(),
            reason: reason.to_string(),
        };
        let hash = || {
            value
                .parse::<B256>()
                .ok()
                .filter(|_| value.len() == 66)
                .ok_or_else(|| malformed("expected 0x and 64 hex digits"))
        };
        let address = || {
            value
                .parse::<Address>()
                .ok()
                .filter(|_| value.len() == 42)
                .ok_or_else(|| malformed("expected 0x and 40 hex digits"))
        };
        let f = &mut query.filter;
        match key.as_str() {
            "id" => f.id = Some(hash()?),
            "tx" => f.tx = Some(hash()?),
            "address" => f.address = Some(address()?),
            "token" => f.token = Some(address()?),
            "state" => {
                let states = IndexState::ALL.map(IndexState::as_str).join(", ");
                f.state = Some(
                    value
                        .parse()
                        .map_err(|_| malformed(&format!("expected one of {states}")))?,
                );
            }
            "direction" => {
                f.direction = Some(match value.as_str() {
                    "deposit" => Direction::Deposit,
                    "withdrawal" => Direction::Withdrawal,
                    _ => return Err(malformed("expected deposit or withdrawal")),
                })
            }
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| malformed(&format!("expected 1 to {MAX_LIMIT}")))?;
            }
            "cursor" => query.cursor = Some(value.parse().map_err(|e: String| malformed(&e))?),
            _ => return Err(QueryError::Unknown(key.clone())),
        }
    }
    Ok(query)
}

fn leg_json(chain: Chain, leg: Option<Leg>) -> Value {
    leg.map_or(
        Value::Null,
        |l| json!({ "chain": chain.as_str(), "txHash": l.tx_hash, "block": l.block }),
    )
}

/// A transfer as the API shows it: only what the chains say (no local times), so two indexes
/// of the same chains answer the same.
pub fn transfer_json(t: &IndexedTransfer) -> Value {
    let r = &t.record;
    let (source, destination) = match r.direction {
        Direction::Deposit => (Chain::Main, Chain::Side),
        Direction::Withdrawal => (Chain::Side, Chain::Main),
    };
    let mut v = crate::http::transfer_content(r);
    v.insert("state".into(), t.state.as_str().into());
    v.insert("approvals".into(), t.approvals.into());
    v.insert(
        "source".into(),
        json!({
            "chain": source.as_str(),
            "txHash": r.source_tx,
            "block": r.source_block,
            "timestamp": r.source_time,
        }),
    );
    v.insert("destination".into(), leg_json(destination, t.destination));
    v.insert("queued".into(), leg_json(destination, t.queued));
    v.into()
}

/// The routes, each behind the rate limit, deadline and body refusal.
pub fn router(state: ApiState, limiter: Arc<RateLimiter>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/api/transfers", get(transfers))
        .route("/api/transfers/{id}", get(transfer))
        .route("/api/overview", get(overview))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint", None) })
        .with_state(state)
        .layer(middleware::from_fn_with_state(limiter, guard))
}

fn error(status: StatusCode, message: &str, parameter: Option<&str>) -> Response {
    let mut body = json!({ "error": message });
    if let Some(p) = parameter {
        body["parameter"] = p.into();
    }
    (status, Json(body)).into_response()
}

fn internal(err: crate::store::StoreError) -> Response {
    tracing::warn!(target: "index", error = %err, "index query failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the index database failed",
        None,
    )
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        PAGE_HTML,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_JS,
    )
        .into_response()
}

async fn transfers(
    State(state): State<ApiState>,
    pairs: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(Query(pairs)) = pairs else {
        return error(
            StatusCode::BAD_REQUEST,
            "the query string is not form-encoded",
            None,
        );
    };
    let query = match parse_query(&pairs) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string(), Some(e.parameter())),
    };
    match state
        .store
        .index_page(&query.filter, query.cursor, query.limit)
        .await
    {
        Ok(page) => Json(json!({
            "transfers": page.transfers.iter().map(transfer_json).collect::<Vec<_>>(),
            "next_cursor": page.next.map(|c| c.to_string()),
        }))
        .into_response(),
        Err(e) => internal(e),
    }
}

async fn transfer(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let Some(id) = id.parse::<B256>().ok().filter(|_| id.len() == 66) else {
        return error(
            StatusCode::BAD_REQUEST,
            "a transfer id is 0x and 64 hex digits",
            None,
        );
    };
    match state.store.indexed_transfer(id).await {
        Ok(Some(t)) => Json(transfer_json(&t)).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            &format!("transfer {id} not found"),
            None,
        ),
        Err(e) => internal(e),
    }
}

async fn overview(State(state): State<ApiState>) -> Response {
    let value = state.overview.borrow().clone();
    if value.is_null() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the overview is being read",
            None,
        );
    }
    Json(value).into_response()
}

async fn metrics(State(state): State<ApiState>) -> Response {
    for chain in crate::domain::Chain::ALL {
        state
            .metrics
            .set_ready(chain, state.readiness.chain(chain).ready);
    }
    crate::http::metrics_text(&state.metrics)
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
