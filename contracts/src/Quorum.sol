// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {SignerSet} from "./SignerSet.sol";

/// @notice Validator sets and the signatures they give, shared by the bridges and the hub: what
/// a set may be (at most `MAX_VALIDATORS` distinct non-zero addresses, ascending, with a
/// threshold that is a strict majority) and the check that a threshold of a set signed a digest.
library Quorum {
    /// @notice Upper bound of a validator set: it bounds vote masks (32 bits) and the signer
    /// walk of a release.
    uint256 internal constant MAX_VALIDATORS = 32;

    error InvalidValidator(address validator);
    error ValidatorExists(address validator);
    error UnknownValidator(address validator);
    error InvalidThreshold(uint256 threshold, uint256 validators);
    error TooManyValidators();
    error NotValidator(address account);
    error MalformedSignatures(uint256 length);
    error InsufficientSignatures(uint256 count, uint256 threshold);
    error TooManySignatures(uint256 count, uint256 validators);
    error InvalidSignature(uint256 index);
    error SignersNotAscending(uint256 index);

    /// @dev Checks a whole new set and its threshold and writes it as a data contract.
    function write(address[] memory set, uint256 threshold) internal returns (address pointer) {
        for (uint256 i; i < set.length; ++i) {
            checkCandidate(set[i]);
            if (i > 0 && set[i] <= set[i - 1]) revert ValidatorExists(set[i]);
        }
        if (set.length > MAX_VALIDATORS) revert TooManyValidators();
        checkThreshold(threshold, set.length);
        pointer = SignerSet.write(set);
    }

    /// @dev A threshold must be a strict majority of the set (two conflicting contents can then
    /// never both reach it without a validator signing both) and reachable.
    function checkThreshold(uint256 threshold, uint256 n) internal pure {
        if (threshold == 0 || threshold > n || threshold * 2 <= n) revert InvalidThreshold(threshold, n);
    }

    /// @dev Neither zero nor the contract itself can be a validator.
    function checkCandidate(address validator) internal view {
        if (validator == address(0) || validator == address(this)) revert InvalidValidator(validator);
    }

    /// @dev Reverts unless `signatures` holds at least `threshold` valid signatures over
    /// `digest` by distinct members of the `n`-member set at `set`. One ecrecover per signature
    /// and one walk over the ascending set: the signers must be strictly ascending, so
    /// duplicates are impossible and membership is a merge.
    function check(address set, uint256 threshold, uint256 n, bytes32 digest, bytes calldata signatures) internal view {
        uint256 length = signatures.length;
        if (length == 0 || length % 65 != 0) revert MalformedSignatures(length);
        uint256 count = length / 65;
        if (count < threshold) revert InsufficientSignatures(count, threshold);
        if (count > n) revert TooManySignatures(count, n);

        bytes memory packed = SignerSet.read(set);
        address previous;
        uint256 cursor;
        unchecked {
            for (uint256 i; i < count; ++i) {
                (uint8 v, bytes32 r, bytes32 s) = signatureAt(signatures, i);
                (address signer, bool ok) = recover(digest, v, r, s);
                if (!ok) revert InvalidSignature(i);
                if (signer <= previous) revert SignersNotAscending(i);
                previous = signer;
                address member;
                while (cursor < n) {
                    member = SignerSet.at(packed, cursor++);
                    if (member >= signer) break;
                }
                if (member != signer) revert NotValidator(signer);
            }
        }
    }

    /// @dev Position of `account` in the packed set, or `n` when absent.
    function findIndex(bytes memory packed, uint256 n, address account) internal pure returns (uint256) {
        for (uint256 i; i < n; ++i) {
            if (SignerSet.at(packed, i) == account) return i;
        }
        return n;
    }

    /// @dev Reads signature `i` of a packed `r‖s‖v` array.
    function signatureAt(bytes calldata signatures, uint256 i) internal pure returns (uint8 v, bytes32 r, bytes32 s) {
        assembly ("memory-safe") {
            let p := add(signatures.offset, mul(i, 65))
            r := calldataload(p)
            s := calldataload(add(p, 32))
            v := byte(0, calldataload(add(p, 64)))
        }
    }

    /// @dev Recovers a signer; malleable (high-s) and malformed signatures are rejected by
    /// OpenZeppelin's ECDSA.
    function recover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address signer, bool ok) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecover(digest, v, r, s);
        ok = err == ECDSA.RecoverError.NoError;
    }
}
