//! The public transfer index (`relayer index --config index.toml`): what anyone may run to
//! follow every transfer of a bridge, with no key and nothing to send. It is the relayer's own
//! watchers writing into a database of its own (same schema, same migrations; SQLite by
//! default, PostgreSQL for production), with no planner, signer or submitter behind them, and
//! a public, read-only HTTP surface in front ([`api`]): a JSON API by id, transaction,
//! address, token and state, the overview of the bridge ([`overview`]), and a status page.
//! Every request passes a per-client rate limit, a deadline and a no-body rule ([`limit`]), so
//! the surface may be bound publicly, unlike a validator's.
//!
//! It is a subcommand of the relayer rather than a binary of its own: it is the relayer's
//! watcher and store, so one binary to build, ship and version keeps the two from drifting;
//! nothing of the validator's (key, planner, submitter) is started.
//!
//! Because the index reads only what the chains say, an index rebuilt from an empty database
//! answers exactly as the one it replaces (see `store::index`).

pub mod api;
pub mod limit;
pub mod overview;
pub mod server;

use std::sync::Arc;

use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    config::IndexConfig,
    domain::Chain,
    health::Readiness,
    metrics::Metrics,
    node::{self, NodeError, WatchSetup},
    stage::{self, Tasks},
    store::Store,
    watcher::Route,
};

/// The file beside a SQLite database (else beside the config) where the index writes the
/// address it bound, for whoever started it on port 0.
pub const ADDR_FILE: &str = "index.http-addr";

/// Runs the index until `shutdown` is cancelled.
pub async fn run(config: IndexConfig, shutdown: CancellationToken) -> Result<(), NodeError> {
    let metrics = Arc::new(Metrics::keyless());
    let connected = node::connect_chains([&config.main, &config.side], &metrics).await?;
    let route = Route::between(&config.main, &config.side);
    route
        .check_bridges(&connected[0].provider, &connected[1].provider)
        .await
        .map_err(NodeError::WrongBridges)?;
    let store = Store::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    let addr_file = node::addr_file(
        config.database_url.expose(),
        config.source.as_deref(),
        ADDR_FILE,
    );
    let (listener, addr) = node::bind_reported(config.listen, addr_file).await?;
    tracing::info!(target: "index", http = %addr, database = store.backend(),
        "transfer index starting (keyless: it watches and serves, it sends nothing)");

    let readiness = Arc::new(Readiness::default());
    // nothing plans from the index's progress; the watchers want somewhere to say it
    let progress = Arc::new(Notify::new());
    let mut tasks: Tasks = JoinSet::new();
    let work = shutdown.child_token();
    let mut providers = Vec::new();
    for chain in connected {
        if let Some(heads) = chain.heads {
            stage::spawn(&mut tasks, heads, work.clone(), metrics.stages());
        }
        providers.push(chain.provider);
    }
    let mut views = Vec::new();
    for (chain, provider) in Chain::ALL.into_iter().zip(&providers) {
        let status = node::spawn_watcher(
            &mut tasks,
            WatchSetup {
                chain,
                cfg: config.chain(chain),
                log_range: config.log_range,
                provider,
                store: &store,
                route,
                progress: &progress,
            },
            &metrics,
            &readiness,
            work.clone(),
        );
        views.push(overview::ChainView::new(
            &config,
            chain,
            provider.clone(),
            status,
        ));
    }
    let (side, main) = (views.pop(), views.pop());
    let (Some(main), Some(side)) = (main, side) else {
        return Err(NodeError::TaskDied(
            "index",
            "a chain has no watcher".into(),
        ));
    };

    let (overview_tx, overview_rx) = tokio::sync::watch::channel(serde_json::Value::Null);
    let refresh = overview::Refresh {
        main,
        side,
        route,
        store: store.clone(),
        out: overview_tx,
    };
    stage::spawn(&mut tasks, refresh, work.clone(), metrics.stages());

    let router = api::router(
        api::ApiState {
            store: store.clone(),
            overview: overview_rx,
            metrics,
            readiness: readiness.clone(),
        },
        Arc::new(limit::RateLimiter::new(config.rate_limit)),
    );
    let token = shutdown.clone();
    tasks.spawn(async move {
        let served = server::serve(listener, router, server::Limits::PUBLIC, token).await;
        ("http", served.map_err(|e| e.to_string()))
    });
    node::supervise(tasks, work, shutdown, "transfer index").await
}
