//! End-to-end tests: the whole system on two anvil chains. One test binary, one module per area.

mod digest;
mod round_trip;
