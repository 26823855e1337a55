//! The decoder and the store against every field at its extremes: whatever a validator puts in
//! a vote or a node puts in a log, the batch the decoder makes commits, and it keeps exactly
//! the entries that can be this route's.

use alloy::{
    primitives::{Address, B256, Bytes, Log as PrimitiveLog, LogData, U256},
    rpc::types::Log,
    sol_types::SolEvent,
};
use proptest::{prelude::*, test_runner::TestRunner};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, SideBridge},
    transfer_digest,
};

use super::{MAX_NONCE, Rejection, Route, decode};
use crate::{
    domain::Chain,
    store::{
        Store,
        testing::{on_both_backends, with_sqlite},
    },
};

const ROUTE: Route = Route {
    main_chain_id: 1,
    side_chain_id: 100,
    main_bridge: Address::repeat_byte(0x11),
    side_bridge: Address::repeat_byte(0x22),
    hub: false,
};

fn extreme_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(MAX_NONCE),
        Just(MAX_NONCE + 1),
        Just(u64::MAX),
        any::<u64>(),
        0..1_000u64,
    ]
}

fn extreme_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::MAX),
        Just(U256::from(u64::MAX) + U256::from(1)),
        any::<u128>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

/// A chain id: the route's own ones most of the time, anything else otherwise.
fn chain_id() -> impl Strategy<Value = U256> {
    prop_oneof![
        3 => Just(U256::from(ROUTE.side_chain_id)),
        1 => Just(U256::from(ROUTE.main_chain_id)),
        1 => extreme_u256(),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        Just(Address::ZERO),
        Just(Address::repeat_byte(0xFF)),
        any::<[u8; 20]>().prop_map(Address::from),
    ]
}

/// One event as an attacker (a validator key or a node) would shape it, and whether the
/// decoder must keep it.
#[derive(Debug, Clone)]
enum Event {
    Locked {
        nonce: u64,
        amount: U256,
        fee: U256,
        dst: U256,
        who: Address,
        honest_id: bool,
    },
    Released {
        nonce: u64,
        amount: U256,
    },
    Burned {
        nonce: u64,
        amount: U256,
        who: Address,
        honest_id: bool,
    },
    Executed {
        nonce: u64,
        queued: bool,
    },
    Votes {
        nonces: Vec<u64>,
        trailing: usize,
    },
    Signature {
        nonce: u64,
        len: usize,
    },
    Garbage {
        main: bool,
        data: Vec<u8>,
    },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (
            extreme_u64(),
            extreme_u256(),
            extreme_u256(),
            chain_id(),
            address(),
            any::<bool>()
        )
            .prop_map(|(nonce, amount, fee, dst, who, honest_id)| Event::Locked {
                nonce,
                amount,
                fee,
                dst,
                who,
                honest_id
            }),
        (extreme_u64(), extreme_u256())
            .prop_map(|(nonce, amount)| Event::Released { nonce, amount }),
        (extreme_u64(), extreme_u256(), address(), any::<bool>()).prop_map(
            |(nonce, amount, who, honest_id)| Event::Burned {
                nonce,
                amount,
                who,
                honest_id
            }
        ),
        (extreme_u64(), any::<bool>())
            .prop_map(|(nonce, queued)| Event::Executed { nonce, queued }),
        (prop::collection::vec(extreme_u64(), 0..6), 0..40usize)
            .prop_map(|(nonces, trailing)| Event::Votes { nonces, trailing }),
        (
            extreme_u64(),
            prop_oneof![Just(65usize), Just(0), Just(64), Just(66), 0..300usize]
        )
            .prop_map(|(nonce, len)| Event::Signature { nonce, len }),
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..100))
            .prop_map(|(main, data)| Event::Garbage { main, data }),
    ]
}

/// What the decoder must make of one event: entries kept, entries dropped.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    transfers: usize,
    executions: usize,
    votes: usize,
    signatures: usize,
    rejected: usize,
}

impl Event {
    fn chain(&self) -> Chain {
        match self {
            Event::Locked { .. } | Event::Released { .. } => Chain::Main,
            Event::Garbage { main: true, .. } => Chain::Main,
            _ => Chain::Side,
        }
    }

    fn log_data(&self) -> (LogData, Expected) {
        let mut expected = Expected::default();
        let data = match self {
            Event::Locked {
                nonce,
                amount,
                fee,
                dst,
                who,
                honest_id,
            } => {
                let mut ev = MainBridge::Locked {
                    nonce: *nonce,
                    token: *who,
                    sender: *who,
                    recipient: *who,
                    amount: *amount,
                    fee: *fee,
                    dstChainId: *dst,
                    transferId: B256::repeat_byte(0xEE),
                };
                if *honest_id {
                    let t = ROUTE.deposit_of(&ev);
                    ev.transferId = transfer_digest(&t, ROUTE.side_bridge);
                }
                let keep =
                    *honest_id && *dst == U256::from(ROUTE.side_chain_id) && *nonce <= MAX_NONCE;
                if keep {
                    expected.transfers = 1;
                } else {
                    expected.rejected = 1;
                }
                ev.encode_log_data()
            }
            Event::Released { nonce, amount } => {
                expected.executions = 1;
                MainBridge::Released {
                    nonce: *nonce,
                    transferId: B256::repeat_byte(0x01),
                    recipient: Address::repeat_byte(0x02),
                    token: Address::repeat_byte(0x03),
                    amount: *amount,
                }
                .encode_log_data()
            }
            Event::Burned {
                nonce,
                amount,
                who,
                honest_id,
            } => {
                let mut ev = SideBridge::Burned {
                    nonce: *nonce,
                    token: *who,
                    sender: *who,
                    recipient: *who,
                    amount: *amount,
                    fee: U256::ZERO,
                    wrapped: *who,
                    transferId: B256::repeat_byte(0xEE),
                    dstChainId: U256::from(ROUTE.main_chain_id),
                    dstBridge: ROUTE.main_bridge,
                };
                if *honest_id {
                    let t = ROUTE.withdrawal_of(&ev);
                    ev.transferId = transfer_digest(&t, ROUTE.main_bridge);
                }
                if *honest_id && *nonce <= MAX_NONCE {
                    expected.transfers = 1;
                } else {
                    expected.rejected = 1;
                }
                ev.encode_log_data()
            }
            Event::Executed { nonce, queued } => {
                expected.executions = 1;
                if *queued {
                    SideBridge::TransferQueued {
                        transferId: B256::repeat_byte(0x04),
                        nonce: *nonce,
                        eta: U256::MAX,
                    }
                    .encode_log_data()
                } else {
                    SideBridge::DepositExecuted {
                        nonce: *nonce,
                        transferId: B256::repeat_byte(0x05),
                        recipient: Address::repeat_byte(0x06),
                        wrapped: Address::repeat_byte(0x07),
                        amount: U256::MAX,
                    }
                    .encode_log_data()
                }
            }
            Event::Votes { nonces, trailing } => {
                let mut votes = Vec::new();
                for (i, nonce) in nonces.iter().enumerate() {
                    votes.extend_from_slice(&nonce.to_be_bytes());
                    votes.extend_from_slice(B256::with_last_byte(i as u8).as_slice());
                    if *nonce <= MAX_NONCE {
                        expected.votes += 1;
                    } else {
                        expected.rejected += 1;
                    }
                }
                votes.extend(std::iter::repeat_n(0xAB, trailing % 40));
                SideBridge::DepositsApproved {
                    validator: Address::repeat_byte(0x08),
                    votes: Bytes::from(votes),
                }
                .encode_log_data()
            }
            Event::Signature { nonce, len } => {
                if *len == 65 && *nonce <= MAX_NONCE {
                    expected.signatures = 1;
                } else {
                    expected.rejected = 1;
                }
                SideBridge::SignatureSubmitted {
                    nonce: *nonce,
                    transferId: B256::repeat_byte(0x09),
                    validator: Address::repeat_byte(0x0A),
                    signature: Bytes::from(vec![0x1B; *len]),
                }
                .encode_log_data()
            }
            Event::Garbage { main, data } => {
                // a bridge topic with data that is not that event's
                let topic = if *main {
                    MainBridge::Locked::SIGNATURE_HASH
                } else {
                    SideBridge::Burned::SIGNATURE_HASH
                };
                expected.rejected = 1;
                LogData::new_unchecked(vec![topic], Bytes::from(data.clone()))
            }
        };
        (data, expected)
    }
}

fn log(chain: Chain, data: LogData, block: u64, timestamp: u64, tx: u8) -> Log {
    let address = match chain {
        Chain::Main => ROUTE.main_bridge,
        Chain::Side => ROUTE.side_bridge,
    };
    Log {
        inner: PrimitiveLog { address, data },
        block_hash: Some(B256::with_last_byte(tx)),
        block_number: Some(block),
        block_timestamp: Some(timestamp),
        transaction_hash: Some(B256::repeat_byte(tx)),
        transaction_index: Some(0),
        log_index: Some(u64::from(tx)),
        removed: false,
    }
}

/// Decodes and commits every generated batch, on one store, and checks what was kept.
async fn every_field_at_its_extremes_decodes_and_commits(store: Store) {
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    let block = std::sync::atomic::AtomicU64::new(0);
    let strategy = (
        prop::collection::vec(event(), 1..12),
        prop_oneof![Just(0u64), Just(u64::MAX), Just(1u64 << 63), any::<u64>()],
    );
    runner
        .run(&strategy, |(events, timestamp)| {
            for chain in Chain::ALL {
                let block = block.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let mut want = Expected::default();
                let logs: Vec<Log> = events
                    .iter()
                    .filter(|e| e.chain() == chain)
                    .enumerate()
                    .map(|(i, e)| {
                        let (data, expected) = e.log_data();
                        want.transfers += expected.transfers;
                        want.executions += expected.executions;
                        want.votes += expected.votes;
                        want.signatures += expected.signatures;
                        want.rejected += expected.rejected;
                        log(chain, data, block, timestamp, i as u8)
                    })
                    .collect();
                let (mut batch, rejected) = decode(chain, &ROUTE, &logs, 0, i64::MAX);
                let got = Expected {
                    transfers: batch.new_transfers.len(),
                    executions: batch.executions.len(),
                    votes: batch.votes.len(),
                    signatures: batch.signatures.len(),
                    rejected: rejected.len(),
                };
                prop_assert_eq!(&got, &want, "events {:?}", events);
                for t in &batch.new_transfers {
                    prop_assert!(t.transfer.nonce <= MAX_NONCE);
                    prop_assert!(t.source_time >= 0);
                }
                for e in &batch.executions {
                    prop_assert!(e.nonce <= MAX_NONCE);
                }
                batch.to_block = block;
                let committed =
                    tokio::task::block_in_place(|| handle.block_on(store.commit_watch(&batch)));
                prop_assert!(committed.is_ok(), "commit failed: {:?}", committed);
            }
            Ok(())
        })
        .expect("every batch the decoder makes commits and keeps exactly the route's entries");
}

on_both_backends!(every_field_at_its_extremes_decodes_and_commits);

/// The finding as it was reproduced: one validator's vote for nonce 2^63 (and one for
/// 2^64 − 1) in the same `DepositsApproved` as an honest vote. The honest vote is kept, the two
/// are dropped with their reason, and the batch commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_for_a_nonce_no_bridge_reaches_is_dropped_not_fatal() {
    with_sqlite(|store| async move {
        let mut votes = Vec::new();
        for nonce in [7u64, 1 << 63, u64::MAX] {
            votes.extend_from_slice(&nonce.to_be_bytes());
            votes.extend_from_slice(B256::repeat_byte(0x42).as_slice());
        }
        let data = SideBridge::DepositsApproved {
            validator: Address::repeat_byte(0x66),
            votes: Bytes::from(votes),
        }
        .encode_log_data();
        let (mut batch, rejected) = decode(
            Chain::Side,
            &ROUTE,
            &[log(Chain::Side, data, 5, 1, 1)],
            0,
            0,
        );
        assert_eq!(batch.votes.len(), 1);
        assert_eq!(batch.votes[0].nonce, 7);
        assert_eq!(
            rejected.iter().map(|r| r.reason).collect::<Vec<_>>(),
            vec![Rejection::NonceOutOfRange; 2]
        );
        batch.to_block = 5;
        store.commit_watch(&batch).await.expect("commits");
        assert_eq!(store.cursor(Chain::Side).await.expect("cursor"), Some(5));
    })
    .await;
}

/// A forged mint at a nonce no bridge reaches is kept (saturated) so the audit raises the
/// forgery alarm for it, rather than dropped unseen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_mint_at_a_nonce_no_bridge_reaches_raises_the_forgery_alarm() {
    with_sqlite(|store| async move {
        let data = SideBridge::DepositExecuted {
            nonce: u64::MAX,
            transferId: B256::repeat_byte(0x05),
            recipient: Address::repeat_byte(0x06),
            wrapped: Address::repeat_byte(0x07),
            amount: U256::from(1),
        }
        .encode_log_data();
        let (mut batch, rejected) = decode(
            Chain::Side,
            &ROUTE,
            &[log(Chain::Side, data, 5, 1, 1)],
            0,
            0,
        );
        assert!(rejected.is_empty());
        batch.to_block = 5;
        store.commit_watch(&batch).await.expect("commits");
        let raised = store
            .audit(10, &[(crate::domain::Direction::Deposit, 3)])
            .await
            .expect("audit");
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].seen_id, B256::repeat_byte(0x05));
        assert_eq!(raised[0].nonce, MAX_NONCE);
    })
    .await;
}

/// A lock for another side chain (chain id not this route's) is dropped: voted, it would make
/// the destination revert the whole `approveDeposits` batch it rides in.
#[test]
fn a_lock_for_another_route_is_dropped() {
    let mut ev = MainBridge::Locked {
        nonce: 3,
        token: Address::repeat_byte(1),
        sender: Address::repeat_byte(2),
        recipient: Address::repeat_byte(3),
        amount: U256::from(10),
        fee: U256::ZERO,
        dstChainId: U256::from(ROUTE.side_chain_id + 1),
        transferId: B256::ZERO,
    };
    ev.transferId = transfer_digest(&ROUTE.deposit_of(&ev), ROUTE.side_bridge);
    let (batch, rejected) = decode(
        Chain::Main,
        &ROUTE,
        &[log(Chain::Main, ev.encode_log_data(), 1, 1, 1)],
        0,
        0,
    );
    assert!(batch.new_transfers.is_empty());
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].reason, Rejection::ForeignRoute);
}

/// A transfer that names another bridge on one of the route's chains (a redeployed or rogue
/// one) is not this route's, even with the right chain ids and an id that matches its content.
#[test]
fn a_transfer_naming_another_bridge_is_not_this_routes() {
    let mut t = Transfer {
        srcChainId: U256::from(ROUTE.side_chain_id),
        srcBridge: Address::repeat_byte(0x99),
        dstChainId: U256::from(ROUTE.main_chain_id),
        dstBridge: ROUTE.main_bridge,
        nonce: 1,
        amount: U256::from(5),
        ..Default::default()
    };
    let id = transfer_digest(&t, ROUTE.main_bridge);
    let (reason, detail) = ROUTE
        .check(&t, crate::domain::Direction::Withdrawal, id)
        .expect_err("another source bridge");
    assert_eq!(reason, Rejection::ForeignRoute);
    assert!(detail.contains("bridge"), "{detail}");

    t.srcBridge = ROUTE.side_bridge;
    let id = transfer_digest(&t, ROUTE.main_bridge);
    assert_eq!(
        ROUTE.check(&t, crate::domain::Direction::Withdrawal, id),
        Ok(id)
    );
}
