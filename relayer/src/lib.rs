//! The relayer every validator runs with its own key. A pipeline of tasks sharing one database:
//!
//! ```text
//! watcher(main) ─┐                               ┌─▶ submitter(side) ─┐
//!                ├─▶ store (transfers, cursors) ─┤                    ├─▶ receipts ─▶ ledger
//! watcher(side) ─┘        ▲                      └─▶ submitter(main) ─┘
//!                         └──── signer (validator key) ◀── planner
//! ```
//!
//! - [`watcher`]: ranged `eth_getLogs` from a persisted cursor, confirmed blocks only, halts on
//!   a reorg deeper than the confirmations;
//! - [`store`]: SQLite or PostgreSQL through sqlx; every transition is one transaction;
//! - [`planner`]: pure decisions of what this validator must do next;
//! - [`signer`]: the validator key (encrypted keystore) signing EIP-712 transfers;
//! - [`submitter`]: the one owner of an account's nonce on a chain, fees, replacement, retries;
//! - [`ledger`]: every wei of gas charged to the transfers it served;
//! - [`audit`]: every mint, release and vote compared with what the source emitted; alarms;
//! - [`health`]: readiness by chain (watcher, RPC, validator membership, gas runway);
//! - [`ha`]: two nodes per validator, one active (a PostgreSQL advisory lock), one standby;
//! - [`http`] and [`metrics`]: Prometheus metrics, health, readiness and a small JSON API.
//! - [`stage`]: the one loop every long-running part runs through, judging each failure once
//!   (transient, halt, fatal) and naming the part that failed.
//! - [`secrets`]: `relayer secrets`, the sealed secrets file's seal, rotate and show-versions.
//!
//! [`index`] is the keyless transfer index anyone may run (`relayer index`): the same watchers
//! and store, no key, and a public read-only API with a status page.

pub mod audit;
pub mod failpoint;
pub mod ha;
pub mod handles;
pub mod health;
pub mod http;
pub mod index;
pub mod ledger;
pub mod metrics;
pub mod node;
pub mod planner;
pub mod rpc;
pub mod secrets;
pub mod signer;
pub mod stage;
pub mod store;
pub mod submitter;
pub mod watcher;

#[cfg(test)]
mod testing;

pub use sidebridge_contracts as contracts;
/// The configuration, the domain types and the keystore live in `sidebridge-core` (shared with
/// `bridgectl`); they are re-exported under their old names.
pub use sidebridge_core::{config, domain, keys};
