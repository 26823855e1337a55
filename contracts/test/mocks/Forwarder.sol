// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice What an attacker would hand a bridge as "governance": a one-key forwarder. Its owner
/// makes it call anything at once; from anyone else it reverts, answering no question.
contract OneKeyForwarder {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function forward(address target, bytes calldata data) external returns (bytes memory) {
        require(msg.sender == owner);
        (bool ok, bytes memory ret) = target.call(data);
        require(ok);
        return ret;
    }
}

/// @notice A forwarder whose fallback accepts every call and returns nothing.
contract SilentForwarder {
    fallback() external {}
}

/// @notice A contract that answers the governance questions with the given numbers.
contract FakeGovernance {
    uint256 public immutable minDelay;
    uint256 public immutable threshold;

    constructor(uint256 minDelay_, uint256 threshold_) {
        minDelay = minDelay_;
        threshold = threshold_;
    }
}
