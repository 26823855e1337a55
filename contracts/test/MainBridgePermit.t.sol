// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {MainBridge} from "../src/MainBridge.sol";
import {DemoToken} from "../src/devnet/DemoToken.sol";
import {WrappedToken} from "../src/WrappedToken.sol";

/// @notice MainBridge.lockWithPermit: approval and lock in one transaction, and what a mempool
/// watcher can do with a holder's permit.
contract MainBridgePermitTest is BridgeTestBase {
    DemoToken internal permitToken;
    uint256 internal holderKey = 0xA11CE;
    address internal holder;

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    function setUp() public override {
        super.setUp();
        holder = vm.addr(holderKey);
        permitToken = new DemoToken("Permit Token", "PRM", 18, 1_000e18);
        permitToken.transfer(holder, 100e18);
        WrappedToken w = new WrappedToken("Wrapped Permit Token", "wPRM", 18, address(side), address(permitToken));
        opMain.mapToken(address(permitToken), address(w));
    }

    function _permit(uint256 key, address owner, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, owner, address(main), value, permitToken.nonces(owner), deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", permitToken.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(key, digest);
    }

    function test_lockWithPermit_locksWithoutAnApproveTransaction() public {
        (uint8 v, bytes32 r, bytes32 s) = _permit(holderKey, holder, 40e18, block.timestamp + 1 hours);
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.Locked(
            0,
            address(permitToken),
            holder,
            bob,
            40e18,
            0,
            SIDE_CHAIN_ID,
            _lockId(0, address(permitToken), holder, bob, 40e18)
        );
        vm.prank(holder);
        uint64 nonce = main.lockWithPermit(address(permitToken), 40e18, bob, block.timestamp + 1 hours, v, r, s);
        assertEq(nonce, 0);
        assertEq(permitToken.balanceOf(address(main)), 40e18);
        assertEq(permitToken.balanceOf(holder), 60e18);
        assertEq(permitToken.allowance(holder, address(main)), 0);
    }

    /// The attacker copies the holder's permit from the mempool and submits it first: the lock
    /// still goes through on the allowance the permit left.
    function test_lockWithPermit_survivesAFrontRunPermit() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(holderKey, holder, 40e18, deadline);
        vm.prank(outsider);
        permitToken.permit(holder, address(main), 40e18, deadline, v, r, s);

        vm.prank(holder);
        main.lockWithPermit(address(permitToken), 40e18, bob, deadline, v, r, s);
        assertEq(permitToken.balanceOf(address(main)), 40e18);
    }

    /// The attacker submits the holder's permit through `lockWithPermit` itself: the lock is the
    /// attacker's own (it is `msg.sender`'s permit that is tried), so it pulls nothing of the
    /// holder's and locks nothing.
    function test_lockWithPermit_cannotSpendAnotherHoldersPermit() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(holderKey, holder, 40e18, deadline);
        vm.prank(outsider);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(main), 0, 40e18)
        );
        main.lockWithPermit(address(permitToken), 40e18, outsider, deadline, v, r, s);
        assertEq(permitToken.balanceOf(holder), 100e18);
        assertEq(main.outboundNonce(), 0);
    }

    function test_lockWithPermit_withABadPermitAndNoAllowanceLocksNothing() public {
        (uint8 v, bytes32 r, bytes32 s) = _permit(outsiderKey, holder, 40e18, block.timestamp + 1 hours);
        vm.prank(holder);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(main), 0, 40e18)
        );
        main.lockWithPermit(address(permitToken), 40e18, bob, block.timestamp + 1 hours, v, r, s);
        assertEq(permitToken.balanceOf(holder), 100e18);
    }

    function test_lockWithPermit_onATokenWithoutPermitUsesTheApproval() public {
        token.mint(alice, 5e18);
        vm.startPrank(alice);
        token.approve(address(main), 5e18);
        main.lockWithPermit(address(token), 5e18, bob, 0, 0, bytes32(0), bytes32(0));
        vm.stopPrank();
        assertEq(token.balanceOf(address(main)), 5e18);
    }

    function test_lockWithPermit_rejectsCodelessToken() public {
        address nothing = makeAddr("nothing");
        vm.prank(holder);
        vm.expectRevert(abi.encodeWithSelector(MainBridge.TokenNotContract.selector, nothing));
        main.lockWithPermit(nothing, 1e18, bob, 0, 0, bytes32(0), bytes32(0));
    }
}
