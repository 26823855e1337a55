//! A relayer node, wired: checks its chains and database, then runs the pipeline — two
//! watchers, the auditor, the planner, two submitters — beside the health monitor, the
//! endpoints' head checks and the HTTP surface, until asked to stop. Nothing here decides
//! anything: each part is a [`crate::stage::Stage`] in its own module, run by the one stage
//! loop. A stage that fails fatally (or panics) ends the node with an error naming it;
//! SIGINT/SIGTERM stop taking work and return within a deadline (every attempt is persisted
//! first, and a restart follows what is still pending).

use std::{path::PathBuf, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
};
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    audit::Auditor,
    config::{ChainConfig, Config},
    domain::Chain,
    ha::{self, HaSettings, RoleReport, Timing},
    handles::Handles,
    health::{self, Readiness, StatusReport, Watched},
    http::{HttpState, StoreApi},
    ledger::watch::FeeCoverage,
    metrics::Metrics,
    planner::{METRICS_EVERY, Planner, RpcFacts, Settings, Sweep},
    rpc::{EndpointMetrics, Failover, HeadChecks, RpcHealth},
    signer::ValidatorSigner,
    stage::{self, SHUTDOWN_DEADLINE, Tasks},
    store::{Store, StoreError},
    submitter::{RpcSink, SubmitConfig, Submitter, TxObserver},
    watcher::{ChainStatus, Route, RpcEventSource, UnconfirmedTail, Watcher},
};

/// How long each submitter follows its transactions after a SIGTERM so that what mines is
/// charged before exit (inside [`SHUTDOWN_DEADLINE`]).
pub const SUBMITTER_DRAIN: Duration = Duration::from_secs(15);

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
    #[error("{0}")]
    WrongBridges(String),
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

/// Connects to a chain over its endpoints ([`Failover`]) and checks that each one serves the
/// configured chain (an endpoint that cannot be checked at start is an error: one serving
/// another chain must never be used) and that every configured contract has code. Every
/// request's outcome is reported to `health`; the endpoints' heads are for
/// [`HeadChecks`].
pub async fn connect_chain(
    chain: Chain,
    cfg: &ChainConfig,
    health: Arc<RpcHealth>,
    endpoint_metrics: EndpointMetrics,
) -> Result<(DynProvider, Failover), NodeError> {
    let unreachable_at = |i: usize, reason: String| NodeError::Unreachable {
        chain,
        url: cfg.rpc_url_redacted_at(i),
        reason,
    };
    let endpoints = Failover::new(chain, &cfg.rpc_urls(), cfg.max_head_lag, endpoint_metrics)
        .map_err(|e| unreachable_at(0, e))?;
    // a dropped request at start-up is retried as any request is; an endpoint still silent
    // after that is left out until it answers, and only all of them silent refuses the start
    let unchecked = endpoints
        .check_chain_ids(
            cfg.chain_id,
            crate::rpc::RETRIES + 1,
            crate::rpc::RETRY_PAUSE,
        )
        .await
        .map_err(|e| match e {
            crate::rpc::ChainIdError::Wrong { position, actual } => NodeError::WrongChainId {
                chain,
                url: cfg.rpc_url_redacted_at(position),
                expected: cfg.chain_id,
                actual,
            },
            crate::rpc::ChainIdError::Unreachable { position, reason } => {
                unreachable_at(position, reason)
            }
        })?;
    for (i, reason) in unchecked {
        tracing::warn!(target: "node", %chain, endpoint = i, url = %cfg.rpc_url_redacted_at(i), %reason,
            "RPC endpoint does not answer: left out until it answers the configured chain id");
    }
    let provider = crate::rpc::failover_provider(endpoints.clone(), health);
    let unreachable = |reason: String| unreachable_at(0, reason);
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
    Ok((provider, endpoints))
}

/// Both chains ([`connect_chain`] each): each provider with the health its requests report
/// to, and the stage that checks its endpoints' heads when it has fallbacks.
pub async fn connect_chains(
    cfgs: [&ChainConfig; 2],
    metrics: &Metrics,
) -> Result<[Connected; 2], NodeError> {
    let mut out = Vec::with_capacity(2);
    for (chain, cfg) in Chain::ALL.into_iter().zip(cfgs) {
        let health = Arc::new(RpcHealth::new(chain, metrics.rpc_errors()));
        let (provider, endpoints) =
            connect_chain(chain, cfg, health.clone(), metrics.rpc_endpoints()).await?;
        let heads = endpoints.has_fallbacks().then(|| HeadChecks {
            chain,
            endpoints,
            every: cfg.poll_interval,
        });
        out.push(Connected {
            provider,
            health,
            heads,
        });
    }
    let side = out.pop().expect("two chains were connected");
    let main = out.pop().expect("two chains were connected");
    Ok([main, side])
}

/// A chain [`connect_chains`] connected.
#[derive(Debug)]
pub struct Connected {
    pub provider: DynProvider,
    pub health: Arc<RpcHealth>,
    /// The endpoints' head checks, for the caller's task set (`None`: a single endpoint).
    pub heads: Option<HeadChecks>,
}

/// Longest a planner waits between rounds when nothing wakes it (watcher progress and freed
/// work do): time-driven work such as a takeover turn or a queue's ETA is seen within it.
pub const PLANNER_SAFETY_NET: Duration = Duration::from_secs(1);

/// How often a round reads every unfinished transfer, not only those that need this validator.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Where the node writes the address its HTTP surface bound (port 0 picks a free one): beside
/// a SQLite database, else beside the config file.
pub fn http_addr_file(config: &Config) -> Option<PathBuf> {
    addr_file(
        config.database_url.expose(),
        config.source.as_deref(),
        "relayer.http-addr",
    )
}

/// The file `name` beside the SQLite database `url` names, else beside the config file.
pub(crate) fn addr_file(
    url: &str,
    config_source: Option<&std::path::Path>,
    name: &str,
) -> Option<PathBuf> {
    let sqlite = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .or_else(|| (!url.contains("://")).then_some(url));
    let dir = match sqlite {
        Some(path) => PathBuf::from(path.split('?').next().unwrap_or(path))
            .parent()?
            .to_path_buf(),
        None => config_source?.parent()?.to_path_buf(),
    };
    Some(dir.join(name))
}

/// Binds the HTTP listener and reports the address it got (port 0 picks a free one) in
/// `file`, written whole and then renamed so that a reader never sees half an address.
pub(crate) async fn bind_reported(
    addr: std::net::SocketAddr,
    file: Option<PathBuf>,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), NodeError> {
    let listen_error = |source| NodeError::Listen { addr, source };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    if let Some(file) = file {
        let tmp = file.with_extension("tmp");
        let written =
            std::fs::write(&tmp, format!("{bound}\n")).and_then(|()| std::fs::rename(&tmp, &file));
        if let Err(e) = written {
            tracing::warn!(target: "node", file = %file.display(), error = %e, "cannot write the HTTP address file");
        }
    }
    Ok((listener, bound))
}

/// Runs a node until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    signer: ValidatorSigner,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    // the chains first: a wrong chain or address must refuse to start before anything is written
    let metrics = Arc::new(Metrics::default());
    let [main, side] = connect_chains([&config.main, &config.side], &metrics).await?;
    let route = Route::between(&config.main, &config.side);
    route
        .check_bridges(&main.provider, &side.provider)
        .await
        .map_err(NodeError::WrongBridges)?;
    let store = Store::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    let (listener, http_addr) = bind_reported(config.http_listen, http_addr_file(&config)).await?;
    tracing::info!(target: "node", validator = %signer.address(), http = %http_addr,
        database = store.backend(), hub_route = ?route.hub.then(|| route.id()), "relayer starting");

    let readiness = Arc::new(Readiness::default());
    let work = shutdown.child_token();
    let account = signer.address();
    let heads = [main.heads, side.heads];
    let (main, main_rpc, side, side_rpc) = (main.provider, main.health, side.provider, side.health);
    let pipeline = Arc::new(Pipeline {
        config: config.clone(),
        signer,
        handles: Handles {
            store: store.clone(),
            main: main.clone(),
            side: side.clone(),
            route,
            metrics: metrics.clone(),
            readiness: readiness.clone(),
        },
    });
    let mut tasks: Tasks = if config.ha.enabled {
        // only the node holding the lease runs the pipeline; see `crate::ha`
        let settings = HaSettings {
            database_url: config.database_url.expose().to_string(),
            key: ha::lease_key(account, config.main.chain_id, config.side.chain_id),
            timing: Timing::from_takeover(config.ha.takeover),
        };
        let report = RoleReport {
            metrics: metrics.clone(),
            readiness: readiness.clone(),
        };
        let start: ha::StartActive = Box::new(move |token| {
            let pipeline = pipeline.clone();
            Box::pin(async move { pipeline.start(token).await.map_err(|e| e.to_string()) })
        });
        let mut tasks = JoinSet::new();
        let token = work.clone();
        tasks.spawn(async move { ("ha", ha::run(settings, report, start, token).await) });
        tasks
    } else {
        metrics.set_active(true);
        pipeline.start(work.clone()).await?
    };

    let watched = [
        (Chain::Main, &main, main_rpc),
        (Chain::Side, &side, side_rpc),
    ]
    .into_iter()
    .map(|(chain, provider, rpc)| {
        let cfg = config.chain(chain);
        metrics.set_gas_runway(chain, U256::from(cfg.min_balance));
        Watched {
            chain,
            provider: provider.clone(),
            route,
            rpc,
            min_balance: U256::from(cfg.min_balance),
        }
    })
    .collect();
    let monitor = health::Monitor {
        account,
        chains: watched,
        rpc_failure: config.relay.rpc_failure,
        metrics: metrics.clone(),
        readiness: readiness.clone(),
    };
    stage::spawn(&mut tasks, monitor, work.clone(), metrics.stages());
    if let Some(coverage) = FeeCoverage::new(
        config.fees.clone(),
        store.clone(),
        main.clone(),
        route,
        metrics.clone(),
    ) {
        stage::spawn(&mut tasks, coverage, work.clone(), metrics.stages());
    }
    for heads in heads.into_iter().flatten() {
        stage::spawn(&mut tasks, heads, work.clone(), metrics.stages());
    }

    let http_state = HttpState {
        metrics: metrics.clone(),
        readiness: readiness.clone(),
        api: Arc::new(StoreApi(store.clone())),
    };
    let token = shutdown.clone();
    tasks.spawn(async move {
        let result = crate::http::serve(listener, http_state, token)
            .await
            .map_err(|e| e.to_string());
        ("http", result)
    });

    supervise(tasks, work, shutdown, "relayer").await
}

/// What a node runs only while it acts for its validator: the watchers, the submitters and the
/// planner. Without `[ha]` that is always; with it, while this node holds the lease.
struct Pipeline {
    config: Config,
    signer: ValidatorSigner,
    handles: Handles,
}

impl Pipeline {
    /// Starts the pipeline's tasks under `work`. Fresh submitters take back what any earlier
    /// run (this process's or another's) left pending before the planner plans.
    async fn start(&self, work: CancellationToken) -> Result<Tasks, NodeError> {
        let Pipeline {
            config,
            signer,
            handles,
        } = self;
        let Handles {
            store,
            main,
            side,
            route,
            metrics,
            readiness,
        } = handles;
        let route = *route;
        let progress = Arc::new(Notify::new());
        let mut tasks: Tasks = JoinSet::new();
        for (chain, provider) in [(Chain::Main, main), (Chain::Side, side)] {
            spawn_watcher(
                &mut tasks,
                WatchSetup {
                    chain,
                    cfg: config.chain(chain),
                    log_range: config.relay.log_range,
                    provider,
                    store,
                    route,
                    progress: &progress,
                },
                metrics,
                readiness,
                work.clone(),
            );
        }

        let observer: Arc<dyn TxObserver> = metrics.clone();
        let submitter = |chain: Chain, provider: &DynProvider| {
            let cfg = config.chain(chain);
            Submitter::new(
                SubmitConfig {
                    chain,
                    chain_id: cfg.chain_id,
                    max_fee_per_gas: cfg.max_fee_per_gas,
                    tx_timeout: config.relay.tx_timeout,
                    fee_bump_percent: config.relay.fee_bump_percent,
                    max_in_flight: config.relay.max_in_flight,
                    poll_interval: cfg.poll_interval.min(Duration::from_millis(500)),
                    drain_timeout: SUBMITTER_DRAIN,
                    confirmations: cfg.confirmations,
                },
                RpcSink::new(provider.clone()),
                signer.clone(),
                store.clone(),
                observer.clone(),
            )
            .with_gate(readiness.clone())
        };
        // the submitters run inside the task set, so aborting it (a lost lease) aborts them
        let (main_tx, stage) = submitter(Chain::Main, main).task();
        stage::spawn(&mut tasks, stage, work.clone(), metrics.stages());
        let (side_tx, stage) = submitter(Chain::Side, side).task();
        stage::spawn(&mut tasks, stage, work.clone(), metrics.stages());

        let auditor = Auditor::new(handles.clone());
        auditor.restore().await?;
        stage::spawn(&mut tasks, auditor, work.clone(), metrics.stages());
        let planner = Planner {
            facts: RpcFacts::new(main.clone(), side.clone(), route),
            store: store.clone(),
            main_tx,
            side_tx,
            signer: signer.clone(),
            route,
            settings: Settings {
                batch_size: config.relay.batch_size,
                takeover_secs: config.relay.release_takeover.as_secs(),
            },
            per_round: config.relay.transfers_per_round,
            sweep: Sweep::every(SWEEP_EVERY),
            metrics_every: Sweep::every(METRICS_EVERY),
            verified: Default::default(),
            poll: PLANNER_SAFETY_NET,
            progress,
            readiness: readiness.clone(),
            metrics: metrics.clone(),
            confirmations: (config.main.confirmations, config.side.confirmations),
        };
        stage::spawn(&mut tasks, planner, work, metrics.stages());
        Ok(tasks)
    }
}

/// Waits until `shutdown` is cancelled or a critical task ends (an error then), stops the
/// work, and gives every task [`SHUTDOWN_DEADLINE`] to finish.
pub(crate) async fn supervise(
    mut tasks: Tasks,
    work: CancellationToken,
    shutdown: CancellationToken,
    what: &'static str,
) -> Result<(), NodeError> {
    let failure = tokio::select! {
        biased;
        _ = shutdown.cancelled() => None,
        Some(joined) = tasks.join_next() => match joined {
            _ if shutdown.is_cancelled() => None,
            Ok((name, Ok(()))) => Some(NodeError::TaskDied(name, "returned".into())),
            Ok((name, Err(err))) => Some(NodeError::TaskDied(name, err)),
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
            tracing::info!(target: "node", "{what} stopped");
            Ok(())
        }
    }
}

/// What a chain's watcher is built from (the relayer's and the index's alike).
#[derive(Debug)]
pub(crate) struct WatchSetup<'a> {
    pub(crate) chain: Chain,
    pub(crate) cfg: &'a ChainConfig,
    pub(crate) log_range: u64,
    pub(crate) provider: &'a DynProvider,
    pub(crate) store: &'a Store,
    pub(crate) route: Route,
    pub(crate) progress: &'a Arc<Notify>,
}

/// A chain's watcher, and the task that turns its status into metrics and readiness. Returns
/// a view of that status (head, cursor, lag, halt) for whoever else wants it.
pub(crate) fn spawn_watcher(
    tasks: &mut Tasks,
    setup: WatchSetup<'_>,
    metrics: &Arc<Metrics>,
    readiness: &Arc<Readiness>,
    token: CancellationToken,
) -> tokio::sync::watch::Receiver<ChainStatus> {
    let WatchSetup {
        chain,
        cfg,
        log_range,
        provider,
        store,
        route,
        progress,
    } = setup;
    let (status, updates) = tokio::sync::watch::channel(ChainStatus::default());
    let view = status.subscribe();
    let watcher = Watcher {
        chain,
        source: RpcEventSource {
            provider: provider.clone(),
            bridge: cfg.bridge,
            topic1: (chain == Chain::Main && route.hub).then(|| route.id()),
        },
        store: store.clone(),
        route,
        confirmations: cfg.confirmations,
        poll_interval: cfg.poll_interval,
        log_range,
        start_block: cfg.start_block,
        status,
        progress: progress.clone(),
        unconfirmed: (chain == Chain::Side).then(UnconfirmedTail::default),
    };
    let stages = metrics.stages();
    stage::spawn(tasks, watcher, token.clone(), stages);
    let report = StatusReport::new(chain, updates, metrics.clone(), readiness.clone());
    stage::spawn(tasks, report, token, stages);
    view
}
