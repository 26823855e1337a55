// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice A validator set kept as the code of a tiny data contract: strictly ascending 20-byte
/// addresses behind a STOP byte. Reading the whole set costs one EXTCODECOPY (about 2,700 gas
/// for any realistic size) instead of one cold SLOAD per signer, which is what keeps
/// `MainBridge.release` near the EVM's floor. A new set is a new data contract; the bridge
/// keeps only its address.
library SignerSet {
    error SignerSetWriteFailed();

    /// @dev Deploys `signers` (already validated, ascending) as code and returns its address.
    function write(address[] memory signers) internal returns (address pointer) {
        uint256 n = signers.length;
        bytes memory runtime = new bytes(1 + 20 * n);
        for (uint256 i; i < n; ++i) {
            address s = signers[i];
            assembly ("memory-safe") {
                let p := add(add(runtime, 0x21), mul(i, 20))
                // write the 20 address bytes without touching the bytes after them
                mstore(p, or(shl(96, s), and(mload(p), 0xffffffffffffffffffffffff)))
            }
        }
        // PUSH2 len, DUP1, PUSH1 0x0a, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN
        bytes memory init = abi.encodePacked(hex"61", uint16(runtime.length), hex"80600a3d393df3", runtime);
        assembly ("memory-safe") {
            pointer := create(0, add(init, 0x20), mload(init))
        }
        if (pointer == address(0)) revert SignerSetWriteFailed();
    }

    /// @dev The packed set (with its leading STOP byte) as stored at `pointer`.
    function read(address pointer) internal view returns (bytes memory packed) {
        packed = pointer.code;
    }

    /// @dev Entry `i` of a packed set returned by `read`.
    function at(bytes memory packed, uint256 i) internal pure returns (address a) {
        assembly ("memory-safe") {
            a := shr(96, mload(add(add(packed, 0x21), mul(i, 20))))
        }
    }

    function toArray(bytes memory packed, uint256 n) internal pure returns (address[] memory out) {
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = at(packed, i);
        }
    }
}
