//! Retries for RPC reads: transient failures (the transport, rate limits) are retried with
//! exponential backoff; an answer the node gave (a revert, a bad request) is returned at once.

use std::time::Duration;

use alloy::transports::{RpcError, TransportErrorKind};
use backon::ExponentialBuilder;

/// Up to 5 retries, 100 ms doubling to at most 2 s, with jitter.
pub fn rpc_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .with_max_times(5)
        .with_jitter()
}

/// Whether an RPC error may go away by itself.
pub fn is_transient(err: &RpcError<TransportErrorKind>) -> bool {
    match err {
        RpcError::Transport(_) => true,
        RpcError::ErrorResp(resp) => resp.code == 429 || resp.code == -32005,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: i64, message: &str) -> RpcError<TransportErrorKind> {
        RpcError::ErrorResp(
            serde_json::from_value(serde_json::json!({ "code": code, "message": message }))
                .expect("a JSON-RPC error object"),
        )
    }

    #[test]
    fn rate_limits_are_transient_reverts_are_not() {
        assert!(is_transient(&answer(429, "too many requests")));
        let revert = answer(3, "execution reverted");
        assert!(!is_transient(&revert));
        assert!(is_transient(&TransportErrorKind::backend_gone()));
    }
}
