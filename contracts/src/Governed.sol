// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

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
    /// @notice The only account that may change settings once setup is finished.
    address public immutable governance;
    /// @dev The deployer's setup key; zero once setup is finished.
    address private _setupKey;

    event SetupFinished();

    error NotGovernance(address account);
    error GovernanceNotContract(address governance);
    error NotSetupKey(address account);

    modifier onlyGovernance() {
        if (msg.sender != governance && (msg.sender != _setupKey || msg.sender == address(0))) {
            revert NotGovernance(msg.sender);
        }
        _;
    }

    constructor(address governance_, address setupKey_) {
        // an EOA as governance would be one key with every power and no timelock
        if (governance_.code.length == 0) revert GovernanceNotContract(governance_);
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

    /// @dev Checks (and final steps) a contract needs before it goes live.
    function _beforeFinishSetup() internal virtual {}
}
