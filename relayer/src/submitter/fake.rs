//! An in-memory chain for the submitter's tests: a mempool keyed by nonce that enforces the
//! replacement rule, blocks mined on demand (the best offer of each consecutive nonce), calls
//! that revert on request, and a node that can forget its pool.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex},
};

use alloy::{
    consensus::{Transaction as _, TxEnvelope},
    eips::eip2718::Decodable2718,
    primitives::{Address, B256, Bytes},
    rpc::types::TransactionRequest,
};

use super::{Fees, Mined, SinkError, TxSink};

#[derive(Debug, Default)]
struct State {
    mined_nonce: u64,
    block: u64,
    base_fee: u128,
    /// nonce → offers (hash, fees, recipient), oldest first
    pool: BTreeMap<u64, Vec<(B256, Fees, Address)>>,
    receipts: HashMap<B256, Mined>,
    revert: Option<Bytes>,
    /// every broadcast, in order
    broadcasts: Vec<B256>,
    /// (block, nonce, hash) of every mined transaction, in order
    mined_log: Vec<(u64, u64, B256)>,
    mined_to: Vec<Address>,
    /// While set, a broadcast announces itself on the first and waits for the second: a node
    /// that takes its time to answer `eth_sendRawTransaction`.
    hold: Option<(Arc<tokio::sync::Notify>, Arc<tokio::sync::Notify>)>,
}

/// Shared by a test and the submitter under test.
#[derive(Debug, Clone, Default)]
pub(super) struct FakeChain(Arc<Mutex<State>>);

pub(super) const GAS_USED: u64 = 50_000;

impl FakeChain {
    pub(super) fn new(base_fee: u128) -> Self {
        let chain = FakeChain::default();
        chain.state().base_fee = base_fee;
        chain
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().expect("fake chain lock")
    }

    /// Mines one block: for each consecutive nonce from the account's next, the best offer.
    pub(super) fn mine(&self) -> Vec<B256> {
        let mut s = self.state();
        s.block += 1;
        let block = s.block;
        let base_fee = s.base_fee;
        let mut mined = Vec::new();
        loop {
            let nonce = s.mined_nonce;
            let Some(offers) = s.pool.remove(&nonce) else {
                break;
            };
            let Some((hash, fees, to)) = offers.into_iter().max_by_key(|(_, f, _)| f.max_fee)
            else {
                break;
            };
            let price = fees.max_fee.min(base_fee + fees.priority);
            s.receipts.insert(
                hash,
                Mined {
                    tx_hash: hash,
                    success: true,
                    gas_used: GAS_USED,
                    effective_gas_price: price,
                    block,
                },
            );
            s.mined_to.push(to);
            s.mined_log.push((block, nonce, hash));
            s.mined_nonce += 1;
            mined.push(hash);
        }
        mined
    }

    /// Every call reverts with `data` from now on (`None`: they succeed again).
    pub(super) fn set_revert(&self, data: Option<Bytes>) {
        self.state().revert = data;
    }

    /// Replaces the last `depth` blocks with empty ones: their transactions are gone (not put
    /// back in the pool) and the account's nonce goes back to the first of them.
    pub(super) fn reorg_out(&self, depth: u64) {
        let mut s = self.state();
        let first_gone = s.block.saturating_sub(depth) + 1;
        let gone: Vec<(u64, u64, B256)> = s
            .mined_log
            .iter()
            .filter(|(b, _, _)| *b >= first_gone)
            .copied()
            .collect();
        for (_, nonce, hash) in &gone {
            s.receipts.remove(hash);
            s.mined_nonce = s.mined_nonce.min(*nonce);
        }
        s.mined_log.retain(|(b, _, _)| *b < first_gone);
    }

    /// Adds `n` empty blocks.
    pub(super) fn mine_empty(&self, n: u64) {
        self.state().block += n;
    }

    /// The node loses its pool (a restart, an eviction).
    pub(super) fn forget_pool(&self) {
        self.state().pool.clear();
    }

    pub(super) fn broadcasts(&self) -> Vec<B256> {
        self.state().broadcasts.clone()
    }

    /// Makes every broadcast slow until [`Self::answer_broadcasts`]: returns (entered,
    /// release), notified as a broadcast starts and waited on before it reaches the pool.
    pub(super) fn hold_broadcasts(&self) -> (Arc<tokio::sync::Notify>, Arc<tokio::sync::Notify>) {
        let pair = (Arc::default(), Arc::default());
        self.state().hold = Some(pair.clone());
        pair
    }

    /// Broadcasts answer at once again (and the one waiting goes on).
    pub(super) fn answer_broadcasts(&self) {
        if let Some((_, release)) = self.state().hold.take() {
            release.notify_waiters();
        }
    }

    pub(super) fn pool_nonces(&self) -> Vec<u64> {
        self.state().pool.keys().copied().collect()
    }

    pub(super) fn mined_recipients(&self) -> Vec<Address> {
        self.state().mined_to.clone()
    }
}

impl TxSink for FakeChain {
    async fn estimate(&self, _tx: &TransactionRequest) -> Result<u64, SinkError> {
        match &self.state().revert {
            Some(data) => Err(SinkError::Revert(data.clone())),
            None => Ok(GAS_USED),
        }
    }

    async fn fee_market(&self) -> Result<super::fees::FeeMarket, SinkError> {
        Ok(super::fees::FeeMarket {
            base_fee: self.state().base_fee,
            tip: 1,
            free: false,
        })
    }

    async fn nonce(&self, _account: Address, pending: bool) -> Result<u64, SinkError> {
        let s = self.state();
        if pending {
            Ok(s.pool
                .keys()
                .next_back()
                .map_or(s.mined_nonce, |n| (n + 1).max(s.mined_nonce)))
        } else {
            Ok(s.mined_nonce)
        }
    }

    async fn send_raw(&self, raw: &[u8]) -> Result<(), SinkError> {
        let hold = self.state().hold.clone();
        if let Some((entered, release)) = hold {
            let released = release.notified();
            entered.notify_one();
            released.await;
        }
        let envelope = TxEnvelope::decode_2718(&mut &raw[..]).expect("a signed transaction");
        let hash = *envelope.tx_hash();
        let nonce = envelope.nonce();
        let fees = Fees {
            max_fee: envelope.max_fee_per_gas(),
            priority: envelope.max_priority_fee_per_gas().unwrap_or_default(),
        };
        let to = envelope.to().unwrap_or_default();
        let mut s = self.state();
        s.broadcasts.push(hash);
        if nonce < s.mined_nonce {
            return Err(SinkError::NonceTooLow);
        }
        let offers = s.pool.entry(nonce).or_default();
        if offers.iter().any(|(h, _, _)| *h == hash) {
            return Ok(()); // already known
        }
        if let Some((_, best, _)) = offers.iter().max_by_key(|(_, f, _)| f.max_fee)
            && (fees.max_fee * 100 < best.max_fee * 110
                || fees.priority * 100 < best.priority * 110)
        {
            return Err(SinkError::Underpriced);
        }
        offers.push((hash, fees, to));
        Ok(())
    }

    async fn receipt(&self, hash: B256) -> Result<Option<Mined>, SinkError> {
        Ok(self.state().receipts.get(&hash).copied())
    }

    async fn knows(&self, hash: B256) -> Result<bool, SinkError> {
        let s = self.state();
        Ok(s.receipts.contains_key(&hash) || s.pool.values().flatten().any(|(h, _, _)| *h == hash))
    }

    async fn head(&self) -> Result<u64, SinkError> {
        Ok(self.state().block)
    }

    async fn block_time(&self, block: u64) -> Result<i64, SinkError> {
        Ok(1_700_000_000 + block as i64)
    }
}

/// Hashes that appear more than once in `hashes`.
pub(super) fn repeated(hashes: &[B256]) -> HashSet<B256> {
    let mut seen = HashSet::new();
    hashes
        .iter()
        .filter(|h| !seen.insert(**h))
        .copied()
        .collect()
}
