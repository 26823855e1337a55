// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice What a bridge (and governance) asks of its chain's Operational contract.
interface IOperational {
    /// @notice Checks an outbound transfer of `amount` of the local token `token` against the
    /// registry and limits, consumes rolling-window capacity and returns the fee, where the fee
    /// goes, and the counterpart token on the other chain. Reverts when the transfer is refused.
    function onOutbound(address token, uint256 amount)
        external
        returns (uint256 fee, address feeRecipient, address remoteToken);

    /// @notice The local token mapped to `remoteToken`, or zero.
    function localOf(address remoteToken) external view returns (address);

    /// @notice Whether `account` may pause the bridge and hold queued transfers and proposals.
    function isGuardian(address account) external view returns (bool);

    /// @notice Whether the bridge is paused.
    function paused() external view returns (bool);

    /// @notice The bridge this contract serves.
    function bridge() external view returns (address);
}
