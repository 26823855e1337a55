//! The decoder on a hub, as the relayer of one route sees it: the hub's logs carry every
//! route's deposits and releases, and only this route's become records. Another route's are
//! passed over without a rejection (they are that route's relayers' business); this route's
//! are checked exactly as a one-route bridge's are; a one-route bridge's event shape on a hub
//! (or a hub's on a one-route bridge) means nothing.

use alloy::{
    primitives::{Address, B256, Bytes, Log as PrimitiveLog, LogData, U256},
    rpc::types::Log,
    sol_types::{SolEvent, SolStruct},
};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, MainHub, SideBridge},
    route_id, transfer_digest, transfer_domain,
};

use super::{Rejection, Route, decode};
use crate::{
    domain::{Chain, Direction},
    store::{Store, testing::on_both_backends},
};

const HUB: Route = Route {
    main_chain_id: 1,
    side_chain_id: 100,
    main_bridge: Address::repeat_byte(0x11),
    side_bridge: Address::repeat_byte(0x22),
    hub: true,
};

/// Another route of the same hub: side chain 200.
const OTHER: Route = Route {
    side_chain_id: 200,
    side_bridge: Address::repeat_byte(0x33),
    ..HUB
};

fn log(data: LogData, tx: u8) -> Log {
    Log {
        inner: PrimitiveLog {
            address: HUB.main_bridge,
            data,
        },
        block_hash: Some(B256::with_last_byte(tx)),
        block_number: Some(10),
        block_timestamp: Some(1_000),
        transaction_hash: Some(B256::repeat_byte(tx)),
        transaction_index: Some(0),
        log_index: Some(u64::from(tx)),
        removed: false,
    }
}

/// A lock to `route` at `nonce`, with the id the hub gives it (under the side bridge's domain)
/// unless `id` says otherwise.
fn locked(route: &Route, nonce: u64, id: Option<B256>) -> (MainHub::Locked, Transfer) {
    let t = Transfer {
        srcChainId: U256::from(route.main_chain_id),
        srcBridge: route.main_bridge,
        dstChainId: U256::from(route.side_chain_id),
        dstBridge: route.side_bridge,
        nonce,
        token: Address::repeat_byte(0x0E),
        sender: Address::repeat_byte(0x0A),
        recipient: Address::repeat_byte(0x0B),
        amount: U256::from(1_000),
    };
    let ev = MainHub::Locked {
        route: route.id(),
        nonce,
        token: t.token,
        sender: t.sender,
        recipient: t.recipient,
        amount: t.amount,
        fee: U256::from(7),
        transferId: id.unwrap_or_else(|| transfer_digest(&t, route.side_bridge)),
        parentId: B256::ZERO,
    };
    (ev, t)
}

#[test]
fn the_route_id_is_the_hubs() {
    // keccak256(abi.encode(uint256 chainId, address bridge)), as MainHub computes it
    assert_eq!(HUB.id(), route_id(100, Address::repeat_byte(0x22)));
    assert_ne!(HUB.id(), OTHER.id());
}

#[test]
fn only_this_routes_deposits_become_records() {
    let (mine, t) = locked(&HUB, 4, None);
    let (theirs, _) = locked(&OTHER, 4, None);
    let logs = [
        log(mine.encode_log_data(), 1),
        log(theirs.encode_log_data(), 2),
    ];
    let (batch, rejected) = decode(Chain::Main, &HUB, &logs, 0, 0);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(batch.new_transfers.len(), 1);
    let record = &batch.new_transfers[0];
    assert_eq!(record.direction, Direction::Deposit);
    assert_eq!(record.transfer, t);
    assert_eq!(record.id, transfer_digest(&t, HUB.side_bridge));
    assert_eq!(record.fee, U256::from(7));
    // the other route's relayer takes the other one, and not this one
    let (batch, _) = decode(Chain::Main, &OTHER, &logs, 0, 0);
    assert_eq!(batch.new_transfers.len(), 1);
    assert_eq!(batch.new_transfers[0].transfer.dstBridge, OTHER.side_bridge);
}

#[test]
fn a_deposit_whose_id_is_not_its_content_is_rejected() {
    // a node (or a look-alike) claiming an id this route's validators would never vote for
    let (forged, _) = locked(&HUB, 0, Some(B256::repeat_byte(0x66)));
    // the id of the same content on the other route: right content, wrong domain
    let (_, other_t) = locked(&OTHER, 0, None);
    let (swapped, _) = locked(&HUB, 1, Some(transfer_digest(&other_t, OTHER.side_bridge)));
    let garbage = LogData::new_unchecked(
        vec![MainHub::Locked::SIGNATURE_HASH],
        Bytes::from(vec![0xFF; 40]),
    );
    let logs = [
        log(forged.encode_log_data(), 1),
        log(swapped.encode_log_data(), 2),
        log(garbage, 3),
    ];
    let (batch, rejected) = decode(Chain::Main, &HUB, &logs, 0, 0);
    assert!(batch.new_transfers.is_empty());
    let reasons: Vec<Rejection> = rejected.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            Rejection::IdMismatch,
            Rejection::IdMismatch,
            Rejection::Undecodable
        ]
    );
}

#[test]
fn releases_and_queued_releases_of_this_route_only() {
    let id = B256::repeat_byte(0x44);
    let released = |route: &Route, nonce| MainHub::Released {
        route: route.id(),
        nonce,
        transferId: id,
        recipient: Address::repeat_byte(0x0B),
        token: Address::repeat_byte(0x0E),
        amount: U256::from(5),
    };
    let queued = |route: &Route, nonce| MainHub::RouteTransferQueued {
        route: route.id(),
        nonce,
        transferId: B256::repeat_byte(0x45),
        eta: U256::from(99),
    };
    let logs = [
        log(released(&HUB, 3).encode_log_data(), 1),
        log(released(&OTHER, 3).encode_log_data(), 2),
        log(queued(&HUB, 9).encode_log_data(), 3),
        log(queued(&OTHER, 8).encode_log_data(), 4),
    ];
    let (batch, rejected) = decode(Chain::Main, &HUB, &logs, 0, 0);
    assert!(rejected.is_empty(), "{rejected:?}");
    // another route's nonces never reach this route's audit (they would look like forgeries)
    let executions: Vec<(u64, B256, bool)> = batch
        .executions
        .iter()
        .map(|e| (e.nonce, e.transfer_id, e.queued))
        .collect();
    assert_eq!(
        executions,
        [(3, id, false), (9, B256::repeat_byte(0x45), true)]
    );
    assert!(
        batch
            .executions
            .iter()
            .all(|e| e.direction == Direction::Withdrawal)
    );
    assert_eq!(batch.completed, [id]);
}

#[test]
fn one_bridges_event_shape_means_nothing_on_the_other() {
    let (hub_lock, _) = locked(&HUB, 0, None);
    let bridge_lock = MainBridge::Locked {
        nonce: 0,
        token: Address::repeat_byte(0x0E),
        sender: Address::repeat_byte(0x0A),
        recipient: Address::repeat_byte(0x0B),
        amount: U256::from(1),
        fee: U256::ZERO,
        dstChainId: U256::from(100),
        transferId: B256::repeat_byte(0x01),
    };
    let logs = [log(bridge_lock.encode_log_data(), 1)];
    let (batch, rejected) = decode(Chain::Main, &HUB, &logs, 0, 0);
    assert!(batch.new_transfers.is_empty() && rejected.is_empty());
    let one_route = Route { hub: false, ..HUB };
    let logs = [log(hub_lock.encode_log_data(), 1)];
    let (batch, rejected) = decode(Chain::Main, &one_route, &logs, 0, 0);
    assert!(batch.new_transfers.is_empty() && rejected.is_empty());
}

/// What the hub decoder makes commits, on both backends, and its rows are this route's.
async fn a_hub_batch_commits(store: Store) {
    let (mine, t) = locked(&HUB, 0, None);
    let (theirs, _) = locked(&OTHER, 0, None);
    let logs = [
        log(mine.encode_log_data(), 1),
        log(theirs.encode_log_data(), 2),
    ];
    let (mut batch, _) = decode(Chain::Main, &HUB, &logs, 0, 0);
    batch.to_block = 10;
    store.commit_watch(&batch).await.expect("commits");
    let id = transfer_digest(&t, HUB.side_bridge);
    let stored = store.transfer(id).await.expect("reads").expect("stored");
    assert_eq!(stored.transfer, t);
}

on_both_backends!(a_hub_batch_commits);

/// A burn on this route's side chain naming another side chain's bridge (a chained transfer)
/// is this route's withdrawal on a hub, identified under the hub's domain like every
/// withdrawal; a one-route relayer refuses it (its main bridge would never pay it), and an id
/// under the destination's domain (what a naive digest of the content would give) is not its.
#[test]
fn a_chained_withdrawal_is_this_routes_on_a_hub_only() {
    let t = Transfer {
        srcChainId: U256::from(HUB.side_chain_id),
        srcBridge: HUB.side_bridge,
        dstChainId: U256::from(OTHER.side_chain_id),
        dstBridge: OTHER.side_bridge,
        nonce: 2,
        token: Address::repeat_byte(0x0E),
        sender: Address::repeat_byte(0x0A),
        recipient: Address::repeat_byte(0x0B),
        amount: U256::from(50),
    };
    let hub_id = t.eip712_signing_hash(&transfer_domain(HUB.main_chain_id, HUB.main_bridge));
    let burned = |id| side_burned(&t, id);
    let side_log = |data: LogData| {
        let mut l = log(data, 1);
        l.inner.address = HUB.side_bridge;
        l
    };
    let (batch, rejected) = decode(Chain::Side, &HUB, &[side_log(burned(hub_id))], 0, 0);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(batch.new_transfers.len(), 1);
    assert_eq!(batch.new_transfers[0].id, hub_id);
    assert_eq!(batch.new_transfers[0].transfer, t);

    let naive = transfer_digest(&t, OTHER.side_bridge);
    let (batch, rejected) = decode(Chain::Side, &HUB, &[side_log(burned(naive))], 0, 0);
    assert!(batch.new_transfers.is_empty());
    assert_eq!(rejected[0].reason, Rejection::IdMismatch);

    // a burn naming the main chain but not the hub: the hub parks it for a refund, so the
    // relayers carry it there rather than leave it burned for nothing
    let stray = Transfer {
        dstChainId: U256::from(HUB.main_chain_id),
        dstBridge: Address::repeat_byte(0x99),
        ..t.clone()
    };
    let stray_id = stray.eip712_signing_hash(&transfer_domain(HUB.main_chain_id, HUB.main_bridge));
    let (batch, rejected) = decode(
        Chain::Side,
        &HUB,
        &[side_log(side_burned(&stray, stray_id))],
        0,
        0,
    );
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(batch.new_transfers[0].id, stray_id);

    let one_route = Route { hub: false, ..HUB };
    let (batch, rejected) = decode(Chain::Side, &one_route, &[side_log(burned(hub_id))], 0, 0);
    assert!(batch.new_transfers.is_empty());
    assert_eq!(rejected[0].reason, Rejection::ForeignRoute);
}

/// A side bridge's `Burned` for `t`, claiming id `id`.
fn side_burned(t: &Transfer, id: B256) -> LogData {
    SideBridge::Burned {
        nonce: t.nonce,
        token: t.token,
        sender: t.sender,
        recipient: t.recipient,
        amount: t.amount,
        fee: U256::ZERO,
        wrapped: Address::repeat_byte(0x0D),
        transferId: id,
        dstChainId: t.dstChainId,
        dstBridge: t.dstBridge,
    }
    .encode_log_data()
}
