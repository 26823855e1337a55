//! What the crate's unit tests share: waiting for a condition with a deadline (never a fixed
//! sleep as synchronisation).

use std::time::Duration;

/// Polls `check` every 10 ms until it holds; an error after `timeout`.
pub(crate) async fn await_condition(
    timeout: Duration,
    mut check: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("condition not met within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
