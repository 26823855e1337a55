//! What the relayer and `bridgectl` share, and nothing heavier: the domain's vocabulary
//! ([`domain`]: chains, directions, transfer records and states, transaction kinds), the
//! validated configuration ([`config`], with secrets by reference) and the validator keystore
//! ([`keys`]). No runtime, database or HTTP server is linked in here.

pub mod config;
pub mod domain;
pub mod keys;
