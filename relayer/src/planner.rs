//! What this validator must do next: a pure function of the stored transfers and what the
//! chains say about them now. The node gathers the facts (already voted? already released?)
//! before asking, so no gas is spent on work that is already done.

use alloy::primitives::{Address, B256};

use crate::domain::{Direction, TransferRecord, TransferState};

/// The current validator set as this relayer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorView {
    pub me: Address,
    /// Ascending, as the contracts keep it.
    pub validators: Vec<Address>,
    pub threshold: usize,
}

impl ValidatorView {
    pub fn my_index(&self) -> Option<usize> {
        self.validators.iter().position(|v| *v == self.me)
    }

    /// How many turns after the assigned relayer this validator releases withdrawal `nonce`:
    /// 0 for the assigned one (a rotation over the sorted set), then 1, 2, … for the others,
    /// each acting one takeover period after the previous.
    pub fn release_turn(&self, nonce: u64) -> Option<u64> {
        let n = self.validators.len() as u64;
        let me = self.my_index()? as u64;
        Some((me + n - nonce % n) % n)
    }
}

/// On-chain facts about a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositFacts {
    pub voted_by_me: bool,
    pub executed: bool,
}

/// On-chain facts about a withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawalFacts {
    pub signed_by_me: bool,
    /// Current validators whose signature is published.
    pub current_signers: usize,
    pub released: bool,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move the stored state forward.
    Mark { id: B256, state: TransferState },
    /// Vote for these deposits in one `approveDeposits`.
    Approve(Vec<TransferRecord>),
    /// Sign these withdrawals and publish them in one `submitSignatures`.
    Sign(Vec<TransferRecord>),
    /// Assemble the signatures and call `MainBridge.release`.
    Release(Box<TransferRecord>),
}

/// Plans deposits (main → side).
pub fn plan_deposits(
    view: &ValidatorView,
    deposits: &[(TransferRecord, DepositFacts)],
    batch_size: usize,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut approve = Vec::new();
    let is_validator = view.my_index().is_some();
    for (record, facts) in deposits {
        debug_assert_eq!(record.direction, Direction::Deposit);
        if facts.executed {
            push_mark(&mut actions, record, TransferState::Completed);
        } else if facts.voted_by_me {
            push_mark(&mut actions, record, TransferState::Voted);
        } else if is_validator {
            approve.push(record.clone());
        }
    }
    for chunk in approve.chunks(batch_size.max(1)) {
        actions.push(Action::Approve(chunk.to_vec()));
    }
    actions
}

/// Plans withdrawals (side → main). `now` and `takeover_secs` decide when a relayer other than
/// the assigned one releases.
pub fn plan_withdrawals(
    view: &ValidatorView,
    withdrawals: &[(TransferRecord, WithdrawalFacts)],
    batch_size: usize,
    now: i64,
    takeover_secs: u64,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut sign = Vec::new();
    let is_validator = view.my_index().is_some();
    for (record, facts) in withdrawals {
        debug_assert_eq!(record.direction, Direction::Withdrawal);
        if facts.released {
            push_mark(&mut actions, record, TransferState::Completed);
            continue;
        }
        if !is_validator {
            continue;
        }
        if !facts.signed_by_me {
            sign.push(record.clone());
        } else {
            push_mark(&mut actions, record, TransferState::Voted);
        }
        if facts.current_signers >= view.threshold {
            push_mark(&mut actions, record, TransferState::Ready);
            let ready_since = if record.state == TransferState::Ready {
                record.updated_at
            } else {
                now
            };
            let turn = view.release_turn(record.nonce()).unwrap_or(u64::MAX);
            let due = ready_since.saturating_add((turn.saturating_mul(takeover_secs)) as i64);
            if now >= due {
                actions.push(Action::Release(Box::new(record.clone())));
            }
        }
    }
    for chunk in sign.chunks(batch_size.max(1)) {
        actions.push(Action::Sign(chunk.to_vec()));
    }
    actions
}

fn push_mark(actions: &mut Vec<Action>, record: &TransferRecord, state: TransferState) {
    if state > record.state {
        actions.push(Action::Mark {
            id: record.id,
            state,
        });
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use proptest::prelude::*;
    use sidebridge_contracts::Transfer;

    use super::*;

    fn addr(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    fn view(me: u8) -> ValidatorView {
        ValidatorView {
            me: addr(me),
            validators: vec![addr(1), addr(2), addr(3), addr(4)],
            threshold: 3,
        }
    }

    fn record(
        direction: Direction,
        nonce: u64,
        state: TransferState,
        updated_at: i64,
    ) -> TransferRecord {
        TransferRecord {
            id: B256::repeat_byte(nonce as u8 + 1),
            direction,
            transfer: Transfer {
                nonce,
                amount: U256::from(1),
                ..Default::default()
            },
            fee: U256::ZERO,
            source_block: 1,
            source_tx: B256::ZERO,
            state,
            created_at: 0,
            updated_at,
        }
    }

    #[test]
    fn deposits_not_voted_are_approved_in_batches() {
        let deposits: Vec<_> = (0..5)
            .map(|n| {
                (
                    record(Direction::Deposit, n, TransferState::Observed, 0),
                    DepositFacts {
                        voted_by_me: false,
                        executed: false,
                    },
                )
            })
            .collect();
        let actions = plan_deposits(&view(1), &deposits, 2);
        let sizes: Vec<_> = actions
            .iter()
            .map(|a| match a {
                Action::Approve(b) => b.len(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn deposits_already_done_spend_no_gas() {
        let voted = record(Direction::Deposit, 0, TransferState::Observed, 0);
        let executed = record(Direction::Deposit, 1, TransferState::Voted, 0);
        let actions = plan_deposits(
            &view(1),
            &[
                (
                    voted.clone(),
                    DepositFacts {
                        voted_by_me: true,
                        executed: false,
                    },
                ),
                (
                    executed.clone(),
                    DepositFacts {
                        voted_by_me: true,
                        executed: true,
                    },
                ),
            ],
            50,
        );
        assert_eq!(
            actions,
            vec![
                Action::Mark {
                    id: voted.id,
                    state: TransferState::Voted
                },
                Action::Mark {
                    id: executed.id,
                    state: TransferState::Completed
                },
            ]
        );
    }

    #[test]
    fn a_non_validator_only_observes() {
        let d = record(Direction::Deposit, 0, TransferState::Observed, 0);
        let facts = DepositFacts {
            voted_by_me: false,
            executed: false,
        };
        assert!(plan_deposits(&view(9), &[(d, facts)], 50).is_empty());
    }

    #[test]
    fn the_assigned_relayer_releases_at_once_the_next_after_the_takeover() {
        let w = record(Direction::Withdrawal, 5, TransferState::Ready, 1_000);
        let facts = WithdrawalFacts {
            signed_by_me: true,
            current_signers: 3,
            released: false,
        };
        // nonce 5 over 4 validators: index 1 (addr 2) is assigned, index 2 is next
        let assigned = plan_withdrawals(&view(2), &[(w.clone(), facts)], 50, 1_000, 60);
        assert!(assigned.contains(&Action::Release(Box::new(w.clone()))));
        let next_early = plan_withdrawals(&view(3), &[(w.clone(), facts)], 50, 1_059, 60);
        assert!(!next_early.iter().any(|a| matches!(a, Action::Release(_))));
        let next_late = plan_withdrawals(&view(3), &[(w.clone(), facts)], 50, 1_060, 60);
        assert!(next_late.contains(&Action::Release(Box::new(w.clone()))));
        let last = plan_withdrawals(&view(1), &[(w.clone(), facts)], 50, 1_179, 60);
        assert!(!last.iter().any(|a| matches!(a, Action::Release(_))));
    }

    #[test]
    fn withdrawals_below_threshold_are_not_released() {
        let w = record(Direction::Withdrawal, 0, TransferState::Ready, 0);
        let facts = WithdrawalFacts {
            signed_by_me: true,
            current_signers: 2,
            released: false,
        };
        let actions = plan_withdrawals(&view(1), &[(w, facts)], 50, 10_000, 60);
        assert!(actions.is_empty(), "{actions:?}");
    }

    #[test]
    fn released_withdrawals_complete_and_unsigned_ones_are_signed() {
        let done = record(Direction::Withdrawal, 0, TransferState::Voted, 0);
        let fresh = record(Direction::Withdrawal, 1, TransferState::Observed, 0);
        let actions = plan_withdrawals(
            &view(1),
            &[
                (
                    done.clone(),
                    WithdrawalFacts {
                        signed_by_me: true,
                        current_signers: 3,
                        released: true,
                    },
                ),
                (
                    fresh.clone(),
                    WithdrawalFacts {
                        signed_by_me: false,
                        current_signers: 0,
                        released: false,
                    },
                ),
            ],
            50,
            0,
            60,
        );
        assert_eq!(
            actions,
            vec![
                Action::Mark {
                    id: done.id,
                    state: TransferState::Completed
                },
                Action::Sign(vec![fresh]),
            ]
        );
    }

    proptest! {
        #[test]
        fn exactly_one_validator_is_assigned_each_withdrawal(nonce in any::<u64>(), n in 1usize..32) {
            let validators: Vec<Address> = (1..=n as u8).map(addr).collect();
            let turns: Vec<u64> = validators
                .iter()
                .map(|me| ValidatorView { me: *me, validators: validators.clone(), threshold: 1 }
                    .release_turn(nonce)
                    .expect("a validator has a turn"))
                .collect();
            let mut sorted = turns.clone();
            sorted.sort();
            prop_assert_eq!(sorted, (0..n as u64).collect::<Vec<_>>());
        }
    }
}
