//! The planner's decisions, rule by rule.

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
        source_hash: B256::ZERO,
        source_time: 0,
        state,
        created_at: 0,
        updated_at,
    }
}

fn views(me: u8) -> Views {
    Views {
        side: view(me),
        main: view(me),
    }
}

fn settings(batch_size: usize, takeover_secs: u64) -> Settings {
    Settings {
        batch_size,
        takeover_secs,
    }
}

fn deposit_facts(voted_by_me: bool, executed: bool) -> DepositFacts {
    DepositFacts {
        votes: usize::from(voted_by_me),
        voted_by_me,
        executed,
        nonce_taken: executed,
        queue: None,
    }
}

fn withdrawal_facts(signed_by_me: bool, current_signers: usize) -> WithdrawalFacts {
    WithdrawalFacts {
        signed_by_me,
        current_signers,
        processed: false,
        queue: None,
    }
}

fn open_queue(eta: u64) -> QueueFacts {
    QueueFacts {
        eta,
        held: false,
        canceled: false,
        executed: false,
    }
}

#[test]
fn deposits_not_voted_are_approved_in_batches() {
    let deposits: Vec<_> = (0..5)
        .map(|n| {
            (
                record(Direction::Deposit, n, TransferState::Observed, 0),
                deposit_facts(false, false),
            )
        })
        .collect();
    let actions = plan_deposits(&view(1), &deposits, settings(2, 60), 0);
    let sizes: Vec<_> = actions
        .iter()
        .map(|a| match a {
            Action::Approve(b) => b.len(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
}

/// Voted or executed deposits spend no gas; an executed one is not marked completed here
/// (only its own `DepositExecuted`, seen by the watcher, completes it).
#[test]
fn deposits_already_done_spend_no_gas() {
    let voted = record(Direction::Deposit, 0, TransferState::Observed, 0);
    let executed = record(Direction::Deposit, 1, TransferState::Observed, 0);
    let actions = plan_deposits(
        &view(1),
        &[
            (voted.clone(), deposit_facts(true, false)),
            (executed.clone(), deposit_facts(false, true)),
        ],
        settings(50, 60),
        0,
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
                state: TransferState::Voted
            },
        ]
    );
}

/// The nonce was taken by other content (a forgery): voting again is pointless, and the
/// honest deposit is not marked anything.
#[test]
fn a_nonce_taken_by_other_content_gets_no_vote() {
    let d = record(Direction::Deposit, 0, TransferState::Observed, 0);
    let facts = DepositFacts {
        votes: 0,
        voted_by_me: false,
        executed: false,
        nonce_taken: true,
        queue: None,
    };
    assert!(plan_deposits(&view(1), &[(d, facts)], settings(50, 60), 0).is_empty());
}

#[test]
fn a_non_validator_only_observes() {
    let d = record(Direction::Deposit, 0, TransferState::Observed, 0);
    assert!(
        plan_deposits(
            &view(9),
            &[(d, deposit_facts(false, false))],
            settings(50, 60),
            0
        )
        .is_empty()
    );
}

/// A queued deposit is executed once its ETA passed, by the assigned validator first and the
/// next after the takeover period; a held one by nobody.
#[test]
fn queued_deposits_are_executed_after_their_eta_in_turn() {
    let d = record(Direction::Deposit, 5, TransferState::Voted, 0);
    let mut facts = deposit_facts(true, true);
    facts.queue = Some(open_queue(1_000));
    let at = |me: u8, now: i64, facts: DepositFacts| {
        plan_deposits(&view(me), &[(d.clone(), facts)], settings(50, 60), now)
            .contains(&Action::ExecuteQueued(Box::new(d.clone())))
    };
    assert!(!at(2, 999, facts), "not before the ETA");
    assert!(at(2, 1_000, facts), "the assigned one at the ETA");
    assert!(!at(3, 1_059, facts));
    assert!(at(3, 1_060, facts), "the next one after the takeover");
    let mut held = facts;
    held.queue = Some(QueueFacts {
        held: true,
        ..open_queue(1_000)
    });
    assert!(!at(2, 5_000, held), "a held transfer waits for governance");
}

#[test]
fn the_assigned_relayer_releases_at_once_the_next_after_the_takeover() {
    let w = record(Direction::Withdrawal, 5, TransferState::Ready, 1_000);
    let facts = withdrawal_facts(true, 3);
    // nonce 5 over 4 validators: index 1 (addr 2) is assigned, index 2 is next
    let assigned = plan_withdrawals(&views(2), &[(w.clone(), facts)], settings(50, 60), 1_000);
    assert!(assigned.contains(&Action::Release(vec![w.clone()])));
    let next_early = plan_withdrawals(&views(3), &[(w.clone(), facts)], settings(50, 60), 1_059);
    assert!(!next_early.iter().any(|a| matches!(a, Action::Release(_))));
    let next_late = plan_withdrawals(&views(3), &[(w.clone(), facts)], settings(50, 60), 1_060);
    assert!(next_late.contains(&Action::Release(vec![w.clone()])));
    let last = plan_withdrawals(&views(1), &[(w.clone(), facts)], settings(50, 60), 1_179);
    assert!(!last.iter().any(|a| matches!(a, Action::Release(_))));

    // release_due (which decides whose signatures a round reads) agrees with the plan
    let s = settings(50, 60);
    assert!(release_due(&views(2).main, &w, s, 1_000));
    assert!(!release_due(&views(3).main, &w, s, 1_059));
    assert!(release_due(&views(3).main, &w, s, 1_060));
    assert!(!release_due(&views(1).main, &w, s, 1_179));
    let voted = record(Direction::Withdrawal, 5, TransferState::Voted, 1_000);
    assert!(
        !release_due(&views(2).main, &voted, s, 5_000),
        "not announced ready"
    );
    let outsider = ValidatorView {
        me: Address::repeat_byte(0xEE),
        ..views(2).main
    };
    assert!(!release_due(&outsider, &w, s, 5_000), "not a validator");
}

#[test]
fn withdrawals_below_threshold_are_not_released() {
    let w = record(Direction::Withdrawal, 0, TransferState::Ready, 0);
    let actions = plan_withdrawals(
        &views(1),
        &[(w, withdrawal_facts(true, 2))],
        settings(50, 60),
        10_000,
    );
    assert!(actions.is_empty(), "{actions:?}");
}

/// A processed nonce is never released again (completion comes from its `Released`), a
/// queued one is executed after its ETA, and unsigned ones are signed.
#[test]
fn processed_withdrawals_wait_and_unsigned_ones_are_signed() {
    let done = record(Direction::Withdrawal, 0, TransferState::Voted, 0);
    let queued = record(Direction::Withdrawal, 4, TransferState::Ready, 0);
    let fresh = record(Direction::Withdrawal, 1, TransferState::Observed, 0);
    let processed = WithdrawalFacts {
        processed: true,
        ..withdrawal_facts(true, 3)
    };
    let in_queue = WithdrawalFacts {
        queue: Some(open_queue(100)),
        ..processed
    };
    let actions = plan_withdrawals(
        &views(1),
        &[
            (done.clone(), processed),
            (queued.clone(), in_queue),
            (fresh.clone(), withdrawal_facts(false, 0)),
        ],
        settings(50, 60),
        100,
    );
    assert_eq!(
        actions,
        vec![
            Action::ExecuteQueued(Box::new(queued)),
            Action::Sign(vec![fresh]),
        ]
    );
}

/// A validator in the main set but not (yet) in the side set releases but does not sign;
/// one only in the side set signs but does not release. The plan is final.
#[test]
fn each_chain_acts_under_its_own_set() {
    let w = record(Direction::Withdrawal, 5, TransferState::Ready, 0);
    let facts = withdrawal_facts(false, 3);
    let mut main_only = views(2);
    main_only.side.validators.retain(|v| *v != addr(2));
    let actions = plan_withdrawals(&main_only, &[(w.clone(), facts)], settings(50, 60), 0);
    assert!(actions.contains(&Action::Release(vec![w.clone()])));
    assert!(!actions.iter().any(|a| matches!(a, Action::Sign(_))));
    let mut side_only = views(2);
    side_only.main.validators.retain(|v| *v != addr(2));
    let actions = plan_withdrawals(&side_only, &[(w.clone(), facts)], settings(50, 60), 0);
    assert!(actions.contains(&Action::Sign(vec![w.clone()])));
    assert!(!actions.iter().any(|a| matches!(a, Action::Release(_))));
}

/// Due releases are batched; transfers with work in flight get no new work, but their
/// state is still marked.
#[test]
fn releases_are_batched_and_work_in_flight_is_not_repeated() {
    // nonces 1, 5 and 9 are all assigned to index 1 (addr 2) of 4 validators
    let ws: Vec<_> = [1u64, 5, 9]
        .into_iter()
        .map(|n| {
            (
                record(Direction::Withdrawal, n, TransferState::Voted, 0),
                withdrawal_facts(true, 3),
            )
        })
        .collect();
    let busy: HashSet<B256> = [ws[1].0.id].into_iter().collect();
    let actions = plan(&views(2), &[], &ws, &busy, settings(2, 60), 0);
    let released: Vec<Vec<u64>> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Release(b) => Some(b.iter().map(|r| r.nonce()).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(
        released,
        vec![vec![1], vec![9]],
        "batches of 2, the busy one left out"
    );
    let marked = actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Mark {
                    state: TransferState::Ready,
                    ..
                }
            )
        })
        .count();
    assert_eq!(marked, 3, "the busy one is still marked ready");

    let ds = vec![(
        record(Direction::Deposit, 0, TransferState::Observed, 0),
        deposit_facts(false, false),
    )];
    let busy: HashSet<B256> = [ds[0].0.id].into_iter().collect();
    assert!(plan(&views(1), &ds, &[], &busy, settings(50, 60), 0).is_empty());
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

/// A deposit with a threshold of votes that did not mint (its token was unmapped when the
/// last vote came) is executed by rotation: the assigned validator at once, the next one a
/// takeover period later; nobody votes again.
#[test]
fn a_stalled_deposit_is_executed_by_rotation() {
    let d = record(Direction::Deposit, 0, TransferState::Voted, 100);
    let facts = DepositFacts {
        votes: 3,
        voted_by_me: true,
        executed: false,
        nonce_taken: false,
        queue: None,
    };
    let executes = |me: u8, now: i64| {
        plan_deposits(&view(me), &[(d.clone(), facts)], settings(50, 60), now)
            .into_iter()
            .filter(|a| matches!(a, Action::ExecuteDeposit(r) if r.id == d.id))
            .count()
    };
    // nonce 0: validator 1 (index 0) has turn 0, validator 2 turn 1
    assert_eq!(executes(1, 100), 1);
    assert_eq!(executes(2, 100), 0);
    assert_eq!(executes(2, 160), 1);
    assert_eq!(executes(9, 10_000), 0, "a non-validator never sends");
    // below the threshold it waits for votes instead
    let short = DepositFacts { votes: 2, ..facts };
    let actions = plan_deposits(&view(1), &[(d.clone(), short)], settings(50, 60), 100);
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::ExecuteDeposit(_) | Action::Approve(_))),
        "{actions:?}"
    );
}
