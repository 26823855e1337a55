//! The cost ledger's reports: what this validator paid in gas, and what the bridge collected in
//! fees, grouped by transfer, token, chain or day, for people (an aligned table) and for
//! scripts (CSV, JSON).
//!
//! The submitter charges every mined transaction to the transfers it served, split to the wei
//! with [`crate::domain::split_cost`], and the store keeps those parts; this module only adds
//! them up. It is pure: entries in, rows and text out. Sums are `U256` (and shown exactly,
//! never through floating point) so the report reconciles to the wei with the account's
//! balance change.

pub mod fees;
pub mod watch;

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

use alloy::primitives::{Address, B256, U256};

use crate::{
    domain::{Chain, CostEntry},
    store::FeeEntry,
};

/// What the rows of a report stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostGrouping {
    /// One row per transfer id; costs of transactions that served no stored transfer come
    /// under [`UNATTRIBUTED`].
    Transfer,
    /// One row per main-chain token (checksummed address).
    Token,
    /// One row per chain: the totals to reconcile with each account's balance.
    Chain,
    /// One row per UTC day, `YYYY-MM-DD`, of the block that included the transaction (or
    /// collected the fee).
    Day,
}

/// The key of costs that served no stored transfer.
pub const UNATTRIBUTED: &str = "unattributed";

/// One line of a cost report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostRow {
    pub key: String,
    /// The chain every entry of the row is on; `None` when the row spans both (a withdrawal's
    /// signatures on the side chain and its release on main, or a day's work).
    pub chain: Option<Chain>,
    /// Distinct transactions with a part in the row. A batch serving several transfers counts
    /// once in each of their rows.
    pub transactions: usize,
    pub gas_cost_wei: U256,
    /// Fees in the token's smallest units. A row spanning several tokens (by chain, by day)
    /// adds up different units: meaningful per token only.
    pub fees_collected: U256,
}

/// How [`render`] writes the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostFormat {
    Table,
    Csv,
    Json,
}

#[derive(Default)]
struct Acc {
    chains: BTreeSet<Chain>,
    txs: BTreeSet<B256>,
    gas: U256,
    fees: U256,
}

/// Adds up cost entries and fees into rows of `by`, sorted by key.
pub fn group_costs(entries: &[CostEntry], fees: &[FeeEntry], by: CostGrouping) -> Vec<CostRow> {
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    for e in entries {
        let key = match by {
            CostGrouping::Transfer => transfer_key(e.transfer_id),
            CostGrouping::Token => token_key(e.token),
            CostGrouping::Chain => e.chain.as_str().to_string(),
            CostGrouping::Day => utc_date(e.timestamp),
        };
        let acc = groups.entry(key).or_default();
        acc.chains.insert(e.chain);
        acc.txs.insert(e.tx_hash);
        // 2^256 wei of gas cannot be spent; saturating keeps this total function honest
        acc.gas = acc.gas.saturating_add(e.cost_wei);
    }
    for f in fees {
        let key = match by {
            CostGrouping::Transfer => transfer_key(f.transfer_id),
            CostGrouping::Token => token_key(f.token),
            CostGrouping::Chain => f.chain.as_str().to_string(),
            CostGrouping::Day => utc_date(f.timestamp),
        };
        let acc = groups.entry(key).or_default();
        acc.chains.insert(f.chain);
        acc.fees = acc.fees.saturating_add(f.amount);
    }
    groups
        .into_iter()
        .map(|(key, acc)| CostRow {
            key,
            chain: match acc.chains.len() {
                1 => acc.chains.first().copied(),
                _ => None,
            },
            transactions: acc.txs.len(),
            gas_cost_wei: acc.gas,
            fees_collected: acc.fees,
        })
        .collect()
}

fn transfer_key(id: B256) -> String {
    if id.is_zero() {
        UNATTRIBUTED.to_string()
    } else {
        format!("{id:#x}")
    }
}

fn token_key(token: Address) -> String {
    token.to_checksum(None)
}

/// The UTC calendar date of a Unix timestamp, `YYYY-MM-DD`.
pub fn utc_date(timestamp: i64) -> String {
    let (y, m, d) = civil_from_days(timestamp.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian (year, month, day) of a count of days since 1970-01-01; Howard
/// Hinnant's `civil_from_days`, exact for every `i64` day a timestamp can produce.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // both are in range by construction
    (year, month as u32, day as u32)
}

/// An amount of wei as ether with all 18 decimals: `123456789000000` → `0.000123456789000000`.
pub fn format_eth(wei: U256) -> String {
    let unit = U256::from(10u64).pow(U256::from(18u64));
    let whole = wei / unit;
    let frac = wei % unit;
    // through a String: the fill and width flags are the `str` formatter's
    format!("{whole}.{:0>18}", frac.to_string())
}

const HEADERS: [&str; 6] = [
    "key",
    "chain",
    "transactions",
    "gas_cost_wei",
    "gas_cost_eth",
    "fees_collected",
];

fn cells(row: &CostRow) -> [String; 6] {
    [
        row.key.clone(),
        row.chain
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        row.transactions.to_string(),
        row.gas_cost_wei.to_string(),
        format_eth(row.gas_cost_wei),
        row.fees_collected.to_string(),
    ]
}

/// Writes a report. Every format ends with a newline; an empty report still has its header
/// (`[]` in JSON).
pub fn render(rows: &[CostRow], format: CostFormat) -> String {
    match format {
        CostFormat::Table => render_table(rows),
        CostFormat::Csv => render_csv(rows),
        CostFormat::Json => render_json(rows),
    }
}

fn render_table(rows: &[CostRow]) -> String {
    let headers = [
        "KEY",
        "CHAIN",
        "TXS",
        "GAS COST (WEI)",
        "GAS COST (ETH)",
        "FEES COLLECTED",
    ];
    // text columns read left to right, numbers line up on their last digit
    let right = [false, false, true, true, true, true];
    let body: Vec<[String; 6]> = rows.iter().map(cells).collect();
    let mut widths = headers.map(str::len);
    for line in &body {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let header_cells = headers.map(str::to_string);
    for line in std::iter::once(&header_cells).chain(&body) {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let w = widths[i];
            // writing to a String cannot fail
            let _ = if right[i] {
                write!(text, "{cell:>w$}")
            } else {
                write!(text, "{cell:<w$}")
            };
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

fn render_csv(rows: &[CostRow]) -> String {
    let mut out = HEADERS.join(",");
    out.push('\n');
    for row in rows {
        let line: Vec<String> = cells(row).iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it must be (RFC 4180).
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn render_json(rows: &[CostRow]) -> String {
    // amounts as decimal strings: JSON numbers lose precision past 2^53 in most readers
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "key": row.key,
                "chain": row.chain.map(Chain::as_str),
                "transactions": row.transactions,
                "gasCostWei": row.gas_cost_wei.to_string(),
                "gasCostEth": format_eth(row.gas_cost_wei),
                "feesCollected": row.fees_collected.to_string(),
            })
        })
        .collect();
    format!("{:#}\n", serde_json::Value::Array(rows))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, b256};

    use super::*;
    use crate::domain::{TxKind, split_cost};

    const TOKEN_A: Address = address!("0x00000000000000000000000000000000000000aa");
    const TOKEN_B: Address = address!("0x00000000000000000000000000000000000000bb");
    const DAY: i64 = 86_400;

    fn id(n: u8) -> B256 {
        B256::with_last_byte(n)
    }

    fn entry(
        tx: u8,
        chain: Chain,
        transfer: B256,
        token: Address,
        wei: U256,
        ts: i64,
    ) -> CostEntry {
        CostEntry {
            tx_hash: B256::repeat_byte(tx),
            chain,
            kind: match chain {
                Chain::Main => TxKind::Release,
                Chain::Side => TxKind::ApproveDeposits,
            },
            transfer_id: transfer,
            token,
            cost_wei: wei,
            block: 1,
            timestamp: ts,
        }
    }

    /// One batch transaction serving three transfers, split the way the submitter does.
    fn batch(tx: u8, total: U256, transfers: &[(B256, Address)], ts: i64) -> Vec<CostEntry> {
        split_cost(total, transfers.len())
            .into_iter()
            .zip(transfers)
            .map(|(wei, (transfer, token))| entry(tx, Chain::Side, *transfer, *token, wei, ts))
            .collect()
    }

    #[test]
    fn parts_of_a_batch_add_up_to_the_transaction() {
        let total = U256::from(1_000_000_000_000_000_001u64); // does not divide by 3
        let entries = batch(
            1,
            total,
            &[(id(1), TOKEN_A), (id(2), TOKEN_A), (id(3), TOKEN_B)],
            0,
        );

        let by_transfer = group_costs(&entries, &[], CostGrouping::Transfer);
        assert_eq!(by_transfer.len(), 3);
        let sum = by_transfer
            .iter()
            .fold(U256::ZERO, |s, r| s + r.gas_cost_wei);
        assert_eq!(sum, total);
        assert!(by_transfer.iter().all(|r| r.transactions == 1));

        let by_chain = group_costs(&entries, &[], CostGrouping::Chain);
        assert_eq!(by_chain.len(), 1);
        assert_eq!(by_chain[0].key, "side");
        assert_eq!(by_chain[0].chain, Some(Chain::Side));
        assert_eq!(by_chain[0].transactions, 1);
        assert_eq!(by_chain[0].gas_cost_wei, total);

        let by_token = group_costs(&entries, &[], CostGrouping::Token);
        assert_eq!(by_token.len(), 2);
        let sum = by_token.iter().fold(U256::ZERO, |s, r| s + r.gas_cost_wei);
        assert_eq!(sum, total);
        assert!(by_token.iter().all(|r| r.transactions == 1));
    }

    #[test]
    fn grouping_by_transfer_follows_a_withdrawal_across_chains() {
        let w = id(7);
        let entries = vec![
            entry(1, Chain::Side, w, TOKEN_A, U256::from(10), 0),
            entry(2, Chain::Main, w, TOKEN_A, U256::from(500), 0),
            entry(3, Chain::Main, B256::ZERO, Address::ZERO, U256::from(4), 0),
        ];
        let fees = vec![FeeEntry {
            transfer_id: w,
            chain: Chain::Side,
            token: TOKEN_A,
            amount: U256::from(3),
            timestamp: 0,
        }];
        let rows = group_costs(&entries, &fees, CostGrouping::Transfer);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].key, format!("{w:#x}"));
        assert_eq!(rows[0].chain, None, "spans both chains");
        assert_eq!(rows[0].transactions, 2);
        assert_eq!(rows[0].gas_cost_wei, U256::from(510));
        assert_eq!(rows[0].fees_collected, U256::from(3));
        assert_eq!(rows[1].key, UNATTRIBUTED);
        assert_eq!(rows[1].chain, Some(Chain::Main));
        assert_eq!(rows[1].gas_cost_wei, U256::from(4));
    }

    #[test]
    fn grouping_by_token_counts_distinct_transactions_and_fees() {
        let mut entries = batch(1, U256::from(9), &[(id(1), TOKEN_A), (id(2), TOKEN_A)], 0);
        entries.extend(batch(
            2,
            U256::from(6),
            &[(id(3), TOKEN_A), (id(4), TOKEN_B)],
            0,
        ));
        let fees = vec![
            FeeEntry {
                transfer_id: id(1),
                chain: Chain::Main,
                token: TOKEN_A,
                amount: U256::from(100),
                timestamp: 0,
            },
            FeeEntry {
                transfer_id: id(4),
                chain: Chain::Main,
                token: TOKEN_B,
                amount: U256::from(7),
                timestamp: 0,
            },
        ];
        let rows = group_costs(&entries, &fees, CostGrouping::Token);
        assert_eq!(rows.len(), 2);
        let a = rows
            .iter()
            .find(|r| r.key == TOKEN_A.to_checksum(None))
            .expect("row of token A");
        assert_eq!(a.transactions, 2);
        assert_eq!(a.gas_cost_wei, U256::from(9 + 3));
        assert_eq!(a.fees_collected, U256::from(100));
        assert_eq!(a.chain, None, "costs on side, fee on main");
        let b = rows
            .iter()
            .find(|r| r.key == TOKEN_B.to_checksum(None))
            .expect("row of token B");
        assert_eq!(b.transactions, 1);
        assert_eq!(b.gas_cost_wei, U256::from(3));
        assert_eq!(b.fees_collected, U256::from(7));
        assert!(
            rows.windows(2).all(|w| w[0].key < w[1].key),
            "sorted by key"
        );
    }

    #[test]
    fn grouping_by_day_uses_the_utc_date() {
        let midnight = 19_782 * DAY; // 2024-02-29
        let entries = vec![
            entry(1, Chain::Side, id(1), TOKEN_A, U256::from(1), midnight - 1),
            entry(2, Chain::Side, id(2), TOKEN_A, U256::from(2), midnight),
            entry(
                3,
                Chain::Main,
                id(3),
                TOKEN_A,
                U256::from(4),
                midnight + DAY - 1,
            ),
        ];
        let rows = group_costs(&entries, &[], CostGrouping::Day);
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["2024-02-28", "2024-02-29"]);
        assert_eq!(rows[0].gas_cost_wei, U256::from(1));
        assert_eq!(rows[1].gas_cost_wei, U256::from(6));
        assert_eq!(rows[1].transactions, 2);
        assert_eq!(rows[1].chain, None);
    }

    #[test]
    fn civil_dates_are_right_at_the_edges() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        assert_eq!(utc_date(4_107_456_000), "2100-02-28"); // 2100 is not a leap year
        assert_eq!(utc_date(4_107_542_400), "2100-03-01");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(1_735_689_600), "2025-01-01");
    }

    #[test]
    fn civil_dates_agree_with_counting_days_one_by_one() {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..(400 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                (d, m) = (1, m + 1);
                if m > 12 {
                    (m, y) = (1, y + 1);
                }
            }
        }
    }

    #[test]
    fn ether_is_shown_with_all_eighteen_decimals() {
        assert_eq!(format_eth(U256::ZERO), "0.000000000000000000");
        assert_eq!(
            format_eth(U256::from(123_456_789_000_000u64)),
            "0.000123456789000000"
        );
        assert_eq!(
            format_eth(U256::from(1_000_000_000_000_000_001u64)),
            "1.000000000000000001"
        );
        let big = U256::from(u128::MAX) * U256::from(1000);
        let text = format_eth(big);
        let (whole, frac) = text.split_once('.').expect("a decimal point");
        assert_eq!(
            format!("{whole}{frac}").trim_start_matches('0'),
            big.to_string()
        );
    }

    fn sample_rows() -> Vec<CostRow> {
        vec![
            CostRow {
                key: "main".into(),
                chain: Some(Chain::Main),
                transactions: 12,
                gas_cost_wei: U256::from(123_456_789_000_000u64),
                fees_collected: U256::from(5),
            },
            CostRow {
                key: "side".into(),
                chain: None,
                transactions: 3,
                gas_cost_wei: U256::from(1_000_000_000_000_000_001u64),
                fees_collected: U256::ZERO,
            },
        ]
    }

    #[test]
    fn table_columns_line_up() {
        let text = render(&sample_rows(), CostFormat::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("KEY "));
        assert!(text.contains("0.000123456789000000"));
        assert!(text.contains("1.000000000000000001"));
        // right-aligned numbers end in the same column
        let end_of = |line: &str, needle: &str| line.find(needle).map(|i| i + needle.len());
        assert_eq!(
            end_of(lines[1], "0.000123456789000000"),
            end_of(lines[2], "1.000000000000000001")
        );
        assert_eq!(
            end_of(lines[0], "GAS COST (ETH)"),
            end_of(lines[1], "0.000123456789000000")
        );
        assert_eq!(lines[1].find("main"), lines[0].find("KEY"));
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_row() {
        let text = render(&sample_rows(), CostFormat::Csv);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "key,chain,transactions,gas_cost_wei,gas_cost_eth,fees_collected",
                "main,main,12,123456789000000,0.000123456789000000,5",
                "side,,3,1000000000000000001,1.000000000000000001,0",
            ]
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn json_keeps_amounts_exact() {
        let text = render(&sample_rows(), CostFormat::Json);
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value[0]["key"], "main");
        assert_eq!(value[0]["chain"], "main");
        assert_eq!(value[0]["transactions"], 12);
        assert_eq!(value[0]["gasCostEth"], "0.000123456789000000");
        assert_eq!(value[1]["chain"], serde_json::Value::Null);
        assert_eq!(value[1]["gasCostWei"], "1000000000000000001");
        assert_eq!(render(&[], CostFormat::Json), "[]\n");
    }

    #[test]
    fn empty_reports_still_have_headers() {
        assert_eq!(render(&[], CostFormat::Table).lines().count(), 1);
        assert_eq!(render(&[], CostFormat::Csv).lines().count(), 1);
        assert!(group_costs(&[], &[], CostGrouping::Day).is_empty());
    }

    #[test]
    fn transfer_keys_are_lowercase_hex() {
        let id = b256!("0x00000000000000000000000000000000000000000000000000000000000000AB");
        assert_eq!(
            transfer_key(id),
            "0x00000000000000000000000000000000000000000000000000000000000000ab"
        );
    }
}
