// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {BridgeBase} from "./BridgeBase.sol";
import {IOperational} from "./IOperational.sol";
import {Lanes} from "./Lanes.sol";
import {SignerSet} from "./SignerSet.sol";
import {Transfer, TransferHash} from "./Transfer.sol";
import {WrappedToken} from "./WrappedToken.sol";

/// @title SideBridge
/// @notice The validators' meeting place. Deposits are voted in on-chain (`approveDeposits`) and
/// minted at the threshold; withdrawals are burned here, and validators publish their EIP-712
/// signatures for the main-chain release (`submitSignatures`) so anyone can relay them.
contract SideBridge is BridgeBase {
    using Lanes for mapping(uint256 => uint256);

    /// @notice Address of the MainBridge that releases withdrawals.
    address public immutable mainBridge;
    /// @notice EIP-712 domain separator of the MainBridge: withdrawal ids and signatures use it.
    bytes32 public immutable mainDomainSeparator;

    mapping(uint256 => uint256) private _depositLanes;
    mapping(uint256 => uint256) private _withdrawalLanes;
    /// @dev Per validator, one bit per deposit nonce it voted for (256 to a slot).
    mapping(address => mapping(uint256 => uint256)) private _depositVoted;
    /// @dev Per validator, one bit per withdrawal nonce it signed (256 to a slot).
    mapping(address => mapping(uint256 => uint256)) private _withdrawalSigned;

    /// @notice `validator` voted for the deposits with these nonces (votes it had already cast, or
    /// for deposits already minted, are included and were skipped).
    /// `nonces` packs them as 8-byte big-endian integers.
    event DepositsApproved(address indexed validator, bytes nonces);
    /// @notice A vote disagreed with the content already voted for this nonce; it was not counted.
    event VoteConflict(uint64 indexed nonce, address indexed validator, bytes32 transferId);
    /// @notice The threshold was reached but the token is not mapped here; `executeDeposit`
    /// mints once governance maps it.
    event DepositStalled(uint64 indexed nonce, bytes32 indexed transferId, address token);
    /// @notice A deposit was minted.
    event DepositExecuted(
        uint64 indexed nonce, bytes32 indexed transferId, address indexed recipient, address wrapped, uint256 amount
    );
    /// @notice Wrapped tokens were burned; `token` is the main-chain token `recipient` will get.
    event Burned(
        uint64 indexed nonce,
        address indexed token,
        address indexed sender,
        address recipient,
        uint256 amount,
        uint256 fee,
        address wrapped,
        bytes32 transferId
    );
    /// @notice A validator's signature for the main-chain release of withdrawal `nonce`.
    event SignatureSubmitted(
        uint64 indexed nonce, bytes32 indexed transferId, address indexed validator, bytes signature
    );
    /// @notice Enough current validators signed withdrawal `nonce`: it can be released.
    event ReadyForRelay(uint64 indexed nonce, bytes32 indexed transferId);

    error TokenNotMapped(address token);
    error UnknownWithdrawal(uint64 nonce);
    error MalformedSignatures(uint256 length);
    error InvalidSignature(uint256 index);
    error NotReady(uint64 nonce);

    constructor(
        address owner_,
        IOperational operational_,
        uint256 mainChainId,
        address mainBridge_,
        address[] memory validators_,
        uint256 threshold_
    ) BridgeBase(owner_, operational_, mainChainId, validators_, threshold_) {
        mainBridge = mainBridge_;
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

    /// @notice The caller's (a current validator's) vote for many deposits at once. A transfer
    /// is minted, exactly once, by the vote that reaches the threshold. Votes for deposits
    /// already minted, or already cast by this validator, are skipped, so a batch never fails
    /// because another validator was faster.
    function approveDeposits(Transfer[] calldata transfers) external nonReentrant {
        Config memory c = _config;
        if (c.paused) revert BridgePaused();
        bytes memory set = SignerSet.read(c.validatorSet);
        if (_findIndex(set, c.validatorCount, msg.sender) == c.validatorCount) revert NotValidator(msg.sender);
        mapping(uint256 => uint256) storage mine = _depositVoted[msg.sender];
        uint256 count = transfers.length;
        bytes memory nonces = new bytes(count * 8);

        for (uint256 i; i < count; ++i) {
            Transfer calldata t = transfers[i];
            if (t.srcChainId != remoteChainId || t.dstChainId != block.chainid) {
                revert WrongRoute(t.srcChainId, t.dstChainId);
            }
            uint64 nonce = t.nonce;
            _writeNonce(nonces, i, nonce);
            uint256 lane = _depositLanes.load(nonce);
            if (lane & Lanes.DONE != 0) continue;
            uint256 bit = 1 << (nonce & 0xff);
            uint256 voted = mine[nonce >> 8];
            if (voted & bit != 0) continue;

            bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
            if (lane == 0) {
                lane = Lanes.fresh(id);
            } else if (!Lanes.matches(lane, id)) {
                if (_currentVotes(c, set, _depositVoted, nonce) != 0) {
                    emit VoteConflict(nonce, msg.sender, id);
                    continue;
                }
                // every validator that voted for the recorded content has left the set
                lane = Lanes.fresh(id);
            }
            mine[nonce >> 8] = voted | bit;
            lane = Lanes.increment(lane);
            if (Lanes.count(lane) >= c.threshold && _currentVotes(c, set, _depositVoted, nonce) >= c.threshold) {
                lane = _tryMint(t, id, lane);
            }
            _depositLanes.store(nonce, lane);
        }
        emit DepositsApproved(msg.sender, nonces);
    }

    /// @notice Mints a deposit whose votes already reach the threshold but that was not minted
    /// (its token was unmapped at the time, or the threshold was lowered since). Anyone may call.
    function executeDeposit(Transfer calldata t) external nonReentrant whenNotPaused {
        Config memory c = _config;
        if (t.srcChainId != remoteChainId || t.dstChainId != block.chainid) {
            revert WrongRoute(t.srcChainId, t.dstChainId);
        }
        uint256 lane = _depositLanes.load(t.nonce);
        bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
        if (
            lane & Lanes.DONE != 0 || !Lanes.matches(lane, id)
                || _currentVotes(c, SignerSet.read(c.validatorSet), _depositVoted, t.nonce) < c.threshold
        ) revert NotReady(t.nonce);
        lane = _tryMint(t, id, lane);
        if (lane & Lanes.DONE == 0) revert TokenNotMapped(t.token);
        _depositLanes.store(t.nonce, lane);
    }

    /// @notice Vote record of deposit `nonce`: how many current validators voted for it, and
    /// whether it was minted.
    function depositVotes(uint64 nonce) external view returns (uint256 votes, bool executed) {
        Config memory c = _config;
        uint256 lane = _depositLanes.load(nonce);
        votes = _currentVotes(c, SignerSet.read(c.validatorSet), _depositVoted, nonce);
        executed = lane & Lanes.DONE != 0;
    }

    /// @notice Whether `validator` already voted for deposit `nonce`.
    function hasVotedDeposit(address validator, uint64 nonce) external view returns (bool) {
        return _depositVoted[validator][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    function _tryMint(Transfer calldata t, bytes32 id, uint256 lane) private returns (uint256) {
        address wrapped = operational.localOf(t.token);
        if (wrapped == address(0)) {
            emit DepositStalled(t.nonce, id, t.token);
            return lane;
        }
        WrappedToken(wrapped).mint(t.recipient, t.amount);
        emit DepositExecuted(t.nonce, id, t.recipient, wrapped, t.amount);
        return lane | Lanes.DONE;
    }

    // ---------------------------------------------------------------- withdrawals

    /// @notice Burns `amount` of the wrapped token `wrapped` so that `recipient` receives the
    /// main-chain token, less the fee, on the main chain.
    /// @return nonce The withdrawal's outbound nonce.
    function burn(address wrapped, uint256 amount, address recipient)
        external
        nonReentrant
        whenNotPaused
        returns (uint64 nonce)
    {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroRecipient();
        (uint256 fee, address feeRecipient, address mainToken) = operational.onOutbound(wrapped, amount);
        WrappedToken(wrapped).burn(msg.sender, amount);
        // the fee stays wrapped, still backed by the tokens locked on the main chain
        if (fee > 0) WrappedToken(wrapped).mint(feeRecipient, fee);

        nonce = outboundNonce++;
        uint256 net = amount - fee;
        bytes32 id = withdrawalId(
            Transfer({
                srcChainId: block.chainid,
                dstChainId: remoteChainId,
                nonce: nonce,
                token: mainToken,
                sender: msg.sender,
                recipient: recipient,
                amount: net
            })
        );
        _withdrawalLanes.store(nonce, Lanes.fresh(id));
        emit Burned(nonce, mainToken, msg.sender, recipient, net, fee, wrapped, id);
    }

    /// @notice The caller's (a current validator's) EIP-712 signatures for many withdrawals:
    /// `signatures` holds one 65-byte `r‖s‖v` per transfer, in order. Each is checked to be the
    /// caller's and to be over a withdrawal burned here, then published in `SignatureSubmitted`;
    /// the vote is counted in a bitmap and `ReadyForRelay` is emitted at the threshold.
    function submitSignatures(Transfer[] calldata transfers, bytes calldata signatures) external nonReentrant {
        Config memory c = _config;
        if (c.paused) revert BridgePaused();
        bytes memory set = SignerSet.read(c.validatorSet);
        if (_findIndex(set, c.validatorCount, msg.sender) == c.validatorCount) revert NotValidator(msg.sender);
        uint256 count = transfers.length;
        if (signatures.length != count * 65) revert MalformedSignatures(signatures.length);

        for (uint256 i; i < count; ++i) {
            _acceptSignature(c, set, transfers[i], signatures[i * 65:i * 65 + 65], i);
        }
    }

    function _acceptSignature(
        Config memory c,
        bytes memory set,
        Transfer calldata t,
        bytes calldata signature,
        uint256 index
    ) private {
        uint64 nonce = t.nonce;
        bytes32 id = _withdrawalIdCalldata(t);
        uint256 lane = _withdrawalLanes.load(nonce);
        if (lane == 0 || !Lanes.matches(lane, id) || t.srcChainId != block.chainid) {
            revert UnknownWithdrawal(nonce);
        }
        (uint8 v, bytes32 r, bytes32 s) = _signatureAt(signature, 0);
        (address signer, bool ok) = _recover(id, v, r, s);
        if (!ok || signer != msg.sender) revert InvalidSignature(index);

        if (!_markSigned(nonce)) return;
        lane = Lanes.increment(lane);
        emit SignatureSubmitted(nonce, id, msg.sender, signature);
        if (
            lane & Lanes.DONE == 0 && Lanes.count(lane) >= c.threshold
                && _currentVotes(c, set, _withdrawalSigned, nonce) >= c.threshold
        ) {
            lane |= Lanes.DONE;
            emit ReadyForRelay(nonce, id);
        }
        _withdrawalLanes.store(nonce, lane);
    }

    /// @notice Signature record of withdrawal `nonce`: how many current validators signed it,
    /// and whether `ReadyForRelay` was announced. After a validator-set change the count is what
    /// `MainBridge.release` will accept; the announcement is not repeated.
    function withdrawalSignatures(uint64 nonce) external view returns (uint256 signers, bool ready) {
        Config memory c = _config;
        uint256 lane = _withdrawalLanes.load(nonce);
        signers = _currentVotes(c, SignerSet.read(c.validatorSet), _withdrawalSigned, nonce);
        ready = lane & Lanes.DONE != 0;
    }

    /// @notice Whether `validator` already published its signature for withdrawal `nonce`.
    function hasSignedWithdrawal(address validator, uint64 nonce) external view returns (bool) {
        return _withdrawalSigned[validator][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @dev Sets the caller's signature bit for withdrawal `nonce`; false when it was set.
    function _markSigned(uint64 nonce) private returns (bool) {
        mapping(uint256 => uint256) storage mine = _withdrawalSigned[msg.sender];
        uint256 bit = 1 << (nonce & 0xff);
        uint256 signed = mine[nonce >> 8];
        if (signed & bit != 0) return false;
        mine[nonce >> 8] = signed | bit;
        return true;
    }

    /// @dev How many current validators have their bit set for `nonce`.
    function _currentVotes(
        Config memory c,
        bytes memory set,
        mapping(address => mapping(uint256 => uint256)) storage bits,
        uint64 nonce
    ) private view returns (uint256 votes) {
        uint256 word = nonce >> 8;
        uint256 bit = 1 << (nonce & 0xff);
        uint256 n = c.validatorCount;
        for (uint256 i; i < n; ++i) {
            if (bits[SignerSet.at(set, i)][word] & bit != 0) ++votes;
        }
    }

    function _writeNonce(bytes memory out, uint256 i, uint64 nonce) private pure {
        assembly ("memory-safe") {
            let p := add(add(out, 0x20), mul(i, 8))
            mstore(p, or(shl(192, nonce), and(mload(p), 0xffffffffffffffffffffffffffffffffffffffffffffffff)))
        }
    }

    /// @notice The id (MainBridge EIP-712 digest) of a withdrawal: what validators sign.
    function withdrawalId(Transfer memory t) public view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(mainDomainSeparator, TransferHash.hashMemory(t));
    }

    function _withdrawalIdCalldata(Transfer calldata t) private view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(mainDomainSeparator, TransferHash.hash(t));
    }
}
