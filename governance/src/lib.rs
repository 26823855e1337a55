//! The pure core of `bridgectl`: governance actions encoded to and decoded from calldata,
//! token amounts in their decimals, and contract reverts by name. No provider, no I/O.

pub mod action;
pub mod amount;
pub mod revert;
