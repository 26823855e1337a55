//! Talking to a chain, and the one place where failures are judged.
//!
//! A provider is built once per chain with a retry layer: a transport failure, a rate limit
//! (HTTP 429, JSON-RPC -32005) or a node that is briefly gone is retried inside the provider,
//! up to [`RETRIES`] times with a fixed pause, so no caller wraps a call in its own retry loop.
//! Replay is safe for what the relayer sends: reads, and `eth_sendRawTransaction` of a signed
//! transaction (a duplicate is "already known").
//!
//! Under both, [`Failover`] sends each request to the best of the chain's endpoints that
//! answers (a chain may have several: `rpc_url` and `fallback_rpc_urls`).
//!
//! Inside the retry layer, [`HealthLayer`] sees every try: it counts failures by method
//! (`sidebridge_rpc_errors_total`) and remembers since when the endpoint has failed without a
//! single answer, which [`crate::health`] turns into readiness.
//!
//! Every error type of the pipeline answers one question through [`Classify`]: may trying again
//! later help ([`Disposition::Transient`]), must the process stop ([`Disposition::Fatal`]), or
//! must the node stop acting until an operator looks ([`Disposition::Halt`])? Task loops decide
//! on that answer alone, never on an error's text.

use std::{
    sync::{Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{
        client::ClientBuilder,
        json_rpc::{RequestPacket, ResponsePacket},
    },
    transports::{
        RpcError, TransportError, TransportErrorKind, TransportFut,
        layers::{RetryBackoffLayer, RetryPolicy},
    },
};
use std::sync::Arc;
use tower::{Layer, Service};

mod failover;

pub use failover::{COOLDOWN, ChainIdError, EndpointMetrics, Failover};

use crate::{
    domain::Chain,
    metrics::{RpcErrors, RpcLabels},
    stage::{Flow, Passing, Stage},
};

/// Retries of one request inside the provider before its error reaches the caller.
pub const RETRIES: u32 = 5;
/// Pause between two tries of one request.
pub const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// It may go away by itself: log it, and try again on the next round.
    Transient,
    /// Nothing will change without an operator: end the process with a non-zero code.
    Fatal,
    /// The node must act on nothing until an operator looks (a reorg deeper than the
    /// confirmations), but keeps serving its status.
    Halt,
}

/// The one question every error of the pipeline answers.
pub trait Classify {
    fn disposition(&self) -> Disposition;

    fn is_transient(&self) -> bool {
        self.disposition() == Disposition::Transient
    }
}

/// Whether an RPC error may go away by itself: the transport failed, or the node asked us to
/// slow down. An answer (a revert, a bad request) is not.
pub fn is_transient(err: &RpcError<TransportErrorKind>) -> bool {
    match err {
        RpcError::Transport(kind) => !matches!(kind, TransportErrorKind::MissingBatchResponse(_)),
        RpcError::ErrorResp(resp) => matches!(resp.code, 429 | -32005),
        _ => false,
    }
}

/// The provider's retry policy: [`is_transient`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TransientPolicy;

impl RetryPolicy for TransientPolicy {
    fn should_retry(&self, error: &TransportError) -> bool {
        is_transient(error)
    }

    fn backoff_hint(&self, _error: &TransportError) -> Option<Duration> {
        None
    }
}

/// A provider for `url` alone with the retry layer, reporting every try to `health`; an error
/// when the URL does not parse.
pub fn provider(url: &str, health: Arc<RpcHealth>) -> Result<DynProvider, String> {
    let endpoints = Failover::new(
        health.chain,
        &[url.to_string()],
        0,
        EndpointMetrics::default(),
    )?;
    Ok(failover_provider(endpoints, health))
}

/// A provider over several endpoints of one chain ([`Failover`]) with the retry layer. The
/// health layer sits between the two: it sees a failure only when every endpoint failed, which
/// is what makes the chain not ready.
pub fn failover_provider(endpoints: Failover, health: Arc<RpcHealth>) -> DynProvider {
    let client = ClientBuilder::default()
        .layer(RetryBackoffLayer::new_with_policy(
            RETRIES,
            RETRY_PAUSE.as_millis() as u64,
            u64::MAX,
            TransientPolicy,
        ))
        .layer(HealthLayer(health))
        .transport(endpoints, false);
    ProviderBuilder::new().connect_client(client).erased()
}

/// A chain's endpoints checked every poll interval ([`Failover::check_heads`]): lagging ones
/// marked, silent ones' chain ids read once they answer. A [`Stage`] that never fails; only
/// worth running with fallbacks ([`Failover::has_fallbacks`]).
#[derive(Debug)]
pub struct HeadChecks {
    pub chain: Chain,
    pub endpoints: Failover,
    pub every: Duration,
}

impl Stage for HeadChecks {
    type Error = Passing;

    fn name(&self) -> &'static str {
        match self.chain {
            Chain::Main => "endpoints(main)",
            Chain::Side => "endpoints(side)",
        }
    }

    async fn step(&mut self) -> Result<Flow, Passing> {
        self.endpoints.check_heads().await;
        Ok(Flow::Idle)
    }

    fn idle(&mut self) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(self.every)
    }
}

/// An error and its causes on one line, each cause once: a layer that repeats its source's
/// text in its own message does not make the line say it twice.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let chain = std::iter::successors(Some(error), |e| e.source());
    sidebridge_core::one_line(chain.map(|e| e.to_string()))
}

/// What one chain's endpoint did lately: failures by method, and since when it has failed
/// without answering once.
#[derive(Debug)]
pub struct RpcHealth {
    chain: Chain,
    errors: RpcErrors,
    /// Since when every try failed, and the last failure; `None` while it answers.
    failing: Mutex<Option<(Instant, String)>>,
}

impl RpcHealth {
    /// Counts into `errors` (the metrics' family, or a family of its own).
    pub fn new(chain: Chain, errors: RpcErrors) -> Self {
        Self {
            chain,
            errors,
            failing: Mutex::new(None),
        }
    }

    fn answered(&self) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn failed<'a>(&self, methods: impl Iterator<Item = &'a str>, error: String) {
        for method in methods {
            self.errors
                .get_or_create(&RpcLabels {
                    chain: self.chain.as_str(),
                    method: method.to_string(),
                })
                .inc();
        }
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        let since = failing.as_ref().map_or_else(Instant::now, |f| f.0);
        *failing = Some((since, error));
    }

    /// How long every try has failed, and the last error; `None` while the endpoint answers.
    pub fn failing_for(&self) -> Option<(Duration, String)> {
        self.failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(since, error)| (since.elapsed(), error.clone()))
    }

    /// Failures of `method` counted so far.
    pub fn errors_of(&self, method: &str) -> u64 {
        self.errors
            .get_or_create(&RpcLabels {
                chain: self.chain.as_str(),
                method: method.to_string(),
            })
            .get()
    }
}

/// The layer that reports each try to an [`RpcHealth`]. A node's answer counts as an answer
/// (a revert is the endpoint working), except a rate limit (HTTP 429, JSON-RPC -32005).
#[derive(Debug, Clone)]
pub struct HealthLayer(pub Arc<RpcHealth>);

impl<S> Layer<S> for HealthLayer {
    type Service = HealthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HealthService {
            inner,
            health: self.0.clone(),
        }
    }
}

/// See [`HealthLayer`].
#[derive(Debug, Clone)]
pub struct HealthService<S> {
    inner: S,
    health: Arc<RpcHealth>,
}

impl<S> Service<RequestPacket> for HealthService<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let methods: Vec<String> = request.method_names().map(str::to_owned).collect();
        let health = self.health.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let failure = match &result {
                Ok(response) => response
                    .iter_errors()
                    .find(|e| matches!(e.code, 429 | -32005))
                    .map(|e| format!("rate limited ({}): {}", e.code, e.message)),
                Err(e) => Some(describe(e)),
            };
            match failure {
                Some(error) => health.failed(methods.iter().map(String::as_str), error),
                None => health.answered(),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: i64, message: &str) -> RpcError<TransportErrorKind> {
        RpcError::ErrorResp(
            serde_json::from_value(serde_json::json!({ "code": code, "message": message }))
                .expect("a JSON-RPC error object"),
        )
    }

    #[test]
    fn rate_limits_and_transport_failures_are_transient_reverts_are_not() {
        assert!(is_transient(&answer(429, "too many requests")));
        assert!(is_transient(&answer(-32005, "limit exceeded")));
        assert!(!is_transient(&answer(3, "execution reverted")));
        assert!(!is_transient(&answer(-32602, "invalid params")));
        assert!(is_transient(&TransportErrorKind::backend_gone()));
        assert!(TransientPolicy.should_retry(&TransportErrorKind::backend_gone()));
        assert!(!TransientPolicy.should_retry(&answer(3, "execution reverted")));
    }

    #[tokio::test]
    async fn a_provider_retries_a_dead_endpoint_then_reports_it() {
        // nothing listens on port 9 of loopback (discard): every try is refused
        let health = Arc::new(RpcHealth::new(Chain::Main, RpcErrors::default()));
        let p = provider("http://127.0.0.1:9", health.clone()).expect("valid URL");
        let started = std::time::Instant::now();
        let err = p.get_chain_id().await.expect_err("nobody answers");
        assert!(is_transient(&err), "{err}");
        // it tried again before giving up
        assert!(
            started.elapsed() >= RETRY_PAUSE * RETRIES,
            "{:?}",
            started.elapsed()
        );
        // every try was counted, and the endpoint is failing since the first
        assert_eq!(health.errors_of("eth_chainId"), u64::from(RETRIES) + 1);
        let (failing, error) = health.failing_for().expect("failing");
        assert!(failing >= RETRY_PAUSE * RETRIES, "{failing:?}");
        assert!(error.contains("onnection refused"), "{error}");
        assert!(provider("not a url", health).is_err());
    }

    /// An endpoint that fails twice (HTTP 503) and then answers: the provider's retries
    /// hide the failures from the caller, the health counts each, and the answer clears the
    /// failing state.
    #[tokio::test]
    async fn failures_are_counted_per_try_and_an_answer_clears_them() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let tries = Arc::new(AtomicU32::new(0));
        let seen = tries.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let seen = seen.clone();
                async move {
                    use axum::response::IntoResponse;
                    if seen.fetch_add(1, Ordering::SeqCst) < 2 {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    let id = body["id"].clone();
                    axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": id, "result": "0x7a69"}))
                        .into_response()
                }
            }),
        );
        let addr = crate::testing::serve(app).await;

        let health = Arc::new(RpcHealth::new(Chain::Side, RpcErrors::default()));
        let p = provider(&format!("http://{addr}"), health.clone()).expect("valid URL");
        assert_eq!(
            p.get_chain_id().await.expect("answered on the third try"),
            31337
        );
        assert_eq!(tries.load(Ordering::SeqCst), 3);
        assert_eq!(health.errors_of("eth_chainId"), 2);
        assert_eq!(health.errors_of("eth_getLogs"), 0);
        assert!(health.failing_for().is_none(), "an answer clears it");
    }
}
