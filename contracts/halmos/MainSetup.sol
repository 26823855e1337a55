// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MainBridge} from "../src/MainBridge.sol";
import {Operational} from "../src/Operational.sol";

import {HalmosToken} from "./HalmosToken.sol";
import {SymTest} from "./SymTest.sol";

/// @notice What the main-chain checks share: a `MainBridge` governed by the test contract, with
/// the 2-of-3 set, one token's inbound limits and custody, as if locked earlier.
abstract contract MainSetup is SymTest {
    uint256 internal constant SIDE_CHAIN_ID = 0x51DE;

    HalmosToken internal token;
    MainBridge internal main;
    /// @dev The side chain's bridge, as the main bridge knows it.
    address internal constant SIDE_BRIDGE = address(0x51DEB41D6E);

    function _setUpMain(uint256 cap, uint256 window, uint256 large, uint256 delay, uint256 custody) internal {
        token = new HalmosToken();
        Operational op = new Operational(address(this), address(0), address(0xFEE));
        main = new MainBridge(address(this), address(0), op, SIDE_CHAIN_ID, _validators(), 2);
        op.setBridge(address(main));
        main.setSideBridge(SIDE_BRIDGE);
        main.setInboundLimits(address(token), cap, window, large, delay);
        token.mint(address(main), custody);
    }
}
