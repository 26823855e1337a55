// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Validator-set rules shared by both bridges (BridgeBase): threshold bounds, candidate
/// checks, removal floor, ordering and set versions.
contract ValidatorsTest is BridgeTestBase {
    function _addrs(uint256 n, uint256 base) internal pure returns (address[] memory addrs) {
        (, addrs) = _makeValidators(n, base);
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
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, 0, N_VALIDATORS));
        new MainBridge(address(this), opMain, SIDE_CHAIN_ID, validatorAddrs, 0);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, N_VALIDATORS + 1, N_VALIDATORS));
        new MainBridge(address(this), opMain, SIDE_CHAIN_ID, validatorAddrs, N_VALIDATORS + 1);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, 1, 0));
        new SideBridge(address(this), opSide, mainChainId, address(main), new address[](0), 1);
    }

    function test_validators_setThresholdRejectsZeroOrAboveSetSize() public {
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, 0, N_VALIDATORS));
        main.setValidatorThreshold(0);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, N_VALIDATORS + 1, N_VALIDATORS));
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
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidValidator.selector, address(0)));
        new MainBridge(address(this), opMain, SIDE_CHAIN_ID, set, 2);

        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidValidator.selector, address(0)));
        main.addValidator(address(0));
    }

    function test_validators_duplicateValidatorRejected() public {
        address[] memory set = _addrs(3, 0x2000);
        set[2] = set[1];
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.ValidatorExists.selector, set[1]));
        new MainBridge(address(this), opMain, SIDE_CHAIN_ID, set, 2);

        // an unsorted constructor list is refused the same way (it could hide a duplicate)
        set = _addrs(3, 0x2000);
        (set[0], set[2]) = (set[2], set[0]);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.ValidatorExists.selector, set[1]));
        new MainBridge(address(this), opMain, SIDE_CHAIN_ID, set, 2);

        for (uint256 i; i < N_VALIDATORS; ++i) {
            vm.expectRevert(abi.encodeWithSelector(BridgeBase.ValidatorExists.selector, validatorAddrs[i]));
            main.addValidator(validatorAddrs[i]);
        }
        assertEq(main.validatorSetVersion(), 1);
    }

    function test_validators_selfValidatorRejected() public {
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidValidator.selector, address(main)));
        main.addValidator(address(main));
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidValidator.selector, address(side)));
        side.addValidator(address(side));

        // in the constructor too: the bridge's own (predicted) address
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        address[] memory set = new address[](1);
        set[0] = predicted;
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidValidator.selector, predicted));
        new MainBridge(address(this), opMain, SIDE_CHAIN_ID, set, 1);
    }

    function test_validators_removingBelowThresholdReverts() public {
        main.setValidatorThreshold(N_VALIDATORS - 1);
        main.removeValidator(validatorAddrs[0]); // 4 left, threshold 4: still fine
        assertEq(main.validators().length, N_VALIDATORS - 1);

        vm.expectRevert(
            abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, N_VALIDATORS - 1, N_VALIDATORS - 2)
        );
        main.removeValidator(validatorAddrs[1]);
        assertTrue(main.isValidator(validatorAddrs[1]));

        // lowering the threshold first makes room
        main.setValidatorThreshold(2);
        main.removeValidator(validatorAddrs[1]);
        main.removeValidator(validatorAddrs[2]);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, 2, 1));
        main.removeValidator(validatorAddrs[3]);
        assertEq(main.validators().length, 2);
    }

    /// @dev Removal is final on both bridges: a removed key cannot be added back (its SideBridge
    /// vote bits could count for other content), a new key can.
    function test_validators_removedValidatorCannotBeReadded() public {
        address removed = validatorAddrs[0];
        main.removeValidator(removed);
        side.removeValidator(removed);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidValidator.selector, removed));
        main.addValidator(removed);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidValidator.selector, removed));
        side.addValidator(removed);
        assertFalse(main.isValidator(removed));
        assertFalse(side.isValidator(removed));
        assertEq(main.validatorSetVersion(), 2);
        assertEq(side.validatorSetVersion(), 2);

        main.addValidator(outsider);
        side.addValidator(outsider);
        assertTrue(main.isValidator(outsider));
        assertTrue(side.isValidator(outsider));
    }

    function test_validators_removeUnknownReverts() public {
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.UnknownValidator.selector, outsider));
        main.removeValidator(outsider);
    }

    function test_validators_addKeepsAscendingOrderAndBumpsVersion() public {
        address[] memory extra = _addrs(4, 0x3000);
        for (uint256 i; i < extra.length; ++i) {
            vm.expectEmit(true, true, true, true, address(side));
            // forge-lint: disable-next-line(unsafe-typecast)
            emit BridgeBase.ValidatorAdded(extra[i], uint32(2 + i));
            side.addValidator(extra[i]);
        }
        address[] memory set = side.validators();
        assertEq(set.length, N_VALIDATORS + 4);
        for (uint256 i = 1; i < set.length; ++i) {
            assertGt(uint160(set[i]), uint160(set[i - 1]));
        }
        assertEq(side.validatorSetVersion(), 5);
        assertEq(side.validatorThreshold(), THRESHOLD);
    }

    function test_validators_maximumSetSize() public {
        uint256 room = main.MAX_VALIDATORS() - N_VALIDATORS;
        address[] memory extra = _addrs(room + 1, 0x4000);
        for (uint256 i; i < room; ++i) {
            main.addValidator(extra[i]);
        }
        assertEq(main.validators().length, 32);
        vm.expectRevert(BridgeBase.TooManyValidators.selector);
        main.addValidator(extra[room]);

        address[] memory tooMany = _addrs(33, 0x5000);
        vm.expectRevert(BridgeBase.TooManyValidators.selector);
        new MainBridge(address(this), opMain, SIDE_CHAIN_ID, tooMany, 1);
    }

    function test_validators_onlyOwnerChangesTheSet() public {
        bytes memory err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, validatorAddrs[0]);
        vm.startPrank(validatorAddrs[0]);
        vm.expectRevert(err);
        main.addValidator(outsider);
        vm.expectRevert(err);
        main.removeValidator(validatorAddrs[1]);
        vm.expectRevert(err);
        main.setValidatorThreshold(1);
        vm.expectRevert(err);
        side.addValidator(outsider);
        vm.stopPrank();
    }
}
