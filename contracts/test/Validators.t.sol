// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {Governed} from "../src/Governed.sol";
import {Quorum} from "../src/Quorum.sol";

/// @notice Validator-set rules shared by both bridges (BridgeBase): threshold bounds (a strict
/// majority), candidate checks, removal floor, rotation, ordering and set versions.
contract ValidatorsTest is BridgeTestBase {
    function _addrs(uint256 n, uint256 base) internal pure returns (address[] memory addrs) {
        (, addrs) = _makeValidators(n, base);
    }

    /// @dev The smallest strict majority of `n`.
    function _majority(uint256 n) internal pure returns (uint256) {
        return n / 2 + 1;
    }

    function test_validators_initialSetIsAscending() public view {
        address[] memory set = main.validators();
        assertEq(set.length, N_VALIDATORS);
        for (uint256 i; i < set.length; ++i) {
            assertEq(set[i], validatorAddrs[i]);
            if (i > 0) assertGt(uint160(set[i]), uint160(set[i - 1]));
            assertTrue(main.isValidator(set[i]));
            assertTrue(side.isValidator(set[i]));
        }
        assertFalse(main.isValidator(outsider));
        assertEq(main.validatorThreshold(), THRESHOLD);
        assertEq(main.validatorSetVersion(), 1);
    }

    function test_validators_constructorRejectsThresholdZeroOrAboveSetSize() public {
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 0, N_VALIDATORS));
        _newMainBridge(validatorAddrs, 0);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, N_VALIDATORS + 1, N_VALIDATORS));
        _newMainBridge(validatorAddrs, N_VALIDATORS + 1);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 1, 0));
        new SideBridge(address(this), address(0), opSide, mainChainId, address(main), false, new address[](0), 1);
    }

    /// @dev Finding 5: a threshold of 1-of-n (or any minority) let one key (or one camp) act
    /// alone. Every way to set a threshold now refuses anything but a strict majority.
    function test_validators_thresholdMustBeStrictMajority() public {
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 2, N_VALIDATORS));
        _newMainBridge(validatorAddrs, 2);
        address[] memory four = _addrs(4, 0x2000);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 2, 4));
        _newMainBridge(four, 2); // half is not a majority
        _newMainBridge(four, 3);

        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 1, N_VALIDATORS));
        main.setValidatorThreshold(1);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 2, N_VALIDATORS));
        side.setValidatorThreshold(2);

        // growing the set must come with a threshold that is a majority of the larger set
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 3, 6));
        main.addValidator(outsider, 3);
        main.addValidator(outsider, 4);
        assertEq(main.validatorThreshold(), 4);
        assertEq(main.validators().length, 6);
    }

    function test_validators_rotationSwapsOneKeyKeepingSizeAndThreshold() public {
        address old = validatorAddrs[2];
        vm.expectEmit(true, true, true, true, address(main));
        emit BridgeBase.ValidatorRemoved(old, 2);
        vm.expectEmit(true, true, true, true, address(main));
        emit BridgeBase.ValidatorAdded(outsider, 2);
        main.rotateValidator(old, outsider);
        assertFalse(main.isValidator(old));
        assertTrue(main.isValidator(outsider));
        assertEq(main.validators().length, N_VALIDATORS);
        assertEq(main.validatorThreshold(), THRESHOLD);
        address[] memory set = main.validators();
        for (uint256 i = 1; i < set.length; ++i) {
            assertGt(uint160(set[i]), uint160(set[i - 1]));
        }

        vm.expectRevert(abi.encodeWithSelector(Quorum.UnknownValidator.selector, old));
        main.rotateValidator(old, makeAddr("x"));
        vm.expectRevert(abi.encodeWithSelector(Quorum.ValidatorExists.selector, validatorAddrs[0]));
        main.rotateValidator(validatorAddrs[1], validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidValidator.selector, address(0)));
        main.rotateValidator(validatorAddrs[1], address(0));
    }

    function test_validators_setThresholdRejectsZeroOrAboveSetSize() public {
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 0, N_VALIDATORS));
        main.setValidatorThreshold(0);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, N_VALIDATORS + 1, N_VALIDATORS));
        main.setValidatorThreshold(N_VALIDATORS + 1);
        assertEq(main.validatorSetVersion(), 1);

        vm.expectEmit(true, true, true, true, address(main));
        emit BridgeBase.ValidatorThresholdChanged(N_VALIDATORS, 2);
        main.setValidatorThreshold(N_VALIDATORS);
        assertEq(main.validatorThreshold(), N_VALIDATORS);
        assertEq(main.validatorSetVersion(), 2);
    }

    function test_validators_zeroValidatorRejected() public {
        address[] memory set = _addrs(3, 0x2000);
        set[0] = address(0);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidValidator.selector, address(0)));
        _newMainBridge(set, 2);

        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidValidator.selector, address(0)));
        main.addValidator(address(0), 4);
    }

    function test_validators_duplicateValidatorRejected() public {
        address[] memory set = _addrs(3, 0x2000);
        set[2] = set[1];
        vm.expectRevert(abi.encodeWithSelector(Quorum.ValidatorExists.selector, set[1]));
        _newMainBridge(set, 2);

        // an unsorted constructor list is refused the same way (it could hide a duplicate)
        set = _addrs(3, 0x2000);
        (set[0], set[2]) = (set[2], set[0]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.ValidatorExists.selector, set[1]));
        _newMainBridge(set, 2);

        for (uint256 i; i < N_VALIDATORS; ++i) {
            vm.expectRevert(abi.encodeWithSelector(Quorum.ValidatorExists.selector, validatorAddrs[i]));
            main.addValidator(validatorAddrs[i], 4);
        }
        assertEq(main.validatorSetVersion(), 1);
    }

    function test_validators_selfValidatorRejected() public {
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidValidator.selector, address(main)));
        main.addValidator(address(main), 4);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidValidator.selector, address(side)));
        side.addValidator(address(side), 4);

        // in the constructor too: the bridge's own (predicted) address
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        address[] memory set = new address[](1);
        set[0] = predicted;
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidValidator.selector, predicted));
        _newMainBridge(set, 1);
    }

    function test_validators_removingBelowThresholdReverts() public {
        main.setValidatorThreshold(N_VALIDATORS - 1);
        main.removeValidator(validatorAddrs[0]); // 4 left, threshold 4: still fine
        assertEq(main.validators().length, N_VALIDATORS - 1);

        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, N_VALIDATORS - 1, N_VALIDATORS - 2));
        main.removeValidator(validatorAddrs[1]);
        assertTrue(main.isValidator(validatorAddrs[1]));

        // lowering the threshold first makes room (3 of 4 is still a majority)
        main.setValidatorThreshold(3);
        main.removeValidator(validatorAddrs[1]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 3, 2));
        main.removeValidator(validatorAddrs[2]);
        assertEq(main.validators().length, 3);
    }

    /// @dev Votes are bound to content (not to a nonce), so a key that leaves can come back:
    /// whatever it voted while away never happened, and what it voted before counts only for
    /// that very content (SideBridge tests check the votes).
    function test_validators_removedValidatorCanBeReadded() public {
        address removed = validatorAddrs[0];
        main.removeValidator(removed);
        side.removeValidator(removed);
        assertFalse(main.isValidator(removed));
        main.addValidator(removed, THRESHOLD);
        side.addValidator(removed, THRESHOLD);
        assertTrue(main.isValidator(removed));
        assertTrue(side.isValidator(removed));
        assertEq(main.validatorSetVersion(), 3);
        assertEq(side.validatorSetVersion(), 3);
    }

    function test_validators_removeUnknownReverts() public {
        vm.expectRevert(abi.encodeWithSelector(Quorum.UnknownValidator.selector, outsider));
        main.removeValidator(outsider);
    }

    function test_validators_addKeepsAscendingOrderAndBumpsVersion() public {
        address[] memory extra = _addrs(4, 0x3000);
        for (uint256 i; i < extra.length; ++i) {
            vm.expectEmit(true, true, true, true, address(side));
            // forge-lint: disable-next-line(unsafe-typecast)
            emit BridgeBase.ValidatorAdded(extra[i], uint32(2 + i));
            side.addValidator(extra[i], _majority(N_VALIDATORS + i + 1));
        }
        address[] memory set = side.validators();
        assertEq(set.length, N_VALIDATORS + 4);
        for (uint256 i = 1; i < set.length; ++i) {
            assertGt(uint160(set[i]), uint160(set[i - 1]));
        }
        assertEq(side.validatorSetVersion(), 5);
        assertEq(side.validatorThreshold(), _majority(N_VALIDATORS + 4));
    }

    function test_validators_maximumSetSize() public {
        uint256 room = main.MAX_VALIDATORS() - N_VALIDATORS;
        address[] memory extra = _addrs(room + 1, 0x4000);
        for (uint256 i; i < room; ++i) {
            main.addValidator(extra[i], _majority(N_VALIDATORS + i + 1));
        }
        assertEq(main.validators().length, 32);
        vm.expectRevert(Quorum.TooManyValidators.selector);
        main.addValidator(extra[room], 17);

        address[] memory tooMany = _addrs(33, 0x5000);
        vm.expectRevert(Quorum.TooManyValidators.selector);
        _newMainBridge(tooMany, 17);
    }

    function test_validators_onlyGovernanceChangesTheSet() public {
        bytes memory err = abi.encodeWithSelector(Governed.NotGovernance.selector, validatorAddrs[0]);
        vm.startPrank(validatorAddrs[0]);
        vm.expectRevert(err);
        main.addValidator(outsider, 4);
        vm.expectRevert(err);
        main.removeValidator(validatorAddrs[1]);
        vm.expectRevert(err);
        main.rotateValidator(validatorAddrs[1], outsider);
        vm.expectRevert(err);
        main.setValidatorThreshold(4);
        vm.expectRevert(err);
        side.addValidator(outsider, 4);
        vm.stopPrank();
    }
}
