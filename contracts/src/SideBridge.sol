// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {BridgeBase} from "./BridgeBase.sol";
import {Inbound} from "./Inbound.sol";
import {IOperational} from "./IOperational.sol";
import {Quorum} from "./Quorum.sol";
import {SignerSet} from "./SignerSet.sol";
import {Transfer, TransferHash} from "./Transfer.sol";
import {Votes} from "./Votes.sol";
import {WrappedToken} from "./WrappedToken.sol";

/// @title SideBridge
/// @notice The validators' meeting place. Deposits are voted in on-chain (`approveDeposits`) and
/// minted at the threshold; withdrawals are burned here, and validators publish their EIP-712
/// signatures for the main-chain release (`submitSignatures`) so anyone can relay them.
///
/// Votes and signatures are counted per content: each transfer id (the full EIP-712 digest) has
/// its own record of which current validators voted for exactly it (`Votes`). Junk voted by a
/// validator for any nonce is a record of its own and never stands in the way of the honest
/// content; a nonce still mints at most once (`_depositDone`), and only the content whose own
/// votes reached the threshold.
contract SideBridge is BridgeBase {
    /// @notice Address of the MainBridge that releases withdrawals.
    address public immutable mainBridge;
    /// @notice EIP-712 domain separator of the MainBridge: withdrawal ids and signatures use it.
    bytes32 public immutable mainDomainSeparator;
    /// @notice The main-chain bridge is a hub serving many side chains: a burn may name another
    /// side chain's bridge (`burnTo`), and the hub forwards it there (or parks it, refundable).
    /// A one-route MainBridge pays only withdrawals naming itself, so without a hub it is off.
    bool public immutable chained;

    /// @notice Why a deposit that reached the threshold was not minted yet; `executeDeposit`
    /// mints it once the cause is gone.
    enum Stall {
        TokenNotMapped,
        RateLimited,
        InboundDisabled
    }

    /// @dev Deposit vote records by transfer id.
    mapping(bytes32 id => uint256) private _depositVotes;
    /// @dev One bit per deposit nonce, 256 to a slot: minted or queued, with whichever content.
    mapping(uint256 word => uint256) private _depositDone;
    /// @dev Withdrawal records by transfer id: EXISTS from the burn, then the signers.
    mapping(bytes32 id => uint256) private _withdrawals;

    /// @notice `validator`'s votes counted by one `approveDeposits`: per vote the deposit's nonce
    /// (8 bytes, big-endian) and the transfer id it voted for (32 bytes). Votes it had already
    /// cast, and votes for nonces already minted, are skipped and not listed.
    event DepositsApproved(address indexed validator, bytes votes);
    /// @notice The threshold was reached but the deposit cannot be minted yet.
    event DepositStalled(uint64 indexed nonce, bytes32 indexed transferId, address token, Stall reason);
    /// @notice A deposit was minted.
    event DepositExecuted(
        uint64 indexed nonce, bytes32 indexed transferId, address indexed recipient, address wrapped, uint256 amount
    );
    /// @notice Wrapped tokens were burned; `token` is the main-chain token `recipient` will get.
    /// `dstChainId` and `dstBridge` name the destination: the main chain's bridge, or (chained)
    /// another side chain's.
    event Burned(
        uint64 indexed nonce,
        address indexed token,
        address indexed sender,
        address recipient,
        uint256 amount,
        uint256 fee,
        address wrapped,
        bytes32 transferId,
        uint256 dstChainId,
        address dstBridge
    );
    /// @notice A validator's signature for the main-chain release of withdrawal `nonce`.
    event SignatureSubmitted(
        uint64 indexed nonce, bytes32 indexed transferId, address indexed validator, bytes signature
    );
    /// @notice Enough current validators signed withdrawal `nonce`: it can be released.
    event ReadyForRelay(uint64 indexed nonce, bytes32 indexed transferId);

    error TokenNotMapped(address token);
    error UnknownWithdrawal(uint64 nonce);
    /// @notice `burnTo` on a side chain whose main bridge is no hub.
    error NotChained();
    error NotReady(uint64 nonce);
    error LengthMismatch();

    /// @notice Where a deposit stands, for relayers asking about many at once.
    struct DepositStatus {
        uint8 votes; // current validators who voted for exactly this content
        bool voted; // the asked-about validator is one of them
        bool executed; // this content was minted or queued
        bool nonceTaken; // its nonce was minted or queued, by whichever content
        uint64 eta; // queued: when it may execute (0: not queued)
        bool held;
        bool canceled;
        bool queueExecuted;
    }

    /// @notice Where a withdrawal stands on the side chain, for relayers asking about many.
    struct WithdrawalStatus {
        uint8 signers; // current validators whose signature is published
        bool signed; // the asked-about validator is one of them
        bool ready; // ReadyForRelay was announced
        bool burned; // this content was burned here
    }

    constructor(
        address governance_,
        address setupKey_,
        IOperational operational_,
        uint256 mainChainId,
        address mainBridge_,
        bool chained_,
        address[] memory validators_,
        uint256 threshold_
    ) BridgeBase(governance_, setupKey_, operational_, mainChainId, validators_, threshold_) {
        mainBridge = mainBridge_;
        chained = chained_;
        mainDomainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Sidebridge"),
                keccak256("1"),
                mainChainId,
                mainBridge_
            )
        );
    }

    // ---------------------------------------------------------------- deposits

    /// @notice The caller's (a current validator's) vote for many deposits at once, each for
    /// its exact content. A deposit is minted, exactly once, by the vote that takes its own
    /// content's count of current validators to the threshold. Votes for nonces already minted,
    /// or already cast by this validator for the same content, are skipped, so a batch never
    /// fails because another validator was faster.
    function approveDeposits(Transfer[] calldata transfers) external nonReentrant {
        Config memory c = _config;
        _requireActive(c);
        bytes memory set = SignerSet.read(c.validatorSet);
        uint256 n = c.validatorCount;
        uint256 me = Quorum.findIndex(set, n, msg.sender);
        if (me == n) revert Quorum.NotValidator(msg.sender);
        uint256 myBit = 1 << me;
        uint256 count = transfers.length;
        bytes memory votes = new bytes(count * 40);
        uint256 cast;

        for (uint256 i; i < count; ++i) {
            Transfer calldata t = transfers[i];
            _checkInbound(t);
            if (_isDepositDone(t.nonce)) continue;
            bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
            uint256 mask = Votes.current(_depositVotes[id], c.validatorSet, set, n);
            if (mask & myBit != 0) continue;
            mask |= myBit;
            uint256 flags;
            if (Votes.count(mask) >= c.threshold) {
                (bool done, Stall why,) = _finalizeDeposit(t, id);
                if (done) flags = Votes.DONE;
                else emit DepositStalled(t.nonce, id, t.token, why);
            }
            _depositVotes[id] = Votes.pack(c.validatorSet, mask, flags);
            _writeVote(votes, cast++, t.nonce, id);
        }
        assembly ("memory-safe") {
            mstore(votes, mul(cast, 40))
        }
        emit DepositsApproved(msg.sender, votes);
    }

    /// @notice Mints (or queues) a deposit whose own content has the votes of a threshold of
    /// current validators but was not minted: its token was unmapped, the inbound cap was used
    /// up, or the threshold was lowered since. Anyone may call; it reverts with the reason when
    /// the deposit still cannot be minted.
    function executeDeposit(Transfer calldata t) external nonReentrant {
        Config memory c = _config;
        _requireActive(c);
        _checkInbound(t);
        if (_isDepositDone(t.nonce)) revert NotReady(t.nonce);
        bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
        uint256 mask =
            Votes.current(_depositVotes[id], c.validatorSet, SignerSet.read(c.validatorSet), c.validatorCount);
        if (Votes.count(mask) < c.threshold) revert NotReady(t.nonce);
        (bool done, Stall why, uint256 available) = _finalizeDeposit(t, id);
        if (!done) {
            if (why == Stall.TokenNotMapped) revert TokenNotMapped(t.token);
            if (why == Stall.InboundDisabled) revert InboundDisabled(t.token);
            revert RateLimited(t.amount, available);
        }
        _depositVotes[id] = Votes.pack(c.validatorSet, mask, Votes.DONE);
    }

    /// @notice Mints a queued (large) deposit once its delay has passed, unless a guardian holds
    /// it or governance canceled it. Anyone may call. What may have changed during the delay is
    /// checked again: the pause, the token mapping, and the inbound limits, whose bucket it is
    /// charged to now; one that does not fit reverts (`TokenNotMapped`, `InboundDisabled`,
    /// `RateLimited`) and stays queued.
    function executeQueued(Transfer calldata t) external nonReentrant whenActive {
        bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
        _executeQueued(id, t.token, t.amount);
        address wrapped = operational.localOf(t.token);
        if (wrapped == address(0)) revert TokenNotMapped(t.token);
        _mint(t, id, wrapped);
    }

    /// @notice How many current validators voted for exactly this deposit content, and whether
    /// this content was minted (or queued).
    function depositVotes(bytes32 id) external view returns (uint256 votes, bool executed) {
        Config memory c = _config;
        uint256 record = _depositVotes[id];
        votes = Votes.count(Votes.current(record, c.validatorSet, SignerSet.read(c.validatorSet), c.validatorCount));
        executed = Votes.isDone(record);
    }

    /// @notice For each deposit (id and nonce): its votes, whether `validator` voted for it,
    /// whether it (or any content at its nonce) was executed, and its queue entry. One call
    /// answers for a whole batch.
    function depositStatus(address validator, bytes32[] calldata ids, uint64[] calldata nonces)
        external
        view
        returns (DepositStatus[] memory out)
    {
        uint256 n = ids.length;
        if (nonces.length != n) revert LengthMismatch();
        Config memory c = _config;
        bytes memory set = SignerSet.read(c.validatorSet);
        uint256 index = Quorum.findIndex(set, c.validatorCount, validator);
        uint256 mine = index < c.validatorCount ? 1 << index : 0;
        out = new DepositStatus[](n);
        for (uint256 i; i < n; ++i) {
            uint256 record = _depositVotes[ids[i]];
            uint256 mask = Votes.current(record, c.validatorSet, set, c.validatorCount);
            DepositStatus memory status = out[i];
            status.votes = uint8(Votes.count(mask));
            status.voted = mask & mine != 0;
            status.executed = Votes.isDone(record);
            status.nonceTaken = _isDepositDone(nonces[i]);
            _fillQueue(status, ids[i]);
        }
    }

    function _fillQueue(DepositStatus memory status, bytes32 id) private view {
        (uint256 eta, bool held, bool canceled, bool executed) = queuedTransfer(id);
        status.eta = uint64(eta);
        status.held = held;
        status.canceled = canceled;
        status.queueExecuted = executed;
    }

    /// @notice For each withdrawal id: its current signers, whether `validator` signed it,
    /// whether it was announced ready, and whether it was burned here.
    function withdrawalStatus(address validator, bytes32[] calldata ids)
        external
        view
        returns (WithdrawalStatus[] memory out)
    {
        Config memory c = _config;
        bytes memory set = SignerSet.read(c.validatorSet);
        uint256 index = Quorum.findIndex(set, c.validatorCount, validator);
        uint256 mine = index < c.validatorCount ? 1 << index : 0;
        uint256 n = ids.length;
        out = new WithdrawalStatus[](n);
        for (uint256 i; i < n; ++i) {
            uint256 record = _withdrawals[ids[i]];
            uint256 mask = Votes.current(record, c.validatorSet, set, c.validatorCount);
            out[i] = WithdrawalStatus({
                signers: uint8(Votes.count(mask)),
                signed: mask & mine != 0,
                ready: Votes.isDone(record),
                burned: record & Votes.EXISTS != 0
            });
        }
    }

    /// @notice Whether deposit `nonce` was minted or queued, with whichever content.
    function isDepositDone(uint64 nonce) external view returns (bool) {
        return _isDepositDone(nonce);
    }

    /// @notice Whether current validator `validator` voted for exactly this deposit content.
    function hasVotedDeposit(address validator, bytes32 id) external view returns (bool) {
        return _hasVoted(_depositVotes[id], validator);
    }

    /// @dev Mints (or queues) a deposit that reached the threshold, or says why it cannot yet.
    /// The nonce is marked done before any token moves.
    function _finalizeDeposit(Transfer calldata t, bytes32 id)
        private
        returns (bool done, Stall why, uint256 available)
    {
        address wrapped = operational.localOf(t.token);
        if (wrapped == address(0)) return (false, Stall.TokenNotMapped, 0);
        Inbound.Inflow inflow;
        (inflow, available) = _chargeInbound(t.token, t.amount, false);
        if (inflow == Inbound.Inflow.Disabled) return (false, Stall.InboundDisabled, 0);
        if (inflow == Inbound.Inflow.RateLimited) return (false, Stall.RateLimited, available);
        _depositDone[t.nonce >> 8] |= 1 << (t.nonce & 0xff);
        if (inflow == Inbound.Inflow.Delayed) {
            _queueLarge(id, t.nonce, t.token);
        } else {
            _mint(t, id, wrapped);
        }
        done = true;
    }

    /// @dev Mints and checks that the recipient's balance grew by exactly the amount.
    function _mint(Transfer calldata t, bytes32 id, address wrapped) private {
        WrappedToken w = WrappedToken(wrapped);
        uint256 before = w.balanceOf(t.recipient);
        w.mint(t.recipient, t.amount);
        uint256 received = w.balanceOf(t.recipient) - before;
        if (received != t.amount) revert BalanceMismatch(t.recipient, t.amount, received);
        emit DepositExecuted(t.nonce, id, t.recipient, wrapped, t.amount);
    }

    function _isDepositDone(uint64 nonce) private view returns (bool) {
        return _depositDone[nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    // ---------------------------------------------------------------- withdrawals

    /// @notice Burns `amount` of the wrapped token `wrapped` so that `recipient` receives the
    /// main-chain token, less the fee, on the main chain.
    /// @return nonce The withdrawal's outbound nonce.
    function burn(address wrapped, uint256 amount, address recipient) external returns (uint64 nonce) {
        return _burn(wrapped, amount, remoteChainId, mainBridge, recipient);
    }

    /// @notice A chained transfer: burns here so that `recipient` receives the token on the side
    /// chain `dstChainId` whose bridge is `dstBridge`, through the hub (which charges that hop's
    /// fee, or parks the transfer when that side chain refuses it: its sender can then take it
    /// back here). Only when the main bridge is a hub (`chained`).
    function burnTo(address wrapped, uint256 amount, uint256 dstChainId, address dstBridge, address recipient)
        external
        returns (uint64 nonce)
    {
        if (!chained) revert NotChained();
        return _burn(wrapped, amount, dstChainId, dstBridge, recipient);
    }

    function _burn(address wrapped, uint256 amount, uint256 dstChainId, address dstBridge, address recipient)
        private
        nonReentrant
        whenActive
        returns (uint64 nonce)
    {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroRecipient();
        // a bridge pays out to nobody when it is the recipient: the tokens would be stuck (the
        // hub, named by a chained burn's recipient, parks it for a refund instead)
        if (recipient == dstBridge || recipient == address(this)) revert BridgeRecipient(recipient);
        (uint256 fee, address mainToken) = _takeBurn(wrapped, amount);
        nonce = outboundNonce++;
        Transfer memory t = _outbound(nonce, mainToken, recipient, amount - fee);
        (t.dstChainId, t.dstBridge) = (dstChainId, dstBridge);
        _announceBurn(t, fee, wrapped);
    }

    function _announceBurn(Transfer memory t, uint256 fee, address wrapped) private {
        bytes32 id = withdrawalId(t);
        _withdrawals[id] = Votes.EXISTS;
        emit Burned(t.nonce, t.token, t.sender, t.recipient, t.amount, fee, wrapped, id, t.dstChainId, t.dstBridge);
    }

    /// @dev Burns the caller's `amount` of `wrapped`; the fee is minted back to its recipient.
    function _takeBurn(address wrapped, uint256 amount) private returns (uint256 fee, address mainToken) {
        address feeRecipient;
        (fee, feeRecipient, mainToken) = operational.onOutbound(wrapped, amount);
        WrappedToken(wrapped).burn(msg.sender, amount);
        // the fee stays wrapped, still backed by the tokens locked on the main chain
        if (fee > 0) WrappedToken(wrapped).mint(feeRecipient, fee);
    }

    /// @notice The caller's (a current validator's) EIP-712 signatures for many withdrawals:
    /// `signatures` holds one 65-byte `r‖s‖v` per transfer, in order. Each is checked to be the
    /// caller's and to be over a withdrawal burned here (its full id), then published in
    /// `SignatureSubmitted`; `ReadyForRelay` is emitted when a threshold of current validators
    /// has signed.
    function submitSignatures(Transfer[] calldata transfers, bytes calldata signatures) external nonReentrant {
        Config memory c = _config;
        _requireActive(c);
        bytes memory set = SignerSet.read(c.validatorSet);
        uint256 me = Quorum.findIndex(set, c.validatorCount, msg.sender);
        if (me == c.validatorCount) revert Quorum.NotValidator(msg.sender);
        uint256 count = transfers.length;
        if (signatures.length != count * 65) revert Quorum.MalformedSignatures(signatures.length);

        for (uint256 i; i < count; ++i) {
            _acceptSignature(c, set, 1 << me, transfers[i], signatures[i * 65:i * 65 + 65], i);
        }
    }

    function _acceptSignature(
        Config memory c,
        bytes memory set,
        uint256 myBit,
        Transfer calldata t,
        bytes calldata signature,
        uint256 index
    ) private {
        bytes32 id = _withdrawalIdCalldata(t);
        uint256 record = _withdrawals[id];
        if (record & Votes.EXISTS == 0) revert UnknownWithdrawal(t.nonce);
        _checkOwnSignature(id, signature, index);

        uint256 mask = Votes.current(record, c.validatorSet, set, c.validatorCount);
        if (mask & myBit != 0) return;
        mask |= myBit;
        emit SignatureSubmitted(t.nonce, id, msg.sender, signature);
        uint256 flags = Votes.flags(record);
        if (flags & Votes.DONE == 0 && Votes.count(mask) >= c.threshold) {
            flags |= Votes.DONE;
            emit ReadyForRelay(t.nonce, id);
        }
        _withdrawals[id] = Votes.pack(c.validatorSet, mask, flags);
    }

    /// @dev Reverts unless `signature` is the caller's over `id`.
    function _checkOwnSignature(bytes32 id, bytes calldata signature, uint256 index) private view {
        (uint8 v, bytes32 r, bytes32 s) = Quorum.signatureAt(signature, 0);
        (address signer, bool ok) = Quorum.recover(id, v, r, s);
        if (!ok || signer != msg.sender) revert Quorum.InvalidSignature(index);
    }

    /// @notice Signature record of withdrawal `id`: how many current validators signed it, and
    /// whether `ReadyForRelay` was announced. After a validator-set change the count is what
    /// `MainBridge.release` will accept; the announcement is not repeated.
    function withdrawalSignatures(bytes32 id) external view returns (uint256 signers, bool ready) {
        Config memory c = _config;
        uint256 record = _withdrawals[id];
        signers = Votes.count(Votes.current(record, c.validatorSet, SignerSet.read(c.validatorSet), c.validatorCount));
        ready = Votes.isDone(record);
    }

    /// @notice Whether current validator `validator` published its signature for withdrawal `id`.
    function hasSignedWithdrawal(address validator, bytes32 id) external view returns (bool) {
        return _hasVoted(_withdrawals[id], validator);
    }

    /// @notice Whether withdrawal `id` was burned here.
    function isBurned(bytes32 id) external view returns (bool) {
        return _withdrawals[id] & Votes.EXISTS != 0;
    }

    /// @notice The id (MainBridge EIP-712 digest) of a withdrawal: what validators sign.
    function withdrawalId(Transfer memory t) public view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(mainDomainSeparator, TransferHash.hashMemory(t));
    }

    function _withdrawalIdCalldata(Transfer calldata t) private view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(mainDomainSeparator, TransferHash.hash(t));
    }

    // ---------------------------------------------------------------- shared

    function _remoteBridge() internal view override returns (address) {
        return mainBridge;
    }

    function _hasVoted(uint256 record, address validator) private view returns (bool) {
        Config memory c = _config;
        bytes memory set = SignerSet.read(c.validatorSet);
        uint256 index = Quorum.findIndex(set, c.validatorCount, validator);
        if (index == c.validatorCount) return false;
        return Votes.current(record, c.validatorSet, set, c.validatorCount) & (1 << index) != 0;
    }

    function _writeVote(bytes memory out, uint256 i, uint64 nonce, bytes32 id) private pure {
        assembly ("memory-safe") {
            let p := add(add(out, 0x20), mul(i, 40))
            mstore(p, shl(192, nonce))
            mstore(add(p, 8), id)
        }
    }
}
