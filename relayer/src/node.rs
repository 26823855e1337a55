//! A relayer node: checks its chains and database, then runs the pipeline — two watchers, the
//! planner loop, two submitters and the HTTP surface — until asked to stop. A critical task
//! that dies ends the node with an error; SIGINT/SIGTERM stop taking work, let what is in
//! flight finish (every attempt is persisted first anyway) and return within a deadline.

use std::{collections::HashSet, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::Signature,
    sol_types::SolCall,
};
use sidebridge_contracts::{
    bindings::{MainBridge, SideBridge},
    pack_signatures,
};
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    audit::Auditor,
    config::{ChainConfig, Config},
    domain::{Chain, Direction, TransferRecord, TransferState, TxKind},
    http::{HttpState, Metrics, Readiness, TransferApi},
    planner::{
        Action, DepositFacts, QueueFacts, ValidatorView, WithdrawalFacts, plan_deposits,
        plan_withdrawals,
    },
    signer::ValidatorSigner,
    store::{Store, StoreError},
    submitter::{SubmitConfig, Submitter, SubmitterHandle, TxObserver, TxOutcome, TxRequest},
    watcher::{ChainStatus, Route, RpcEventSource, Watcher, unix_now},
};

/// How long in-flight work may take after a stop signal.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);

/// Why a node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{chain} chain: cannot reach {url}: {reason}")]
    Unreachable {
        chain: Chain,
        url: String,
        reason: String,
    },
    #[error("{chain} chain at {url} has chain id {actual}, the config expects {expected}")]
    WrongChainId {
        chain: Chain,
        url: String,
        expected: u64,
        actual: u64,
    },
    #[error("{chain} chain: no contract code at {what} {address}")]
    NoCode {
        chain: Chain,
        what: &'static str,
        address: Address,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("http listener {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("task {0} stopped unexpectedly: {1}")]
    TaskDied(&'static str, String),
}

/// Connects to a chain and checks that it is the configured one and that every configured
/// contract has code.
pub async fn connect_chain(chain: Chain, cfg: &ChainConfig) -> Result<DynProvider, NodeError> {
    let unreachable = |reason: String| NodeError::Unreachable {
        chain,
        url: cfg.rpc_url_redacted(),
        reason,
    };
    let url = cfg
        .rpc_url
        .parse()
        .map_err(|e| unreachable(format!("{e}")))?;
    let provider = ProviderBuilder::new().connect_http(url).erased();
    let actual = provider
        .get_chain_id()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if actual != cfg.chain_id {
        return Err(NodeError::WrongChainId {
            chain,
            url: cfg.rpc_url_redacted(),
            expected: cfg.chain_id,
            actual,
        });
    }
    for (what, address) in [
        ("bridge", cfg.bridge),
        ("governance", cfg.governance),
        ("operational", cfg.operational),
    ] {
        let code = provider
            .get_code_at(address)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if code.is_empty() {
            return Err(NodeError::NoCode {
                chain,
                what,
                address,
            });
        }
    }
    Ok(provider)
}

/// Runs a node until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    signer: ValidatorSigner,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    // the chains first: a wrong chain or address must refuse to start before anything is written
    let main = connect_chain(Chain::Main, &config.main).await?;
    let side = connect_chain(Chain::Side, &config.side).await?;
    let store = Store::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .map_err(|source| NodeError::Listen {
            addr: config.http_listen,
            source,
        })?;
    tracing::info!(target: "node", validator = %signer.address(), http = %config.http_listen,
        database = store.backend(), "relayer starting");

    let route = Route {
        main_chain_id: config.main.chain_id,
        side_chain_id: config.side.chain_id,
        main_bridge: config.main.bridge,
        side_bridge: config.side.bridge,
    };
    let metrics = Arc::new(Metrics::default());
    let readiness = Arc::new(Readiness::default());
    let progress = Arc::new(Notify::new());
    let mut tasks: JoinSet<(&'static str, Result<(), NodeError>)> = JoinSet::new();
    let work = shutdown.child_token();

    for (chain, provider) in [(Chain::Main, &main), (Chain::Side, &side)] {
        let cfg = config.chain(chain).clone();
        let (status, mut updates) = tokio::sync::watch::channel(ChainStatus::default());
        let watcher = Watcher {
            chain,
            source: RpcEventSource {
                provider: provider.clone(),
                bridge: cfg.bridge,
            },
            store: store.clone(),
            route,
            confirmations: cfg.confirmations,
            poll_interval: cfg.poll_interval,
            log_range: config.relay.log_range,
            start_block: cfg.start_block,
            status,
            progress: progress.clone(),
        };
        let token = work.clone();
        tasks.spawn(async move {
            let name = match chain {
                Chain::Main => "watcher(main)",
                Chain::Side => "watcher(side)",
            };
            (
                name,
                watcher
                    .run(token)
                    .await
                    .map_err(|e| NodeError::TaskDied(name, e.to_string())),
            )
        });
        // the watcher's status feeds metrics and readiness
        let (metrics, readiness) = (metrics.clone(), readiness.clone());
        tokio::spawn(async move {
            let mut halted = false;
            while updates.changed().await.is_ok() {
                let s = updates.borrow_and_update().clone();
                metrics.set_chain_progress(chain, s.head, s.cursor.unwrap_or_default(), s.lag);
                match &s.halted {
                    Some(reason) => {
                        if !halted {
                            metrics.reorg_halt(chain);
                            halted = true;
                        }
                        readiness.set_halted(chain, reason);
                    }
                    None if s.lag > 64 => {
                        readiness.set_ready(chain, false, &format!("{} blocks behind", s.lag))
                    }
                    None => readiness.set_ready(chain, true, "caught up"),
                }
            }
        });
    }

    let observer: Arc<dyn TxObserver> = metrics.clone();
    let mut submitters = Vec::new();
    for (chain, provider) in [(Chain::Main, &main), (Chain::Side, &side)] {
        let cfg = config.chain(chain);
        let submitter = Submitter::new(
            SubmitConfig {
                chain,
                chain_id: cfg.chain_id,
                max_fee_per_gas: cfg.max_fee_per_gas,
                tx_timeout: config.relay.tx_timeout,
                fee_bump_percent: config.relay.fee_bump_percent,
            },
            provider.clone(),
            signer.key().clone(),
            store.clone(),
            observer.clone(),
        );
        let (handle, task) = submitter.spawn(shutdown.clone());
        tasks.spawn(async move {
            let result = task
                .await
                .map_err(|e| NodeError::TaskDied("submitter", e.to_string()));
            ("submitter", result)
        });
        submitters.push(handle);
    }
    let side_tx = submitters.pop().expect("two submitters were started");
    let main_tx = submitters.pop().expect("two submitters were started");

    let auditor = Auditor::new(
        store.clone(),
        main.clone(),
        side.clone(),
        route,
        metrics.clone(),
        readiness.clone(),
    );
    auditor.restore().await?;
    let planner = PlannerLoop {
        auditor,
        store: store.clone(),
        main: main.clone(),
        side: side.clone(),
        main_tx,
        side_tx,
        signer,
        route,
        batch_size: config.relay.batch_size,
        takeover_secs: config.relay.release_takeover.as_secs(),
        poll: config.main.poll_interval.min(config.side.poll_interval),
        progress: progress.clone(),
        readiness: readiness.clone(),
        metrics: metrics.clone(),
    };
    let token = work.clone();
    tasks.spawn(async move { ("planner", planner.run(token).await) });

    let http_state = HttpState {
        metrics: metrics.clone(),
        readiness: readiness.clone(),
        api: Arc::new(StoreApi(store.clone())),
    };
    let token = shutdown.clone();
    tasks.spawn(async move {
        let result = crate::http::serve(listener, http_state, token)
            .await
            .map_err(|e| NodeError::TaskDied("http", e.to_string()));
        ("http", result)
    });

    // a critical task ending before shutdown ends the node
    let failure = tokio::select! {
        biased;
        _ = shutdown.cancelled() => None,
        Some(joined) = tasks.join_next() => match joined {
            _ if shutdown.is_cancelled() => None,
            Ok((name, Ok(()))) => Some(NodeError::TaskDied(name, "returned".into())),
            Ok((_, Err(err))) => Some(err),
            Err(err) => Some(NodeError::TaskDied("task", err.to_string())),
        },
    };
    work.cancel();
    shutdown.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_DEADLINE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(target: "node", "tasks still running at the shutdown deadline; their attempts are persisted");
    }
    match failure {
        Some(err) => Err(err),
        None => {
            tracing::info!(target: "node", "relayer stopped");
            Ok(())
        }
    }
}

struct PlannerLoop {
    auditor: Auditor,
    store: Store,
    main: DynProvider,
    side: DynProvider,
    main_tx: SubmitterHandle,
    side_tx: SubmitterHandle,
    signer: ValidatorSigner,
    route: Route,
    batch_size: usize,
    takeover_secs: u64,
    poll: Duration,
    progress: Arc<Notify>,
    readiness: Arc<Readiness>,
    metrics: Arc<Metrics>,
}

/// Failures of one planning round; the loop logs them and tries again.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("rpc: {0}")]
    Rpc(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Submit(#[from] crate::submitter::SubmitError),
    #[error(transparent)]
    Sign(#[from] crate::signer::SignError),
}

fn rpc<E: std::fmt::Display>(e: E) -> RoundError {
    RoundError::Rpc(e.to_string())
}

impl PlannerLoop {
    async fn run(self, shutdown: CancellationToken) -> Result<(), NodeError> {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = self.progress.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
            // the audit runs even when halted: it only reads what was confirmed
            if let Err(err) = self.auditor.round(unix_now()).await {
                if !err.is_retryable() {
                    return Err(NodeError::TaskDied("audit", err.to_string()));
                }
                tracing::warn!(target: "audit", error = %err, "audit round failed; retrying");
            }
            if self.readiness.any_halted() {
                continue; // a deep reorg: act on nothing until an operator looks
            }
            if let Err(err) = self.round(&shutdown).await {
                match &err {
                    RoundError::Store(e) if !e.is_retryable() => {
                        return Err(NodeError::TaskDied("planner", err.to_string()));
                    }
                    _ => {
                        tracing::warn!(target: "planner", error = %err, "planning round failed; retrying")
                    }
                }
            }
            self.refresh_metrics().await;
        }
    }

    async fn refresh_metrics(&self) {
        if let Ok(counts) = self.store.count_by_state().await {
            self.metrics.set_transfer_counts(&counts);
        }
        let me = self.signer.address();
        for (chain, provider) in [(Chain::Main, &self.main), (Chain::Side, &self.side)] {
            if let Ok(balance) = provider.get_balance(me).await {
                self.metrics.set_balance(chain, balance);
            }
        }
    }

    async fn view(&self, chain: Chain) -> Result<ValidatorView, RoundError> {
        let (validators, threshold) = match chain {
            Chain::Main => {
                let bridge = MainBridge::new(self.route.main_bridge, &self.main);
                (
                    bridge.validators().call().await.map_err(rpc)?,
                    bridge.validatorThreshold().call().await.map_err(rpc)?,
                )
            }
            Chain::Side => {
                let bridge = SideBridge::new(self.route.side_bridge, &self.side);
                (
                    bridge.validators().call().await.map_err(rpc)?,
                    bridge.validatorThreshold().call().await.map_err(rpc)?,
                )
            }
        };
        Ok(ValidatorView {
            me: self.signer.address(),
            validators,
            threshold: threshold.saturating_to(),
        })
    }

    async fn round(&self, shutdown: &CancellationToken) -> Result<(), RoundError> {
        let now = unix_now();
        let side_bridge = SideBridge::new(self.route.side_bridge, &self.side);
        let main_bridge = MainBridge::new(self.route.main_bridge, &self.main);
        let me = self.signer.address();

        // deposits: voted in on the side chain by the side set
        let deposits = self
            .store
            .unfinished_transfers(Direction::Deposit, 1_000)
            .await?;
        let withdrawals = self
            .store
            .unfinished_transfers(Direction::Withdrawal, 1_000)
            .await?;
        if deposits.is_empty() && withdrawals.is_empty() {
            return Ok(());
        }
        // one read of each set per round: votes and signatures need the side set
        let side_view = self.view(Chain::Side).await?;
        let mut actions = Vec::new();
        if !deposits.is_empty() {
            let view = &side_view;
            let mut with_facts = Vec::with_capacity(deposits.len());
            for record in deposits {
                // every fact is about this exact content (its id), never just its nonce
                let voted_by_me = side_bridge
                    .hasVotedDeposit(me, record.id)
                    .call()
                    .await
                    .map_err(rpc)?;
                let executed = side_bridge
                    .depositVotes(record.id)
                    .call()
                    .await
                    .map_err(rpc)?
                    .executed;
                let nonce_taken = executed
                    || side_bridge
                        .isDepositDone(record.nonce())
                        .call()
                        .await
                        .map_err(rpc)?;
                let queue = if executed {
                    let q = side_bridge
                        .queuedTransfer(record.id)
                        .call()
                        .await
                        .map_err(rpc)?;
                    queue_facts(q.eta, q.held, q.canceled, q.executed)
                } else {
                    None
                };
                with_facts.push((
                    record,
                    DepositFacts {
                        voted_by_me,
                        executed,
                        nonce_taken,
                        queue,
                    },
                ));
            }
            actions.extend(plan_deposits(
                view,
                &with_facts,
                self.batch_size,
                now,
                self.takeover_secs,
            ));
        }

        // withdrawals: signed by the side set, released under the main set
        let mut release_view = None;
        if !withdrawals.is_empty() {
            let main_view = self.view(Chain::Main).await?;
            let current: HashSet<Address> = main_view.validators.iter().copied().collect();
            let mut with_facts = Vec::with_capacity(withdrawals.len());
            for record in withdrawals {
                let signed_by_me = side_bridge
                    .hasSignedWithdrawal(me, record.id)
                    .call()
                    .await
                    .map_err(rpc)?;
                let processed = main_bridge
                    .isProcessed(record.nonce())
                    .call()
                    .await
                    .map_err(rpc)?;
                let queue = if processed {
                    let q = main_bridge
                        .queuedTransfer(record.id)
                        .call()
                        .await
                        .map_err(rpc)?;
                    queue_facts(q.eta, q.held, q.canceled, q.executed)
                } else {
                    None
                };
                let current_signers = self
                    .store
                    .signatures(record.id)
                    .await?
                    .iter()
                    .filter(|s| current.contains(&s.validator))
                    .count();
                with_facts.push((
                    record,
                    WithdrawalFacts {
                        signed_by_me,
                        current_signers,
                        processed,
                        queue,
                    },
                ));
            }
            // signing needs a side-chain validator, releasing a main-chain one
            let is_side_validator = side_view.my_index().is_some();
            for action in plan_withdrawals(
                &main_view,
                &with_facts,
                self.batch_size,
                now,
                self.takeover_secs,
            ) {
                match action {
                    Action::Sign(_) if !is_side_validator => {}
                    other => actions.push(other),
                }
            }
            release_view = Some(main_view);
        }

        for action in actions {
            if shutdown.is_cancelled() {
                break;
            }
            self.execute(action, release_view.as_ref()).await?;
        }
        Ok(())
    }

    async fn execute(
        &self,
        action: Action,
        main_view: Option<&ValidatorView>,
    ) -> Result<(), RoundError> {
        let now = unix_now();
        match action {
            Action::Mark { id, state } => {
                self.store.set_state(id, state, now).await?;
            }
            Action::Approve(batch) => {
                let transfers: Vec<SideBridge::Transfer> =
                    batch.iter().map(|r| r.transfer.clone().into()).collect();
                let input = SideBridge::approveDepositsCall { transfers }.abi_encode();
                let outcome = self
                    .side_tx
                    .submit(request(
                        TxKind::ApproveDeposits,
                        self.route.side_bridge,
                        input,
                        &batch,
                    ))
                    .await?;
                self.after(&batch, &outcome, TransferState::Voted, now)
                    .await?;
            }
            Action::Sign(batch) => {
                let mut signatures = Vec::with_capacity(batch.len() * 65);
                for record in &batch {
                    let (_, sig) = self
                        .signer
                        .sign_withdrawal(&record.transfer, self.route.main_bridge)?;
                    signatures.extend_from_slice(&sig.as_bytes());
                }
                let transfers: Vec<SideBridge::Transfer> =
                    batch.iter().map(|r| r.transfer.clone().into()).collect();
                let input = SideBridge::submitSignaturesCall {
                    transfers,
                    signatures: signatures.into(),
                }
                .abi_encode();
                let outcome = self
                    .side_tx
                    .submit(request(
                        TxKind::SubmitSignatures,
                        self.route.side_bridge,
                        input,
                        &batch,
                    ))
                    .await?;
                self.after(&batch, &outcome, TransferState::Voted, now)
                    .await?;
            }
            Action::Release(record) => {
                let Some(view) = main_view else { return Ok(()) };
                let current: HashSet<Address> = view.validators.iter().copied().collect();
                let mut published: Vec<(Address, Signature)> = self
                    .store
                    .signatures(record.id)
                    .await?
                    .into_iter()
                    .filter(|s| current.contains(&s.validator))
                    .filter_map(|s| {
                        Signature::try_from(s.signature.as_slice())
                            .ok()
                            .map(|sig| (s.validator, sig))
                    })
                    .collect();
                published.sort_by_key(|(v, _)| *v);
                published.truncate(view.threshold);
                if published.len() < view.threshold {
                    return Ok(());
                }
                let input = MainBridge::releaseCall {
                    t: record.transfer.clone().into(),
                    signatures: pack_signatures(published),
                }
                .abi_encode();
                let batch = [*record];
                let outcome = self
                    .main_tx
                    .submit(request(
                        TxKind::Release,
                        self.route.main_bridge,
                        input,
                        &batch,
                    ))
                    .await?;
                self.after(&batch, &outcome, TransferState::Completed, now)
                    .await?;
            }
            Action::ExecuteQueued(record) => {
                let t = record.transfer.clone();
                let (kind, to, input, handle) = match record.direction {
                    Direction::Deposit => (
                        TxKind::ExecuteQueuedMint,
                        self.route.side_bridge,
                        SideBridge::executeQueuedCall { t: t.into() }.abi_encode(),
                        &self.side_tx,
                    ),
                    Direction::Withdrawal => (
                        TxKind::ExecuteQueuedRelease,
                        self.route.main_bridge,
                        MainBridge::executeQueuedCall { t: t.into() }.abi_encode(),
                        &self.main_tx,
                    ),
                };
                // completion comes from the DepositExecuted / Released the watcher sees
                handle.submit(request(kind, to, input, &[*record])).await?;
            }
        }
        Ok(())
    }

    async fn after(
        &self,
        batch: &[TransferRecord],
        outcome: &TxOutcome,
        state: TransferState,
        now: i64,
    ) -> Result<(), RoundError> {
        let done = match outcome {
            TxOutcome::Mined { success, .. } => *success,
            TxOutcome::AlreadyDone => true,
            TxOutcome::Rejected(_) => false,
        };
        if done {
            for record in batch {
                self.store.set_state(record.id, state, now).await?;
            }
        }
        Ok(())
    }
}

/// What `queuedTransfer` says, when the transfer is in the queue at all (a zero ETA: not).
fn queue_facts(eta: U256, held: bool, canceled: bool, executed: bool) -> Option<QueueFacts> {
    (eta != U256::ZERO).then(|| QueueFacts {
        eta: eta.saturating_to(),
        held,
        canceled,
        executed,
    })
}

fn request(kind: TxKind, to: Address, input: Vec<u8>, batch: &[TransferRecord]) -> TxRequest {
    TxRequest {
        kind,
        to,
        input: Bytes::from(input),
        transfers: batch.iter().map(|r| (r.id, r.token())).collect(),
    }
}

/// The JSON API over the store.
struct StoreApi(Store);

fn transfer_json(r: &TransferRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "direction": r.direction.as_str(),
        "state": r.state.as_str(),
        "nonce": r.nonce(),
        "token": r.transfer.token,
        "sender": r.transfer.sender,
        "recipient": r.transfer.recipient,
        "amount": r.transfer.amount.to_string(),
        "fee": r.fee.to_string(),
        "sourceBlock": r.source_block,
        "sourceTx": r.source_tx,
        "createdAt": r.created_at,
        "updatedAt": r.updated_at,
    })
}

impl TransferApi for StoreApi {
    fn transfer(
        &self,
        id: B256,
    ) -> crate::http::BoxFuture<'_, Result<Option<serde_json::Value>, String>> {
        Box::pin(async move {
            self.0
                .transfer(id)
                .await
                .map(|r| r.as_ref().map(transfer_json))
                .map_err(|e| e.to_string())
        })
    }

    fn recent(
        &self,
        limit: u32,
    ) -> crate::http::BoxFuture<'_, Result<Vec<serde_json::Value>, String>> {
        Box::pin(async move {
            self.0
                .recent_transfers(limit)
                .await
                .map(|rs| rs.iter().map(transfer_json).collect())
                .map_err(|e| e.to_string())
        })
    }
}

impl TxObserver for Metrics {
    fn sent(&self, chain: Chain, kind: TxKind) {
        self.tx_sent(chain, kind);
    }
    fn replaced(&self, chain: Chain, kind: TxKind) {
        self.tx_replaced(chain, kind);
    }
    fn failed(&self, chain: Chain, kind: TxKind) {
        self.tx_failed(chain, kind);
    }
    fn mined(&self, chain: Chain, kind: TxKind, cost_wei: U256) {
        self.gas_spent(chain, kind, cost_wei);
    }
}
