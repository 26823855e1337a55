//! Crash points for the tests that kill a relayer at every step of its work. A debug build
//! reads `SIDEBRIDGE_FAILPOINT=NAME[:N]` once; the N-th time (the first by default) the code
//! passes the point called NAME, the process aborts on the spot, as `kill -9` would stop it:
//! no destructor runs, no buffer is flushed, the database sees only what was committed. A
//! release build compiles every point to nothing, whatever the environment says.
//!
//! | point | where |
//! | --- | --- |
//! | `after_sign` | withdrawals signed, before the transaction is queued |
//! | `after_persist` | the signed attempt is in the database, before it is broadcast |
//! | `after_broadcast` | the node took the transaction, before anything is recorded of it |
//! | `after_receipt` | its receipt was read, before it is charged and closed |

/// Passes the point `name`: aborts the process if the environment asks for it here.
#[inline]
pub fn hit(name: &'static str) {
    #[cfg(debug_assertions)]
    armed::hit(name);
    #[cfg(not(debug_assertions))]
    let _ = name;
}

#[cfg(debug_assertions)]
mod armed {
    use std::sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    };

    /// The armed point and after how many passes it fires.
    fn armed() -> Option<&'static (String, u64)> {
        static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
        ARMED
            .get_or_init(|| {
                let spec = std::env::var("SIDEBRIDGE_FAILPOINT").ok()?;
                let (name, n) = match spec.split_once(':') {
                    Some((name, n)) => (name.to_string(), n.parse().unwrap_or(1)),
                    None => (spec, 1),
                };
                Some((name, n.max(1)))
            })
            .as_ref()
    }

    pub(super) fn hit(name: &'static str) {
        static PASSES: AtomicU64 = AtomicU64::new(0);
        let Some((armed, at)) = armed() else {
            return;
        };
        if armed == name && PASSES.fetch_add(1, Ordering::SeqCst) + 1 == *at {
            eprintln!("failpoint {name}: aborting");
            std::process::abort();
        }
    }
}
