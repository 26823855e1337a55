// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {HubTestBase} from "../HubBase.t.sol";
import {HubHandler} from "./HubHandler.sol";

/// @notice Over random locks, withdrawals (chained or not), a stolen set signing for its route,
/// pauses, forwards, refunds and stray tokens, the hub's balance is exactly what it owes (Σ
/// custody over routes plus Σ parked) plus surplus, and every route's book is exactly what
/// was credited to it less what was taken off it: no route ever pays out of another's.
contract HubInvariantTest is HubTestBase {
    HubHandler internal handler;

    function setUp() public override {
        super.setUp();
        op.setFees(address(token), 30, 1e15, 0);
        uint256[] memory ids = new uint256[](ROUTES);
        address[] memory bs = new address[](ROUTES);
        bytes32[] memory rs = new bytes32[](ROUTES);
        uint256[][] memory ks = new uint256[][](ROUTES);
        for (uint256 i; i < ROUTES; ++i) {
            ids[i] = chainIds[i];
            bs[i] = bridges[i];
            rs[i] = routes[i];
            ks[i] = keys[i];
        }
        for (uint256 i; i < ROUTES; ++i) {
            // large withdrawals (above 1e23) wait an hour in the queue
            govern.setInboundLimits(routes[i], address(token), OPEN_CAP, 1 days, 1e23, 1 hours);
        }
        address[] memory actors = new address[](2);
        actors[0] = alice;
        actors[1] = bob;
        handler = new HubHandler(hub, token, ids, bs, rs, ks, actors);
        targetContract(address(handler));
    }

    function invariant_balanceIsWhatIsOwedPlusSurplus() public view {
        uint256 custody;
        for (uint256 i; i < ROUTES; ++i) {
            custody += _custody(i);
        }
        assertEq(hub.booked(address(token)), custody + handler.parkedSum());
        assertEq(token.balanceOf(address(hub)), custody + handler.parkedSum() + handler.donated());
    }

    function invariant_eachRouteBookIsItsOwnHistory() public view {
        for (uint256 i; i < ROUTES; ++i) {
            bytes32 r = routes[i];
            assertEq(_custody(i), handler.credited(r) - handler.debited(r));
        }
    }

    function invariant_stolenSetTakesOnlyFromItsRoute() public view {
        assertLe(handler.stolen(), handler.debited(routes[0]));
    }
}
