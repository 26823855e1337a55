// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MainHub} from "../src/MainHub.sol";
import {MainHubAdmin} from "../src/MainHubAdmin.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";

import {HalmosToken} from "./HalmosToken.sol";
import {SymTest} from "./SymTest.sol";

/// @notice (d) On the hub, one route's whole validator set, signing whatever it likes, never
/// takes from another route's book: route A's set (V0, V1, V2) signs a symbolic withdrawal
/// from A (any nonce, amount, sender and recipient, paid on the main chain or chained to B),
/// then any two of release, executeQueued, forward and refund run. B's custody never shrinks
/// and the hub still holds at least B's custody.
contract HubIsolationCheck is SymTest {
    uint256 internal constant A_CHAIN = 0xA1;
    address internal constant A_BRIDGE = address(0xA11B);
    uint256 internal constant B_CHAIN = 0xB1;
    address internal constant B_BRIDGE = address(0xB11B);
    uint256 internal constant BOOK = 1_000e18;
    uint256 internal constant LARGE = 400e18;

    HalmosToken internal token;
    MainHub internal hub;
    bytes32 internal routeA;
    bytes32 internal routeB;

    function setUp() public {
        token = new HalmosToken();
        Operational op = new Operational(address(this), address(0), address(0xFEE));
        hub = new MainHub(address(this), address(0), op, new MainHubAdmin(address(this), op));
        op.setBridge(address(hub));
        op.mapToken(address(token), address(token));
        MainHubAdmin admin = MainHubAdmin(address(hub));
        routeA = admin.addRoute(A_CHAIN, A_BRIDGE, _validators(), 2);
        address[] memory others = new address[](3);
        others[0] = address(0x4000);
        others[1] = address(0x5000);
        others[2] = address(0x6000);
        routeB = admin.addRoute(B_CHAIN, B_BRIDGE, others, 2);
        admin.setRouteToken(routeA, address(token), address(0xAA));
        admin.setRouteToken(routeB, address(token), address(0xBB));
        admin.setInboundLimits(routeA, address(token), 10 * BOOK, 1 days, LARGE, 1 hours);
        admin.setInboundLimits(routeB, address(token), 10 * BOOK, 1 days, LARGE, 1 hours);
        token.mint(address(this), 2 * BOOK);
        token.approve(address(hub), 2 * BOOK);
        hub.lock(routeA, address(token), BOOK, address(0xA1CE));
        hub.lock(routeB, address(token), BOOK, address(0xB0B));
    }

    function check_aStolenRouteNeverTakesFromAnother(uint64 nonce, uint256 amount, address sender, address to)
        public
    {
        vm.assume(amount > 0);
        bool chained = svm.createBool("chained");
        Transfer memory t = Transfer({
            srcChainId: A_CHAIN,
            srcBridge: A_BRIDGE,
            dstChainId: chained ? B_CHAIN : block.chainid,
            dstBridge: chained ? B_BRIDGE : address(hub),
            nonce: nonce,
            token: address(token),
            sender: sender,
            recipient: to,
            amount: amount
        });
        bytes memory sigs = _quorum(hub.hashTransfer(t), "t");
        uint256 before = hub.custody(routeB, address(token));
        _act(t, sigs, "1");
        _act(t, sigs, "2");
        uint256 after_ = hub.custody(routeB, address(token));
        assert(after_ >= before);
        assert(token.balanceOf(address(hub)) >= after_);
    }

    /// @dev One of: release, executeQueued (after the queue delay), forward, refund to the
    /// source (as the sender, or anyone after the refund delay).
    function _act(Transfer memory t, bytes memory sigs, string memory name) internal {
        uint256 action = svm.createUint(8, string.concat("action", name));
        vm.assume(action < 4);
        if (action == 0) {
            try hub.release(t, sigs) {} catch {}
        } else if (action == 1) {
            vm.warp(block.timestamp + 1 hours);
            try hub.executeQueued(t) {} catch {}
        } else if (action == 2) {
            try hub.forward(t) {} catch {}
        } else {
            vm.warp(block.timestamp + 7 days);
            try hub.refund(t, false) {} catch {}
        }
    }
}
