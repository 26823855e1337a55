//! Actions into transactions: the calldata of each bridge call and the transfers (with their
//! token, for the cost ledger) it serves. Pure, but for signing withdrawals with the validator
//! key, which is side-effect free (and asynchronous: the key may be on a token).

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use alloy::{
    primitives::{Address, B256, Bytes, keccak256},
    signers::Signature,
    sol_types::SolCall,
};
use sidebridge_contracts::{
    bindings::{MainBridge, SideBridge},
    pack_signatures,
};

use super::decide::ValidatorView;
use crate::{
    domain::{Direction, PublishedSignature, TransferRecord, TxKind},
    signer::{SignError, ValidatorSigner},
    submitter::TxRequest,
    watcher::Route,
};

fn request(kind: TxKind, to: Address, input: Vec<u8>, records: &[&TransferRecord]) -> TxRequest {
    TxRequest {
        kind,
        to,
        input: Bytes::from(input),
        transfers: records.iter().map(|r| (r.id, r.token())).collect(),
    }
}

/// One `approveDeposits` for the batch.
pub fn approve(route: &Route, batch: &[TransferRecord]) -> TxRequest {
    let transfers = batch.iter().map(|r| r.transfer.clone().into()).collect();
    let input = SideBridge::approveDepositsCall { transfers }.abi_encode();
    let records: Vec<&TransferRecord> = batch.iter().collect();
    request(TxKind::ApproveDeposits, route.side_bridge, input, &records)
}

/// Signs every withdrawal of the batch and publishes the signatures in one `submitSignatures`.
pub async fn sign(
    route: &Route,
    signer: &ValidatorSigner,
    batch: &[TransferRecord],
) -> Result<TxRequest, SignError> {
    let mut signatures = Vec::with_capacity(batch.len() * 65);
    for record in batch {
        let signature = signer.sign_withdrawal(record.id).await?;
        signatures.extend_from_slice(&signature.as_bytes());
    }
    let transfers = batch.iter().map(|r| r.transfer.clone().into()).collect();
    let input = SideBridge::submitSignaturesCall {
        transfers,
        signatures: signatures.into(),
    }
    .abi_encode();
    let records: Vec<&TransferRecord> = batch.iter().collect();
    Ok(request(
        TxKind::SubmitSignatures,
        route.side_bridge,
        input,
        &records,
    ))
}

/// Which stored signatures recover to the validator they are stored under, remembered so that
/// each is recovered once however many rounds look at it. Keyed by keccak256(id ‖ validator ‖
/// signature): an entry vouches for that exact triple only; for a forged triple to take a
/// genuine one's entry an attacker who picks every input needs a keccak collision, a 2^128
/// birthday search. Bounded: past [`SignatureCache::CAPACITY`] entries it starts over (a
/// forgotten signature is recovered again).
#[derive(Debug, Default)]
pub struct SignatureCache(Mutex<HashMap<B256, bool>>);

impl SignatureCache {
    pub const CAPACITY: usize = 100_000;

    /// Whether `s` is its validator's signature over its transfer id.
    pub fn is_valid(&self, s: &PublishedSignature) -> bool {
        let key = keccak256(
            [
                s.transfer_id.as_slice(),
                s.validator.as_slice(),
                s.signature.as_slice(),
            ]
            .concat(),
        );
        if let Some(known) = self.lock().get(&key) {
            return *known;
        }
        let valid = Signature::try_from(s.signature.as_slice())
            .ok()
            .and_then(|sig| sig.recover_address_from_prehash(&s.transfer_id).ok())
            == Some(s.validator);
        let mut known = self.lock();
        if known.len() >= Self::CAPACITY {
            known.clear();
        }
        known.insert(key, valid);
        valid
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<B256, bool>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The packed signatures `release` wants: of current validators only, ascending, one each, as
/// many as the threshold; `None` when fewer are at hand. Signatures are stored as published,
/// so each is recovered (once, through `cache`) and used only if it is its validator's: a
/// lying node's record under a validator's name is passed over for that validator's genuine
/// one. Stops at the threshold, so a release costs its sender `threshold` recoveries per
/// transfer and nobody else any.
pub fn assemble(
    published: &[PublishedSignature],
    view: &ValidatorView,
    cache: &SignatureCache,
) -> Option<Bytes> {
    let mut candidates: Vec<&PublishedSignature> = published
        .iter()
        .filter(|s| view.validators.contains(&s.validator))
        .collect();
    candidates.sort_by_key(|s| s.validator);
    let mut chosen: Vec<(Address, Signature)> = Vec::with_capacity(view.threshold);
    for s in candidates {
        if chosen.len() >= view.threshold {
            break;
        }
        if chosen.last().is_some_and(|(v, _)| *v == s.validator) || !cache.is_valid(s) {
            continue;
        }
        if let Ok(sig) = Signature::try_from(s.signature.as_slice()) {
            chosen.push((s.validator, sig));
        }
    }
    (view.threshold > 0 && chosen.len() >= view.threshold).then(|| pack_signatures(chosen))
}

/// Releases the withdrawals with their assembled signatures: `release` for one, `releaseBatch`
/// for more (each still checked against its own signatures, a failing one skipped).
pub fn release(route: &Route, batch: &[(TransferRecord, Bytes)]) -> Option<TxRequest> {
    let records: Vec<&TransferRecord> = batch.iter().map(|(r, _)| r).collect();
    let input = match batch {
        [] => return None,
        [(record, signatures)] => MainBridge::releaseCall {
            t: record.transfer.clone().into(),
            signatures: signatures.clone(),
        }
        .abi_encode(),
        _ => MainBridge::releaseBatchCall {
            transfers: batch
                .iter()
                .map(|(r, _)| r.transfer.clone().into())
                .collect(),
            signatures: batch.iter().map(|(_, s)| s.clone()).collect(),
        }
        .abi_encode(),
    };
    Some(request(TxKind::Release, route.main_bridge, input, &records))
}

/// `executeQueued` on the transfer's destination bridge.
pub fn execute_queued(route: &Route, record: &TransferRecord) -> TxRequest {
    let t = record.transfer.clone();
    let (kind, to, input) = match record.direction {
        Direction::Deposit => (
            TxKind::ExecuteQueuedMint,
            route.side_bridge,
            SideBridge::executeQueuedCall { t: t.into() }.abi_encode(),
        ),
        Direction::Withdrawal => (
            TxKind::ExecuteQueuedRelease,
            route.main_bridge,
            MainBridge::executeQueuedCall { t: t.into() }.abi_encode(),
        ),
    };
    request(kind, to, input, &[record])
}

/// `SideBridge.executeDeposit` for a deposit that has its votes but stalled.
pub fn execute_deposit(route: &Route, record: &TransferRecord) -> TxRequest {
    let input = SideBridge::executeDepositCall {
        t: record.transfer.clone().into(),
    }
    .abi_encode();
    request(TxKind::ExecuteDeposit, route.side_bridge, input, &[record])
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{B256, U256},
        signers::{SignerSync, local::PrivateKeySigner},
    };
    use sidebridge_contracts::{Transfer, transfer_digest};

    use super::*;
    use crate::domain::TransferState;

    fn route() -> Route {
        Route {
            main_chain_id: 1,
            side_chain_id: 2,
            main_bridge: Address::repeat_byte(0x11),
            side_bridge: Address::repeat_byte(0x22),
            hub: false,
        }
    }

    fn withdrawal(nonce: u64) -> TransferRecord {
        TransferRecord {
            id: B256::repeat_byte(nonce as u8 + 1),
            direction: Direction::Withdrawal,
            transfer: Transfer {
                srcChainId: U256::from(2),
                dstChainId: U256::from(1),
                nonce,
                amount: U256::from(5),
                ..Default::default()
            },
            fee: U256::ZERO,
            source_block: 1,
            source_tx: B256::ZERO,
            source_hash: B256::ZERO,
            source_time: 0,
            state: TransferState::Ready,
            created_at: 0,
            updated_at: 0,
        }
    }

    /// Keys sorted by address.
    fn keys(n: usize) -> Vec<PrivateKeySigner> {
        let mut keys: Vec<_> = (0..n).map(|_| PrivateKeySigner::random()).collect();
        keys.sort_by_key(|k| k.address());
        keys
    }

    #[test]
    fn signatures_are_those_of_current_validators_ascending_up_to_the_threshold() {
        let keys = keys(4);
        let record = withdrawal(0);
        let digest = transfer_digest(&record.transfer, route().main_bridge);
        let published: Vec<PublishedSignature> = keys
            .iter()
            .rev()
            .map(|k| PublishedSignature {
                transfer_id: digest,
                nonce: 0,
                validator: k.address(),
                signature: k.sign_hash_sync(&digest).expect("sign").as_bytes().to_vec(),
            })
            .collect();
        // the first key was removed from the set
        let view = ValidatorView {
            me: keys[1].address(),
            validators: keys[1..].iter().map(|k| k.address()).collect(),
            threshold: 2,
        };
        let cache = SignatureCache::default();
        let packed = assemble(&published, &view, &cache).expect("enough");
        assert_eq!(packed.len(), 130);
        let signers = signers_of(&packed, &digest);
        assert_eq!(signers, vec![keys[1].address(), keys[2].address()]);
        let strict = ValidatorView {
            threshold: 4,
            ..view
        };
        assert_eq!(
            assemble(&published, &strict, &cache),
            None,
            "three current is not four"
        );
    }

    /// The signer of each 65-byte signature in `packed`, in order.
    fn signers_of(packed: &[u8], digest: &B256) -> Vec<Address> {
        packed
            .chunks(65)
            .map(|c| {
                Signature::try_from(c)
                    .expect("65 bytes")
                    .recover_address_from_prehash(digest)
                    .expect("recover")
            })
            .collect()
    }

    /// A lying node published a record under a validator's name first (and another under a
    /// stranger's): the genuine signature is still found and the forgeries never sent.
    #[test]
    fn a_forged_signature_is_passed_over_for_the_genuine_one() {
        let keys = keys(3);
        let stranger = PrivateKeySigner::random();
        let record = withdrawal(7);
        let digest = transfer_digest(&record.transfer, route().main_bridge);
        let sig = |k: &PrivateKeySigner, under: Address| PublishedSignature {
            transfer_id: digest,
            nonce: 7,
            validator: under,
            signature: k.sign_hash_sync(&digest).expect("sign").as_bytes().to_vec(),
        };
        let mut published = vec![
            sig(&stranger, keys[0].address()),
            sig(&keys[0], keys[0].address()),
            sig(&keys[1], keys[1].address()),
            sig(&stranger, stranger.address()),
        ];
        // the forgery sorts before the genuine one
        published.sort_by(|a, b| (a.validator, &a.signature).cmp(&(b.validator, &b.signature)));
        let view = ValidatorView {
            me: keys[0].address(),
            validators: keys.iter().map(|k| k.address()).collect(),
            threshold: 2,
        };
        let cache = SignatureCache::default();
        let packed = assemble(&published, &view, &cache).expect("two genuine");
        let signers = signers_of(&packed, &digest);
        assert_eq!(signers, vec![keys[0].address(), keys[1].address()]);
        assert!(!cache.is_valid(&sig(&stranger, keys[0].address())));
        assert!(cache.is_valid(&sig(&keys[0], keys[0].address())));
        // a cached verdict vouches for its exact triple only: the genuine bytes under another
        // name, or for another transfer, are recovered anew and refused
        assert!(!cache.is_valid(&sig(&keys[0], keys[1].address())));
        let mut elsewhere = sig(&keys[0], keys[0].address());
        elsewhere.transfer_id = alloy::primitives::B256::repeat_byte(0x43);
        assert!(!cache.is_valid(&elsewhere));

        // with only forgeries for the second validator there is no release to send
        let forged_only = vec![
            sig(&keys[0], keys[0].address()),
            sig(&stranger, keys[1].address()),
            sig(&keys[0], keys[1].address()),
        ];
        assert_eq!(assemble(&forged_only, &view, &cache), None);
    }

    #[test]
    fn one_release_is_a_release_and_more_are_a_batch() {
        let one = [(withdrawal(0), Bytes::from(vec![1u8; 65]))];
        let r = release(&route(), &one).expect("a request");
        assert_eq!(r.to, route().main_bridge);
        assert_eq!(&r.input[..4], MainBridge::releaseCall::SELECTOR.as_slice());
        let two = [
            (withdrawal(0), Bytes::from(vec![1u8; 65])),
            (withdrawal(1), Bytes::from(vec![2u8; 65])),
        ];
        let r = release(&route(), &two).expect("a request");
        assert_eq!(
            &r.input[..4],
            MainBridge::releaseBatchCall::SELECTOR.as_slice()
        );
        let decoded = MainBridge::releaseBatchCall::abi_decode(&r.input).expect("decodes");
        assert_eq!(decoded.transfers.len(), 2);
        assert_eq!(decoded.signatures[1], Bytes::from(vec![2u8; 65]));
        assert_eq!(r.transfers.len(), 2);
        assert!(release(&route(), &[]).is_none());
    }
}
