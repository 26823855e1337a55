//! Results on stdout: a few aligned lines for people, one JSON document for scripts.

use alloy::primitives::Address;
use serde_json::{Value, json};
use sidebridge_contracts::bindings::IERC20Metadata;
use sidebridge_core::{amount::format_amount, domain::Chain};

use crate::{
    chained::Second,
    history,
    network::Net,
    track::{Located, Progress},
};

pub(crate) struct Printer {
    pub(crate) json: bool,
}

/// The symbol and decimals of a main-chain token, from the deployment or the chain.
async fn token_of(net: &Net, main_token: Address) -> (String, u8) {
    if let Some(t) = net
        .deployment
        .tokens
        .iter()
        .find(|t| t.main_token == main_token)
    {
        return (t.symbol.clone(), t.decimals);
    }
    let erc20 = IERC20Metadata::new(main_token, net.provider(Chain::Main));
    let decimals = erc20.decimals().call().await.unwrap_or(18);
    (net.deployment.symbol_of(main_token), decimals)
}

/// A chain as holders name it: `main`, or the side chain's name (`side` on a one-route
/// deployment).
fn name(net: &Net, chain: Chain) -> String {
    match chain {
        Chain::Main => "main".into(),
        Chain::Side => net.deployment.side_name.clone(),
    }
}

async fn transfer_json(net: &Net, t: &Located, p: &Progress) -> Value {
    let (symbol, decimals) = token_of(net, t.transfer.token).await;
    json!({
        "id": t.id,
        "direction": t.direction.as_str(),
        "state": p.stage().as_str(),
        "progress": p.describe(t.direction),
        "nonce": t.transfer.nonce,
        "token": t.transfer.token,
        "symbol": symbol,
        "sender": t.transfer.sender,
        "recipient": t.transfer.recipient,
        "amount": format_amount(t.transfer.amount, decimals),
        "fee": format_amount(t.fee, decimals),
        "amountUnits": t.transfer.amount.to_string(),
        "source": {
            "chain": name(net, t.direction.source()),
            "tx": t.source_tx,
            "block": t.source_block,
            "confirmations": p.confirmations,
            "confirmationsNeeded": p.confirmations_needed,
        },
        "approvals": {"have": p.approvals, "threshold": p.threshold, "ready": p.ready},
        "queue": p.queue.map(|q| json!({"eta": q.eta, "held": q.held, "canceled": q.canceled})),
        "destination": {
            "chain": name(net, t.direction.destination()),
            "tx": p.destination_tx,
        },
    })
}

impl Printer {
    pub(crate) async fn transfer(&self, net: &Net, t: &Located, p: &Progress) {
        let v = transfer_json(net, t, p).await;
        if self.json {
            println!("{v:#}");
            return;
        }
        self.lines(net, t, p, &v, None);
        if let Some(index) = &net.deployment.index_url {
            println!("index      {index}/api/transfers/{}", t.id);
        }
    }

    /// `onward`: the side chain a chained withdrawal's recipient is on.
    fn lines(&self, net: &Net, t: &Located, p: &Progress, v: &Value, onward: Option<&str>) {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let (src, dst) = (
            name(net, t.direction.source()),
            name(net, t.direction.destination()),
        );
        let to = match onward {
            Some(b) => format!("{b} (through the hub on {dst})"),
            None => dst.clone(),
        };
        println!("transfer   {}", t.id);
        println!("direction  {} ({src} → {dst})", t.direction.as_str());
        println!(
            "amount     {} {} (fee {})",
            s("amount"),
            s("symbol"),
            s("fee")
        );
        println!(
            "from       {} on {src}, tx {} (block {})",
            t.transfer.sender, t.source_tx, t.source_block
        );
        let landed = p
            .destination_tx
            .map(|tx| format!("tx {tx}"))
            .unwrap_or_else(|| "not yet".into());
        println!("to         {} on {to}, {landed}", t.transfer.recipient);
        println!(
            "state      {}: {}",
            p.stage().as_str(),
            p.describe(t.direction)
        );
    }

    /// A chained transfer as one: A → main → B, both legs and the state of the whole.
    pub(crate) async fn chained(
        &self,
        a: &Net,
        b: &Net,
        t: &Located,
        first: &Progress,
        second: &Second,
    ) {
        let (from, to) = (&a.deployment.side_name, &b.deployment.side_name);
        let leg1 = transfer_json(a, t, first).await;
        let leg2 = match second {
            Second::Forwarded(leg) => Some(transfer_json(b, &leg.0, &leg.1).await),
            _ => None,
        };
        let parked = match second {
            Second::Parked(why) => Some(why.clone()),
            _ => None,
        };
        if self.json {
            let v = json!({
                "chained": {"from": from, "to": to},
                "id": t.id,
                "state": second.stage(),
                "legs": [leg1, leg2],
                "parked": parked,
            });
            println!("{v:#}");
            return;
        }
        println!("chained    {from} → main → {to}: {}", second.stage());
        println!("-- leg 1: withdrawal from {from}, settled on the main chain's hub");
        self.lines(a, t, first, &leg1, Some(to));
        match second {
            Second::NotYet => println!("-- leg 2: main → {to}, once leg 1 is settled"),
            Second::Parked(why) => {
                println!("-- leg 2: parked on the hub: {why}");
                println!(
                    "           it waits there: `sidebridge forward {}` once {to} takes it, or its sender's `sidebridge refund {} [--here]`",
                    t.id, t.id
                );
            }
            Second::Refunded => {
                println!("-- leg 2: parked on the hub, then refunded to its sender");
            }
            Second::Forwarded(leg) => {
                println!("-- leg 2: deposit to {to}");
                self.lines(b, &leg.0, &leg.1, leg2.as_ref().expect("forwarded"), None);
            }
        }
        if let Some(index) = &a.deployment.index_url {
            println!("index      {index}/api/transfers/{}", t.id);
        }
    }

    pub(crate) async fn history(&self, nets: &[Net], address: Address, page: &history::Page) {
        let mut rows = Vec::new();
        for r in &page.rows {
            let net = &nets[r.route];
            let (symbol, decimals) = token_of(net, r.transfer.transfer.token).await;
            rows.push(json!({
                "id": r.transfer.id,
                "direction": r.transfer.direction.as_str(),
                "from": name(net, r.transfer.direction.source()),
                "to": r.to.clone(),
                "state": r.state,
                "time": r.time,
                "symbol": symbol,
                "amount": format_amount(r.transfer.transfer.amount, decimals),
                "recipient": r.transfer.transfer.recipient,
                "sourceTx": r.transfer.source_tx,
                "destinationTx": r.destination_tx,
            }));
        }
        let pages = page.total.div_ceil(page.per_page).max(1);
        if self.json {
            let v = json!({
                "address": address,
                "page": page.page,
                "perPage": page.per_page,
                "pages": pages,
                "total": page.total,
                "transfers": rows,
            });
            println!("{v:#}");
            return;
        }
        println!(
            "{:<10} {:<14} {:<8} {:>20} {:<7} {:<66} SOURCE TX",
            "DIRECTION", "ROUTE", "STATE", "AMOUNT", "TOKEN", "TRANSFER"
        );
        for r in &rows {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            println!(
                "{:<10} {:<14} {:<8} {:>20} {:<7} {:<66} {}",
                s("direction"),
                format!("{}→{}", s("from"), s("to")),
                s("state"),
                s("amount"),
                s("symbol"),
                s("id"),
                s("sourceTx")
            );
        }
        eprintln!(
            "page {} of {pages} ({} transfers sent by {address})",
            page.page, page.total
        );
    }
}
