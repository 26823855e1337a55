//! A process's named tasks (each critical: one that ends stops the process) and how long they
//! get to finish after a stop signal. The relayer's node, its standby logic and the transfer
//! index all run their work this way.

use std::time::Duration;

use tokio::task::JoinSet;

/// How long in-flight work may take after a stop signal.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);

/// The named tasks of a process, each critical.
pub(crate) type Tasks = JoinSet<(&'static str, Result<(), String>)>;
