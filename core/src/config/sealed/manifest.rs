//! The manifest: which entry of each secret is current, sealed under the master keys, so an
//! older entry put back in the file is refused although it authenticates on its own.
//!
//! An entry's associated data binds its name and version. That stops an entry moved to another
//! name or given another version number, but not an attacker who can write the file and kept
//! an older copy of it: the database URL's version 3 entry, put back where version 4 was,
//! authenticates with its own name and version. So every `seal`, `rotate` and `reseal` also
//! writes the manifest: for each name, the current version and a Keccak-256 digest of its
//! whole entry, AES-256-GCM-sealed under the newest master through [`MasterKey`] (on an HSM
//! too). Its associated data is the master version it is sealed under and a digest of the
//! file's master records (versions and check values: random per file, never changed once
//! written). `open`, once the entry authenticates, checks that the manifest authenticates and
//! records this very entry: the same version (else "version 3 is not the current version 4 the
//! file's manifest records") and the same digest.
//!
//! What that refuses, as the attacker would try it: an older entry put back (its version); an
//! entry of the same name and version copied from another file under the same master, or an
//! older wrapping of the current version (its digest); an entry added without sealing (not in
//! the manifest); an edited manifest; a manifest taken from another file under the same master
//! (its associated data names that file's master records, and if those are copied too, its
//! digests name that file's entries); edited master records, to steer a relayer to the older
//! copy described below (every manifest's associated data covers them all).
//!
//! The attacker's best remaining strategy is a whole-file rollback: put back the entire file as
//! it was, manifest included (or the manifest with every entry changed since, which comes to
//! the same). Everything in it is genuine, and nothing inside the file can tell it from the
//! latest: only state kept outside it could. The operator detects it by keeping the output of
//! `relayer secrets show-versions --json` off the host after each change and comparing: a
//! secret's version, or the newest master version, going down is a rollback. Retiring an old
//! master after a reseal also bounds it: a file from before that rotation needs the retired key.
//!
//! During a rotation a relayer may hold only the previous master (the new key not yet in its
//! `master_keys`). It cannot open the newest manifest, so `rotate` also seals the manifest
//! under the previous master, and such a relayer checks entries still under that master
//! against this copy. The copy is the file as it stood at the rotation: a secret sealed again
//! since can be rolled back to its value then, against that relayer only. A relayer holding
//! the newest master always checks against the newest manifest (the master records, which the
//! associated data covers, say which key is the newest), and `reseal` drops the older copy.
//!
//! A file of format 1 (written before manifests) loads, and `seal`, `rotate` or `reseal` writes
//! its manifest and format 2, but its secrets are refused until then. Opening it as before
//! would leave the hole open for good: delete the manifest, write `"format": 1`, and a file of
//! format 2 could no longer be checked, with nothing to tell the two apart. The refusal names
//! the one command that adds the manifest: `relayer secrets rotate --reseal` with the newest
//! master (which re-wraps nothing already under it).

use std::collections::{BTreeMap, BTreeSet};

use alloy::{
    hex,
    primitives::{B256, keccak256},
};
use serde::{Deserialize, Serialize};

use super::{Entry, FORMAT_UNMANIFESTED, MasterKey, NONCE_LEN, SealedError, SealedFile, random};

/// The manifest as the file holds it: sealed under one master version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SealedManifest {
    pub(super) master_version: u32,
    #[serde(with = "hex::serde")]
    nonce: Vec<u8>,
    #[serde(with = "hex::serde")]
    sealed: Vec<u8>,
}

/// What the manifest records of one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Current {
    version: u32,
    entry: B256,
}

type Manifest = BTreeMap<String, Current>;

/// The end of a [`SealedError::NotCurrent`] message.
pub(super) fn how_it_differs(version: &u32, current: &u32) -> &'static str {
    if version < current {
        "an older entry was put back"
    } else {
        "an older manifest was put back, or the entry came from another file"
    }
}

// Names hold no spaces and the digest is fixed-length hex: no collision with other AAD.
fn manifest_aad(master_version: u32, masters: B256) -> Vec<u8> {
    format!("sidebridge sealed manifest master v{master_version} masters {masters}").into_bytes()
}

/// Length-prefixed parts, so two different sequences never hash alike.
#[derive(Default)]
struct Parts(Vec<u8>);

impl Parts {
    fn add(mut self, part: &[u8]) -> Self {
        self.0.extend_from_slice(&(part.len() as u64).to_be_bytes());
        self.0.extend_from_slice(part);
        self
    }
}

impl Entry {
    /// Over every field: an entry changed anywhere is another entry.
    fn digest(&self) -> B256 {
        let parts = Parts::default()
            .add(&self.version.to_be_bytes())
            .add(&self.master_version.to_be_bytes())
            .add(&self.key_nonce)
            .add(&self.wrapped_key)
            .add(&self.nonce)
            .add(&self.ciphertext);
        keccak256(parts.0)
    }
}

impl SealedFile {
    fn masters_digest(&self) -> B256 {
        let parts = self.masters.iter().fold(Parts::default(), |parts, m| {
            parts
                .add(&m.version.to_be_bytes())
                .add(&m.check_nonce)
                .add(&m.check)
        });
        keccak256(parts.0)
    }

    /// The manifest of the file as it now stands, sealed under each of `under`.
    pub(super) fn seal_manifests(
        &self,
        under: &[(u32, &MasterKey)],
    ) -> Result<Vec<SealedManifest>, SealedError> {
        let manifest: Manifest = self
            .secrets
            .iter()
            .map(|(name, entry)| {
                let current = Current {
                    version: entry.version,
                    entry: entry.digest(),
                };
                (name.clone(), current)
            })
            .collect();
        let plain = serde_json::to_vec(&manifest).expect("a manifest serializes to JSON");
        let masters = self.masters_digest();
        under
            .iter()
            .map(|&(master_version, key)| {
                let nonce = random::<NONCE_LEN>();
                let aad = manifest_aad(master_version, masters);
                Ok(SealedManifest {
                    master_version,
                    sealed: key.seal(&nonce, &plain, &aad)?,
                    nonce: nonce.to_vec(),
                })
            })
            .collect()
    }

    /// Format 1 has no manifest; format 2 one under the newest master, and at most one under
    /// any other it records.
    pub(super) fn check_manifests_shape(&self) -> Result<(), String> {
        if self.format == FORMAT_UNMANIFESTED {
            return match self.manifests.is_empty() {
                true => Ok(()),
                false => Err("format 1 has no manifests".to_string()),
            };
        }
        let newest = self.newest_master();
        let mut seen = BTreeSet::new();
        for m in &self.manifests {
            let version = m.master_version;
            if version == 0 || version > newest || !seen.insert(version) {
                return Err(format!(
                    "a second manifest, or one under master version {version}, which the file \
                     does not record"
                ));
            }
        }
        match seen.contains(&newest) {
            true => Ok(()),
            false => Err(format!(
                "no manifest under the newest master version {newest}"
            )),
        }
    }

    pub(super) fn check_has_manifest(&self) -> Result<(), SealedError> {
        match self.format == FORMAT_UNMANIFESTED {
            true => Err(SealedError::NoManifest {
                path: self.path.clone(),
            }),
            false => Ok(()),
        }
    }

    /// Whether `entry`, which has authenticated as secret `name`, is the one the manifest
    /// records: the newest manifest when `keys` hold the newest master, else the copy under the
    /// entry's own master kept since a rotation.
    pub(super) fn check_current(
        &self,
        name: &str,
        entry: &Entry,
        keys: &[MasterKey],
    ) -> Result<(), SealedError> {
        self.check_has_manifest()?;
        let newest = self.newest_master();
        let (version, key) = match self.find_master(newest, keys)? {
            Some(key) => (newest, key),
            None => {
                let version = entry.master_version;
                let key = self.master(version, keys, || format!("secret \"{name}\" needs it"))?;
                (version, key)
            }
        };
        let sealed = self
            .manifests
            .iter()
            .find(|m| m.master_version == version)
            .ok_or_else(|| SealedError::ManifestKeyMissing {
                name: name.to_string(),
                newest,
            })?;
        let aad = manifest_aad(version, self.masters_digest());
        let plain = key
            .open(&sealed.nonce, &sealed.sealed, &aad)?
            .ok_or_else(|| SealedError::ManifestTampered {
                name: name.to_string(),
                master_version: version,
            })?;
        // it authenticates, so only a writer of this code made it
        let manifest: Manifest =
            serde_json::from_slice(&plain).map_err(|e| SealedError::Malformed {
                path: self.path.clone(),
                message: format!("its manifest under master version {version}: {e}"),
            })?;
        let current = manifest
            .get(name)
            .ok_or_else(|| SealedError::NotInManifest {
                name: name.to_string(),
            })?;
        if current.version != entry.version {
            return Err(SealedError::NotCurrent {
                name: name.to_string(),
                version: entry.version,
                current: current.version,
            });
        }
        if current.entry != entry.digest() {
            return Err(SealedError::EntryReplaced {
                name: name.to_string(),
                version: entry.version,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! As the attacker who can write the sealed file and kept older copies of it (or of
    //! another file sealed under the same master): every move that the manifest refuses, the
    //! one it cannot see, and the legitimate changes that must still open.

    use serde_json::Value;

    use super::super::{tests::opened, *};

    /// A sealed file on disk, its master keys in files beside it.
    struct Disk {
        dir: tempfile::TempDir,
        path: PathBuf,
    }

    impl Disk {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("secrets.sealed");
            Disk { dir, path }
        }

        /// A new master key file `name`: its reference and the key.
        fn key(&self, name: &str) -> (MasterKeyRef, MasterKey) {
            let reference = MasterKeyRef::File(self.dir.path().join(name));
            MasterKey::generate(&reference).expect("generate");
            let key = MasterKey::read(&reference).expect("read");
            (reference, key)
        }

        /// A second sealed file in the same directory.
        fn other(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn load(&self) -> SealedFile {
            SealedFile::load(&self.path).expect("load")
        }

        fn json(&self) -> Value {
            json_of(&self.path)
        }

        /// The attacker's write (the file keeps its mode).
        fn write(&self, json: &Value) {
            std::fs::write(&self.path, json.to_string()).expect("write");
        }
    }

    fn json_of(path: &Path) -> Value {
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
    }

    /// What the relayer gets for `name` with master keys `keys`, reading everything from disk.
    fn relayer_opens(disk: &Disk, keys: &[&MasterKeyRef], name: &str) -> Result<String, String> {
        let config = SecretsConfig {
            file: disk.path.clone(),
            master_keys: keys.iter().map(|k| (*k).clone()).collect(),
        };
        config
            .open(name)
            .map(|s| s.expose().to_string())
            .map_err(|e| e.to_string())
    }

    fn refused_as_older(name: &str, version: u32, current: u32) -> Result<String, String> {
        Err(format!(
            "sealed secret \"{name}\" refused: version {version} is not the current version \
             {current} the file's manifest records: an older entry was put back"
        ))
    }

    fn flip_hex(value: &mut Value) {
        let hex = value.as_str().expect("hex").to_string();
        let last = if hex.ends_with('0') { "1" } else { "0" };
        *value = format!("{}{last}", &hex[..hex.len() - 1]).into();
    }

    const OLD_DB: &str = "postgres://relayer:old-pw@db/bridge";
    const NEW_DB: &str = "postgres://relayer:new-pw@db/bridge";
    const RPC: &str = "https://main.example/v3/k3y";

    #[test]
    fn an_older_entry_put_back_is_refused() {
        let disk = Disk::new();
        let (m1_ref, m1) = disk.key("master-1.key");
        let mut file = SealedFile::create(&disk.path, &m1).expect("create");
        file.seal("database_url", OLD_DB, &m1).expect("seal");
        file.seal("main_rpc", RPC, &m1).expect("seal");
        file.save().expect("save");
        let at_v1 = disk.json();
        let mut file = disk.load();
        file.seal("database_url", NEW_DB, &m1).expect("seal");
        file.save().expect("save");
        let at_v2 = disk.json();
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            Ok(NEW_DB.into())
        );

        // the old entry's bytes copied back: it authenticates, and is refused
        let mut json = at_v2.clone();
        json["secrets"]["database_url"] = at_v1["secrets"]["database_url"].clone();
        disk.write(&json);
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            refused_as_older("database_url", 1, 2)
        );
        assert_eq!(relayer_opens(&disk, &[&m1_ref], "main_rpc"), Ok(RPC.into()));

        // across a rotation and reseal: neither the version 1 entry nor version 2 as it was
        // wrapped by the old master opens
        disk.write(&at_v2);
        let (m2_ref, m2) = disk.key("master-2.key");
        let mut file = disk.load();
        file.rotate(&m2, &[MasterKey::read(&m1_ref).expect("read")])
            .expect("rotate");
        file.reseal(&[m2, MasterKey::read(&m1_ref).expect("read")])
            .expect("reseal");
        file.save().expect("save");
        let resealed = disk.json();
        let both = [&m2_ref, &m1_ref];
        assert_eq!(
            relayer_opens(&disk, &both, "database_url"),
            Ok(NEW_DB.into())
        );
        for (older, refusal) in [
            (&at_v1, refused_as_older("database_url", 1, 2)),
            (
                &at_v2,
                Err(
                    "sealed secret \"database_url\" refused: its version 2 entry is not the one \
                     the file's manifest records (copied from another file, or an older \
                     wrapping put back)"
                        .into(),
                ),
            ),
        ] {
            let mut json = resealed.clone();
            json["secrets"]["database_url"] = older["secrets"]["database_url"].clone();
            disk.write(&json);
            assert_eq!(relayer_opens(&disk, &both, "database_url"), refusal);
        }

        // the attacker's best strategy: the whole older file, manifest included, opens the old
        // value; only the operator's off-host record of show-versions shows the version fell
        disk.write(&at_v1);
        assert_eq!(
            relayer_opens(&disk, &both, "database_url"),
            Ok(OLD_DB.into())
        );
        assert_eq!(disk.load().versions()[0].version, 1);
        // unless the master it needs was retired after the reseal
        assert!(relayer_opens(&disk, &[&m2_ref], "database_url").is_err());
    }

    #[test]
    fn a_tampered_manifest_is_refused() {
        let disk = Disk::new();
        let (m1_ref, m1) = disk.key("master-1.key");
        let mut file = SealedFile::create(&disk.path, &m1).expect("create");
        file.seal("database_url", NEW_DB, &m1).expect("seal");
        file.save().expect("save");
        let clean = disk.json();
        let tampered = Err(
            "sealed secret \"database_url\" refused: the file's manifest under \
                            master version 1 does not authenticate (tampered with, taken from \
                            another file, or the master versions were edited)"
                .to_string(),
        );
        for field in ["sealed", "nonce"] {
            let mut json = clean.clone();
            flip_hex(&mut json["manifests"][0][field]);
            disk.write(&json);
            assert_eq!(
                relayer_opens(&disk, &[&m1_ref], "database_url"),
                tampered,
                "{field}"
            );
        }

        // taken away: a file of format 2 must have one
        let mut json = clean.clone();
        json.as_object_mut().expect("object").remove("manifests");
        disk.write(&json);
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            Err(format!(
                "sealed secrets file {} is malformed: no manifest under the newest master \
                 version 1",
                disk.path.display()
            ))
        );
        // and a downgrade to format 1 is refused, not opened unchecked
        json["format"] = 1.into();
        disk.write(&json);
        let refusal = relayer_opens(&disk, &[&m1_ref], "database_url").expect_err("format 1");
        assert!(refusal.contains("has no manifest (format 1)"), "{refusal}");

        // an entry added without sealing, from another file under the same master
        let mut other = SealedFile::create(&disk.other("other.sealed"), &m1).expect("create");
        other.seal("extra", "x", &m1).expect("seal");
        other.save().expect("save");
        let mut json = clean.clone();
        json["secrets"]["extra"] = json_of(other.path())["secrets"]["extra"].clone();
        disk.write(&json);
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "extra"),
            Err(
                "sealed secret \"extra\" refused: the file's manifest does not record it (an \
                 entry added without sealing it)"
                    .into()
            )
        );
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            Ok(NEW_DB.into())
        );
    }

    #[test]
    fn a_manifest_or_entry_from_another_file_under_the_same_master_is_refused() {
        let disk = Disk::new();
        let (m1_ref, m1) = disk.key("master-1.key");
        let mut file = SealedFile::create(&disk.path, &m1).expect("create");
        file.seal("database_url", OLD_DB, &m1).expect("seal");
        file.save().expect("save");
        let this_v1 = disk.json();
        let mut file = disk.load();
        file.seal("database_url", NEW_DB, &m1).expect("seal");
        file.save().expect("save");
        let this = disk.json();
        // say staging's file, under the same master, holding a version 1 of the same name
        let mut other = SealedFile::create(&disk.other("staging.sealed"), &m1).expect("create");
        other
            .seal("database_url", "postgres://attacker@evil/db", &m1)
            .expect("seal");
        other.save().expect("save");
        let other = json_of(other.path());

        // its manifest alone: bound to the other file's master records
        let mut json = this.clone();
        json["manifests"] = other["manifests"].clone();
        disk.write(&json);
        assert!(
            relayer_opens(&disk, &[&m1_ref], "database_url")
                .expect_err("swapped")
                .contains("the file's manifest under master version 1 does not authenticate")
        );
        // its manifest and master records, with this file's old entry: that manifest records
        // the other file's version 1 entry, not this one
        json["masters"] = other["masters"].clone();
        json["secrets"]["database_url"] = this_v1["secrets"]["database_url"].clone();
        disk.write(&json);
        assert!(
            relayer_opens(&disk, &[&m1_ref], "database_url")
                .expect_err("swapped")
                .contains("its version 1 entry is not the one the file's manifest records")
        );

        // its entry of the same name and version, which authenticates here
        let mut json = this_v1.clone();
        json["secrets"]["database_url"] = other["secrets"]["database_url"].clone();
        disk.write(&json);
        assert!(
            relayer_opens(&disk, &[&m1_ref], "database_url")
                .expect_err("transplanted")
                .contains("its version 1 entry is not the one the file's manifest records")
        );
    }

    #[test]
    fn during_a_rotation_a_relayer_with_the_newest_master_checks_the_newest_manifest() {
        let disk = Disk::new();
        let (m1_ref, m1) = disk.key("master-1.key");
        let (m2_ref, m2) = disk.key("master-2.key");
        let mut file = SealedFile::create(&disk.path, &m1).expect("create");
        file.seal("database_url", OLD_DB, &m1).expect("seal");
        file.seal("main_rpc", RPC, &m1).expect("seal");
        file.save().expect("save");
        let before = disk.json();
        let mut file = disk.load();
        file.rotate(&m2, &[m1]).expect("rotate");
        file.seal("database_url", NEW_DB, &m2)
            .expect("seal under v2");
        file.save().expect("save");
        let rotated = disk.json();
        let both = [&m2_ref, &m1_ref];
        assert_eq!(
            relayer_opens(&disk, &both, "database_url"),
            Ok(NEW_DB.into())
        );
        assert_eq!(relayer_opens(&disk, &both, "main_rpc"), Ok(RPC.into()));
        // a relayer not yet given the new key opens what is still under the old one
        assert_eq!(relayer_opens(&disk, &[&m1_ref], "main_rpc"), Ok(RPC.into()));

        let mut json = rotated.clone();
        json["secrets"]["database_url"] = before["secrets"]["database_url"].clone();
        disk.write(&json);
        assert_eq!(
            relayer_opens(&disk, &both, "database_url"),
            refused_as_older("database_url", 1, 2)
        );
        // the window the module documents: with only the old key, the copy under it is the
        // file as it stood at the rotation
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            Ok(OLD_DB.into())
        );

        // no edit of the master records steers the relayer holding both onto that copy: not
        // a spoilt check value of the newest, nor a forged newer master with its "manifest"
        let rolled_back = json.clone();
        json["masters"][1]["check"] = json["masters"][0]["check"].clone();
        let mut forged = rolled_back.clone();
        let mut record = forged["masters"][1].clone();
        record["version"] = 3.into();
        forged["masters"]
            .as_array_mut()
            .expect("masters")
            .push(record);
        let mut manifest = forged["manifests"][0].clone();
        manifest["master_version"] = 3.into();
        forged["manifests"]
            .as_array_mut()
            .expect("manifests")
            .push(manifest);
        for (what, json) in [("spoilt check", &json), ("forged master", &forged)] {
            disk.write(json);
            assert!(
                relayer_opens(&disk, &both, "database_url")
                    .expect_err(what)
                    .contains("manifest under master version 1 does not authenticate"),
                "{what}"
            );
        }

        // the reseal drops the old copy: the old key alone opens nothing
        disk.write(&rotated);
        let mut file = disk.load();
        let keys = [&m2_ref, &m1_ref].map(|r| MasterKey::read(r).expect("read"));
        assert_eq!(file.reseal(&keys).expect("reseal"), 1);
        file.save().expect("save");
        assert_eq!(disk.json()["manifests"].as_array().map(Vec::len), Some(1));
        assert!(relayer_opens(&disk, &[&m1_ref], "main_rpc").is_err());
        assert_eq!(relayer_opens(&disk, &[&m2_ref], "main_rpc"), Ok(RPC.into()));
    }

    #[test]
    fn seal_rotate_and_reseal_keep_every_secret_opening() {
        let disk = Disk::new();
        let (m1_ref, m1) = disk.key("master-1.key");
        let (m2_ref, m2) = disk.key("master-2.key");
        let all = [&m2_ref, &m1_ref];
        let mut expected = vec![("database_url", OLD_DB), ("main_rpc", RPC)];
        let opens_all = |expected: &[(&str, &str)], keys: &[&MasterKeyRef]| {
            for (name, value) in expected {
                assert_eq!(
                    relayer_opens(&disk, keys, name),
                    Ok(value.to_string()),
                    "{name}"
                );
            }
        };
        let mut file = SealedFile::create(&disk.path, &m1).expect("create");
        for (name, value) in &expected {
            file.seal(name, value, &m1).expect("seal");
        }
        file.save().expect("save");
        opens_all(&expected, &all);

        let mut file = disk.load();
        file.rotate(&m2, &[MasterKey::read(&m1_ref).expect("read")])
            .expect("rotate");
        file.save().expect("save");
        opens_all(&expected, &all);
        opens_all(&expected, &[&m1_ref]);

        let mut file = disk.load();
        file.seal("database_url", NEW_DB, &m2).expect("seal");
        file.seal("keystore", "hunter2", &m2).expect("seal");
        file.save().expect("save");
        expected[0].1 = NEW_DB;
        expected.push(("keystore", "hunter2"));
        opens_all(&expected, &all);

        let mut file = disk.load();
        file.reseal(&[m2, MasterKey::read(&m1_ref).expect("read")])
            .expect("reseal");
        file.save().expect("save");
        opens_all(&expected, &all);
        opens_all(&expected, &[&m2_ref]);
    }

    #[test]
    fn a_format_1_file_is_refused_until_its_manifest_is_written() {
        let disk = Disk::new();
        let (m1_ref, m1) = disk.key("master-1.key");
        let mut file = SealedFile::create(&disk.path, &m1).expect("create");
        file.seal("database_url", OLD_DB, &m1).expect("seal");
        file.save().expect("save");
        // what the previous release wrote: the same fields, no manifest
        let mut format_1 = disk.json();
        format_1["format"] = 1.into();
        format_1
            .as_object_mut()
            .expect("object")
            .remove("manifests");
        disk.write(&format_1);

        let refusal = format!(
            "sealed secrets file {} has no manifest (format 1), so an older entry put back in it \
             would open; refusing it: write one with `relayer secrets rotate --file {} \
             --master-key <the newest master> --old-master-key <each master its entries use> \
             --reseal`",
            disk.path.display(),
            disk.path.display()
        );
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            Err(refusal)
        );
        // show-versions still reads it
        assert_eq!(disk.load().versions()[0].version, 1);
        // saved unchanged, it stays format 1
        disk.load().save().expect("save");
        assert_eq!(disk.json()["format"], 1);

        // `rotate --reseal` with the newest master writes the manifest
        let mut file = disk.load();
        assert_eq!(file.reseal(&[m1]).expect("reseal"), 0);
        file.save().expect("save");
        assert_eq!(disk.json()["format"], 2);
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            Ok(OLD_DB.into())
        );

        // and so does sealing a secret
        disk.write(&format_1);
        let mut file = disk.load();
        let m1 = MasterKey::read(&m1_ref).expect("read");
        file.seal("main_rpc", RPC, &m1).expect("seal");
        file.save().expect("save");
        assert_eq!(
            relayer_opens(&disk, &[&m1_ref], "database_url"),
            Ok(OLD_DB.into())
        );
        assert_eq!(opened(&disk.load(), "main_rpc", &[m1]), Ok(RPC.into()));
    }
}
