//! EIP-2612 `permit`: the digest a holder signs so that `MainBridge.lockWithPermit` approves and
//! locks in one transaction. The token's own `DOMAIN_SEPARATOR()` is used as read from the
//! chain, so the digest is right for any EIP-2612 token whatever its name and version.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    sol_types::SolValue,
};

/// `keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")`.
pub fn permit_typehash() -> B256 {
    keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
}

/// The EIP-712 digest of a permit letting `spender` take `value` of `owner`'s tokens.
pub fn permit_digest(
    domain_separator: B256,
    owner: Address,
    spender: Address,
    value: U256,
    nonce: U256,
    deadline: U256,
) -> B256 {
    let struct_hash =
        keccak256((permit_typehash(), owner, spender, value, nonce, deadline).abi_encode());
    let mut preimage = [0u8; 66];
    preimage[..2].copy_from_slice(b"\x19\x01");
    preimage[2..34].copy_from_slice(domain_separator.as_slice());
    preimage[34..].copy_from_slice(struct_hash.as_slice());
    keccak256(preimage)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typehash is the one OpenZeppelin's ERC20Permit declares; the digest as a whole is
    /// checked against a deployed token by the holder CLI's end-to-end test (a wrong digest
    /// leaves no allowance and the lock reverts).
    #[test]
    fn the_typehash_matches_eip_2612() {
        assert_eq!(
            permit_typehash().to_string(),
            "0x6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9"
        );
    }
}
