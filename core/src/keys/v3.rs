//! Writing a Web3 Secret Storage (version 3) keystore ourselves, so the scrypt cost is ours to
//! choose: the library we unlock with writes n = 2^13, a sixteenth of the standard 2^18 that
//! geth and `cast wallet` use, which makes every password guess 32 times cheaper for whoever
//! copies the file. Reading stays with that library (it follows whatever the file says).
//!
//! The format: a 32-byte key is derived from the password with scrypt over a random 32-byte
//! salt; its first half is the AES-128-CTR key that encrypts the private key under a random
//! 16-byte IV; `mac = keccak256(second half || ciphertext)` lets a reader tell a wrong password
//! from a damaged file before using the key.

use alloy::{
    primitives::{Address, keccak256},
    signers::k256::elliptic_curve::zeroize::Zeroizing,
};
use ctr::cipher::{KeyIvInit, StreamCipher};
use rand::RngCore;
use serde_json::json;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// How much work each password guess costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfCost {
    /// scrypt n = 2^18, r = 8, p = 1: the standard (geth, `cast wallet`); about a second and
    /// 256 MiB per unlock. What `relayer keys new` and `import` write.
    Standard,
    /// scrypt n = 2^12, r = 8, p = 6: geth's "light" cost, for throwaway keys of tests and
    /// local devnets that unlock dozens of times a minute. Never for a key that holds value.
    Light,
}

impl KdfCost {
    /// `(log2 n, r, p)`.
    pub fn params(self) -> (u8, u32, u32) {
        match self {
            KdfCost::Standard => (18, 8, 1),
            KdfCost::Light => (12, 8, 6),
        }
    }
}

/// The keystore JSON of `key` under `password`, with the geth-style `address` field.
pub(super) fn encrypt(
    key: &[u8; 32],
    password: &str,
    address: Address,
    cost: KdfCost,
    rng: &mut impl RngCore,
) -> serde_json::Value {
    let (log_n, r, p) = cost.params();
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    rng.fill_bytes(&mut id);
    let params = scrypt::Params::new(log_n, r, p).expect("the two costs are valid parameters");
    let mut derived = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password.as_bytes(), &salt, &params, derived.as_mut_slice())
        .expect("a 32-byte output is a valid length");
    let mut ciphertext = key.to_vec();
    Aes128Ctr::new(derived[..16].into(), (&iv).into()).apply_keystream(&mut ciphertext);
    let mac = keccak256([&derived[16..], ciphertext.as_slice()].concat());
    // a random (version 4) UUID
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    let h = alloy::hex::encode(id);
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    let address = format!("{address:x}");
    json!({
        "address": address.trim_start_matches("0x"),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": { "iv": alloy::hex::encode(iv) },
            "ciphertext": alloy::hex::encode(&ciphertext),
            "kdf": "scrypt",
            "kdfparams": {
                "dklen": 32,
                "n": 1u64 << log_n,
                "p": p,
                "r": r,
                "salt": alloy::hex::encode(salt),
            },
            "mac": alloy::hex::encode(mac),
        },
        "id": uuid,
        "version": 3,
    })
}
