//! An AES-256 key on a token, used for AES-GCM: the sealed secrets' master key when it lives
//! on an HSM. It is generated on the token sensitive and not extractable, so wrapping and
//! unwrapping data keys happens inside the device and the master key never reaches this
//! process's memory; a stolen disk holds only ciphertext, and a stolen token needs its PIN.
//!
//! The token's `CKM_AES_GCM` output is the ciphertext followed by a 128-bit tag, which is what
//! the software AES-GCM writes too: an entry wrapped by either is the same shape in the file.

use cryptoki::{
    error::Error as CkError,
    mechanism::{Mechanism, aead::GcmParams},
    object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle},
    session::Session,
    types::Ulong,
};

use super::{HsmError, Token};

/// A key's length in bytes: AES-256.
const KEY_LEN: u64 = 32;
/// The GCM tag, in bits.
const TAG_BITS: u64 = 128;

/// An AES-256 key found on a logged-in token.
pub struct AesKey {
    token: Token,
    label: String,
    session: Session,
    key: ObjectHandle,
}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesKey")
            .field("token", &self.token.label())
            .field("key", &self.label)
            .finish_non_exhaustive()
    }
}

impl AesKey {
    /// Logs in and finds the AES key labelled `label`. Blocks.
    pub fn find(token: Token, label: &str) -> Result<Self, HsmError> {
        let session = token.login(false)?;
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(|e| token.error("finding the key", e))?;
        let key = match found.as_slice() {
            [] => {
                return Err(HsmError::NoMasterKey {
                    token: token.label().to_string(),
                    key: label.to_string(),
                });
            }
            [key] => *key,
            _ => return Err(token.bad_key(label, "several keys share the label")),
        };
        let attributes = session
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::ValueLen,
                    AttributeType::Encrypt,
                    AttributeType::Decrypt,
                ],
            )
            .map_err(|e| token.error("reading the key's attributes", e))?;
        let (mut aes, mut len, mut encrypt, mut decrypt) = (false, 0, false, false);
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(kind) => aes = kind == KeyType::AES,
                Attribute::ValueLen(n) => len = u64::from(n),
                Attribute::Encrypt(allowed) => encrypt = allowed,
                Attribute::Decrypt(allowed) => decrypt = allowed,
                _ => {}
            }
        }
        if !aes || len != KEY_LEN {
            return Err(token.bad_key(label, "not an AES-256 key"));
        }
        if !(encrypt && decrypt) {
            return Err(token.bad_key(label, "it may not encrypt and decrypt"));
        }
        Ok(Self {
            label: label.to_string(),
            token,
            session,
            key,
        })
    }

    /// Generates an AES-256 key labelled `label` on the token: sensitive, not extractable,
    /// for encrypting and decrypting only. Refuses a label any object already has. Blocks.
    pub fn generate(token: &Token, label: &str) -> Result<(), HsmError> {
        let session = token.login(true)?;
        let taken = session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .map_err(|e| token.error("finding the key", e))?;
        if !taken.is_empty() {
            return Err(token.key_exists(label));
        }
        let name = label.as_bytes().to_vec();
        let template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Sign(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::ValueLen(Ulong::from(KEY_LEN)),
            Attribute::Label(name.clone()),
            Attribute::Id(name),
        ];
        session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(|e| token.error("generating the AES key", e))?;
        Ok(())
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn token_label(&self) -> &str {
        self.token.label()
    }

    /// AES-GCM on the token: `msg` sealed under `nonce` with `aad`, the tag appended.
    pub fn seal(&self, nonce: &[u8; 12], msg: &[u8], aad: &[u8]) -> Result<Vec<u8>, HsmError> {
        let mut iv = *nonce;
        let params = gcm(&mut iv, aad).map_err(|e| self.token.error("encrypting", e))?;
        self.session
            .encrypt(&Mechanism::AesGcm(params), self.key, msg)
            .map_err(|e| self.token.error("encrypting", e))
    }

    /// The plaintext of `sealed`, or `None` when it does not authenticate under this key with
    /// `nonce` and `aad` (another key's, or altered). A device that fails is an error.
    ///
    /// Tokens do not agree on what a failed tag check returns (SoftHSM2 says
    /// `CKR_GENERAL_ERROR`, others `CKR_ENCRYPTED_DATA_INVALID`), so after a failure the key is
    /// tried on a fresh random message: if that round-trips, the device works and it was the
    /// input that did not authenticate. Either way nothing opens; this only picks the message.
    pub fn open(
        &self,
        nonce: &[u8; 12],
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<Option<Vec<u8>>, HsmError> {
        let failed = match self.decrypt(nonce, sealed, aad) {
            Ok(plain) => return Ok(Some(plain)),
            Err(failed) => failed,
        };
        let probe: [u8; 16] = rand::random();
        let probe_nonce: [u8; 12] = rand::random();
        let works = self
            .seal(&probe_nonce, &probe, b"probe")
            .ok()
            .and_then(|sealed| self.decrypt(&probe_nonce, &sealed, b"probe").ok())
            .is_some_and(|plain| plain == probe);
        if works {
            Ok(None)
        } else {
            Err(self.token.error("decrypting", failed))
        }
    }

    fn decrypt(&self, nonce: &[u8; 12], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CkError> {
        let mut iv = *nonce;
        let params = gcm(&mut iv, aad)?;
        self.session
            .decrypt(&Mechanism::AesGcm(params), self.key, sealed)
    }
}

fn gcm<'a>(iv: &'a mut [u8; 12], aad: &'a [u8]) -> Result<GcmParams<'a>, CkError> {
    GcmParams::new(iv, aad, Ulong::from(TAG_BITS))
}
