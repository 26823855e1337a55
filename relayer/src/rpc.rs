//! Talking to a chain, and the one place where failures are judged.
//!
//! A provider is built once per chain with a retry layer: a transport failure, a rate limit
//! (HTTP 429, JSON-RPC -32005) or a node that is briefly gone is retried inside the provider,
//! up to [`RETRIES`] times with a fixed pause, so no caller wraps a call in its own retry loop.
//! Replay is safe for what the relayer sends: reads, and `eth_sendRawTransaction` of a signed
//! transaction (a duplicate is "already known").
//!
//! Every error type of the pipeline answers one question through [`Classify`]: may trying again
//! later help ([`Disposition::Transient`]), must the process stop ([`Disposition::Fatal`]), or
//! must the node stop acting until an operator looks ([`Disposition::Halt`])? Task loops decide
//! on that answer alone, never on an error's text.

use std::time::Duration;

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::client::ClientBuilder,
    transports::{
        RpcError, TransportError, TransportErrorKind,
        layers::{RetryBackoffLayer, RetryPolicy},
    },
};

/// Retries of one request inside the provider before its error reaches the caller.
pub const RETRIES: u32 = 5;
/// Pause between two tries of one request.
pub const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// It may go away by itself: log it, and try again on the next round.
    Transient,
    /// Nothing will change without an operator: end the process with a non-zero code.
    Fatal,
    /// The node must act on nothing until an operator looks (a reorg deeper than the
    /// confirmations), but keeps serving its status.
    Halt,
}

/// The one question every error of the pipeline answers.
pub trait Classify {
    fn disposition(&self) -> Disposition;

    fn is_transient(&self) -> bool {
        self.disposition() == Disposition::Transient
    }
}

/// Whether an RPC error may go away by itself: the transport failed, or the node asked us to
/// slow down. An answer (a revert, a bad request) is not.
pub fn is_transient(err: &RpcError<TransportErrorKind>) -> bool {
    match err {
        RpcError::Transport(kind) => !matches!(kind, TransportErrorKind::MissingBatchResponse(_)),
        RpcError::ErrorResp(resp) => matches!(resp.code, 429 | -32005),
        _ => false,
    }
}

/// The provider's retry policy: [`is_transient`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TransientPolicy;

impl RetryPolicy for TransientPolicy {
    fn should_retry(&self, error: &TransportError) -> bool {
        is_transient(error)
    }

    fn backoff_hint(&self, _error: &TransportError) -> Option<Duration> {
        None
    }
}

/// A provider for `url` with the retry layer; an error when the URL does not parse.
pub fn provider(url: &str) -> Result<DynProvider, String> {
    let url = url.parse().map_err(|e| format!("invalid RPC URL: {e}"))?;
    let client = ClientBuilder::default()
        .layer(RetryBackoffLayer::new_with_policy(
            RETRIES,
            RETRY_PAUSE.as_millis() as u64,
            u64::MAX,
            TransientPolicy,
        ))
        .http(url);
    Ok(ProviderBuilder::new().connect_client(client).erased())
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
    fn rate_limits_and_transport_failures_are_transient_reverts_are_not() {
        assert!(is_transient(&answer(429, "too many requests")));
        assert!(is_transient(&answer(-32005, "limit exceeded")));
        assert!(!is_transient(&answer(3, "execution reverted")));
        assert!(!is_transient(&answer(-32602, "invalid params")));
        assert!(is_transient(&TransportErrorKind::backend_gone()));
        assert!(TransientPolicy.should_retry(&TransportErrorKind::backend_gone()));
        assert!(!TransientPolicy.should_retry(&answer(3, "execution reverted")));
    }

    #[tokio::test]
    async fn a_provider_retries_a_dead_endpoint_then_reports_it() {
        // nothing listens on port 9 of loopback (discard): every try is refused
        let p = provider("http://127.0.0.1:9").expect("valid URL");
        let started = std::time::Instant::now();
        let err = p.get_chain_id().await.expect_err("nobody answers");
        assert!(is_transient(&err), "{err}");
        // it tried again before giving up
        assert!(
            started.elapsed() >= RETRY_PAUSE * RETRIES,
            "{:?}",
            started.elapsed()
        );
        assert!(provider("not a url").is_err());
    }
}
