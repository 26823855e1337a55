// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {BatchRelease} from "./BatchRelease.sol";
import {BridgeBase} from "./BridgeBase.sol";
import {Inbound} from "./Inbound.sol";
import {IOperational} from "./IOperational.sol";
import {Quorum} from "./Quorum.sol";
import {Transfer, TransferHash} from "./Transfer.sol";

/// @title MainBridge
/// @notice The asset's home: `lock` takes custody of tokens bound for the side chain, `release`
/// pays out withdrawals that a threshold of current validators signed, within the token's
/// inbound limits (large ones wait in the queue first).
contract MainBridge is BridgeBase, BatchRelease {
    using SafeERC20 for IERC20;

    /// @notice The SideBridge on the other chain; never a recipient of a lock.
    address public sideBridge;
    /// @notice The SideBridge's EIP-712 domain separator: a deposit's id is its transfer hashed
    /// under it, exactly what validators vote for there.
    bytes32 public sideDomainSeparator;

    /// @dev One bit per inbound (side-chain) nonce, 256 to a slot: released or queued.
    mapping(uint256 => uint256) private _processed;

    /// @notice Tokens were locked for the side chain; `amount` is what the recipient gets there.
    /// `transferId` is the deposit's id (its EIP-712 digest under the SideBridge's domain), so a
    /// lock transaction leads to its transfer without recomputing it.
    event Locked(
        uint64 indexed nonce,
        address indexed token,
        address indexed sender,
        address recipient,
        uint256 amount,
        uint256 fee,
        uint256 dstChainId,
        bytes32 transferId
    );
    /// @notice A withdrawal was paid out.
    event Released(
        uint64 indexed nonce, bytes32 indexed transferId, address indexed recipient, address token, uint256 amount
    );
    /// @notice A withdrawal in a `releaseBatch` was not released; the others were. `reason` is
    /// the revert data its own `release` would have given, cut to its first 256 bytes (empty
    /// when it ran out of its `RELEASE_ENTRY_GAS`).
    event ReleaseSkipped(uint64 indexed nonce, bytes32 indexed transferId, bytes reason);
    event SideBridgeSet(address sideBridge);

    error TokenNotContract(address token);
    error AlreadyProcessed(uint64 nonce);
    error SideBridgeAlreadySet();
    error SideBridgeNotSet();

    constructor(
        address governance_,
        address setupKey_,
        IOperational operational_,
        uint256 sideChainId,
        address[] memory validators_,
        uint256 threshold_
    ) BridgeBase(governance_, setupKey_, operational_, sideChainId, validators_, threshold_) {}

    /// @notice Binds the SideBridge (once, before going live).
    function setSideBridge(address sideBridge_) external onlyGovernance {
        if (sideBridge != address(0)) revert SideBridgeAlreadySet();
        if (sideBridge_ == address(0)) revert ZeroRecipient();
        sideBridge = sideBridge_;
        sideDomainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Sidebridge"),
                keccak256("1"),
                remoteChainId,
                sideBridge_
            )
        );
        emit SideBridgeSet(sideBridge_);
    }

    /// @notice Locks `amount` of `token` for `recipient` on the side chain. The amount credited
    /// is the bridge's measured balance change (fee-on-transfer tokens cannot inflate it); the
    /// fee is sent to the fee recipient and the rest is what will be minted.
    /// @return nonce The transfer's outbound nonce.
    function lock(address token, uint256 amount, address recipient)
        external
        nonReentrant
        whenActive
        returns (uint64 nonce)
    {
        return _lock(token, amount, recipient);
    }

    /// @notice `lock` after an EIP-2612 permit: approval and lock in one transaction, for tokens
    /// that have `permit`. The permit's own failure is ignored: anyone who saw it in the mempool
    /// may have submitted it first (its best move, which would otherwise make this revert), and
    /// what `lock` needs is the allowance, which that leaves in place. Without the allowance,
    /// the transfer of the tokens reverts as a plain `lock` without approval does.
    /// @return nonce The transfer's outbound nonce.
    function lockWithPermit(
        address token,
        uint256 amount,
        address recipient,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenActive returns (uint64 nonce) {
        if (token.code.length == 0) revert TokenNotContract(token);
        try IERC20Permit(token).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        return _lock(token, amount, recipient);
    }

    function _lock(address token, uint256 amount, address recipient) private returns (uint64 nonce) {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroRecipient();
        // a bridge holds no wrapped tokens for anyone: what reaches it is stuck
        if (recipient == sideBridge || recipient == address(this)) revert BridgeRecipient(recipient);
        if (token.code.length == 0) revert TokenNotContract(token);

        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = erc20.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();

        (uint256 fee, address feeRecipient,) = operational.onOutbound(token, received);
        if (fee > 0) erc20.safeTransfer(feeRecipient, fee);

        nonce = outboundNonce++;
        uint256 net = received - fee;
        bytes32 id = depositId(_outbound(nonce, token, recipient, net));
        emit Locked(nonce, token, msg.sender, recipient, net, fee, remoteChainId, id);
    }

    /// @notice The id (SideBridge EIP-712 digest) of a deposit: what validators vote for.
    function depositId(Transfer memory t) public view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(sideDomainSeparator, TransferHash.hashMemory(t));
    }

    /// @notice Pays out a withdrawal signed by at least `threshold` distinct current validators.
    /// Within the token's inbound limits it pays at once; above the large-transfer size it is
    /// queued (`executeQueued` pays it after the delay, from the bucket then); over the rolling
    /// cap it reverts with `RateLimited` and can be sent again once the bucket refills.
    /// @param t The transfer, as burned on the side chain.
    /// @param signatures Concatenated 65-byte `r‖s‖v` signatures over the transfer's EIP-712
    /// digest, ordered by strictly ascending signer address.
    function release(Transfer calldata t, bytes calldata signatures) external nonReentrant {
        _release(t, signatures);
    }

    /// @notice For each withdrawal (id and nonce): whether its nonce was processed and its
    /// queue entry. One call answers for a whole batch.
    function releaseStatus(bytes32[] calldata ids, uint64[] calldata nonces)
        external
        view
        returns (ReleaseStatus[] memory out)
    {
        return _releaseStatus(_processed, ids, nonces);
    }

    function _queueEntry(bytes32 id)
        internal
        view
        override
        returns (uint256 eta, bool held, bool canceled, bool executed)
    {
        return queuedTransfer(id);
    }

    function _releaseEntry(Transfer calldata t, bytes calldata signatures) internal override {
        _release(t, signatures);
    }

    function _releaseSkipped(Transfer calldata t, bytes memory reason) internal override {
        emit ReleaseSkipped(t.nonce, _hashTypedDataV4(TransferHash.hash(t)), reason);
    }

    function _release(Transfer calldata t, bytes calldata signatures) private {
        Config memory c = _config;
        _requireActive(c);
        _checkInbound(t);
        if (t.recipient == address(0)) revert ZeroRecipient();

        uint256 word = t.nonce >> 8;
        uint256 bit = 1 << (t.nonce & 0xff);
        uint256 bits = _processed[word];
        if (bits & bit != 0) revert AlreadyProcessed(t.nonce);

        bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
        Quorum.check(c.validatorSet, c.threshold, c.validatorCount, id, signatures);

        (Inbound.Inflow inflow, uint256 available) = _chargeInbound(t.token, t.amount, false);
        if (inflow == Inbound.Inflow.Disabled) revert InboundDisabled(t.token);
        if (inflow == Inbound.Inflow.RateLimited) revert RateLimited(t.amount, available);

        _processed[word] = bits | bit;
        if (inflow == Inbound.Inflow.Delayed) {
            _queueLarge(id, t.nonce, t.token);
        } else {
            _pay(t, id);
        }
    }

    /// @notice Pays out a queued (large) withdrawal once its delay has passed, unless a guardian
    /// holds it or governance canceled it. Anyone may call. What may have changed during the
    /// delay is checked again: the pause, and the inbound limits, whose bucket it is charged to
    /// now; one that does not fit reverts (`InboundDisabled`, `RateLimited`) and stays queued.
    /// The token mapping is not a condition here, as it is not for `release`: unmapping stops
    /// new locks, and those who already burned still get their tokens back (closing inbound,
    /// `setInboundLimits` with cap 0, is what stops payouts).
    function executeQueued(Transfer calldata t) external nonReentrant whenActive {
        bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
        _executeQueued(id, t.token, t.amount);
        _pay(t, id);
    }

    /// @notice Whether the side-chain transfer `nonce` was released (or queued for release).
    function isProcessed(uint64 nonce) external view returns (bool) {
        return _processed[nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    function _remoteBridge() internal view override returns (address) {
        return sideBridge;
    }

    function _beforeFinishSetup() internal override {
        if (sideBridge == address(0)) revert SideBridgeNotSet();
        super._beforeFinishSetup();
    }

    /// @dev Transfers `t.amount` to the recipient and checks that the recipient's balance grew by
    /// exactly that: a token whose transfer moves nothing (or less) reverts the whole release.
    function _pay(Transfer calldata t, bytes32 id) private {
        IERC20 token = IERC20(t.token);
        uint256 before = token.balanceOf(t.recipient);
        token.safeTransfer(t.recipient, t.amount);
        uint256 received = token.balanceOf(t.recipient) - before;
        if (received != t.amount) revert BalanceMismatch(t.recipient, t.amount, received);
        emit Released(t.nonce, id, t.recipient, t.token, t.amount);
    }
}
