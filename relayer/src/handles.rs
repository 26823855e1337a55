//! The handles a node's long-running parts share: its store, both chains' providers and the
//! contract route between them, and the metrics and readiness they report to. Cheap to clone:
//! a connection pool, two clients and shared counters.

use std::sync::Arc;

use alloy::providers::DynProvider;

use crate::{health::Readiness, http::Metrics, store::Store, watcher::Route};

#[derive(Debug, Clone)]
pub struct Handles {
    pub store: Store,
    pub main: DynProvider,
    pub side: DynProvider,
    pub route: Route,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}
