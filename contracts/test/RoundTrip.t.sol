// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";
import {Vm} from "./utils/ForgeStd.sol";

import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {Transfer} from "../src/Transfer.sol";

/// @notice lock -> approveDeposits -> mint, then burn -> submitSignatures -> release, in one EVM
/// with `vm.chainId` switching between the chains, built only from what the contracts emit (the
/// way the validators and the relayer see it).
contract RoundTripTest is BridgeTestBase {
    function setUp() public override {
        super.setUp();
        opMain.setFees(address(token), 30, 0, 0); // 0.3% leaving the main chain
        opSide.setFees(address(wrapped), 0, 1e18, 0); // 1 token flat leaving the side chain
    }

    /// @dev The deposit a validator reconstructs from a `Locked` log.
    function _depositFromLocked(Vm.Log memory log) internal view returns (Transfer memory t, uint256 fee) {
        assertEq(log.emitter, address(main));
        assertEq(log.topics[0], MainBridge.Locked.selector);
        (address recipient, uint256 amount, uint256 fee_, uint256 dstChainId, bytes32 id) =
            abi.decode(log.data, (address, uint256, uint256, uint256, bytes32));
        t = Transfer({
            srcChainId: block.chainid,
            srcBridge: address(main),
            dstChainId: dstChainId,
            dstBridge: address(side),
            nonce: uint64(uint256(log.topics[1])),
            token: address(uint160(uint256(log.topics[2]))),
            sender: address(uint160(uint256(log.topics[3]))),
            recipient: recipient,
            amount: amount
        });
        fee = fee_;
        // the event's id is the transfer a validator reconstructs, hashed as the side bridge does
        assertEq(id, _depositId(t));
    }

    function _find(Vm.Log[] memory logs, address emitter, bytes32 sig) internal pure returns (Vm.Log memory) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics[0] == sig) return logs[i];
        }
        revert("log not found");
    }

    function test_roundTrip_lockMintBurnSignRelease() public {
        // ---- main chain: alice locks 1,000
        token.mint(alice, 1000e18);
        vm.startPrank(alice);
        token.approve(address(main), 1000e18);
        vm.recordLogs();
        main.lock(address(token), 1000e18, bob);
        vm.stopPrank();
        (Transfer memory deposit, uint256 mainFee) =
            _depositFromLocked(_find(vm.getRecordedLogs(), address(main), MainBridge.Locked.selector));
        assertEq(mainFee, 3e18);
        assertEq(deposit.amount, 997e18);
        assertEq(deposit.dstChainId, SIDE_CHAIN_ID);
        assertEq(token.balanceOf(address(main)), 997e18);
        assertEq(token.balanceOf(feeMain), 3e18);

        // ---- side chain: the validators vote it in; the threshold vote mints
        _onSide();
        _approve(deposit, THRESHOLD);
        assertEq(wrapped.balanceOf(bob), 997e18);
        assertEq(wrapped.totalSupply(), token.balanceOf(address(main)));

        // ---- bob burns 400 for carol on the main chain
        vm.recordLogs();
        vm.prank(bob);
        side.burn(address(wrapped), 400e18, carol);
        Vm.Log memory burned = _find(vm.getRecordedLogs(), address(side), SideBridge.Burned.selector);
        (address recipient, uint256 net, uint256 sideFee,, bytes32 transferId) =
            abi.decode(burned.data, (address, uint256, uint256, address, bytes32));
        Transfer memory withdrawal = Transfer({
            srcChainId: block.chainid,
            srcBridge: address(side),
            dstChainId: side.remoteChainId(),
            dstBridge: address(main),
            nonce: uint64(uint256(burned.topics[1])),
            token: address(uint160(uint256(burned.topics[2]))),
            sender: address(uint160(uint256(burned.topics[3]))),
            recipient: recipient,
            amount: net
        });
        assertEq(side.withdrawalId(withdrawal), transferId);
        assertEq(net, 399e18);
        assertEq(sideFee, 1e18);
        assertEq(wrapped.balanceOf(feeSide), 1e18);

        // ---- each validator signs the id and publishes it; collect from the logs
        vm.recordLogs();
        for (uint256 i = THRESHOLD; i > 0; --i) {
            // submitted in descending order: the relayer must sort
            vm.prank(validatorAddrs[i - 1]);
            side.submitSignatures(_one(withdrawal), _sign(validatorKeys[i - 1], transferId));
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        address[] memory signers = new address[](THRESHOLD);
        bytes[] memory sigs = new bytes[](THRESHOLD);
        uint256 n;
        bool ready;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(side)) continue;
            if (logs[i].topics[0] == SideBridge.SignatureSubmitted.selector) {
                assertEq(uint256(logs[i].topics[1]), withdrawal.nonce);
                assertEq(logs[i].topics[2], transferId);
                signers[n] = address(uint160(uint256(logs[i].topics[3])));
                sigs[n] = abi.decode(logs[i].data, (bytes));
                ++n;
            } else if (logs[i].topics[0] == SideBridge.ReadyForRelay.selector) {
                assertEq(logs[i].topics[2], transferId);
                ready = true;
            }
        }
        assertEq(n, THRESHOLD);
        assertTrue(ready);

        // ---- relayer: sort by signer, pack, release on the main chain
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = i; j > 0 && signers[j - 1] > signers[j]; --j) {
                (signers[j - 1], signers[j]) = (signers[j], signers[j - 1]);
                (sigs[j - 1], sigs[j]) = (sigs[j], sigs[j - 1]);
            }
        }
        bytes memory packed;
        for (uint256 i; i < n; ++i) {
            packed = bytes.concat(packed, sigs[i]);
        }
        _onMain();
        assertEq(main.hashTransfer(withdrawal), transferId);
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.Released(withdrawal.nonce, transferId, carol, address(token), 399e18);
        main.release(withdrawal, packed);

        assertEq(token.balanceOf(carol), 399e18);
        assertEq(token.balanceOf(address(main)), 598e18);
        assertEq(wrapped.totalSupply(), 598e18, "bob's 597 plus the 1 fee, still backed");
        assertEq(wrapped.balanceOf(bob), 597e18);
        assertEq(token.balanceOf(address(main)), wrapped.totalSupply());
        assertTrue(main.isProcessed(withdrawal.nonce));

        vm.expectRevert(abi.encodeWithSelector(MainBridge.AlreadyProcessed.selector, withdrawal.nonce));
        main.release(withdrawal, packed);
    }
}
