//! Whether a chain charges no gas, decided the same way by the relayer (what it offers, whether
//! it needs a gas runway there) and the holder CLI (what a wallet offers, whether it needs coin).
//!
//! A chain charges no gas when its latest block's base fee is 0 **and** its node prices gas at
//! 0 (`eth_gasPrice`). The base fee alone is not enough: a chain may run a zero base fee and
//! still demand a tip (its node then prices gas above 0), and a transaction offering 0 there
//! would never be mined. A chain that reports no base fee at all is not free either.

use alloy::{
    eips::BlockNumberOrTag,
    providers::{DynProvider, Provider},
    transports::{RpcError, TransportErrorKind},
};

/// See the module's text. One block read, and one `eth_gasPrice` when the base fee is 0.
pub async fn charges_no_gas(provider: &DynProvider) -> Result<bool, RpcError<TransportErrorKind>> {
    let base_fee = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await?
        .and_then(|b| b.header.base_fee_per_gas);
    if base_fee != Some(0) {
        return Ok(false);
    }
    Ok(provider.get_gas_price().await? == 0)
}
