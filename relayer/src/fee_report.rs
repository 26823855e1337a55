//! `relayer costs --fees`: the ledger's fees against its relay costs per token and direction
//! ([`sidebridge_relayer::ledger::fees`]), with what the chains say about each token (symbol,
//! decimals, the fee it charges now) and the validator set's size, and the break-even fee as a
//! `bridgectl` proposal to copy.

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
};
use eyre::{WrapErr, eyre};
use sidebridge_contracts::bindings::{IERC20Metadata, Operational};
use sidebridge_core::amount::{format_amount, parse_amount};
use sidebridge_relayer::{
    config::Config,
    domain::Direction,
    ledger::fees::{Coverage, Prices, coverage},
    store::Store,
    watcher::Route,
};

/// `--price TOKEN=PRICE`: one whole token in the main chain's native coin.
pub(crate) fn parse_price(s: &str) -> Result<(Address, String), String> {
    let (token, price) = s
        .split_once('=')
        .ok_or_else(|| "expected TOKEN=PRICE, e.g. 0x…=0.0004".to_string())?;
    let token: Address = token
        .parse()
        .map_err(|_| format!("{token:?} is not a token address"))?;
    parse_amount(price, 18).map_err(|e| e.to_string())?;
    Ok((token, price.to_string()))
}

/// What `--fees` was asked.
#[derive(Debug, Clone)]
pub(crate) struct FeeArgs {
    pub(crate) days: u64,
    pub(crate) prices: Vec<(Address, String)>,
    pub(crate) side_native_price: String,
    pub(crate) json: bool,
}

struct TokenFacts {
    symbol: String,
    decimals: u8,
    /// The fee the token's source chain charges now: bps and flat (smallest units).
    fee_bps: u16,
    flat_fee: U256,
    /// The fee cap; 0 is none.
    max_fee: U256,
    /// The token on the source chain: the main token, or its wrapped twin.
    local: Address,
}

async fn facts(
    main: &DynProvider,
    side: &DynProvider,
    config: &Config,
    token: Address,
    direction: Direction,
) -> eyre::Result<TokenFacts> {
    let erc20 = IERC20Metadata::new(token, main);
    let decimals = erc20.decimals().call().await.unwrap_or(18);
    let symbol = erc20
        .symbol()
        .call()
        .await
        .unwrap_or_else(|_| token.to_string());
    let (op, local) = match direction {
        Direction::Deposit => (Operational::new(config.main.operational, main), token),
        Direction::Withdrawal => {
            let op = Operational::new(config.side.operational, side);
            let wrapped = op.localOf(token).call().await?;
            (op, wrapped)
        }
    };
    let cfg = op.tokenConfig(local).call().await?;
    Ok(TokenFacts {
        symbol,
        decimals,
        fee_bps: cfg.feeBps,
        flat_fee: cfg.flatFee,
        max_fee: cfg.maxFee,
        local,
    })
}

/// Prints the report.
pub(crate) async fn report(config: &Config, args: FeeArgs) -> eyre::Result<()> {
    let store = Store::connect(config.database_url.expose()).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let since = i64::try_from(now.saturating_sub(args.days * 86_400)).unwrap_or(i64::MAX);
    let rows = coverage(
        &store.cost_entries().await?,
        &store.fee_entries().await?,
        since,
    );
    let main = ProviderBuilder::new()
        .connect(&config.main.rpc_url)
        .await
        .wrap_err("connecting to the main chain")?
        .erased();
    let side = ProviderBuilder::new()
        .connect(&config.side.rpc_url)
        .await
        .wrap_err("connecting to the side chain")?
        .erased();
    let validators = Route::between(&config.main, &config.side)
        .main_set(&main)
        .await
        .wrap_err("reading the validator set")?
        .validators
        .len() as u64;
    let side_native =
        parse_amount(&args.side_native_price, 18).map_err(|e| eyre!("--side-native-price: {e}"))?;

    let mut out = Vec::new();
    for ((token, direction), row) in &rows {
        let f = facts(&main, &side, config, *token, *direction).await?;
        let price = args
            .prices
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, p)| parse_amount(p, 18))
            .transpose()
            .map_err(|e| eyre!("--price: {e}"))?
            .unwrap_or_default();
        let prices = Prices {
            token_in_main_wei: price,
            decimals: f.decimals,
            side_native_in_main_wei: side_native,
        };
        out.push(Line::new(*token, *direction, row, f, validators, &prices));
    }
    if args.json {
        let v: Vec<serde_json::Value> = out.iter().map(Line::json).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "fees collected against relay costs over the last {} day(s); {validators} validators, each paying about what this one pays",
        args.days
    );
    println!(
        "{:<8} {:<10} {:>9} {:>16} {:>16} {:>20} {:>20} {:>18}",
        "TOKEN",
        "DIRECTION",
        "TRANSFERS",
        "FEES",
        "FEE/TRANSFER",
        "MAIN GAS (wei)",
        "SIDE GAS (wei)",
        "BREAK-EVEN FEE"
    );
    for l in &out {
        let decimals = l.facts.decimals;
        println!(
            "{:<8} {:<10} {:>9} {:>16} {:>16} {:>20} {:>20} {:>18}",
            l.facts.symbol,
            l.direction.as_str(),
            l.row.transfers,
            format_amount(l.row.fees, decimals),
            format_amount(l.row.fee_per_transfer(), decimals),
            l.row.cost_main_wei,
            l.row.cost_side_wei,
            l.break_even
                .map(|b| format_amount(b, decimals))
                .unwrap_or_else(|| "(--price)".into())
        );
    }
    for l in &out {
        if let Some(cmd) = l.proposal() {
            println!("{cmd}");
        }
    }
    Ok(())
}

/// One token and direction: fees against costs, what the token charges now, the break-even.
struct Line {
    token: Address,
    direction: Direction,
    row: Coverage,
    facts: TokenFacts,
    break_even: Option<U256>,
}

impl Line {
    fn new(
        token: Address,
        direction: Direction,
        row: &Coverage,
        f: TokenFacts,
        validators: u64,
        prices: &Prices,
    ) -> Self {
        Self {
            token,
            direction,
            break_even: row.break_even_fee(validators, prices),
            row: row.clone(),
            facts: f,
        }
    }

    /// The proposal that sets the flat fee to the break-even fee, when fees fall short of it.
    fn proposal(&self) -> Option<String> {
        let be = self.break_even?;
        if self.row.fee_per_transfer() >= be {
            return None;
        }
        let chain = match self.direction {
            Direction::Deposit => "main",
            Direction::Withdrawal => "side",
        };
        let f = &self.facts;
        let flat = be.max(f.flat_fee);
        // the cap the token has stays (set-fees without --max-fee would lift it), raised to
        // the new flat fee where it is below it
        let max_fee = match f.max_fee {
            cap if cap.is_zero() => String::new(),
            cap => format!(" --max-fee {}", format_amount(cap.max(flat), f.decimals)),
        };
        Some(format!(
            "# {} {}s pay {} per transfer, relaying costs {}: to break even\nbridgectl propose --chain {chain} set-fees {} --bps {} --flat {}{max_fee}",
            f.symbol,
            self.direction.as_str(),
            format_amount(self.row.fee_per_transfer(), f.decimals),
            format_amount(be, f.decimals),
            f.local,
            f.fee_bps,
            format_amount(flat, f.decimals),
        ))
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "token": self.token,
            "symbol": self.facts.symbol,
            "direction": self.direction.as_str(),
            "transfers": self.row.transfers,
            "fees": self.row.fees.to_string(),
            "feePerTransfer": self.row.fee_per_transfer().to_string(),
            "gasMainWei": self.row.cost_main_wei.to_string(),
            "gasSideWei": self.row.cost_side_wei.to_string(),
            "breakEvenFee": self.break_even.map(|b| b.to_string()),
            "currentFee": {
                "bps": self.facts.fee_bps,
                "flat": self.facts.flat_fee.to_string(),
                "max": self.facts.max_fee.to_string(),
            },
            "proposal": self.proposal(),
        })
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;

    use super::*;

    /// A DEMO line whose fees (0.01 per transfer) fall short of the cost of relaying.
    fn line(max_fee: U256) -> Line {
        let row = Coverage {
            transfers: 10,
            fees: U256::from(10u64) * U256::from(10u64).pow(U256::from(16)),
            cost_main_wei: U256::from(10u64) * U256::from(10u64).pow(U256::from(15)),
            cost_side_wei: U256::ZERO,
        };
        let facts = TokenFacts {
            symbol: "DEMO".into(),
            decimals: 18,
            fee_bps: 10,
            flat_fee: U256::from(10u64).pow(U256::from(16)),
            max_fee,
            local: address!("5fbdb2315678afecb367f032d93f642f64180aa3"),
        };
        let prices = Prices {
            // 1 DEMO = 0.01 ETH
            token_in_main_wei: U256::from(10u64).pow(U256::from(16)),
            decimals: 18,
            side_native_in_main_wei: U256::from(WEI),
        };
        Line::new(facts.local, Direction::Deposit, &row, facts, 3, &prices)
    }

    const WEI: u64 = 1_000_000_000_000_000_000;

    #[test]
    fn the_proposal_sets_the_break_even_fee_and_keeps_the_cap() {
        // 0.001 ETH per transfer per validator, 3 validators: 0.003 ETH = 0.3 DEMO
        let uncapped = line(U256::ZERO).proposal().expect("fees fall short");
        assert_eq!(
            uncapped.lines().nth(1),
            Some(
                "bridgectl propose --chain main set-fees \
                 0x5FbDB2315678afecb367f032d93F642f64180aa3 --bps 10 --flat 0.3"
            )
        );
        // a cap of 5 DEMO stays; a cap below the new flat fee is raised to it
        let capped = line(U256::from(5u64) * U256::from(WEI))
            .proposal()
            .expect("short");
        assert!(
            capped.ends_with("--bps 10 --flat 0.3 --max-fee 5"),
            "{capped}"
        );
        let low = line(U256::from(WEI / 10)).proposal().expect("short");
        assert!(low.ends_with("--flat 0.3 --max-fee 0.3"), "{low}");
        assert_eq!(line(U256::ZERO).json()["currentFee"]["max"], "0");
    }
}
