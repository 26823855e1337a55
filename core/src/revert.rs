//! Reverts in words: the custom error a contract raised, by name and with its arguments, looked
//! up in every Sidebridge contract's ABI (governance bubbles up the error of the call it
//! executes, so a proposal's revert may come from the bridge or the Operational contract).

use alloy::sol_types::SolInterface;
use sidebridge_contracts::bindings::{
    AuthorityGovernance::AuthorityGovernanceErrors, MainBridge::MainBridgeErrors,
    MainHub::MainHubErrors, Operational::OperationalErrors, SideBridge::SideBridgeErrors,
    WrappedToken::WrappedTokenErrors,
};

/// A decoded custom error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomError {
    /// `NotMember`, `AlreadyVoted`, ...
    pub name: &'static str,
    /// The arguments as the bindings print them, e.g. `NotMember { account: 0x… }`.
    pub detail: String,
}

impl std::fmt::Display for CustomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.detail)
    }
}

/// The contract a revert most likely came from. Some errors share a selector across contracts
/// (`InvalidThreshold(uint256,uint256)` means members in governance, validators in a bridge), so
/// the likely source is tried first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Governance,
    Bridge,
    Operational,
}

/// Decodes revert data with every contract's errors, `prefer`'s first; `None` when no ABI
/// knows the selector.
pub fn decode_revert(data: &[u8], prefer: Source) -> Option<CustomError> {
    fn with<E: SolInterface + std::fmt::Debug>(
        data: &[u8],
        name: fn([u8; 4]) -> Option<&'static str>,
    ) -> Option<CustomError> {
        let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
        let name = name(selector)?;
        let detail = match E::abi_decode(data) {
            Ok(decoded) => inner_debug(&format!("{decoded:?}")),
            Err(_) => "undecodable arguments".to_string(),
        };
        Some(CustomError { name, detail })
    }
    let governance =
        || with::<AuthorityGovernanceErrors>(data, AuthorityGovernanceErrors::name_by_selector);
    let operational = || with::<OperationalErrors>(data, OperationalErrors::name_by_selector);
    let bridge = || {
        with::<MainBridgeErrors>(data, MainBridgeErrors::name_by_selector)
            .or_else(|| with::<SideBridgeErrors>(data, SideBridgeErrors::name_by_selector))
            .or_else(|| with::<MainHubErrors>(data, MainHubErrors::name_by_selector))
    };
    let token = || with::<WrappedTokenErrors>(data, WrappedTokenErrors::name_by_selector);
    match prefer {
        Source::Governance => governance()
            .or_else(bridge)
            .or_else(operational)
            .or_else(token),
        Source::Bridge => bridge()
            .or_else(governance)
            .or_else(operational)
            .or_else(token),
        Source::Operational => operational()
            .or_else(bridge)
            .or_else(governance)
            .or_else(token),
    }
}

/// `Variant(Struct { .. })` → `Struct { .. }`.
fn inner_debug(s: &str) -> String {
    match (s.find('('), s.rfind(')')) {
        (Some(open), Some(close)) if open < close => s[open + 1..close].to_string(),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        primitives::{Address, U256},
        sol_types::SolError,
    };
    use sidebridge_contracts::bindings::{AuthorityGovernance, Operational};

    #[test]
    fn names_custom_errors_of_every_contract() {
        let account = Address::repeat_byte(0xab);
        let data = AuthorityGovernance::NotMember { account }.abi_encode();
        let e = decode_revert(&data, Source::Bridge).expect("known error");
        assert_eq!(e.name, "NotMember");
        assert!(
            e.detail.contains(&account.to_string().to_lowercase()),
            "{}",
            e.detail
        );

        let data = Operational::BridgeAlreadySet {}.abi_encode();
        assert_eq!(
            decode_revert(&data, Source::Governance).map(|e| e.name),
            Some("BridgeAlreadySet")
        );
    }

    #[test]
    fn unknown_data_is_not_guessed() {
        assert_eq!(
            decode_revert(&[0xde, 0xad, 0xbe, 0xef], Source::Bridge),
            None
        );
        assert_eq!(decode_revert(&[], Source::Bridge), None);
    }

    #[test]
    fn shared_selectors_are_read_as_the_likely_source_meant_them() {
        let data = AuthorityGovernance::InvalidThreshold {
            threshold: U256::from(9),
            members: U256::from(3),
        }
        .abi_encode();
        let as_bridge = decode_revert(&data, Source::Bridge).expect("known");
        assert_eq!(as_bridge.name, "InvalidThreshold");
        assert!(
            as_bridge.detail.contains("validators: 3"),
            "{}",
            as_bridge.detail
        );
        let as_gov = decode_revert(&data, Source::Governance).expect("known");
        assert!(as_gov.detail.contains("members: 3"), "{}", as_gov.detail);
    }
}
