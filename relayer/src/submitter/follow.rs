//! Following: every pending nonce is checked against the chain; a slow one is replaced with a
//! bumped fee, a stuck one at the cap is freed, and a mined one is charged and closed.

use super::*;

impl<S: TxSink + 'static> Submitter<S> {
    /// Looks for receipts; settles what mined; sends again what the node forgot; replaces what
    /// is slow.
    pub(super) async fn follow(&mut self) -> Result<(), SubmitError> {
        if self.pending.is_empty() && self.settled.is_empty() {
            return Ok(());
        }
        let mined_nonce = self.sink.nonce(self.account, false).await?;
        self.watch_settled(mined_nonce).await?;
        let nonces: Vec<u64> = self.pending.keys().copied().collect();
        for nonce in nonces {
            let Some(p) = self.pending.get(&nonce).cloned() else {
                continue;
            };
            let mut found = None;
            for (hash, _, _) in p.attempts.iter().rev() {
                if let Some(mined) = self.sink.receipt(*hash).await? {
                    found = Some(mined);
                    break;
                }
            }
            if let Some(mined) = found {
                crate::failpoint::hit("after_receipt");
                self.settle(nonce, &p, mined).await?;
                continue;
            }
            if nonce < mined_nonce {
                // the nonce is used and none of our attempts has a receipt yet: a receipt
                // follows its block, so look again; only long after is it someone else's
                if p.last_sent.elapsed() > self.config.tx_timeout.saturating_mul(4) {
                    tracing::warn!(target: "submitter", chain = %self.config.chain, nonce,
                        "nonce used by a transaction that is none of our attempts; closing them");
                    for (hash, _, _) in &p.attempts {
                        self.store
                            .set_attempt_status(*hash, AttemptStatus::Replaced)
                            .await?;
                    }
                    self.pending.remove(&nonce);
                    self.in_flight.remove(p.transfers.iter().map(|(id, _)| *id));
                }
                continue;
            }
            if p.last_sent.elapsed() < self.config.tx_timeout {
                continue;
            }
            self.unstick(nonce, &p).await?;
        }
        Ok(())
    }

    /// A transaction not mined in time: broadcast again if the node forgot it, else replace it
    /// with a bumped fee, or free the nonce when the work is no longer needed at the cap.
    pub(super) async fn unstick(&mut self, nonce: u64, p: &Pending) -> Result<(), SubmitError> {
        let chain = self.config.chain;
        let Some((hash, offer, raw)) = p.attempts.last().cloned() else {
            return Ok(());
        };
        if !self.sink.knows(hash).await? {
            tracing::info!(target: "submitter", %chain, nonce, tx_hash = %hash, "the node forgot a pending transaction; sending it again");
            if let Some(p) = self.pending.get_mut(&nonce) {
                p.last_sent = Instant::now();
            }
            return match self.sink.send_raw(&raw).await {
                Ok(()) | Err(SinkError::NonceTooLow) => Ok(()),
                Err(e) => Err(e.into()),
            };
        }
        if p.canceled {
            return Ok(());
        }
        let next = if offer.max_fee == 0 {
            // a zero offer (a chain that charges no gas) not mined in time: the node's price
            let market = self.sink.fee_market().await?;
            fees::after_free(market, self.config.max_fee_per_gas)
        } else {
            fees::bump(
                offer,
                self.config.fee_bump_percent,
                self.config.max_fee_per_gas,
            )
        };
        if let Some(next) = next {
            self.send_replacement(nonce, next, false, p.kind).await
        } else {
            // at the cap: keep waiting while the work is needed, free the nonce otherwise
            let call = TransactionRequest::default()
                .with_from(self.account)
                .with_to(p.to)
                .with_input(p.input.clone());
            match self.sink.estimate(&call).await {
                Err(SinkError::Revert(_)) => {
                    let next = fees::cancel(offer, self.config.fee_bump_percent);
                    tracing::warn!(target: "submitter", %chain, nonce, "stuck at the fee cap and no longer needed; freeing the nonce with a self-transfer");
                    self.send_replacement(nonce, next, true, p.kind).await
                }
                _ => {
                    if let Some(p) = self.pending.get_mut(&nonce)
                        && !p.warned
                    {
                        p.warned = true;
                        tracing::warn!(target: "submitter", %chain, nonce, cap = self.config.max_fee_per_gas,
                            "not mined and its fee is at the cap; waiting");
                    }
                    Ok(())
                }
            }
        }
    }

    pub(super) async fn send_replacement(
        &mut self,
        nonce: u64,
        offer: Fees,
        cancel: bool,
        kind: TxKind,
    ) -> Result<(), SubmitError> {
        match self.send_attempt(nonce, offer, cancel).await {
            Ok(()) => {
                self.observer.replaced(self.config.chain, kind);
                Ok(())
            }
            // mined meanwhile, or the node wants more: the next round sees which
            Err(SubmitError::Sink(SinkError::NonceTooLow | SinkError::Underpriced)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Charges a mined transaction to its transfers, closes every attempt of its nonce, frees
    /// its transfers for the planner and watches it until it is final.
    pub(super) async fn settle(
        &mut self,
        nonce: u64,
        p: &Pending,
        mined: Mined,
    ) -> Result<(), SubmitError> {
        self.charge(nonce, p, mined).await?;
        if !mined.success {
            self.observer.failed(self.config.chain, p.kind);
        }
        let cost = U256::from(mined.gas_used) * U256::from(mined.effective_gas_price);
        self.observer.mined(self.config.chain, p.kind, cost);
        self.pending.remove(&nonce);
        self.in_flight.remove(p.transfers.iter().map(|(id, _)| *id));
        self.settled.insert(nonce, (p.clone(), mined));
        Ok(())
    }

    /// Records what `mined` cost, split over the transfers it served, and each attempt's fate.
    async fn charge(&self, nonce: u64, p: &Pending, mined: Mined) -> Result<(), SubmitError> {
        let chain = self.config.chain;
        let cost = U256::from(mined.gas_used) * U256::from(mined.effective_gas_price);
        let timestamp = self
            .sink
            .block_time(mined.block)
            .await
            .unwrap_or_else(|_| unix_now());
        let parts: Vec<(B256, Address)> = if p.transfers.is_empty() {
            vec![(B256::ZERO, Address::ZERO)]
        } else {
            p.transfers.clone()
        };
        let entries: Vec<CostEntry> = split_cost(cost, parts.len())
            .into_iter()
            .zip(parts)
            .map(|(cost_wei, (transfer_id, token))| CostEntry {
                tx_hash: mined.tx_hash,
                chain,
                kind: p.kind,
                transfer_id,
                token,
                cost_wei,
                block: mined.block,
                timestamp,
            })
            .collect();
        self.store.record_costs(&entries).await?;
        for (hash, _, _) in &p.attempts {
            let status = if *hash != mined.tx_hash {
                AttemptStatus::Replaced
            } else if mined.success {
                AttemptStatus::Mined
            } else {
                AttemptStatus::Failed
            };
            self.store.set_attempt_status(*hash, status).await?;
        }
        tracing::info!(target: "submitter", %chain, kind = %p.kind, tx_hash = %mined.tx_hash, nonce,
            gas_used = mined.gas_used, cost_wei = %cost, success = mined.success, "mined");
        Ok(())
    }

    /// Watches what mined until it is `confirmations` deep. One whose nonce the account no
    /// longer counts was dropped by a reorg: its charge is withdrawn and it is sent again, as
    /// signed, under the same nonce, so nothing sent after it waits behind a gap. Once deep
    /// enough, its receipt is read once more and the ledger follows it if the transaction
    /// landed elsewhere (a node may put a dropped transaction back itself, in another block).
    async fn watch_settled(&mut self, mined_nonce: u64) -> Result<(), SubmitError> {
        if self.settled.is_empty() {
            return Ok(());
        }
        let head = self.sink.head().await?;
        let nonces: Vec<u64> = self.settled.keys().copied().collect();
        for nonce in nonces {
            let Some((p, charged)) = self.settled.get(&nonce).cloned() else {
                continue;
            };
            if nonce >= mined_nonce {
                self.revive(nonce, p, charged).await?;
                continue;
            }
            if head + 1 < charged.block + self.config.confirmations.max(1) {
                continue;
            }
            self.settled.remove(&nonce);
            let mut now = None;
            for (hash, _, _) in p.attempts.iter().rev() {
                if let Some(mined) = self.sink.receipt(*hash).await? {
                    now = Some(mined);
                    break;
                }
            }
            match now {
                Some(mined) if mined == charged => {}
                Some(mined) => {
                    tracing::warn!(target: "submitter", chain = %self.config.chain, nonce, charged = %charged.tx_hash,
                        charged_block = charged.block, now = %mined.tx_hash, now_block = mined.block,
                        "a reorg moved a mined transaction; charging it as it landed");
                    self.store.remove_costs(charged.tx_hash).await?;
                    self.charge(nonce, &p, mined).await?;
                }
                None => self.revive(nonce, p, charged).await?,
            }
        }
        Ok(())
    }

    /// A charged transaction a reorg dropped: the charge goes, the nonce is pending again with
    /// the same signed transaction, broadcast anew.
    async fn revive(&mut self, nonce: u64, p: Pending, charged: Mined) -> Result<(), SubmitError> {
        let chain = self.config.chain;
        tracing::warn!(target: "submitter", %chain, nonce, tx_hash = %charged.tx_hash, block = charged.block,
            "a reorg dropped a mined transaction; its charge is withdrawn and it is sent again");
        self.settled.remove(&nonce);
        self.store.remove_costs(charged.tx_hash).await?;
        for (hash, _, _) in &p.attempts {
            self.store
                .set_attempt_status(*hash, AttemptStatus::Pending)
                .await?;
        }
        self.in_flight.add(p.transfers.iter().map(|(id, _)| *id));
        let raw = p
            .attempts
            .iter()
            .find(|(hash, _, _)| *hash == charged.tx_hash)
            .or(p.attempts.last())
            .map(|(_, _, raw)| raw.clone());
        let mut revived = p;
        revived.last_sent = Instant::now();
        self.pending.insert(nonce, revived);
        if let Some(raw) = raw {
            match self.sink.send_raw(&raw).await {
                Ok(()) | Err(SinkError::NonceTooLow | SinkError::Underpriced) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub(super) async fn tokens_of(
        &self,
        ids: &[B256],
    ) -> Result<Vec<(B256, Address)>, SubmitError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let token = self
                .store
                .transfer(*id)
                .await?
                .map(|r| r.token())
                .unwrap_or_default();
            out.push((*id, token));
        }
        Ok(out)
    }
}
