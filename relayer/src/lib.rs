//! The validator's relayer daemon. It watches lock and burn events on both chains, approves and
//! signs with the validator's key, and submits mint and release transactions; the pipeline is
//! built on the contract bindings of `sidebridge-contracts`.

pub use sidebridge_contracts as contracts;
