//! The cross-chain message and its EIP-712 digest, byte for byte what the bridges compute.

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    signers::Signature,
    sol,
    sol_types::{Eip712Domain, SolStruct, SolValue, eip712_domain},
};

use crate::bindings::{MainBridge, MainHub, MainHubAdmin, SideBridge};

sol! {
    /// One transfer between the chains, naming both ends by chain id and bridge contract (a
    /// second bridge on a chain never shares ids or nonces with the first). `token` is the
    /// main-chain token on every route and `amount` is what the recipient receives (the fee
    /// was taken at the source).
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct Transfer {
        uint256 srcChainId;
        address srcBridge;
        uint256 dstChainId;
        address dstBridge;
        uint64 nonce;
        address token;
        address sender;
        address recipient;
        uint256 amount;
    }
}

/// The EIP-712 domain of the bridge that receives a transfer: a signature made for one chain or
/// one bridge is worthless on any other.
pub fn transfer_domain(dst_chain_id: u64, dst_bridge: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Sidebridge",
        version: "1",
        chain_id: dst_chain_id,
        verifying_contract: dst_bridge,
    }
}

/// The transfer id: the EIP-712 digest validators sign, under the destination bridge's domain.
pub fn transfer_digest(transfer: &Transfer, dst_bridge: Address) -> B256 {
    let chain_id: u64 = transfer.dstChainId.saturating_to();
    transfer.eip712_signing_hash(&transfer_domain(chain_id, dst_bridge))
}

/// A hub route's id: `keccak256(abi.encode(chainId, bridge))` of the side chain and its
/// bridge, as `MainHub` computes it.
pub fn route_id(chain_id: u64, bridge: Address) -> B256 {
    alloy::primitives::keccak256((U256::from(chain_id), bridge).abi_encode())
}

/// Packs signatures for `MainBridge.release`: 65-byte `r‖s‖v` each, ordered by strictly
/// ascending signer address, each in its low-s form, as the contract requires. A published
/// high-s twin (`s' = n − s`, the parity flipped: the same signer, anyone can make one from a
/// genuine signature) would make the release revert and waste its gas; its low-s form is the
/// genuine signature.
pub fn pack_signatures(mut signatures: Vec<(Address, Signature)>) -> Bytes {
    signatures.sort_by_key(|(signer, _)| *signer);
    signatures.dedup_by_key(|(signer, _)| *signer);
    let mut out = Vec::with_capacity(signatures.len() * 65);
    for (_, signature) in &signatures {
        out.extend_from_slice(&signature.normalized_s().as_bytes());
    }
    out.into()
}

macro_rules! convert_transfer {
    ($($module:ident),*) => {$(
        impl From<Transfer> for $module::Transfer {
            fn from(t: Transfer) -> Self {
                Self {
                    srcChainId: t.srcChainId,
                    srcBridge: t.srcBridge,
                    dstChainId: t.dstChainId,
                    dstBridge: t.dstBridge,
                    nonce: t.nonce,
                    token: t.token,
                    sender: t.sender,
                    recipient: t.recipient,
                    amount: t.amount,
                }
            }
        }

        impl From<$module::Transfer> for Transfer {
            fn from(t: $module::Transfer) -> Self {
                Self {
                    srcChainId: t.srcChainId,
                    srcBridge: t.srcBridge,
                    dstChainId: t.dstChainId,
                    dstBridge: t.dstBridge,
                    nonce: t.nonce,
                    token: t.token,
                    sender: t.sender,
                    recipient: t.recipient,
                    amount: t.amount,
                }
            }
        }
    )*};
}

convert_transfer!(MainBridge, SideBridge, MainHub, MainHubAdmin);

impl Transfer {
    /// The deposit a `Locked` event of `main_bridge` describes (main chain → side chain, whose
    /// bridge is `side_bridge`).
    pub fn from_locked(
        event: &MainBridge::Locked,
        main_chain_id: u64,
        main_bridge: Address,
        side_bridge: Address,
    ) -> Self {
        Self {
            srcChainId: U256::from(main_chain_id),
            srcBridge: main_bridge,
            dstChainId: event.dstChainId,
            dstBridge: side_bridge,
            nonce: event.nonce,
            token: event.token,
            sender: event.sender,
            recipient: event.recipient,
            amount: event.amount,
        }
    }

    /// The deposit a hub's `Locked` event describes, for the route of `side_chain_id`'s
    /// `side_bridge` (the event names the route by its id; the caller checks it is this one).
    pub fn from_hub_locked(
        event: &MainHub::Locked,
        main_chain_id: u64,
        hub: Address,
        side_chain_id: u64,
        side_bridge: Address,
    ) -> Self {
        Self {
            srcChainId: U256::from(main_chain_id),
            srcBridge: hub,
            dstChainId: U256::from(side_chain_id),
            dstBridge: side_bridge,
            nonce: event.nonce,
            token: event.token,
            sender: event.sender,
            recipient: event.recipient,
            amount: event.amount,
        }
    }

    /// The withdrawal a `Burned` event of `side_bridge` describes: to the main chain's bridge,
    /// or (chained, through a hub) to another side chain's, as the event names it.
    pub fn from_burned(
        event: &SideBridge::Burned,
        side_chain_id: u64,
        side_bridge: Address,
    ) -> Self {
        Self {
            srcChainId: U256::from(side_chain_id),
            srcBridge: side_bridge,
            dstChainId: event.dstChainId,
            dstBridge: event.dstBridge,
            nonce: event.nonce,
            token: event.token,
            sender: event.sender,
            recipient: event.recipient,
            amount: event.amount,
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{address, keccak256},
        signers::{SignerSync, local::PrivateKeySigner},
    };

    use super::*;

    /// secp256k1's group order.
    const SECP256K1N_ORDER: alloy::primitives::U256 = alloy::primitives::uint!(
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256
    );

    /// The finding: a high-s twin of a validator's signature (published by anyone) was packed
    /// as it came and the contract, which takes low-s only, reverted the release. Packed, it
    /// is the genuine low-s signature again.
    #[test]
    fn a_high_s_twin_is_packed_as_the_genuine_low_s_signature() {
        let key = PrivateKeySigner::random();
        let digest = keccak256(b"a withdrawal");
        let genuine = key.sign_hash_sync(&digest).expect("sign");
        let twin = alloy::primitives::Signature::new(
            genuine.r(),
            SECP256K1N_ORDER - genuine.s(),
            !genuine.v(),
        );
        assert!(twin.normalize_s().is_some(), "the twin is high-s");
        assert_eq!(
            twin.recover_address_from_prehash(&digest)
                .expect("recovers"),
            key.address(),
            "and still recovers to the validator"
        );
        assert_eq!(
            pack_signatures(vec![(key.address(), twin)]),
            pack_signatures(vec![(key.address(), genuine)]),
        );
        assert_eq!(
            &pack_signatures(vec![(key.address(), twin)])[..],
            &genuine.as_bytes()[..]
        );
    }

    #[test]
    fn typehash_matches_the_solidity_declaration() {
        let declared = "Transfer(uint256 srcChainId,address srcBridge,uint256 dstChainId,address dstBridge,uint64 nonce,address token,address sender,address recipient,uint256 amount)";
        assert_eq!(Transfer::default().eip712_type_hash(), keccak256(declared));
    }

    #[test]
    fn digest_depends_on_chain_and_bridge() {
        let t = Transfer {
            dstChainId: U256::from(1),
            amount: U256::from(5),
            ..Default::default()
        };
        let a = transfer_digest(&t, address!("0x0000000000000000000000000000000000000001"));
        let b = transfer_digest(&t, address!("0x0000000000000000000000000000000000000002"));
        let other_chain = Transfer {
            dstChainId: U256::from(2),
            ..t.clone()
        };
        let c = transfer_digest(
            &other_chain,
            address!("0x0000000000000000000000000000000000000001"),
        );
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn signatures_are_packed_ascending_without_duplicates() {
        let digest = B256::repeat_byte(7);
        let mut signed = Vec::new();
        for _ in 0..4 {
            let key = PrivateKeySigner::random();
            let sig = key.sign_hash_sync(&digest).expect("signing a digest");
            signed.push((key.address(), sig));
        }
        signed.push(signed[0]);
        let packed = pack_signatures(signed.clone());
        assert_eq!(packed.len(), 4 * 65);
        let mut recovered = Vec::new();
        for chunk in packed.chunks(65) {
            let sig = Signature::try_from(chunk).expect("65-byte signature");
            recovered.push(
                sig.recover_address_from_prehash(&digest)
                    .expect("recoverable"),
            );
        }
        let mut sorted = recovered.clone();
        sorted.sort();
        assert_eq!(recovered, sorted);
    }
}
