//! Relayer nodes as separate processes moving value both ways under a validator threshold.

use std::time::Duration;

use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use sidebridge_anvil_tests::{
    Miner, System, SystemSpec, await_until, dev_key,
    relayers::{Backend, NodeOptions, RelayerNode},
};
use sidebridge_contracts::bindings::{IERC20Metadata, MainBridge, SideBridge};
use sidebridge_relayer::{
    domain::{Chain, TransferState},
    store::Store,
};

/// Two chains, a deployed system and one relayer process per validator.
pub(crate) struct Bridge {
    pub(crate) sys: System,
    pub(crate) nodes: Vec<RelayerNode>,
    pub(crate) user: PrivateKeySigner,
    pub(crate) start_balances: Vec<(U256, U256)>,
    _miner: Miner,
    _dir: tempfile::TempDir,
}

impl Bridge {
    pub(crate) async fn start(
        validators: usize,
        threshold: usize,
        options: NodeOptions,
    ) -> eyre::Result<Self> {
        let spec = SystemSpec {
            validators,
            validator_threshold: threshold,
            ..SystemSpec::default()
        };
        Self::start_spec(spec, options).await
    }

    /// A system deployed as `spec` says, with a (stopped) node per validator.
    pub(crate) async fn start_spec(spec: SystemSpec, options: NodeOptions) -> eyre::Result<Self> {
        let sys = System::start(spec).await?;
        let dir = tempfile::tempdir()?;
        let mut nodes = Vec::new();
        let mut start_balances = Vec::new();
        for (i, key) in sys.validators.iter().enumerate() {
            let node = RelayerNode::prepare(&sys, key, &dir.path().join(format!("v{i}")), &options)
                .await?;
            start_balances.push((
                sys.native_balance(true, key.address()).await?,
                sys.native_balance(false, key.address()).await?,
            ));
            nodes.push(node);
        }
        let miner = sys.start_miner(Duration::from_millis(250));
        let user = dev_key(&sys.side, 7);
        Ok(Self {
            sys,
            nodes,
            user,
            start_balances,
            _miner: miner,
            _dir: dir,
        })
    }

    pub(crate) async fn start_nodes(&mut self) -> eyre::Result<()> {
        for node in &mut self.nodes {
            if !node.is_running() {
                node.start().await?;
            }
        }
        Ok(())
    }

    /// Locks `count` deposits of `amount` each for the side-chain user.
    pub(crate) async fn deposit_many(&self, count: usize, amount: U256) -> eyre::Result<()> {
        let main = self.sys.main_as(&self.sys.holder);
        let bridge = self.sys.deployment.main.bridge;
        IERC20Metadata::new(self.sys.main_token, &main)
            .approve(bridge, amount * U256::from(count))
            .send()
            .await?
            .get_receipt()
            .await?;
        let main_bridge = MainBridge::new(bridge, &main);
        for _ in 0..count {
            let receipt = main_bridge
                .lock(self.sys.main_token, amount, self.user.address())
                .send()
                .await?
                .get_receipt()
                .await?;
            eyre::ensure!(receipt.status(), "lock reverted");
        }
        Ok(())
    }

    /// Deposits `count` of `amount` to the user and waits (up to a minute) until its wrapped
    /// balance is `total`.
    pub(crate) async fn deposit_landed(
        &self,
        count: usize,
        amount: U256,
        total: U256,
    ) -> eyre::Result<()> {
        self.deposit_many(count, amount).await?;
        self.await_wrapped(self.user.address(), total, Duration::from_secs(60))
            .await
    }

    /// Burns `count` withdrawals of `amount` each from the side-chain user to `recipient`.
    pub(crate) async fn withdraw_many(
        &self,
        count: usize,
        amount: U256,
        recipient: Address,
    ) -> eyre::Result<()> {
        let side = self.sys.side_as(&self.user);
        let bridge = SideBridge::new(self.sys.deployment.side.bridge, &side);
        for _ in 0..count {
            let receipt = bridge
                .burn(self.sys.wrapped_token, amount, recipient)
                .send()
                .await?
                .get_receipt()
                .await?;
            eyre::ensure!(receipt.status(), "burn reverted");
        }
        Ok(())
    }

    pub(crate) async fn wrapped_balance(&self, account: Address) -> eyre::Result<U256> {
        System::balance(
            &self.sys.side_as(&self.user),
            self.sys.wrapped_token,
            account,
        )
        .await
    }

    pub(crate) async fn main_balance(&self, account: Address) -> eyre::Result<U256> {
        System::balance(
            &self.sys.main_as(&self.sys.holder),
            self.sys.main_token,
            account,
        )
        .await
    }

    /// Waits until `account` holds `expected` wrapped tokens.
    pub(crate) async fn await_wrapped(
        &self,
        account: Address,
        expected: U256,
        timeout: Duration,
    ) -> eyre::Result<()> {
        await_until(timeout, "deposits to be minted", || async {
            Ok((self.wrapped_balance(account).await? == expected).then_some(()))
        })
        .await
        .map_err(|e| self.with_logs(e))
    }

    /// Waits until the side-chain user holds `n` wrapped tokens.
    pub(crate) async fn await_user_minted(&self, n: usize, timeout: Duration) -> eyre::Result<()> {
        self.await_wrapped(self.user.address(), tokens(n as u64), timeout)
            .await
    }

    /// No node settled an account nonce twice, and every ledger reconciles to the wei (run
    /// after the nodes stopped).
    pub(crate) async fn assert_settled_once_and_reconciled(&self) -> eyre::Result<()> {
        for node in &self.nodes {
            let store = Store::connect(&node.database_url).await?;
            let twice = store.nonces_settled_twice().await?;
            eyre::ensure!(twice.is_empty(), "nonces settled twice: {twice:?}");
        }
        self.assert_ledgers_reconcile().await
    }

    /// Waits until `account` holds `expected` main tokens.
    pub(crate) async fn await_main(
        &self,
        account: Address,
        expected: U256,
        timeout: Duration,
    ) -> eyre::Result<()> {
        await_until(timeout, "withdrawals to be released", || async {
            Ok((self.main_balance(account).await? == expected).then_some(()))
        })
        .await
        .map_err(|e| self.with_logs(e))
    }

    fn with_logs(&self, err: eyre::Report) -> eyre::Report {
        let tail: String = self
            .nodes
            .iter()
            .map(|n| {
                let log = n.log();
                let start = log.len().saturating_sub(3_000);
                format!("--- node {} ---\n{}\n", n.address, &log[start..])
            })
            .collect();
        err.wrap_err(tail)
    }

    /// Number of events with `signature` the bridge on `main`/side emitted.
    pub(crate) async fn count_events(
        &self,
        main: bool,
        signature: alloy::primitives::B256,
    ) -> eyre::Result<usize> {
        let (provider, bridge) = if main {
            (
                self.sys.main_as(&self.sys.holder),
                self.sys.deployment.main.bridge,
            )
        } else {
            (
                self.sys.side_as(&self.user),
                self.sys.deployment.side.bridge,
            )
        };
        Ok(provider
            .get_logs(
                &Filter::new()
                    .address(bridge)
                    .from_block(0)
                    .event_signature(signature),
            )
            .await?
            .len())
    }

    /// Exactly `deposits` mints on the side chain and `withdrawals` releases on the main chain:
    /// nothing lost, nothing paid twice.
    pub(crate) async fn assert_landed_once(
        &self,
        deposits: usize,
        withdrawals: usize,
    ) -> eyre::Result<()> {
        let minted = self
            .count_events(false, SideBridge::DepositExecuted::SIGNATURE_HASH)
            .await?;
        let released = self
            .count_events(true, MainBridge::Released::SIGNATURE_HASH)
            .await?;
        eyre::ensure!(minted == deposits, "{minted} mints for {deposits} deposits");
        eyre::ensure!(
            released == withdrawals,
            "{released} releases for {withdrawals} withdrawals"
        );
        Ok(())
    }

    /// Stops every node with SIGTERM and requires exit code 0, and a log in plain text (its
    /// stderr is a file, not a terminal).
    pub(crate) async fn stop_all(&mut self) -> eyre::Result<()> {
        for node in &mut self.nodes {
            let code = node.stop().await?;
            eyre::ensure!(
                code == Some(0),
                "node {} exited with {code:?}\n{}",
                node.address,
                node.log()
            );
            eyre::ensure!(
                !node.log().contains('\x1b'),
                "colour codes in a log written to a file"
            );
        }
        Ok(())
    }

    /// Every validator's ledger total on each chain equals its balance decrease, to the wei.
    /// On a mismatch the error lists the account's mined transactions the ledger lacks and the
    /// ledger entries no mined transaction of the account backs.
    pub(crate) async fn assert_ledgers_reconcile(&self) -> eyre::Result<()> {
        for (node, (main_start, side_start)) in self.nodes.iter().zip(&self.start_balances) {
            let store = Store::connect(&node.database_url).await?;
            let address = node.address;
            for (chain, start) in [(Chain::Main, main_start), (Chain::Side, side_start)] {
                let now = self
                    .sys
                    .native_balance(chain == Chain::Main, address)
                    .await?;
                let ledger = store.total_cost(chain).await?;
                if ledger != *start - now {
                    let detail = self.ledger_gaps(&store, chain, address).await?;
                    eyre::bail!(
                        "{chain} ledger of {address}: {ledger} wei recorded, balance fell by {}\n{detail}\n{}",
                        *start - now,
                        node.log()
                    );
                }
            }
        }
        Ok(())
    }

    /// What the chain says `account` paid, transaction by transaction, against its ledger.
    async fn ledger_gaps(
        &self,
        store: &Store,
        chain: Chain,
        account: Address,
    ) -> eyre::Result<String> {
        let anvil = if chain == Chain::Main {
            &self.sys.main
        } else {
            &self.sys.side
        };
        let provider = alloy::providers::ProviderBuilder::new().connect_http(anvil.endpoint_url());
        let mut charged = std::collections::HashMap::<B256, U256>::new();
        for e in store.cost_entries().await? {
            if e.chain == chain {
                *charged.entry(e.tx_hash).or_default() += e.cost_wei;
            }
        }
        let mut out = String::new();
        let head = provider.get_block_number().await?;
        for number in 0..=head {
            let Some(block) = provider.get_block_by_number(number.into()).full().await? else {
                continue;
            };
            for tx in block.transactions.txns() {
                if tx.inner.signer() != account {
                    continue;
                }
                let hash = *tx.inner.tx_hash();
                let Some(receipt) = provider.get_transaction_receipt(hash).await? else {
                    continue;
                };
                let paid = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
                match charged.remove(&hash) {
                    Some(cost) if cost == paid => {}
                    Some(cost) => {
                        out += &format!("{hash} block {number}: paid {paid}, charged {cost}\n")
                    }
                    None => {
                        out += &format!(
                            "{hash} block {number} nonce {}: paid {paid}, not in the ledger\n",
                            tx.inner.nonce()
                        )
                    }
                }
            }
        }
        for (hash, cost) in charged {
            out += &format!("{hash}: charged {cost}, no mined transaction of the account\n");
        }
        Ok(out)
    }

    /// Waits until every node's database shows `count` transfers completed.
    pub(crate) async fn await_all_completed(
        &self,
        count: i64,
        timeout: Duration,
    ) -> eyre::Result<()> {
        for node in &self.nodes {
            let store = Store::connect(&node.database_url).await?;
            await_until(timeout, "every node to record completion", || async {
                let done: i64 = store
                    .count_by_state()
                    .await?
                    .iter()
                    .filter(|(_, s, _)| *s == TransferState::Completed)
                    .map(|(_, _, n)| n)
                    .sum();
                Ok((done == count).then_some(()))
            })
            .await
            .map_err(|e| self.with_logs(e))?;
        }
        Ok(())
    }
}

pub(crate) fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

async fn hundred_each_way(backend: Backend) -> eyre::Result<()> {
    let mut bridge = Bridge::start(
        4,
        3,
        NodeOptions {
            backend,
            ..NodeOptions::default()
        },
    )
    .await?;
    bridge.start_nodes().await?;
    let n = 100;
    bridge.deposit_many(n, tokens(1)).await?;
    bridge
        .await_user_minted(n, Duration::from_secs(180))
        .await?;

    let recipient = PrivateKeySigner::random().address();
    bridge.withdraw_many(n, tokens(1), recipient).await?;
    bridge
        .await_main(recipient, tokens(n as u64), Duration::from_secs(300))
        .await?;

    // exactly once, on both chains
    bridge.assert_landed_once(n, n).await?;
    let supply = IERC20Metadata::new(bridge.sys.wrapped_token, bridge.sys.side_as(&bridge.user))
        .totalSupply()
        .call()
        .await?;
    assert_eq!(supply, U256::ZERO);
    bridge
        .await_all_completed(2 * n as i64, Duration::from_secs(60))
        .await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn hundred_deposits_and_withdrawals_land_once_sqlite() -> eyre::Result<()> {
    hundred_each_way(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn hundred_deposits_and_withdrawals_land_once_postgres() -> eyre::Result<()> {
    if !sidebridge_anvil_tests::relayers::postgres_enabled() {
        return Ok(());
    }
    hundred_each_way(Backend::Postgres).await
}
