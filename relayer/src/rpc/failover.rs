//! Several RPC endpoints for one chain, used as one: every request goes to the most trusted
//! endpoint that answers, and moves on to the next when it does not.
//!
//! Trust is the operator's: the configured order ranks the endpoints, and only health moves
//! one back. An endpoint that failed a moment ago ([`COOLDOWN`]) comes after every other; a
//! fallback whose head lags the head of the endpoint in use (the first of the operator's
//! order that answers) by more than the allowed blocks comes after the fallbacks in step with
//! it ([`crate::rpc::HeadChecks`] reads each endpoint's head on a timer). A lagging endpoint is
//! still used when nothing better answers: a slow answer is better than none, and the watcher
//! checks every log against the block hashes it is served anyway.
//!
//! What an endpoint claims never ranks it above another. An attacker who runs a fallback and
//! answers a head far ahead of the operator's own node gains nothing: heads are compared with
//! the endpoint in use, never with the best claim, so the node is not marked lagging and keeps
//! every read and every broadcast. The attacker's best strategy is to make the operator's
//! endpoints fail (a cooling endpoint comes last); then the fallback answers, and what it says
//! is checked by the watcher as any single endpoint's answers are. Each failure only moves an
//! endpoint back for [`COOLDOWN`].
//!
//! Metrics per endpoint use its position in the configuration as the label (`"0"`, `"1"`, ...),
//! never its URL, which may carry an API key.

use std::{
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{
        TransportError, TransportErrorKind, TransportFut,
        http::{Http, reqwest::Url},
    },
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use tower::Service;

use crate::domain::Chain;

/// How long an endpoint that failed comes after every other one.
pub const COOLDOWN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    chain: &'static str,
    /// The endpoint's position in the configuration.
    endpoint: String,
}

/// Per-endpoint series: requests, failures, the head each reports and whether it lags.
#[derive(Debug, Clone, Default)]
pub struct EndpointMetrics {
    requests: Family<EndpointLabels, Counter>,
    errors: Family<EndpointLabels, Counter>,
    head: Family<EndpointLabels, Gauge>,
    lagging: Family<EndpointLabels, Gauge>,
}

impl EndpointMetrics {
    /// Creates the series of `chain`'s primary endpoint (position 0), which every chain has,
    /// so that they exist before the first request.
    pub fn precreate(&self, chain: Chain) {
        let labels = EndpointLabels {
            chain: chain.as_str(),
            endpoint: "0".into(),
        };
        let _ = self.requests.get_or_create(&labels);
        let _ = self.errors.get_or_create(&labels);
        let _ = self.lagging.get_or_create(&labels);
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "rpc_endpoint_requests",
            "RPC requests sent to each configured endpoint of a chain (label: its position)",
            self.requests.clone(),
        );
        registry.register(
            "rpc_endpoint_errors",
            "RPC requests an endpoint did not answer (transport error, HTTP error, rate limit)",
            self.errors.clone(),
        );
        registry.register(
            "rpc_endpoint_head_block",
            "The latest block each endpoint reported",
            self.head.clone(),
        );
        registry.register(
            "rpc_endpoint_lagging",
            "1 while an endpoint's head lags the best endpoint's by more than allowed",
            self.lagging.clone(),
        );
    }
}

#[derive(Debug, Default)]
struct EndpointState {
    failed_at: Option<Instant>,
    head: Option<u64>,
    lagging: bool,
    /// Its chain id is not known to be the configured one yet (it did not answer at start):
    /// it gets no request until [`Failover::check_heads`] has read it.
    unchecked: bool,
    /// It answered another chain id: never used.
    refused: bool,
}

#[derive(Debug)]
struct Endpoint {
    labels: EndpointLabels,
    http: Http<alloy::transports::http::reqwest::Client>,
    /// For reading this endpoint's head alone.
    reader: DynProvider,
    state: Mutex<EndpointState>,
}

impl Endpoint {
    fn state(&self) -> std::sync::MutexGuard<'_, EndpointState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The endpoints of one chain as one transport (see the module docs).
#[derive(Debug, Clone)]
pub struct Failover {
    endpoints: Arc<Vec<Endpoint>>,
    max_lag: u64,
    metrics: EndpointMetrics,
    /// The chain id every endpoint must serve, once [`Failover::check_chain_ids`] set it.
    chain_id: Arc<std::sync::OnceLock<u64>>,
}

impl Failover {
    /// The endpoints at `urls`, in order of preference; an error names a URL that does not
    /// parse by its position.
    pub fn new(
        chain: Chain,
        urls: &[String],
        max_lag: u64,
        metrics: EndpointMetrics,
    ) -> Result<Self, String> {
        if urls.is_empty() {
            return Err("no RPC URL".into());
        }
        let mut endpoints = Vec::with_capacity(urls.len());
        for (i, url) in urls.iter().enumerate() {
            let parsed: Url = url
                .parse()
                .map_err(|e| format!("RPC URL #{i}: invalid: {e}"))?;
            endpoints.push(Endpoint {
                labels: EndpointLabels {
                    chain: chain.as_str(),
                    endpoint: i.to_string(),
                },
                http: Http::new(parsed.clone()),
                reader: ProviderBuilder::new().connect_http(parsed).erased(),
                state: Mutex::new(EndpointState::default()),
            });
        }
        for e in &endpoints {
            // every series exists from the start
            let _ = metrics.requests.get_or_create(&e.labels);
            let _ = metrics.errors.get_or_create(&e.labels);
            let _ = metrics.lagging.get_or_create(&e.labels);
        }
        Ok(Self {
            endpoints: Arc::new(endpoints),
            max_lag,
            metrics,
            chain_id: Arc::default(),
        })
    }

    /// Checks that every endpoint serves chain `expected`, each read tried `tries` times
    /// `pause` apart (a dropped request at start-up is no reason to refuse to run). An endpoint
    /// that answers another chain id is an error: a configuration that names one must not
    /// run. One that does not answer is left unchecked and gets no request until a later
    /// [`Failover::check_heads`] reads its chain id; so one fallback that is down cannot stop
    /// a relayer from starting. Returns the positions left unchecked and why, or, when no
    /// endpoint answered, the primary's error.
    pub async fn check_chain_ids(
        &self,
        expected: u64,
        tries: u32,
        pause: Duration,
    ) -> Result<Vec<(usize, String)>, ChainIdError> {
        let _ = self.chain_id.set(expected);
        let mut unchecked = Vec::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            let mut last = String::new();
            let mut answered = None;
            for attempt in 0..tries.max(1) {
                if attempt > 0 {
                    tokio::time::sleep(pause).await;
                }
                match e.reader.get_chain_id().await {
                    Ok(id) => {
                        answered = Some(id);
                        break;
                    }
                    Err(err) => last = crate::rpc::describe(&without_url(err, i)),
                }
            }
            match answered {
                Some(id) if id == expected => e.state().unchecked = false,
                Some(actual) => {
                    return Err(ChainIdError::Wrong {
                        position: i,
                        actual,
                    });
                }
                None => {
                    e.state().unchecked = true;
                    unchecked.push((i, last));
                }
            }
        }
        if unchecked.len() == self.endpoints.len() {
            let (position, reason) = unchecked.swap_remove(0);
            return Err(ChainIdError::Unreachable { position, reason });
        }
        Ok(unchecked)
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Whether endpoint `e` failed less than [`COOLDOWN`] before `now`.
    fn cooling(e: &Endpoint, now: Instant) -> bool {
        e.state()
            .failed_at
            .is_some_and(|t| now.duration_since(t) < COOLDOWN)
    }

    /// Positions in the order to try them now: the configured order, an endpoint that failed
    /// recently after every other, a lagging fallback after those in step. The primary (the
    /// operator's own node) is never behind a lagging flag: one set while it cooled down and a
    /// fallback was the reference does not outlive the cooldown.
    fn order(&self, now: Instant) -> Vec<usize> {
        let mut order: Vec<(bool, bool, usize)> = self
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                let s = e.state();
                !s.unchecked && !s.refused
            })
            .map(|(i, e)| (Self::cooling(e, now), i != 0 && e.state().lagging, i))
            .collect();
        order.sort_unstable();
        order.into_iter().map(|(_, _, i)| i).collect()
    }

    async fn send(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let mut last = None;
        for i in self.order(Instant::now()) {
            let e = &self.endpoints[i];
            self.metrics.requests.get_or_create(&e.labels).inc();
            let mut http = e.http.clone();
            let answer = http.call(request.clone()).await;
            let rate_limited =
                matches!(&answer, Ok(r) if r.iter_errors().any(|e| matches!(e.code, 429 | -32005)));
            if answer.is_ok() && !rate_limited {
                e.state().failed_at = None;
                return answer;
            }
            self.metrics.errors.get_or_create(&e.labels).inc();
            e.state().failed_at = Some(Instant::now());
            last = Some(answer.map_err(|err| without_url(err, i)));
        }
        last.unwrap_or_else(|| {
            Err(TransportErrorKind::custom_str(
                "no RPC endpoint is usable (none has answered the configured chain id)",
            ))
        })
    }

    /// Reads every endpoint's head; those more than the allowed blocks behind the endpoint in
    /// use (the first of the configured order that answers: never a claim ranked above it)
    /// are marked lagging until they catch up.
    pub async fn check_heads(&self) {
        self.check_unchecked().await;
        let mut heads = Vec::with_capacity(self.endpoints.len());
        for e in self.endpoints.iter() {
            let head = e.reader.get_block_number().await.ok();
            if let Some(h) = head {
                self.metrics
                    .head
                    .get_or_create(&e.labels)
                    .set(i64::try_from(h).unwrap_or(i64::MAX));
            }
            heads.push(head);
        }
        // the configured order, a cooling endpoint last; never the order of the claims
        let now = Instant::now();
        let mut by_trust: Vec<usize> = (0..self.endpoints.len()).collect();
        by_trust.sort_by_key(|&i| Self::cooling(&self.endpoints[i], now));
        let reference = by_trust.into_iter().find_map(|i| heads[i].map(|h| (i, h)));
        for (i, (e, head)) in self.endpoints.iter().zip(heads).enumerate() {
            let lagging = match (reference, head) {
                (Some((r, _)), _) if r == i => false,
                (Some((_, best)), Some(h)) => h.saturating_add(self.max_lag) < best,
                // no answer: the request path's cooldown judges it
                _ => e.state().lagging,
            };
            let mut s = e.state();
            if lagging != s.lagging {
                tracing::warn!(target: "rpc", chain = e.labels.chain, endpoint = %e.labels.endpoint,
                    ?head, reference = ?reference.map(|r| r.1), lagging,
                    "RPC endpoint {}", if lagging { "lags the endpoint in use: used after those in step" } else { "caught up" });
            }
            s.lagging = lagging;
            s.head = head;
            self.metrics
                .lagging
                .get_or_create(&e.labels)
                .set(i64::from(lagging));
        }
    }

    /// Reads the chain id of each endpoint that did not answer it at start: the configured
    /// one makes it usable, another refuses it for good.
    async fn check_unchecked(&self) {
        let Some(&expected) = self.chain_id.get() else {
            return;
        };
        for (i, e) in self.endpoints.iter().enumerate() {
            if !e.state().unchecked {
                continue;
            }
            let Ok(actual) = e.reader.get_chain_id().await else {
                continue;
            };
            let mut s = e.state();
            s.unchecked = false;
            if actual == expected {
                tracing::info!(target: "rpc", chain = e.labels.chain, endpoint = i,
                    "RPC endpoint answered the configured chain id: used from now on");
            } else {
                s.refused = true;
                tracing::error!(target: "rpc", chain = e.labels.chain, endpoint = i, expected, actual,
                    "RPC endpoint serves another chain: never used");
            }
        }
    }

    /// Whether there is more than one endpoint to choose from (else heads need no checks).
    pub fn has_fallbacks(&self) -> bool {
        self.endpoints.len() > 1
    }
}

/// Why [`Failover::check_chain_ids`] refused the endpoints.
#[derive(Debug, thiserror::Error)]
pub enum ChainIdError {
    #[error("endpoint #{position} has chain id {actual}")]
    Wrong { position: usize, actual: u64 },
    #[error("endpoint #{position}: {reason}")]
    Unreachable { position: usize, reason: String },
}

/// A transport error with every URL in its text replaced by the endpoint's position: the
/// HTTP client names the URL it failed to reach, and a provider's URL carries its API key,
/// which must not reach `/readyz`, the index's overview or a log line. Still a transport
/// error, so still retried as one.
fn without_url(err: TransportError, position: usize) -> TransportError {
    match err {
        alloy::transports::RpcError::Transport(TransportErrorKind::MissingBatchResponse(_)) => err,
        alloy::transports::RpcError::Transport(kind) => {
            // the whole cause chain on one line: "connection refused" is in a source
            TransportErrorKind::custom_str(&scrub_urls(&crate::rpc::describe(&kind), position))
        }
        other => other,
    }
}

/// `text` with each `scheme://…` run (up to a space, a quote or a closing bracket) replaced
/// by `RPC endpoint #position`.
pub(crate) fn scrub_urls(text: &str, position: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '.' && c != '-')
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '"' | '\'' | '>'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str(&format!("RPC endpoint #{position}"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl Service<RequestPacket> for Failover {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        Box::pin(self.clone().send(request))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;
    use crate::rpc::{RpcHealth, failover_provider};

    /// A node that answers `eth_chainId` and `eth_blockNumber`, counts what it is asked, and
    /// can be made to fail (HTTP 503).
    #[derive(Debug, Default)]
    struct FakeNode {
        chain_id: AtomicU64,
        head: AtomicU64,
        down: AtomicBool,
        asked: AtomicU64,
        /// The next this many requests fail (HTTP 503), as dropped requests would.
        drop_next: AtomicU64,
    }

    async fn fake(head: u64) -> (String, Arc<FakeNode>) {
        let node = Arc::new(FakeNode::default());
        node.head.store(head, Ordering::SeqCst);
        node.chain_id.store(31337, Ordering::SeqCst);
        let state = node.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let node = state.clone();
                async move {
                    use axum::response::IntoResponse;
                    node.asked.fetch_add(1, Ordering::SeqCst);
                    let dropped = node
                        .drop_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if dropped || node.down.load(Ordering::SeqCst) {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    let result = match body["method"].as_str() {
                        Some("eth_chainId") => {
                            format!("{:#x}", node.chain_id.load(Ordering::SeqCst))
                        }
                        _ => format!("{:#x}", node.head.load(Ordering::SeqCst)),
                    };
                    axum::Json(
                        serde_json::json!({"jsonrpc": "2.0", "id": body["id"], "result": result}),
                    )
                    .into_response()
                }
            }),
        );
        let addr = crate::testing::serve(app).await;
        (format!("http://{addr}"), node)
    }

    fn count(family: &Family<EndpointLabels, Counter>, endpoint: &str) -> u64 {
        family
            .get_or_create(&EndpointLabels {
                chain: "main",
                endpoint: endpoint.into(),
            })
            .get()
    }

    fn provider(urls: &[String], metrics: &EndpointMetrics) -> (DynProvider, Failover) {
        let f = Failover::new(Chain::Main, urls, 5, metrics.clone()).expect("valid URLs");
        let health = Arc::new(RpcHealth::new(Chain::Main, Default::default()));
        (failover_provider(f.clone(), health), f)
    }

    #[tokio::test]
    async fn a_dead_primary_is_passed_over_and_the_fallback_answers() {
        let (url, node) = fake(100).await;
        let metrics = EndpointMetrics::default();
        // nothing listens on port 9 of loopback: the primary refuses every connection
        let (p, _) = provider(&["http://127.0.0.1:9".into(), url], &metrics);
        assert_eq!(p.get_chain_id().await.expect("the fallback answers"), 31337);
        assert_eq!(count(&metrics.errors, "0"), 1);
        assert_eq!(count(&metrics.requests, "1"), 1);
        // while the primary cools down, requests go to the fallback first
        assert_eq!(p.get_block_number().await.expect("answered"), 100);
        assert_eq!(
            count(&metrics.errors, "0"),
            1,
            "the dead primary was not asked again"
        );
        assert_eq!(node.asked.load(Ordering::SeqCst), 2);
    }

    fn lagging(metrics: &EndpointMetrics, i: &str) -> i64 {
        metrics
            .lagging
            .get_or_create(&EndpointLabels {
                chain: "main",
                endpoint: i.into(),
            })
            .get()
    }

    /// The attack as reproduced: a fallback the operator does not run answers a head far
    /// ahead of the operator's own node. The node stays the endpoint in use for every read
    /// and broadcast; the stranger's claim marks nobody lagging.
    #[tokio::test]
    async fn a_fallback_claiming_a_higher_head_takes_no_traffic_from_the_operators_node() {
        let (own_url, own) = fake(100).await;
        let (stranger_url, stranger) = fake(106).await;
        let metrics = EndpointMetrics::default();
        let (p, f) = provider(&[own_url, stranger_url], &metrics);
        f.check_heads().await;
        assert_eq!((lagging(&metrics, "0"), lagging(&metrics, "1")), (0, 0));
        let before = stranger.asked.load(Ordering::SeqCst);
        for _ in 0..5 {
            assert_eq!(p.get_block_number().await.expect("answered"), 100);
        }
        assert_eq!(
            stranger.asked.load(Ordering::SeqCst),
            before,
            "the stranger is asked nothing while the operator's node answers"
        );

        // even a claim of the whole u64 range changes nothing
        stranger.head.store(u64::MAX, Ordering::SeqCst);
        f.check_heads().await;
        assert_eq!(lagging(&metrics, "0"), 0);
        assert_eq!(p.get_block_number().await.expect("answered"), 100);

        // one failure of the operator's node while the stranger is the reference: the node is
        // judged lagging then, and first again as soon as its cooldown ends
        own.down.store(true, Ordering::SeqCst);
        assert_eq!(
            p.get_block_number().await.expect("the fallback answers"),
            u64::MAX
        );
        own.down.store(false, Ordering::SeqCst);
        f.check_heads().await;
        assert_eq!(lagging(&metrics, "0"), 1, "behind the fallback in use");
        for e in f.endpoints.iter() {
            e.state().failed_at = None; // the cooldown is over
        }
        let before = own.asked.load(Ordering::SeqCst);
        assert_eq!(p.get_block_number().await.expect("answered"), 100);
        assert_eq!(own.asked.load(Ordering::SeqCst), before + 1);
    }

    /// Among fallbacks, one lagging the operator's node comes after one in step with it, and
    /// is still used when nothing else answers.
    #[tokio::test]
    async fn a_fallback_lagging_the_endpoint_in_use_is_used_only_when_nothing_else_answers() {
        let (own_url, own) = fake(200).await;
        let (behind_url, behind) = fake(100).await;
        let (in_step_url, in_step) = fake(199).await;
        let metrics = EndpointMetrics::default();
        let (p, f) = provider(&[own_url, behind_url, in_step_url], &metrics);
        f.check_heads().await;
        assert_eq!(
            (
                lagging(&metrics, "0"),
                lagging(&metrics, "1"),
                lagging(&metrics, "2")
            ),
            (0, 1, 0)
        );
        own.down.store(true, Ordering::SeqCst);
        let before = behind.asked.load(Ordering::SeqCst);
        assert_eq!(p.get_block_number().await.expect("answered"), 199);
        assert_eq!(
            behind.asked.load(Ordering::SeqCst),
            before,
            "the lagging one is passed over"
        );

        in_step.down.store(true, Ordering::SeqCst);
        assert_eq!(p.get_block_number().await.expect("answered"), 100);
        assert_eq!(count(&metrics.errors, "2"), 1);
    }

    /// The faults finding: with requests dropped, a restarted relayer exited at start-up on
    /// the first one. Dropped chain-id reads are tried again; a fallback that is down is left
    /// out (no request reaches it) instead of refusing the start, and used once it answers the
    /// configured chain id; only all endpoints silent refuse.
    #[tokio::test]
    async fn start_up_survives_dropped_requests_and_a_dead_fallback() {
        let (own_url, own) = fake(10).await;
        let (fallback_url, fallback) = fake(10).await;
        own.drop_next.store(3, Ordering::SeqCst);
        fallback.down.store(true, Ordering::SeqCst);
        let metrics = EndpointMetrics::default();
        let (p, f) = provider(&[own_url, fallback_url], &metrics);
        let unchecked = f
            .check_chain_ids(31337, 5, Duration::from_millis(10))
            .await
            .expect("the primary answers on its fourth try");
        assert_eq!(unchecked.iter().map(|u| u.0).collect::<Vec<_>>(), vec![1]);
        // the unchecked fallback gets nothing, even when the primary fails
        own.down.store(true, Ordering::SeqCst);
        let asked = fallback.asked.load(Ordering::SeqCst);
        p.get_block_number()
            .await
            .expect_err("nothing usable answers");
        assert_eq!(fallback.asked.load(Ordering::SeqCst), asked);
        // once it answers the configured chain id it is used
        fallback.down.store(false, Ordering::SeqCst);
        f.check_heads().await;
        assert_eq!(
            p.get_block_number().await.expect("the fallback answers"),
            10
        );

        // every endpoint silent: refused, naming the primary by position
        let (silent_url, silent) = fake(10).await;
        silent.down.store(true, Ordering::SeqCst);
        let (_, f) = provider(&[silent_url], &metrics);
        let err = f
            .check_chain_ids(31337, 2, Duration::from_millis(10))
            .await
            .expect_err("nothing answers");
        assert!(err.to_string().starts_with("endpoint #0:"), "{err}");
    }

    /// A fallback that was down at start and later answers another chain id is never used.
    #[tokio::test]
    async fn a_fallback_that_comes_up_on_another_chain_is_never_used() {
        let (own_url, own) = fake(10).await;
        let (other_url, other) = fake(99).await;
        other.down.store(true, Ordering::SeqCst);
        let metrics = EndpointMetrics::default();
        let (p, f) = provider(&[own_url, other_url], &metrics);
        f.check_chain_ids(31337, 1, Duration::ZERO)
            .await
            .expect("own answers");
        other.chain_id.store(1, Ordering::SeqCst);
        other.down.store(false, Ordering::SeqCst);
        f.check_heads().await;
        own.down.store(true, Ordering::SeqCst);
        let asked = other.asked.load(Ordering::SeqCst);
        p.get_block_number()
            .await
            .expect_err("only the other chain answers");
        assert_eq!(other.asked.load(Ordering::SeqCst), asked, "never asked");
    }

    /// An endpoint that refuses the connection: the error the provider returns (and so the
    /// readiness reason and every log line built from it) names its position, never its URL
    /// or the API key in it.
    #[tokio::test]
    async fn a_transport_error_never_carries_the_endpoints_url() {
        let metrics = EndpointMetrics::default();
        let (p, _) = provider(
            &["http://127.0.0.1:9/v3/SECRETKEY?apikey=SECRETKEY".into()],
            &metrics,
        );
        let err = p.get_block_number().await.expect_err("nothing listens");
        let text = crate::rpc::describe(&err);
        assert!(!text.contains("SECRETKEY"), "{text}");
        assert!(!text.contains("127.0.0.1:9"), "{text}");
        assert!(text.contains("RPC endpoint #0"), "{text}");
        assert!(
            crate::rpc::is_transient(&err),
            "still a transport failure: {text}"
        );
    }

    #[test]
    fn urls_are_scrubbed_wherever_they_stand() {
        assert_eq!(
            scrub_urls(
                "error sending request for url (https://h.example/v1/KEY): refused",
                2
            ),
            "error sending request for url (RPC endpoint #2): refused"
        );
        assert_eq!(
            scrub_urls("http://a/KEY and wss://b/KEY2", 0),
            "RPC endpoint #0 and RPC endpoint #0"
        );
        assert_eq!(scrub_urls("no url here", 1), "no url here");
    }

    #[test]
    fn a_bad_url_is_named_by_its_position() {
        let err = Failover::new(
            Chain::Side,
            &["http://127.0.0.1:8545".into(), "not a url".into()],
            5,
            EndpointMetrics::default(),
        )
        .expect_err("invalid");
        assert!(err.starts_with("RPC URL #1: invalid"), "{err}");
    }

    /// A fallback that serves another chain is refused at start, named by its position and
    /// with its API key redacted, before any request could reach it.
    #[tokio::test]
    async fn an_endpoint_of_another_chain_is_refused_at_start() {
        let (good, _) = fake(100).await;
        let (other, other_node) = fake(100).await;
        other_node.chain_id.store(1, Ordering::SeqCst);
        let cfg = sidebridge_core::config::ChainConfig {
            rpc_url: good,
            fallback_rpc_urls: vec![format!("{other}/?apikey=SECRETKEY")],
            max_head_lag: 5,
            chain_id: 31337,
            bridge: alloy::primitives::Address::ZERO,
            hub: false,
            governance: alloy::primitives::Address::ZERO,
            operational: alloy::primitives::Address::ZERO,
            confirmations: 1,
            poll_interval: Duration::from_secs(1),
            max_fee_per_gas: 0,
            start_block: 0,
            min_balance: 0,
        };
        let health = Arc::new(RpcHealth::new(Chain::Main, Default::default()));
        let err = crate::node::connect_chain(Chain::Main, &cfg, health, EndpointMetrics::default())
            .await
            .expect_err("another chain");
        let text = err.to_string();
        assert!(
            text.contains("has chain id 1, the config expects 31337"),
            "{text}"
        );
        assert!(!text.contains("SECRETKEY"), "{text}");
    }
}
