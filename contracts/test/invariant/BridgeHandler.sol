// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "../utils/ForgeStd.sol";

import {MainBridge} from "../../src/MainBridge.sol";
import {SideBridge} from "../../src/SideBridge.sol";
import {WrappedToken} from "../../src/WrappedToken.sol";
import {Operational} from "../../src/Operational.sol";
import {Transfer} from "../../src/Transfer.sol";

import {MockERC20} from "../mocks/MockERC20.sol";

/// @notice Drives random sequences of the four bridge actions on one EVM. Both bridges live in
/// the same EVM; every action first switches `block.chainid` to the chain it happens on (main for
/// lock and release, side for deposit approval and burn), so each bridge's route checks and
/// EIP-712 domain are exactly as in production. Ghost sums track what is in flight.
contract BridgeHandler is Test {
    MainBridge public immutable main;
    SideBridge public immutable side;
    WrappedToken public immutable wrapped;
    MockERC20 public immutable token;
    uint256 public immutable mainChainId;
    uint256 public immutable sideChainId;
    uint256 public immutable threshold;

    uint256[] internal _keys; // validator keys, ascending by address
    address[] internal _actors;

    Transfer[] internal _deposits;
    mapping(uint256 => bool) internal _minted;
    Transfer[] internal _withdrawals;
    mapping(uint256 => bool) internal _released;

    /// @notice Locked (net of the main-chain fee) but not yet minted.
    uint256 public ghostPendingDeposits;
    /// @notice Burned (net of the side-chain fee) but not yet released.
    uint256 public ghostPendingWithdrawals;
    uint256 public ghostLocked;
    uint256 public ghostReleased;
    /// @notice Set if a released withdrawal was paid twice.
    bool public ghostReplaySucceeded;
    /// @notice Set if a minted deposit minted again.
    bool public ghostDoubleMint;
    mapping(bytes32 => uint256) public calls;

    constructor(
        MainBridge main_,
        SideBridge side_,
        WrappedToken wrapped_,
        MockERC20 token_,
        uint256 sideChainId_,
        uint256[] memory keys_,
        address[] memory actors_
    ) {
        main = main_;
        side = side_;
        wrapped = wrapped_;
        token = token_;
        mainChainId = block.chainid;
        sideChainId = sideChainId_;
        threshold = main_.validatorThreshold();
        _keys = keys_;
        _actors = actors_;
    }

    function depositCount() external view returns (uint256) {
        return _deposits.length;
    }

    function withdrawalCount() external view returns (uint256) {
        return _withdrawals.length;
    }

    // ---------------------------------------------------------------- actions

    /// @notice An actor locks main tokens for another actor on the side chain.
    function lock(uint256 actorSeed, uint256 recipientSeed, uint256 amount) external {
        vm.chainId(mainChainId);
        address actor = _actors[actorSeed % _actors.length];
        address recipient = _actors[recipientSeed % _actors.length];
        amount = bound(amount, 1e6, 1e27);
        token.mint(actor, amount);
        uint256 before = token.balanceOf(address(main));

        vm.startPrank(actor);
        token.approve(address(main), amount);
        uint64 nonce = main.lock(address(token), amount, recipient);
        vm.stopPrank();

        uint256 net = token.balanceOf(address(main)) - before;
        _deposits.push(
            Transfer({
                srcChainId: mainChainId,
                srcBridge: address(main),
                dstChainId: sideChainId,
                dstBridge: address(side),
                nonce: nonce,
                token: address(token),
                sender: actor,
                recipient: recipient,
                amount: net
            })
        );
        ghostPendingDeposits += net;
        ghostLocked += net;
        calls["lock"]++;
    }

    /// @notice Threshold validators vote a pending deposit in; the last vote mints it. Extra
    /// votes by the remaining validators must not mint again.
    function approveAndMint(uint256 indexSeed, bool extraVotes) external {
        uint256 n = _deposits.length;
        if (n == 0) return;
        uint256 index = indexSeed % n;
        // the first not-yet-minted deposit at or after index
        for (uint256 i; i < n && _minted[index]; ++i) {
            index = (index + 1) % n;
        }
        if (_minted[index]) return;
        vm.chainId(sideChainId);
        Transfer[] memory batch = new Transfer[](1);
        batch[0] = _deposits[index];
        uint256 votes = extraVotes ? _keys.length : threshold;
        for (uint256 v; v < votes; ++v) {
            vm.prank(vm.addr(_keys[v]));
            side.approveDeposits(batch);
        }
        _minted[index] = true;
        ghostPendingDeposits -= batch[0].amount;
        calls["approveAndMint"]++;
    }

    /// @notice An actor burns part of their wrapped balance for a main-chain recipient.
    function burn(uint256 actorSeed, uint256 recipientSeed, uint256 amount) external {
        vm.chainId(sideChainId);
        address actor = _actors[actorSeed % _actors.length];
        uint256 balance = wrapped.balanceOf(actor);
        if (balance < 1e6) return;
        amount = bound(amount, 1e6, balance);
        address recipient = _actors[recipientSeed % _actors.length];
        uint256 supplyBefore = wrapped.totalSupply();

        vm.prank(actor);
        uint64 nonce = side.burn(address(wrapped), amount, recipient);

        // what leaves the wrapped supply is exactly what the main chain will pay out
        uint256 net = supplyBefore - wrapped.totalSupply();
        _withdrawals.push(
            Transfer({
                srcChainId: sideChainId,
                srcBridge: address(side),
                dstChainId: mainChainId,
                dstBridge: address(main),
                nonce: nonce,
                token: address(token),
                sender: actor,
                recipient: recipient,
                amount: net
            })
        );
        ghostPendingWithdrawals += net;
        calls["burn"]++;
    }

    /// @notice Threshold validators sign a burned withdrawal; anyone releases it on main.
    function release(uint256 indexSeed, uint256 signerSeed) external {
        uint256 n = _withdrawals.length;
        if (n == 0) return;
        uint256 index = indexSeed % n;
        for (uint256 i; i < n && _released[index]; ++i) {
            index = (index + 1) % n;
        }
        if (_released[index]) return;
        Transfer memory t = _withdrawals[index];

        vm.chainId(mainChainId);
        // `threshold` consecutive validators (ascending) starting at a random offset
        uint256 start = signerSeed % (_keys.length - threshold + 1);
        bytes32 digest = main.hashTransfer(t);
        bytes memory sigs;
        for (uint256 i; i < threshold; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(_keys[start + i], digest);
            sigs = bytes.concat(sigs, abi.encodePacked(r, s, v));
        }
        uint256 before = token.balanceOf(t.recipient);
        main.release(t, sigs);
        require(token.balanceOf(t.recipient) - before == t.amount, "release paid a different amount");

        _released[index] = true;
        ghostPendingWithdrawals -= t.amount;
        ghostReleased += t.amount;
        calls["release"]++;
    }

    /// @notice Replays a released withdrawal with fresh signatures by every validator: it must
    /// be refused.
    function replayRelease(uint256 indexSeed) external {
        uint256 n = _withdrawals.length;
        if (n == 0) return;
        uint256 index = indexSeed % n;
        if (!_released[index]) return;
        Transfer memory t = _withdrawals[index];
        vm.chainId(mainChainId);
        bytes32 digest = main.hashTransfer(t);
        bytes memory sigs;
        for (uint256 i; i < _keys.length; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(_keys[i], digest);
            sigs = bytes.concat(sigs, abi.encodePacked(r, s, v));
        }
        try main.release(t, sigs) {
            ghostReplaySucceeded = true;
        } catch {}
        calls["replayRelease"]++;
    }

    /// @notice Every validator votes again for a minted deposit: nothing may be minted.
    function revoteMinted(uint256 indexSeed) external {
        uint256 n = _deposits.length;
        if (n == 0) return;
        uint256 index = indexSeed % n;
        if (!_minted[index]) return;
        vm.chainId(sideChainId);
        Transfer[] memory batch = new Transfer[](1);
        batch[0] = _deposits[index];
        uint256 supply = wrapped.totalSupply();
        for (uint256 v; v < _keys.length; ++v) {
            vm.prank(vm.addr(_keys[v]));
            side.approveDeposits(batch);
        }
        if (wrapped.totalSupply() != supply) ghostDoubleMint = true;
        calls["revoteMinted"]++;
    }

    /// @notice Time passes (no limits are configured, but fees and state must not depend on it).
    function warp(uint256 seconds_) external {
        skip(bound(seconds_, 1, 30 days));
        calls["warp"]++;
    }
}
