// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test, Vm} from "../utils/ForgeStd.sol";

import {MainBridge} from "../../src/MainBridge.sol";
import {SideBridge} from "../../src/SideBridge.sol";
import {BridgeBase} from "../../src/BridgeBase.sol";
import {TransferQueue} from "../../src/TransferQueue.sol";
import {WrappedToken} from "../../src/WrappedToken.sol";
import {Transfer} from "../../src/Transfer.sol";

import {MockERC20} from "../mocks/MockERC20.sol";

/// @notice Random sequences of honest traffic interleaved with an attacker holding threshold - 1
/// validator keys (and every key ever rotated out), while governance rotates validators.
///
/// The attacker votes and signs arbitrary content for live and future nonces, votes forged
/// content at a live nonce just before the honest threshold vote and then tries to execute it,
/// and assembles releases from its keys plus retired ones. Every `DepositExecuted`,
/// `TransferQueued` and `Released` the bridges emit is checked against what was really locked
/// or burned at that nonce (ghost maps keyed by nonce, full 256-bit ids).
contract AdversarialHandler is Test {
    MainBridge public immutable main;
    SideBridge public immutable side;
    WrappedToken public immutable wrapped;
    MockERC20 public immutable token;
    address public immutable governance;
    uint256 public immutable mainChainId;
    uint256 public immutable sideChainId;
    uint256 public immutable threshold;

    uint256[] internal _honest;
    uint256[] internal _malicious;
    uint256[] internal _retired; // rotated out: the attacker has them too
    uint256 internal _nextKey = 0x9000;
    address[] internal _actors;
    address public attacker = address(0xA77AC);

    Transfer[] internal _deposits; // index = main-chain nonce
    mapping(uint64 => bytes32) internal _lockedId;
    mapping(uint64 => bool) internal _depositDone;
    mapping(uint64 => bool) internal _minted;
    Transfer[] internal _withdrawals; // index = side-chain nonce
    mapping(uint64 => bytes32) internal _burnedId;
    mapping(uint64 => bool) internal _released;
    mapping(uint64 => bool) internal _releaseQueued;

    uint256 public ghostPendingDeposits;
    uint256 public ghostPendingWithdrawals;
    uint256 public ghostLocked;
    uint256 public ghostReleased;
    bool public ghostForgedMint;
    bool public ghostDoubleMint;
    bool public ghostForgedRelease;
    bool public ghostDoubleRelease;
    uint256 public mints;
    uint256 public releases;
    mapping(bytes32 => uint256) public calls;

    constructor(
        MainBridge main_,
        SideBridge side_,
        WrappedToken wrapped_,
        MockERC20 token_,
        address governance_,
        uint256 sideChainId_,
        uint256[] memory honest_,
        uint256[] memory malicious_,
        address[] memory actors_
    ) {
        main = main_;
        side = side_;
        wrapped = wrapped_;
        token = token_;
        governance = governance_;
        mainChainId = block.chainid;
        sideChainId = sideChainId_;
        threshold = main_.validatorThreshold();
        _honest = honest_;
        _malicious = malicious_;
        _actors = actors_;
    }

    function depositCount() external view returns (uint256) {
        return _deposits.length;
    }

    function withdrawalCount() external view returns (uint256) {
        return _withdrawals.length;
    }

    modifier audited(bytes32 name) {
        vm.recordLogs();
        _;
        _audit();
        calls[name]++;
    }

    // ---------------------------------------------------------------- honest traffic

    function lock(uint256 actorSeed, uint256 recipientSeed, uint256 amount) external audited("lock") {
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
        Transfer memory t = Transfer(
            mainChainId, address(main), sideChainId, address(side), nonce, address(token), actor, recipient, net
        );
        _deposits.push(t);
        _lockedId[nonce] = _depositId(t);
        ghostPendingDeposits += net;
        ghostLocked += net;
    }

    /// @notice A current honest validator votes for a real deposit (whatever its state).
    function honestVote(uint256 indexSeed, uint256 voterSeed) external audited("honestVote") {
        if (_deposits.length == 0) return;
        Transfer memory t = _deposits[indexSeed % _deposits.length];
        _vote(_honest[voterSeed % _honest.length], t);
    }

    function burn(uint256 actorSeed, uint256 recipientSeed, uint256 amount) external audited("burn") {
        vm.chainId(sideChainId);
        address actor = _actors[actorSeed % _actors.length];
        uint256 balance = wrapped.balanceOf(actor);
        if (balance < 1e6) return;
        amount = bound(amount, 1e6, balance);
        address recipient = _actors[recipientSeed % _actors.length];
        uint256 supplyBefore = wrapped.totalSupply();
        vm.prank(actor);
        uint64 nonce = side.burn(address(wrapped), amount, recipient);
        uint256 net = supplyBefore - wrapped.totalSupply();
        Transfer memory t = Transfer(
            sideChainId, address(side), mainChainId, address(main), nonce, address(token), actor, recipient, net
        );
        _withdrawals.push(t);
        _burnedId[nonce] = side.withdrawalId(t);
        ghostPendingWithdrawals += net;
    }

    /// @notice A current honest validator publishes its signature for a real withdrawal.
    function honestSign(uint256 indexSeed, uint256 signerSeed) external audited("honestSign") {
        if (_withdrawals.length == 0) return;
        Transfer memory t = _withdrawals[indexSeed % _withdrawals.length];
        _publish(_honest[signerSeed % _honest.length], t);
    }

    /// @notice Anyone releases a real withdrawal with `threshold` current honest signatures.
    function release(uint256 indexSeed) external audited("release") {
        if (_withdrawals.length == 0) return;
        Transfer memory t = _withdrawals[indexSeed % _withdrawals.length];
        vm.chainId(mainChainId);
        bytes memory sigs = _signSorted(_firstHonest(threshold), main.hashTransfer(t));
        try main.release(t, sigs) {} catch {}
    }

    /// @notice A relayer releases two real withdrawals in one batch, with a forged one (signed
    /// by the attacker's keys) between them: the forged one is skipped, the others released.
    function releaseBatch(uint256 seedA, uint256 seedB, uint256 amount) external audited("releaseBatch") {
        if (_withdrawals.length == 0) return;
        vm.chainId(mainChainId);
        Transfer[] memory ts = new Transfer[](3);
        bytes[] memory sigs = new bytes[](3);
        ts[0] = _withdrawals[seedA % _withdrawals.length];
        ts[1] = _forge(uint64(seedB % (_withdrawals.length + 2)), amount, uint8(seedB), false);
        ts[2] = _withdrawals[seedB % _withdrawals.length];
        sigs[0] = _signSorted(_firstHonest(threshold), main.hashTransfer(ts[0]));
        sigs[1] = _signSorted(_malicious, main.hashTransfer(ts[1]));
        sigs[2] = _signSorted(_firstHonest(threshold), main.hashTransfer(ts[2]));
        try main.releaseBatch(ts, sigs) {} catch {}
    }

    /// @notice Anyone executes queued transfers whose delay passed.
    function executeQueued(uint256 indexSeed, bool deposit) external audited("executeQueued") {
        if (deposit && _deposits.length > 0) {
            vm.chainId(sideChainId);
            try side.executeQueued(_deposits[indexSeed % _deposits.length]) {} catch {}
        } else if (!deposit && _withdrawals.length > 0) {
            vm.chainId(mainChainId);
            try main.executeQueued(_withdrawals[indexSeed % _withdrawals.length]) {} catch {}
        }
    }

    /// @notice Governance swaps one validator for a fresh key of the same kind, on both chains.
    function rotate(uint256 seed, bool maliciousSlot) external audited("rotate") {
        uint256[] storage pool = maliciousSlot ? _malicious : _honest;
        uint256 i = seed % pool.length;
        uint256 old = pool[i];
        uint256 fresh = _nextKey++;
        vm.startPrank(governance);
        main.rotateValidator(vm.addr(old), vm.addr(fresh));
        side.rotateValidator(vm.addr(old), vm.addr(fresh));
        vm.stopPrank();
        pool[i] = fresh;
        _retired.push(old);
    }

    function warp(uint256 seconds_) external audited("warp") {
        skip(bound(seconds_, 1, 3 days));
    }

    // ---------------------------------------------------------------- the attacker

    /// @notice A malicious validator votes content of the attacker's choosing for a live or a
    /// future nonce (a pre-vote), possibly a real deposit with one field changed.
    function maliciousVote(uint256 nonceSeed, uint256 amount, uint256 whoSeed, uint8 field)
        external
        audited("maliciousVote")
    {
        uint64 nonce = uint64(nonceSeed % (_deposits.length + 5));
        Transfer memory f = _forge(nonce, amount, field, true);
        _vote(_malicious[whoSeed % _malicious.length], f);
    }

    /// @notice Every malicious validator votes forged content at a live nonce (racing the
    /// honest threshold vote), then the attacker asks anyone to execute it.
    function frontRun(uint256 indexSeed, uint256 amount, uint8 field) external audited("frontRun") {
        if (_deposits.length == 0) return;
        uint64 nonce = _deposits[indexSeed % _deposits.length].nonce;
        Transfer memory f = _forge(nonce, amount, field, true);
        for (uint256 i; i < _malicious.length; ++i) {
            _vote(_malicious[i], f);
        }
        vm.chainId(sideChainId);
        vm.prank(attacker);
        try side.executeDeposit(f) {} catch {}
        vm.prank(attacker);
        try side.executeQueued(f) {} catch {}
    }

    /// @notice Malicious validators publish signatures for forged withdrawals (refused: not
    /// burned) and for real ones (allowed: they may sign the truth too).
    function maliciousSign(uint256 indexSeed, uint256 amount, uint8 field, bool real)
        external
        audited("maliciousSign")
    {
        if (real && _withdrawals.length > 0) {
            _publish(_malicious[indexSeed % _malicious.length], _withdrawals[indexSeed % _withdrawals.length]);
            return;
        }
        uint64 nonce = uint64(indexSeed % (_withdrawals.length + 5));
        _publish(_malicious[0], _forge(nonce, amount, field, false));
    }

    /// @notice The attacker signs a forged release with every key it has — threshold - 1
    /// current validators plus every retired one — and submits it.
    function forgedRelease(uint256 nonceSeed, uint256 amount, uint8 field) external audited("forgedRelease") {
        uint64 nonce = uint64(nonceSeed % (_withdrawals.length + 5));
        Transfer memory f = _forge(nonce, amount, field, false);
        vm.chainId(mainChainId);
        bytes32 digest = main.hashTransfer(f);
        uint256 n = _malicious.length + _retired.length;
        uint256[] memory keys = new uint256[](n);
        for (uint256 i; i < _malicious.length; ++i) {
            keys[i] = _malicious[i];
        }
        for (uint256 i; i < _retired.length; ++i) {
            keys[_malicious.length + i] = _retired[i];
        }
        try main.release(f, _signSorted(keys, digest)) {} catch {}
        // and with only its current keys
        try main.release(f, _signSorted(_malicious, digest)) {} catch {}
    }

    // ---------------------------------------------------------------- internals

    /// @dev Content for `nonce` that the attacker wants: a real transfer with one field
    /// changed, or an arbitrary one paying the attacker.
    function _forge(uint64 nonce, uint256 amount, uint8 field, bool deposit) internal view returns (Transfer memory f) {
        bool live = deposit ? nonce < _deposits.length : nonce < _withdrawals.length;
        if (live) {
            f = deposit ? _deposits[nonce] : _withdrawals[nonce];
        } else {
            f = deposit
                ? Transfer(
                    mainChainId, address(main), sideChainId, address(side), nonce, address(token), attacker, attacker, 1
                )
                : Transfer(
                    sideChainId, address(side), mainChainId, address(main), nonce, address(token), attacker, attacker, 1
                );
        }
        bytes32 original = keccak256(abi.encode(f));
        uint256 which = field % 3;
        if (which == 0) f.recipient = attacker;
        else if (which == 1) f.amount = bound(amount, 1, 1e30);
        else f.sender = attacker;
        // never the real content: honest actors are never the attacker
        if (keccak256(abi.encode(f)) == original) f.recipient = attacker;
    }

    function _vote(uint256 key, Transfer memory t) internal {
        vm.chainId(sideChainId);
        Transfer[] memory batch = new Transfer[](1);
        batch[0] = t;
        vm.prank(vm.addr(key));
        try side.approveDeposits(batch) {} catch {}
    }

    function _publish(uint256 key, Transfer memory t) internal {
        vm.chainId(sideChainId);
        Transfer[] memory batch = new Transfer[](1);
        batch[0] = t;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, side.withdrawalId(t));
        vm.prank(vm.addr(key));
        try side.submitSignatures(batch, abi.encodePacked(r, s, v)) {} catch {}
    }

    function _depositId(Transfer memory t) internal returns (bytes32 id) {
        vm.chainId(sideChainId);
        id = side.hashTransfer(t);
        vm.chainId(mainChainId);
    }

    function _firstHonest(uint256 k) internal view returns (uint256[] memory keys) {
        keys = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            keys[i] = _honest[i];
        }
    }

    function _signSorted(uint256[] memory keys, bytes32 digest) internal pure returns (bytes memory sigs) {
        uint256[] memory sorted = new uint256[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            sorted[i] = keys[i];
            uint256 j = i;
            while (j > 0 && vm.addr(sorted[j - 1]) > vm.addr(sorted[j])) {
                (sorted[j - 1], sorted[j]) = (sorted[j], sorted[j - 1]);
                --j;
            }
        }
        for (uint256 i; i < sorted.length; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(sorted[i], digest);
            sigs = bytes.concat(sigs, abi.encodePacked(r, s, v));
        }
    }

    /// @dev Checks every mint, queue and release the last action caused against the ghosts.
    function _audit() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory log = logs[i];
            bytes32 sig = log.topics[0];
            if (log.emitter == address(side) && sig == SideBridge.DepositExecuted.selector) {
                uint64 nonce = uint64(uint256(log.topics[1]));
                if (nonce >= _deposits.length || _lockedId[nonce] != log.topics[2]) ghostForgedMint = true;
                if (_minted[nonce]) ghostDoubleMint = true;
                _minted[nonce] = true;
                _depositDone[nonce] = true;
                if (nonce < _deposits.length) ghostPendingDeposits -= _deposits[nonce].amount;
                ++mints;
            } else if (log.emitter == address(side) && sig == TransferQueue.TransferQueued.selector) {
                uint64 nonce = uint64(uint256(log.topics[2]));
                if (nonce >= _deposits.length || _lockedId[nonce] != log.topics[1]) ghostForgedMint = true;
                if (_depositDone[nonce]) ghostDoubleMint = true;
                _depositDone[nonce] = true;
            } else if (log.emitter == address(main) && sig == MainBridge.Released.selector) {
                uint64 nonce = uint64(uint256(log.topics[1]));
                if (nonce >= _withdrawals.length || _burnedId[nonce] != log.topics[2]) ghostForgedRelease = true;
                if (_released[nonce]) ghostDoubleRelease = true;
                _released[nonce] = true;
                if (nonce < _withdrawals.length) {
                    ghostPendingWithdrawals -= _withdrawals[nonce].amount;
                    ghostReleased += _withdrawals[nonce].amount;
                }
                ++releases;
            } else if (log.emitter == address(main) && sig == TransferQueue.TransferQueued.selector) {
                uint64 nonce = uint64(uint256(log.topics[2]));
                if (nonce >= _withdrawals.length || _burnedId[nonce] != log.topics[1]) ghostForgedRelease = true;
                if (_releaseQueued[nonce] || _released[nonce]) ghostDoubleRelease = true;
                _releaseQueued[nonce] = true;
            }
        }
    }
}
