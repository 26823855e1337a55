// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

/// @notice halmos's own cheatcodes (fresh symbolic values), at the address halmos answers on.
interface SVM {
    function createUint(uint256 bits, string calldata name) external returns (uint256);
    function createUint256(string calldata name) external returns (uint256);
    function createBytes32(string calldata name) external returns (bytes32);
    function createAddress(string calldata name) external returns (address);
    function createBool(string calldata name) external returns (bool);
}

/// @notice What every symbolic test shares: the cheatcodes, a concrete 2-of-3 validator set,
/// and signatures that recover to a chosen validator.
///
/// Why not `vm.sign`: halmos models `vm.addr` of even a concrete key as a symbolic address, and
/// a bridge stores its set as the code of a CREATEd data contract, which needs concrete bytes.
/// So the validators are concrete addresses and a "signature by validator v over digest d" is a
/// fresh symbolic (r, s, v) assumed to be well formed (low s, v 27 or 28) and to recover to v.
/// ecrecover is uninterpreted, so the same (r, s, v) may also recover to a validator for other
/// digests: the model lets validators sign more than they do, never less, which is the safe
/// direction for properties that must hold whatever a quorum signs.
abstract contract SymTest is Test {
    SVM internal constant svm = SVM(address(uint160(uint256(keccak256("svm cheat code")))));

    uint256 internal constant SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    address internal constant V0 = address(0x1000);
    address internal constant V1 = address(0x2000);
    address internal constant V2 = address(0x3000);

    /// @dev The test contract governs what it deploys (no timelock here): it answers the
    /// questions `Governed` asks a governance contract at construction.
    function minDelay() external pure returns (uint256) {
        return 1 hours;
    }

    /// @dev See `minDelay`.
    function threshold() external pure returns (uint256) {
        return 1;
    }

    /// @dev The validator set, ascending, as the bridges' constructors want it.
    function _validators() internal pure returns (address[] memory set) {
        set = new address[](3);
        set[0] = V0;
        set[1] = V1;
        set[2] = V2;
    }

    /// @dev One packed `r‖s‖v` signature by `signer` over `digest` (see above). `v` is 27: which
    /// of the two it is changes nothing when ecrecover is uninterpreted, and a symbolic one
    /// would double the paths per signature. One assumption each, so no `&&` branches.
    function _sig(address signer, bytes32 digest, string memory name) internal returns (bytes memory) {
        bytes32 r = svm.createBytes32(string.concat(name, ".r"));
        bytes32 s = svm.createBytes32(string.concat(name, ".s"));
        uint8 v = 27;
        vm.assume(uint256(r) != 0);
        vm.assume(uint256(s) != 0);
        vm.assume(uint256(s) <= SECP256K1_HALF_N);
        vm.assume(ecrecover(digest, v, r, s) == signer);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Signatures of V0 and V1 (a threshold of the 2-of-3 set), ascending by signer.
    function _quorum(bytes32 digest, string memory name) internal returns (bytes memory) {
        return bytes.concat(_sig(V0, digest, string.concat(name, ".0")), _sig(V1, digest, string.concat(name, ".1")));
    }
}
