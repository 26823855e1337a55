//! The planning stage: what this validator must do next, and handing it to the submitters.
//!
//! - [`facts`]: what the chains say about a whole batch of transfers, in a few calls;
//! - [`decide`]: the pure decision, from the stored transfers, those facts and both validator
//!   views, to a final list of [`Action`]s;
//! - [`encode`]: actions into calldata (and withdrawal signatures);
//! - [`run`]: the loop that ties them together and enqueues the transactions.

pub mod decide;
pub mod encode;
pub mod facts;
pub mod run;

pub use decide::{
    Action, DepositFacts, QueueFacts, Settings, ValidatorView, Views, WithdrawalFacts, plan,
};
pub use facts::{ChainWithdrawalFacts, FactsError, FactsSource, RpcFacts};
pub use run::{METRICS_EVERY, Planner, RoundError, Sweep};
