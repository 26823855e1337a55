// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IOperational} from "./IOperational.sol";
import {SignerSet} from "./SignerSet.sol";
import {Transfer, TransferHash} from "./Transfer.sol";

/// @notice What both bridges share: the validator set (owned by governance), the pause flag
/// (switched by the Operational contract), the outbound nonce and the EIP-712 domain.
///
/// Everything a release or a vote needs to read lives in one storage slot (`_config`): the
/// address of the validator-set data contract, the threshold, the set size, the set version and
/// the pause flag.
abstract contract BridgeBase is Ownable, EIP712, ReentrancyGuardTransient {
    /// @notice Upper bound of the validator set: it bounds the exact vote count on the side
    /// chain and the signer walk of a release.
    uint256 public constant MAX_VALIDATORS = 32;

    struct Config {
        address validatorSet;
        uint16 threshold;
        uint16 validatorCount;
        uint32 setVersion;
        bool paused;
    }

    Config internal _config;

    /// @notice Chain id of the other side of the route.
    uint256 public immutable remoteChainId;
    /// @notice Registry, limits, fees and guardians for this chain.
    IOperational public immutable operational;
    /// @notice Nonce the next outbound transfer will carry; outbound nonces are contiguous.
    uint64 public outboundNonce;
    /// @dev Validators ever removed: they cannot be added back. SideBridge vote bits record a
    /// nonce, not content, so a returning validator's old bit could count for other content.
    mapping(address => bool) private _removed;

    event ValidatorAdded(address indexed validator, uint32 setVersion);
    event ValidatorRemoved(address indexed validator, uint32 setVersion);
    event ValidatorThresholdChanged(uint256 threshold, uint32 setVersion);
    event PauseChanged(bool paused);

    error BridgePaused();
    error NotOperational();
    error InvalidValidator(address validator);
    error ValidatorExists(address validator);
    error UnknownValidator(address validator);
    error InvalidThreshold(uint256 threshold, uint256 validators);
    error TooManyValidators();
    error NotValidator(address account);
    error WrongRoute(uint256 srcChainId, uint256 dstChainId);
    error ZeroAmount();
    error ZeroRecipient();
    error OwnershipCannotBeRenounced();

    modifier whenNotPaused() {
        if (_config.paused) revert BridgePaused();
        _;
    }

    constructor(
        address owner_,
        IOperational operational_,
        uint256 remoteChainId_,
        address[] memory validators_,
        uint256 threshold_
    ) Ownable(owner_) EIP712("Sidebridge", "1") {
        operational = operational_;
        remoteChainId = remoteChainId_;
        for (uint256 i; i < validators_.length; ++i) {
            _checkCandidate(validators_[i]);
            if (i > 0 && validators_[i] <= validators_[i - 1]) revert ValidatorExists(validators_[i]);
        }
        _writeSet(validators_, threshold_, 1);
    }

    // ---------------------------------------------------------------- views

    /// @notice The current validators, ascending.
    function validators() public view returns (address[] memory) {
        Config memory c = _config;
        return SignerSet.toArray(SignerSet.read(c.validatorSet), c.validatorCount);
    }

    /// @notice How many distinct current validators must agree.
    function validatorThreshold() external view returns (uint256) {
        return _config.threshold;
    }

    /// @notice Bumped by every validator-set or threshold change, so relayers notice that
    /// collected signatures may no longer reach the threshold (a removed validator's stop
    /// counting) and new validators must add theirs.
    function validatorSetVersion() external view returns (uint256) {
        return _config.setVersion;
    }

    /// @notice Whether `account` is in the current validator set.
    function isValidator(address account) external view returns (bool) {
        Config memory c = _config;
        return _findIndex(SignerSet.read(c.validatorSet), c.validatorCount, account) < c.validatorCount;
    }

    /// @notice Whether the bridge is paused.
    function paused() external view returns (bool) {
        return _config.paused;
    }

    /// @notice The EIP-712 domain separator of this bridge (destination of inbound transfers).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The EIP-712 digest (the transfer id) of an inbound transfer to this bridge.
    function hashTransfer(Transfer calldata t) external view returns (bytes32) {
        return _hashTypedDataV4(TransferHash.hash(t));
    }

    // ---------------------------------------------------------------- governance

    /// @notice Adds a validator (governance only). Bumps the set version. A removed validator
    /// cannot come back (a new key can).
    function addValidator(address validator) external onlyOwner {
        _checkCandidate(validator);
        if (_removed[validator]) revert InvalidValidator(validator);
        Config memory c = _config;
        bytes memory packed = SignerSet.read(c.validatorSet);
        uint256 n = c.validatorCount;
        if (n + 1 > MAX_VALIDATORS) revert TooManyValidators();
        address[] memory next = new address[](n + 1);
        uint256 j;
        bool inserted;
        for (uint256 i; i < n; ++i) {
            address v = SignerSet.at(packed, i);
            if (v == validator) revert ValidatorExists(validator);
            if (!inserted && validator < v) {
                next[j++] = validator;
                inserted = true;
            }
            next[j++] = v;
        }
        if (!inserted) next[j] = validator;
        uint32 version = _writeSet(next, c.threshold, c.setVersion + 1);
        emit ValidatorAdded(validator, version);
    }

    /// @notice Removes a validator (governance only); reverts if fewer than the threshold would
    /// remain. Bumps the set version, so the removed validator's signatures stop counting.
    function removeValidator(address validator) external onlyOwner {
        Config memory c = _config;
        bytes memory packed = SignerSet.read(c.validatorSet);
        uint256 n = c.validatorCount;
        uint256 index = _findIndex(packed, n, validator);
        if (index == n) revert UnknownValidator(validator);
        if (n - 1 < c.threshold) revert InvalidThreshold(c.threshold, n - 1);
        address[] memory next = new address[](n - 1);
        uint256 j;
        for (uint256 i; i < n; ++i) {
            if (i != index) next[j++] = SignerSet.at(packed, i);
        }
        _removed[validator] = true;
        uint32 version = _writeSet(next, c.threshold, c.setVersion + 1);
        emit ValidatorRemoved(validator, version);
    }

    /// @notice Sets how many validators must agree (governance only): 0 < threshold <= set size.
    function setValidatorThreshold(uint256 threshold) external onlyOwner {
        Config memory c = _config;
        if (threshold == 0 || threshold > c.validatorCount) revert InvalidThreshold(threshold, c.validatorCount);
        c.threshold = uint16(threshold);
        c.setVersion += 1;
        _config = c;
        emit ValidatorThresholdChanged(threshold, c.setVersion);
    }

    /// @notice Pauses or unpauses every entry point. Only the Operational contract calls this:
    /// any guardian pauses there at once, only governance unpauses.
    function setPaused(bool paused_) external {
        if (msg.sender != address(operational)) revert NotOperational();
        _config.paused = paused_;
        emit PauseChanged(paused_);
    }

    /// @notice Governance keeps the bridge: renouncing would orphan it.
    function renounceOwnership() public view override onlyOwner {
        revert OwnershipCannotBeRenounced();
    }

    // ---------------------------------------------------------------- internals

    function _checkCandidate(address validator) private view {
        if (validator == address(0) || validator == address(this)) revert InvalidValidator(validator);
    }

    function _writeSet(address[] memory set, uint256 threshold, uint32 version) private returns (uint32) {
        if (set.length > MAX_VALIDATORS) revert TooManyValidators();
        if (threshold == 0 || threshold > set.length) revert InvalidThreshold(threshold, set.length);
        _config = Config({
            validatorSet: SignerSet.write(set),
            threshold: uint16(threshold),
            validatorCount: uint16(set.length),
            setVersion: version,
            paused: _config.paused
        });
        return version;
    }

    /// @dev Position of `account` in the packed set, or `n` when absent.
    function _findIndex(bytes memory packed, uint256 n, address account) internal pure returns (uint256) {
        for (uint256 i; i < n; ++i) {
            if (SignerSet.at(packed, i) == account) return i;
        }
        return n;
    }

    /// @dev Reads signature `i` of a packed `r‖s‖v` array.
    function _signatureAt(bytes calldata signatures, uint256 i) internal pure returns (uint8 v, bytes32 r, bytes32 s) {
        assembly ("memory-safe") {
            let p := add(signatures.offset, mul(i, 65))
            r := calldataload(p)
            s := calldataload(add(p, 32))
            v := byte(0, calldataload(add(p, 64)))
        }
    }

    /// @dev Recovers a signer; malleable (high-s) and malformed signatures are rejected by
    /// OpenZeppelin's ECDSA.
    function _recover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address signer, bool ok) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecover(digest, v, r, s);
        ok = err == ECDSA.RecoverError.NoError;
    }
}
