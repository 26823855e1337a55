//! The metrics' label sets, each bounded by construction (a chain, a kind, a direction, a
//! state, one of the relayer's own RPC methods), and the helpers that build them.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::{Atomic, Gauge},
    },
};

use crate::domain::{Chain, Direction, TxKind};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ChainLabels {
    pub(super) chain: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ChainKindLabels {
    pub(super) chain: &'static str,
    pub(super) kind: &'static str,
}

/// One chain's RPC method: labels of `rpc_errors_total`. The methods are the relayer's own
/// calls, a fixed set in the code, so the label stays bounded.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub chain: &'static str,
    pub method: String,
}

/// The `rpc_errors_total` family, shared with each chain's [`crate::rpc::RpcHealth`].
pub type RpcErrors = Family<RpcLabels, Counter>;

/// The JSON-RPC methods the relayer calls; their error series exist from the start.
pub const RPC_METHODS: &[&str] = &[
    "eth_blockNumber",
    "eth_getLogs",
    "eth_getBlockByNumber",
    "eth_call",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_sendRawTransaction",
    "eth_getTransactionReceipt",
    "eth_estimateGas",
    "eth_simulateV1",
    "eth_feeHistory",
    "eth_chainId",
    "eth_getCode",
];

/// A chain and why the watcher dropped a log there ([`crate::watcher::Rejection`]).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ChainReasonLabels {
    pub(super) chain: &'static str,
    pub(super) reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DirectionLabels {
    pub(super) direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct TransferLabels {
    pub(super) direction: &'static str,
    pub(super) state: &'static str,
}

pub(super) fn chain_labels(chain: Chain) -> ChainLabels {
    ChainLabels {
        chain: chain.as_str(),
    }
}

pub(super) fn direction_labels(direction: Direction) -> DirectionLabels {
    DirectionLabels {
        direction: direction.as_str(),
    }
}

/// Sets the gauge of `family` labelled `labels` to `value`.
pub(super) fn set_gauge<L, N, A>(family: &Family<L, Gauge<N, A>>, labels: &L, value: N)
where
    L: Clone + std::hash::Hash + Eq,
    A: Atomic<N> + Default,
{
    family.get_or_create(labels).set(value);
}

pub(super) fn chain_kind(chain: Chain, kind: TxKind) -> ChainKindLabels {
    ChainKindLabels {
        chain: chain.as_str(),
        kind: kind.as_str(),
    }
}
