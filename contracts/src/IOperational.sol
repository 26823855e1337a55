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

    /// @notice What `onOutbound` would decide about a transfer of `amount` of `token`, except
    /// the rolling window, which it neither reads nor charges: reverts as `onOutbound` does when
    /// the transfer is refused (not mapped, below the minimum, above the maximum, a fee above
    /// the cap), else returns the fee and where it goes. The hub asks this of the second hop of
    /// a chained transfer, which its source route's inbound limits already bound.
    function quoteOutbound(address token, uint256 amount) external view returns (uint256 fee, address feeRecipient);

    /// @notice The local token mapped to `remoteToken`, or zero.
    function localOf(address remoteToken) external view returns (address);

    /// @notice Whether `account` may pause the bridge and hold queued transfers and proposals.
    function isGuardian(address account) external view returns (bool);

    /// @notice Whether the bridge is paused.
    function paused() external view returns (bool);

    /// @notice The bridge this contract serves.
    function bridge() external view returns (address);
}
