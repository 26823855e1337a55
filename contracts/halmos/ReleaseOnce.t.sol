// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Transfer} from "../src/Transfer.sol";

import {MainSetup} from "./MainSetup.sol";

/// @notice (a) A withdrawal nonce pays out at most once on the main chain.
contract ReleaseOnceCheck is MainSetup {
    uint256 internal constant CAP = 1000e18;
    uint256 internal constant WINDOW = 1 days;
    uint256 internal constant LARGE = 400e18;
    uint256 internal constant DELAY = 1 hours;

    function setUp() public {
        _setUpMain(CAP, WINDOW, LARGE, DELAY, 1_000_000e18); // custody, as if locked earlier
    }

    /// Two contents for one nonce, both signed by a quorum (validators that sign anything:
    /// the nonce alone must stop the second payout). The first is sent by `release` or
    /// `releaseBatch` (paid now, or queued when above `LARGE`; which content comes first
    /// changes nothing, both are symbolic), then `release`, `releaseBatch` or `executeQueued`
    /// of either content, after the queue delay: the bridge pays at most once.
    function check_nonceNeverPaysTwice(uint64 nonce, uint256 amount1, uint256 amount2) public {
        (Transfer memory t1, bytes memory sigs1, Transfer memory t2, bytes memory sigs2) =
            _contents(nonce, amount1, amount2);
        uint256 payouts = _step(t1, sigs1, t2, sigs2, 2, "1");
        payouts += _step(t1, sigs1, t2, sigs2, 6, "2");
        assert(payouts <= 1);
    }

    /// The queued path to its end: a large withdrawal is queued (by `release` or
    /// `releaseBatch`) and executed after the delay; then any of the six attempts pays nothing.
    /// With the check above this covers every three attempts that change state.
    function check_queuedNonceNeverPaysTwice(uint64 nonce, uint256 amount1, uint256 amount2) public {
        vm.assume(amount1 > LARGE);
        (Transfer memory t1, bytes memory sigs1, Transfer memory t2, bytes memory sigs2) =
            _contents(nonce, amount1, amount2);
        uint256 payouts = _step(t1, sigs1, t2, sigs2, 2, "1");
        vm.warp(block.timestamp + DELAY + 1);
        try main.executeQueued(t1) {} catch {}
        payouts += token.balanceOf(address(0xB0B)) > 0 ? 1 : 0;
        payouts += _step(t1, sigs1, t2, sigs2, 6, "3");
        assert(payouts <= 1);
    }

    /// @dev Two contents for one nonce (to different recipients), each with a quorum.
    function _contents(uint64 nonce, uint256 amount1, uint256 amount2)
        internal
        returns (Transfer memory t1, bytes memory sigs1, Transfer memory t2, bytes memory sigs2)
    {
        vm.assume(amount1 > 0);
        vm.assume(amount2 > 0);
        t1 = _withdrawal(nonce, address(0xB0B), amount1);
        t2 = _withdrawal(nonce, address(0xCA401), amount2);
        sigs1 = _quorum(main.hashTransfer(t1), "t1");
        sigs2 = _quorum(main.hashTransfer(t2), "t2");
    }

    /// @dev One attempt, the first `choices` of: release, releaseBatch, executeQueued of t1,
    /// then the same of t2. Returns 1 when the bridge paid.
    function _step(
        Transfer memory t1,
        bytes memory sigs1,
        Transfer memory t2,
        bytes memory sigs2,
        uint256 choices,
        string memory name
    ) internal returns (uint256) {
        vm.warp(block.timestamp + DELAY + 1); // what was queued before may execute now
        uint256 action = svm.createUint(8, string.concat("action", name));
        vm.assume(action < choices);
        bool second = action >= 3;
        Transfer memory t = second ? t2 : t1;
        bytes memory sigs = second ? sigs2 : sigs1;
        uint256 before = token.balanceOf(address(main));
        if (action % 3 == 0) {
            try main.release(t, sigs) {} catch {}
        } else if (action % 3 == 1) {
            Transfer[] memory ts = new Transfer[](1);
            ts[0] = t;
            bytes[] memory ss = new bytes[](1);
            ss[0] = sigs;
            try main.releaseBatch(ts, ss) {} catch {}
        } else {
            try main.executeQueued(t) {} catch {}
        }
        return token.balanceOf(address(main)) < before ? 1 : 0;
    }

    function _withdrawal(uint64 nonce, address to, uint256 amount) internal view returns (Transfer memory) {
        return Transfer({
            srcChainId: SIDE_CHAIN_ID,
            srcBridge: SIDE_BRIDGE,
            dstChainId: block.chainid,
            dstBridge: address(main),
            nonce: nonce,
            token: address(token),
            sender: address(0xA11CE),
            recipient: to,
            amount: amount
        });
    }
}
