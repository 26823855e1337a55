//! The relayer's vocabulary: which chain, which direction, what a transfer is and where it
//! stands. Pure types: no tokio, provider or database in here.

use std::{fmt, str::FromStr};

use alloy::primitives::{Address, B256, U256};
use sidebridge_contracts::Transfer;

/// The two chains of the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    Main,
    Side,
}

impl Chain {
    pub const ALL: [Chain; 2] = [Chain::Main, Chain::Side];

    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Main => "main",
            Chain::Side => "side",
        }
    }

    pub fn other(self) -> Chain {
        match self {
            Chain::Main => Chain::Side,
            Chain::Side => Chain::Main,
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Chain {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "main" => Ok(Chain::Main),
            "side" => Ok(Chain::Side),
            other => Err(UnknownVariant(other.to_string())),
        }
    }
}

/// A persisted enum value this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownVariant(pub String);

/// Which way value moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// main → side: `Locked` on main, voted in with `approveDeposits` and minted on side.
    Deposit,
    /// side → main: `Burned` on side, signed with `submitSignatures`, released on main.
    Withdrawal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Deposit => "deposit",
            Direction::Withdrawal => "withdrawal",
        }
    }

    /// Where the transfer starts.
    pub fn source(self) -> Chain {
        match self {
            Direction::Deposit => Chain::Main,
            Direction::Withdrawal => Chain::Side,
        }
    }

    /// Where it lands.
    pub fn destination(self) -> Chain {
        self.source().other()
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "deposit" => Ok(Direction::Deposit),
            "withdrawal" => Ok(Direction::Withdrawal),
            other => Err(UnknownVariant(other.to_string())),
        }
    }
}

/// Where a transfer stands, as this validator sees it. Persisted as text; variants are only
/// ever added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransferState {
    /// Seen at its source with enough confirmations; this validator has not acted yet.
    Observed,
    /// This validator's vote (deposit) or signature (withdrawal) is on the side chain.
    Voted,
    /// Withdrawal only: enough current validators signed; waiting for the release.
    Ready,
    /// Minted (deposit) or released (withdrawal) at the destination.
    Completed,
}

impl TransferState {
    pub const ALL: [TransferState; 4] = [
        TransferState::Observed,
        TransferState::Voted,
        TransferState::Ready,
        TransferState::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Observed => "observed",
            TransferState::Voted => "voted",
            TransferState::Ready => "ready",
            TransferState::Completed => "completed",
        }
    }

    pub fn is_final(self) -> bool {
        self == TransferState::Completed
    }
}

impl fmt::Display for TransferState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransferState {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransferState::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

/// What a submitted transaction was for; a label of gas spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxKind {
    ApproveDeposits,
    SubmitSignatures,
    Release,
    /// `SideBridge.executeQueued`: a large deposit whose delay passed.
    ExecuteQueuedMint,
    /// `MainBridge.executeQueued`: a large withdrawal whose delay passed.
    ExecuteQueuedRelease,
    /// `SideBridge.executeDeposit`: a deposit with its votes that stalled (its token was
    /// unmapped, the inbound cap used up) and may mint now.
    ExecuteDeposit,
}

impl TxKind {
    pub const ALL: [TxKind; 6] = [
        TxKind::ApproveDeposits,
        TxKind::SubmitSignatures,
        TxKind::Release,
        TxKind::ExecuteQueuedMint,
        TxKind::ExecuteQueuedRelease,
        TxKind::ExecuteDeposit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::ApproveDeposits => "approve_deposits",
            TxKind::SubmitSignatures => "submit_signatures",
            TxKind::Release => "release",
            TxKind::ExecuteQueuedMint => "execute_queued_mint",
            TxKind::ExecuteQueuedRelease => "execute_queued_release",
            TxKind::ExecuteDeposit => "execute_deposit",
        }
    }

    /// The chain whose event this kind of transaction acts on, when the transaction carries
    /// this validator's judgement of it: a vote for a lock, a signature for a burn, a release
    /// of a burn. Nothing is sent for such a transfer while that chain is not trusted (its
    /// watcher halted or behind, its node failing), nor before its source block is checked
    /// canonical and confirmed at that moment. The executions carry no judgement: a threshold
    /// already approved their content on-chain.
    pub fn source(self) -> Option<Chain> {
        match self {
            TxKind::ApproveDeposits => Some(Chain::Main),
            TxKind::SubmitSignatures | TxKind::Release => Some(Chain::Side),
            TxKind::ExecuteQueuedMint | TxKind::ExecuteQueuedRelease | TxKind::ExecuteDeposit => {
                None
            }
        }
    }

    /// The chain this kind of transaction is sent to.
    pub fn chain(self) -> Chain {
        match self {
            TxKind::ApproveDeposits
            | TxKind::SubmitSignatures
            | TxKind::ExecuteQueuedMint
            | TxKind::ExecuteDeposit => Chain::Side,
            TxKind::Release | TxKind::ExecuteQueuedRelease => Chain::Main,
        }
    }
}

impl fmt::Display for TxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TxKind {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TxKind::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

/// A transfer as the relayer tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    /// The EIP-712 digest under the destination bridge's domain: the transfer id.
    pub id: B256,
    pub direction: Direction,
    pub transfer: Transfer,
    /// Fee the holder paid at the source, in the source token's units.
    pub fee: U256,
    /// Source-chain block and transaction of the `Locked`/`Burned` event.
    pub source_block: u64,
    pub source_tx: B256,
    /// Hash of the source block as the watcher read it (zero: stored by a version that did not
    /// keep it). A vote or signature is sent only while the source node still serves it.
    pub source_hash: B256,
    /// Unix seconds of the source block: the order of the public index (rebuilt from the
    /// chains, it must not depend on when a record was stored).
    pub source_time: i64,
    pub state: TransferState,
    /// Unix seconds when the record was first stored and last changed.
    pub created_at: i64,
    pub updated_at: i64,
}

impl TransferRecord {
    pub fn token(&self) -> Address {
        self.transfer.token
    }

    pub fn nonce(&self) -> u64 {
        self.transfer.nonce
    }
}

/// A block this relayer has processed, kept to notice when it stops being canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenBlock {
    pub number: u64,
    pub hash: B256,
}

/// A validator's signature for a withdrawal, as published in `SignatureSubmitted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedSignature {
    pub transfer_id: B256,
    pub nonce: u64,
    pub validator: Address,
    /// 65 bytes `r‖s‖v`.
    pub signature: Vec<u8>,
}

/// What a destination bridge accepted for a nonce: a mint (`DepositExecuted`), a release
/// (`Released`) or a large transfer put in the queue (`TransferQueued`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub direction: Direction,
    pub nonce: u64,
    pub transfer_id: B256,
    /// Queued for the large-transfer delay rather than paid out.
    pub queued: bool,
    pub tx_hash: B256,
    pub block: u64,
}

/// A validator's deposit vote, as listed in `DepositsApproved`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositVote {
    pub nonce: u64,
    pub transfer_id: B256,
    pub validator: Address,
    pub tx_hash: B256,
}

/// Why an alarm was raised. Persisted as text; variants are only ever added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    /// A destination bridge minted, released or queued content that is not the transfer this
    /// relayer saw at the source for that nonce (or no transfer exists there at all). Only a
    /// threshold of validator keys, or a broken contract, can do that.
    Forgery,
    /// A validator voted for deposit content other than the transfer seen at the source.
    VoteConflict,
}

impl AlarmKind {
    pub const ALL: [AlarmKind; 2] = [AlarmKind::Forgery, AlarmKind::VoteConflict];

    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::Forgery => "forgery",
            AlarmKind::VoteConflict => "vote_conflict",
        }
    }
}

impl fmt::Display for AlarmKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlarmKind {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AlarmKind::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

/// A raised alarm: what was expected at a nonce and what was seen instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub kind: AlarmKind,
    pub direction: Direction,
    pub nonce: u64,
    /// The id of the transfer seen at the source, or zero when none exists at this nonce.
    pub expected_id: B256,
    pub seen_id: B256,
    /// The voting validator (vote conflicts); zero for forgeries.
    pub actor: Address,
    /// The destination transaction that minted, released, queued or voted.
    pub tx_hash: B256,
    /// Unix seconds.
    pub raised_at: i64,
}

/// One transaction's cost charged to one transfer it served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostEntry {
    pub tx_hash: B256,
    pub chain: Chain,
    pub kind: TxKind,
    /// Zero for transactions that served no stored transfer.
    pub transfer_id: B256,
    pub token: Address,
    pub cost_wei: U256,
    pub block: u64,
    /// Unix seconds of the block.
    pub timestamp: i64,
}

/// Splits `total` wei across `parts` transfers so the parts add up to the whole, to the wei:
/// every part gets the floor share and the first `total % parts` get one wei more.
pub fn split_cost(total: U256, parts: usize) -> Vec<U256> {
    if parts == 0 {
        return Vec::new();
    }
    let n = U256::from(parts);
    let share = total / n;
    let rest: usize = (total % n).to();
    (0..parts)
        .map(|i| {
            if i < rest {
                share + U256::from(1)
            } else {
                share
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn enums_round_trip_through_text() {
        for s in TransferState::ALL {
            assert_eq!(s.as_str().parse::<TransferState>(), Ok(s));
        }
        for k in TxKind::ALL {
            assert_eq!(k.as_str().parse::<TxKind>(), Ok(k));
        }
        for c in Chain::ALL {
            assert_eq!(c.as_str().parse::<Chain>(), Ok(c));
        }
        assert!("bogus".parse::<TransferState>().is_err());
    }

    #[test]
    fn directions_know_their_chains() {
        assert_eq!(Direction::Deposit.source(), Chain::Main);
        assert_eq!(Direction::Deposit.destination(), Chain::Side);
        assert_eq!(Direction::Withdrawal.source(), Chain::Side);
        assert_eq!(TxKind::Release.chain(), Chain::Main);
    }

    proptest! {
        #[test]
        fn split_cost_adds_up_to_the_wei(total in any::<u128>(), parts in 1usize..200) {
            let shares = split_cost(U256::from(total), parts);
            prop_assert_eq!(shares.len(), parts);
            let sum = shares.iter().fold(U256::ZERO, |a, b| a + b);
            prop_assert_eq!(sum, U256::from(total));
            let max = shares.iter().max().copied().unwrap_or_default();
            let min = shares.iter().min().copied().unwrap_or_default();
            prop_assert!(max - min <= U256::from(1));
        }
    }
}
