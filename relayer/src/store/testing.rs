//! What the store's tests share: a fresh SQLite file or PostgreSQL database per test body
//! (`on_both_backends!` runs each body on both), and small builders of records and batches.

use std::{future::Future, time::Duration};

pub(crate) use alloy::primitives::{Address, B256, U256};
pub(crate) use sidebridge_contracts::Transfer;
pub(crate) use sqlx::{AnyConnection, Connection, Executor, Row};

pub(crate) use super::{FeeEntry, Store, WatchBatch};
use super::{connect_failure, redact_url};
pub(crate) use crate::domain::{
    Chain, DepositVote, Direction, Execution, PublishedSignature, SeenBlock, TransferRecord,
    TransferState, TxKind,
};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

pub(crate) async fn with_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("relayer.db");
    let store = Store::connect(path.to_str().expect("utf-8 temp path"))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    body(store.clone()).await;
    store.close().await;
}

pub(crate) async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = std::env::var("SIDEBRIDGE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
    sqlx::any::install_default_drivers();
    let unreachable = |reason: String| {
        let message = format!(
            "PostgreSQL not reachable at {}: {reason}",
            redact_url(&base)
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}");
        }
        eprintln!("{message}: skipping");
    };
    let mut admin =
        match tokio::time::timeout(Duration::from_secs(5), AnyConnection::connect(&base)).await {
            Err(_) => return unreachable("no answer within 5s".into()),
            Ok(Err(e @ (sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut))) => {
                return unreachable(connect_failure(&e));
            }
            Ok(Err(e)) => panic!("PostgreSQL at {} refused us: {e}", redact_url(&base)),
            Ok(Ok(conn)) => conn,
        };
    let name = format!("sb_{:016x}", rand::random::<u64>());
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create the test database");
    let store = Store::connect(&database_url(&base, &name))
        .await
        .expect("open the test database");
    store.migrate().await.expect("migrate PostgreSQL");
    // in a task, so that a failing body still lets us drop its database
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    let _ = admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await;
    let _ = admin.close().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

/// `base` with its database (the URL path) replaced by `name`.
pub(crate) fn database_url(base: &str, name: &str) -> String {
    let (base, query) = base
        .split_once('?')
        .map_or((base, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut url = format!("{}/{name}", &base[..path]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

pub(crate) fn id(n: u8) -> B256 {
    B256::repeat_byte(n)
}

pub(crate) fn record(n: u8, direction: Direction, nonce: u64) -> TransferRecord {
    TransferRecord {
        id: id(n),
        direction,
        transfer: Transfer {
            srcChainId: U256::from(31_337),
            srcBridge: Address::repeat_byte(0x5A),
            dstChainId: U256::MAX - U256::from(n),
            dstBridge: Address::repeat_byte(n ^ 0xB0),
            nonce,
            token: Address::repeat_byte(0xAB),
            sender: Address::repeat_byte(0xCD),
            recipient: Address::repeat_byte(n),
            // above 2^128: only decimal text carries it
            amount: U256::from(u128::MAX) * U256::from(3) + U256::from(n),
        },
        fee: U256::from(10u64).pow(U256::from(18)),
        source_block: 1_000 + nonce,
        source_tx: B256::repeat_byte(!n),
        source_hash: B256::repeat_byte(0x5A),
        source_time: 1_600_000_000 + nonce as i64,
        state: TransferState::Observed,
        created_at: 1_700_000_000 + nonce as i64,
        updated_at: 1_700_000_000 + nonce as i64,
    }
}

pub(crate) fn batch(chain: Chain, to_block: u64) -> WatchBatch {
    let mut batch = WatchBatch::empty(chain, to_block);
    batch.blocks = vec![SeenBlock {
        number: to_block,
        hash: B256::with_last_byte(to_block as u8),
    }];
    batch
}

pub(crate) fn execution(direction: Direction, nonce: u64, n: u8, queued: bool) -> Execution {
    Execution {
        direction,
        nonce,
        transfer_id: id(n),
        queued,
        tx_hash: B256::repeat_byte(0x70 + n),
        block: 10,
    }
}

pub(crate) fn vote(nonce: u64, n: u8, validator: u8) -> DepositVote {
    DepositVote {
        nonce,
        transfer_id: id(n),
        validator: Address::repeat_byte(validator),
        tx_hash: B256::repeat_byte(validator ^ 0x0F),
    }
}

pub(crate) fn fee(n: u8, chain: Chain) -> FeeEntry {
    FeeEntry {
        transfer_id: id(n),
        chain,
        token: Address::repeat_byte(0xAB),
        amount: U256::from(u64::MAX) * U256::from(n),
        timestamp: 1_700_000_000 + i64::from(n),
    }
}

pub(crate) async fn state_of(store: &Store, n: u8) -> Option<TransferState> {
    store.transfer(id(n)).await.expect("read").map(|r| r.state)
}

/// Runs each listed `async fn(Store)` body as two tests: on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::store::testing::with_sqlite(super::$test).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::store::testing::with_postgres(super::$test).await;
                }
            )*
        }
    };
}

pub(crate) use on_both_backends;
