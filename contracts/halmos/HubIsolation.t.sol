// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MainHub} from "../src/MainHub.sol";
import {MainHubAdmin} from "../src/MainHubAdmin.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";

import {HalmosToken} from "./HalmosToken.sol";
import {SymTest} from "./SymTest.sol";

/// @notice (d) On the hub, one route's whole validator set, signing whatever it likes, never
/// takes from another route's book. Route A's set (V0, V1, V2) signs a symbolic withdrawal that
/// names as its source A or B (A's keys posing as B's), any nonce, amount, sender and
/// recipient, paid on the main chain or chained to B. Operational charges a fee and caps a
/// transfer (a chained hop over the cap is parked). Then any two of: release, executeQueued,
/// forward, refund to the source, refund on the main chain by the sender, and governance
/// lifting the cap. B's custody never shrinks, the hub holds exactly what it owes, and the
/// recipient gains at most what A's book held.
contract HubIsolationCheck is SymTest {
    uint256 internal constant A_CHAIN = 0xA1;
    address internal constant A_BRIDGE = address(0xA11B);
    uint256 internal constant B_CHAIN = 0xB1;
    address internal constant B_BRIDGE = address(0xB11B);
    uint256 internal constant BOOK = 1_000e18;
    uint256 internal constant LARGE = 400e18;
    uint256 internal constant MAX = 600e18;

    HalmosToken internal token;
    Operational internal op;
    MainHub internal hub;
    bytes32 internal routeA;
    bytes32 internal routeB;

    function setUp() public {
        token = new HalmosToken();
        op = new Operational(address(this), address(0), address(0xFEE));
        hub = new MainHub(address(this), address(0), op);
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
        // from here on a hop pays 0.1% and may carry at most MAX
        op.setFees(address(token), 10, 0, 0);
        op.setLimits(address(token), 0, MAX, 0, 0);
    }

    function check_aStolenRouteNeverTakesFromAnother(uint64 nonce, uint256 amount, address sender, address to)
        public
    {
        vm.assume(amount > 0);
        vm.assume(to != address(hub) && to != address(this));
        bool posingAsB = svm.createBool("posingAsB");
        bool chained = svm.createBool("chained");
        Transfer memory t = Transfer({
            srcChainId: posingAsB ? B_CHAIN : A_CHAIN,
            srcBridge: posingAsB ? B_BRIDGE : A_BRIDGE,
            dstChainId: chained ? B_CHAIN : block.chainid,
            dstBridge: chained ? B_BRIDGE : address(hub),
            nonce: nonce,
            token: address(token),
            sender: sender,
            recipient: to,
            amount: amount
        });
        bytes memory sigs = _quorum(hub.hashTransfer(t), "t");
        uint256 bookA = hub.custody(routeA, address(token));
        uint256 bookB = hub.custody(routeB, address(token));
        uint256 held = token.balanceOf(to);
        _act(t, sigs, "1");
        _act(t, sigs, "2");
        assert(hub.custody(routeB, address(token)) >= bookB);
        assert(token.balanceOf(address(hub)) == hub.booked(address(token)));
        assert(token.balanceOf(to) <= held + bookA);
    }

    /// @dev One of: release, executeQueued (after the queue delay), forward, refund to the
    /// source (anyone, after the refund delay), refund on the main chain by the sender (as an
    /// account), governance lifting the per-transfer cap.
    function _act(Transfer memory t, bytes memory sigs, string memory name) internal {
        uint256 action = svm.createUint(8, string.concat("action", name));
        vm.assume(action < 6);
        if (action == 0) {
            try hub.release(t, sigs) {} catch {}
        } else if (action == 1) {
            vm.warp(block.timestamp + 1 hours);
            try hub.executeQueued(t) {} catch {}
        } else if (action == 2) {
            try hub.forward(t) {} catch {}
        } else if (action == 3) {
            vm.warp(block.timestamp + 7 days);
            try hub.refund(t, false) {} catch {}
        } else if (action == 4) {
            vm.prank(t.sender, t.sender);
            try hub.refund(t, true) {} catch {}
        } else {
            op.setLimits(address(token), 0, 0, 0, 0);
        }
    }
}
