//! A relayer node, wired: checks its chains and database, then runs the pipeline — two
//! watchers, the planner, two submitters and the HTTP surface — until asked to stop. Nothing
//! here decides anything; each stage lives in its own module. A critical task that dies ends
//! the node with an error; SIGINT/SIGTERM stop taking work and return within a deadline (every
//! attempt is persisted first, and a restart follows what is still pending).

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
    health::{self, MAX_READY_LAG, Readiness, Watched},
    http::{HttpState, StoreApi},
    metrics::Metrics,
    planner::{Planner, RpcFacts, Settings, Sweep},
    rpc::{EndpointMetrics, Failover, RpcHealth},
    signer::ValidatorSigner,
    store::{Store, StoreError},
    submitter::{RpcSink, SubmitConfig, Submitter, TxObserver},
    tasks::{SHUTDOWN_DEADLINE, Tasks},
    watcher::{ChainStatus, Rejection, Route, RpcEventSource, UnconfirmedTail, Watcher},
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
/// [`Failover::watch_heads`].
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

/// Both chains ([`connect_chain`] each), their endpoints' heads watched every poll interval
/// until `token` is cancelled; each provider with the health its requests report to.
pub async fn connect_chains(
    cfgs: [&ChainConfig; 2],
    metrics: &Metrics,
    token: &CancellationToken,
) -> Result<[(DynProvider, Arc<RpcHealth>); 2], NodeError> {
    let mut out = Vec::with_capacity(2);
    for (chain, cfg) in Chain::ALL.into_iter().zip(cfgs) {
        let health = Arc::new(RpcHealth::new(chain, metrics.rpc_errors()));
        let (provider, endpoints) =
            connect_chain(chain, cfg, health.clone(), metrics.rpc_endpoints()).await?;
        tokio::spawn(endpoints.watch_heads(cfg.poll_interval, token.clone()));
        out.push((provider, health));
    }
    let side = out.pop().expect("two chains were connected");
    let main = out.pop().expect("two chains were connected");
    Ok([main, side])
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
    let [(main, main_rpc), (side, side_rpc)] =
        connect_chains([&config.main, &config.side], &metrics, &shutdown).await?;
    let store = Store::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    let (listener, http_addr) = bind_reported(config.http_listen, http_addr_file(&config)).await?;
    tracing::info!(target: "node", validator = %signer.address(), http = %http_addr,
        database = store.backend(), "relayer starting");

    let route = Route::between(&config.main, &config.side);
    let readiness = Arc::new(Readiness::default());
    let work = shutdown.child_token();
    let account = signer.address();
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
            bridge: cfg.bridge,
            rpc,
            min_balance: U256::from(cfg.min_balance),
        }
    })
    .collect();
    let monitor = health::monitor(
        account,
        watched,
        config.relay.rpc_failure,
        metrics.clone(),
        readiness.clone(),
        work.clone(),
    );
    tasks.spawn(async move {
        monitor.await;
        ("health monitor", Ok(()))
    });
    tokio::spawn(crate::ledger::watch::watch(
        config.fees.clone(),
        store.clone(),
        main.clone(),
        config.main.bridge,
        metrics.clone(),
        work.clone(),
    ));

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
        let (main_tx, task) = submitter(Chain::Main, main).task(work.clone());
        tasks.spawn(async move { ("submitter(main)", task.await.map_err(|e| e.to_string())) });
        let (side_tx, task) = submitter(Chain::Side, side).task(work.clone());
        tasks.spawn(async move { ("submitter(side)", task.await.map_err(|e| e.to_string())) });

        let auditor = Auditor::new(handles.clone());
        auditor.restore().await?;
        let planner = Planner {
            facts: RpcFacts::new(main.clone(), side.clone(), route),
            auditor,
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
            verified: Default::default(),
            poll: PLANNER_SAFETY_NET,
            progress,
            readiness: readiness.clone(),
            metrics: metrics.clone(),
            confirmations: (config.main.confirmations, config.side.confirmations),
        };
        tasks.spawn(async move {
            (
                "planner",
                planner.run(work).await.map_err(|e| e.to_string()),
            )
        });
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
    let (status, mut updates) = tokio::sync::watch::channel(ChainStatus::default());
    let view = status.subscribe();
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
        log_range,
        start_block: cfg.start_block,
        status,
        progress: progress.clone(),
        unconfirmed: (chain == Chain::Side).then(UnconfirmedTail::default),
    };
    let name = match chain {
        Chain::Main => "watcher(main)",
        Chain::Side => "watcher(side)",
    };
    tasks.spawn(async move { (name, watcher.run(token).await.map_err(|e| e.to_string())) });
    let (metrics, readiness) = (metrics.clone(), readiness.clone());
    tokio::spawn(async move {
        let mut halted = false;
        let mut rejected = [0u64; Rejection::ALL.len()];
        while updates.changed().await.is_ok() {
            let s = updates.borrow_and_update().clone();
            metrics.set_chain_progress(chain, s.head, s.cursor.unwrap_or_default(), s.lag);
            for (i, reason) in Rejection::ALL.into_iter().enumerate() {
                let new = s.rejected[i].saturating_sub(rejected[i]);
                if new > 0 {
                    metrics.chain_data_rejected(chain, reason.as_str(), new);
                }
            }
            rejected = s.rejected;
            match &s.halted {
                Some(reason) => {
                    if !halted {
                        metrics.reorg_halt(chain);
                        halted = true;
                    }
                    readiness.set_halted(chain, reason);
                }
                None if s.cursor.is_some_and(|c| s.head < c) => readiness.set_ready(
                    chain,
                    false,
                    &format!(
                        "the node's head {} is below block {} already processed: it lags or lies",
                        s.head,
                        s.cursor.unwrap_or_default()
                    ),
                ),
                None if s.lag > MAX_READY_LAG => {
                    readiness.set_ready(chain, false, &format!("{} blocks behind", s.lag))
                }
                None => readiness.set_ready(chain, true, "caught up"),
            }
        }
    });
    view
}
