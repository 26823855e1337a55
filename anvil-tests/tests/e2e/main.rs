//! End-to-end tests: the whole system on two anvil chains. One test binary, one module per area.

mod attacks;
mod bad_input;
mod digest;
mod failpoints;
mod faults;
mod fees;
mod governance;
mod holder;
mod holder_routes;
mod hsm;
mod index;
mod no_gas;
mod parking;
mod relay;
mod reorg;
mod resilience;
mod round_trip;
mod routes;
mod routes_relayed;
mod submitter;
mod two_nodes;
