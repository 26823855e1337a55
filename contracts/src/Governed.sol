// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The two questions a governance contract must answer (AuthorityGovernance does).
interface IGovernanceAnswers {
    function minDelay() external view returns (uint256);
    function threshold() external view returns (uint256);
}

/// @notice Control that never moves. `governance` (the chain's AuthorityGovernance) is fixed at
/// construction and no function changes it: there is no `transferOwnership`, so no proposal,
/// however it is worded, can hand a bridge or Operational to another address.
///
/// Deployment needs a few settings before anything is live (token mappings, guardians, the
/// bound counterpart). Those are made by a one-time setup key — the deployer — that may call
/// the governance-only functions until it calls `finishSetup`, after which it is erased for
/// good. A bridge moves no value before its setup is finished (see `BridgeBase`), so the setup
/// key never holds power over custody.
abstract contract Governed {
    /// @dev `AuthorityGovernance.MIN_DELAY_FLOOR`: no governance answers with a shorter floor.
    uint256 private constant GOVERNANCE_DELAY_FLOOR = 1 minutes;
    /// @dev Gas for each question asked of the governance at construction.
    uint256 private constant PROBE_GAS = 50_000;

    /// @notice The only account that may change settings once setup is finished.
    address public immutable governance;
    /// @dev The deployer's setup key; zero once setup is finished.
    address private _setupKey;

    event SetupFinished();

    error NotGovernance(address account);
    error GovernanceNotContract(address governance);
    error GovernanceNotAuthority(address governance);
    error NotSetupKey(address account);

    modifier onlyGovernance() {
        if (msg.sender != governance && (msg.sender != _setupKey || msg.sender == address(0))) {
            revert NotGovernance(msg.sender);
        }
        _;
    }

    constructor(address governance_, address setupKey_) {
        _checkGovernance(governance_);
        governance = governance_;
        _setupKey = setupKey_;
    }

    /// @notice The setup key, or zero once setup is finished.
    function setupKey() external view returns (address) {
        return _setupKey;
    }

    /// @notice Ends the setup phase for good: from now on only `governance` changes settings.
    function finishSetup() external {
        if (msg.sender != _setupKey || msg.sender == address(0)) revert NotSetupKey(msg.sender);
        _beforeFinishSetup();
        _setupKey = address(0);
        emit SetupFinished();
    }

    /// @dev Refuses a governance that is plainly not an AuthorityGovernance. An EOA would be one
    /// key with every power and no timelock; so is an EIP-7702 delegated EOA, whose code is
    /// `0xef0100 ‖ delegate` (code starting with 0xef cannot be deployed, EIP-3541, so that
    /// prefix is a delegation): it even answers as the governance it delegates to, but its key
    /// signs as itself and re-delegates at will. Any other contract must answer as an
    /// AuthorityGovernance does: `minDelay()` at least the floor and a non-zero `threshold()`,
    /// which a one-key forwarder or a contract with a catch-all fallback does not.
    ///
    /// This is a first line, not the proof: a contract written to answer these two questions
    /// passes. The full check, that governance's code hash is the project's AuthorityGovernance
    /// with the expected members, threshold and delays, is done off-chain by `bridgectl verify`
    /// before a deployment is trusted.
    function _checkGovernance(address governance_) private view {
        if (governance_.code.length == 0) revert GovernanceNotContract(governance_);
        bytes1 first;
        assembly ("memory-safe") {
            extcodecopy(governance_, 0, 0, 1)
            first := mload(0)
        }
        if (first == 0xef) revert GovernanceNotContract(governance_);
        (bool ok, uint256 floor) = _ask(governance_, IGovernanceAnswers.minDelay.selector);
        if (!ok || floor < GOVERNANCE_DELAY_FLOOR) revert GovernanceNotAuthority(governance_);
        uint256 quorum;
        (ok, quorum) = _ask(governance_, IGovernanceAnswers.threshold.selector);
        if (!ok || quorum == 0) revert GovernanceNotAuthority(governance_);
    }

    /// @dev Static call of a no-argument view returning one word, with bounded gas and return
    /// data copied: whatever the callee does, a clean answer or `ok` false.
    function _ask(address target, bytes4 selector) private view returns (bool ok, uint256 value) {
        assembly ("memory-safe") {
            mstore(0, selector)
            ok := staticcall(PROBE_GAS, target, 0, 4, 0, 0x20)
            ok := and(ok, iszero(lt(returndatasize(), 0x20)))
            value := mload(0)
        }
    }

    /// @dev Checks (and final steps) a contract needs before it goes live.
    function _beforeFinishSetup() internal virtual {}
}
