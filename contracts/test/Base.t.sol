// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test, Vm} from "./utils/ForgeStd.sol";

import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {WrappedToken} from "../src/WrappedToken.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";

import {MockERC20} from "./mocks/MockERC20.sol";

/// @notice Shared fixture: both bridges, their Operational contracts and the wrapped token in one
/// EVM, owned by the test contract. The main chain is `block.chainid` at setUp; the side chain is
/// a fake id, and side-chain calls switch to it with `vm.chainId` (`_onSide`).
abstract contract BridgeTestBase is Test {
    uint256 internal constant SIDE_CHAIN_ID = 0x51DE;
    uint256 internal constant N_VALIDATORS = 5;
    uint256 internal constant THRESHOLD = 3;
    /// @dev Order of the secp256k1 group.
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes32 internal constant TRANSFER_TYPEHASH = keccak256(
        "Transfer(uint256 srcChainId,address srcBridge,uint256 dstChainId,address dstBridge,uint64 nonce,address token,address sender,address recipient,uint256 amount)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    uint256 internal mainChainId;

    MockERC20 internal token;
    Operational internal opMain;
    Operational internal opSide;
    MainBridge internal main;
    SideBridge internal side;
    WrappedToken internal wrapped;

    /// @dev Validator keys and addresses, both ordered by ascending address.
    uint256[] internal validatorKeys;
    address[] internal validatorAddrs;

    uint256 internal outsiderKey = 0xBAD;
    address internal outsider;

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal guardian = makeAddr("guardian");
    address internal guardian2 = makeAddr("guardian2");
    address internal feeMain = makeAddr("feeMain");
    address internal feeSide = makeAddr("feeSide");

    /// @dev Inbound limits wide enough never to bind (tests of the limits set their own).
    uint256 internal constant OPEN_CAP = type(uint112).max;

    function setUp() public virtual {
        mainChainId = block.chainid;
        outsider = vm.addr(outsiderKey);
        (validatorKeys, validatorAddrs) = _makeValidators(N_VALIDATORS, 0x1000);
        token = new MockERC20("Main Token", "MAIN", 18);
        // the test contract is governance; no setup phase
        _deploy(address(this), address(0));
    }

    /// @dev Deploys and configures both bridges, their Operational contracts and the wrapped
    /// token, governed by `governance_`. Configuration runs as this contract, which must be
    /// `governance_` or the `setupKey_` (the caller finishes setup then).
    function _deploy(address governance_, address setupKey_) internal {
        opMain = new Operational(governance_, setupKey_, feeMain);
        main = new MainBridge(governance_, setupKey_, opMain, SIDE_CHAIN_ID, validatorAddrs, THRESHOLD);
        opMain.setBridge(address(main));

        opSide = new Operational(governance_, setupKey_, feeSide);
        side = new SideBridge(
            governance_, setupKey_, opSide, mainChainId, address(main), false, validatorAddrs, THRESHOLD
        );
        opSide.setBridge(address(side));
        main.setSideBridge(address(side));
        wrapped = new WrappedToken("Wrapped Main Token", "wMAIN", 18, address(side), address(token));

        opMain.mapToken(address(token), address(wrapped));
        opSide.mapToken(address(wrapped), address(token));
        main.setInboundLimits(address(token), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        side.setInboundLimits(address(token), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        opMain.addGuardian(guardian);
        opSide.addGuardian(guardian);
        opMain.addGuardian(guardian2);
        opSide.addGuardian(guardian2);

        vm.label(address(main), "MainBridge");
        vm.label(address(side), "SideBridge");
        vm.label(address(wrapped), "wMAIN");
        vm.label(address(token), "MAIN");
        for (uint256 i; i < validatorAddrs.length; ++i) {
            vm.label(validatorAddrs[i], string.concat("validator", vm.toString(i)));
        }
    }

    // ---------------------------------------------------------------- governance stand-in

    /// @dev The test contract governs the bridges it deploys (no timelock in unit tests): it
    /// answers the questions `Governed` asks a governance contract at construction.
    function minDelay() external pure returns (uint256) {
        return 1 hours;
    }

    /// @dev See `minDelay`.
    function threshold() external pure returns (uint256) {
        return 1;
    }

    // ---------------------------------------------------------------- keys and signatures

    /// @dev `n` keys starting at `base`, sorted by the address they control.
    function _makeValidators(uint256 n, uint256 base)
        internal
        pure
        returns (uint256[] memory keys, address[] memory addrs)
    {
        keys = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            keys[i] = base + i;
        }
        keys = _sortKeys(keys);
        addrs = new address[](n);
        for (uint256 i; i < n; ++i) {
            addrs[i] = vm.addr(keys[i]);
        }
    }

    /// @dev Insertion sort of private keys by their address (ascending).
    function _sortKeys(uint256[] memory keys) internal pure returns (uint256[] memory) {
        for (uint256 i = 1; i < keys.length; ++i) {
            uint256 k = keys[i];
            address a = vm.addr(k);
            uint256 j = i;
            while (j > 0 && vm.addr(keys[j - 1]) > a) {
                keys[j] = keys[j - 1];
                --j;
            }
            keys[j] = k;
        }
        return keys;
    }

    /// @dev One packed `r‖s‖v` signature.
    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Signatures of `keys` over `digest`, packed in ascending signer order.
    function _signSorted(uint256[] memory keys, bytes32 digest) internal pure returns (bytes memory sigs) {
        uint256[] memory sorted = _sortKeys(_copy(keys));
        for (uint256 i; i < sorted.length; ++i) {
            sigs = bytes.concat(sigs, _sign(sorted[i], digest));
        }
    }

    /// @dev Signatures of `keys` over `digest`, packed in the given order (no sorting).
    function _signInOrder(uint256[] memory keys, bytes32 digest) internal pure returns (bytes memory sigs) {
        for (uint256 i; i < keys.length; ++i) {
            sigs = bytes.concat(sigs, _sign(keys[i], digest));
        }
    }

    /// @dev The first `k` validator keys (ascending by address).
    function _validatorKeys(uint256 k) internal view returns (uint256[] memory keys) {
        keys = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            keys[i] = validatorKeys[i];
        }
    }

    /// @dev Threshold-many validator signatures for the release of `t` on the main bridge. Must be
    /// called while `block.chainid` is the main chain's (the domain uses the current chain id).
    function _signRelease(Transfer memory t, uint256 k) internal view returns (bytes memory) {
        return _signSorted(_validatorKeys(k), main.hashTransfer(t));
    }

    /// @dev The EIP-712 digest of `t` under an arbitrary Sidebridge domain.
    function _typedDigest(uint256 chainId, address verifyingContract, Transfer memory t)
        internal
        pure
        returns (bytes32)
    {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Sidebridge"), keccak256("1"), chainId, verifyingContract)
        );
        bytes32 structHash = keccak256(abi.encode(TRANSFER_TYPEHASH, t));
        return keccak256(abi.encodePacked(hex"1901", domain, structHash));
    }

    /// @dev The address `ecrecover` yields for packed signature `index` of `sigs` over `digest`.
    function _recoverAt(bytes memory sigs, uint256 index, bytes32 digest) internal pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            let p := add(add(sigs, 0x20), mul(index, 65))
            r := mload(p)
            s := mload(add(p, 0x20))
            v := byte(0, mload(add(p, 0x40)))
        }
        return ecrecover(digest, v, r, s);
    }

    function _copy(uint256[] memory a) internal pure returns (uint256[] memory b) {
        b = new uint256[](a.length);
        for (uint256 i; i < a.length; ++i) {
            b[i] = a[i];
        }
    }

    // ---------------------------------------------------------------- transfers

    /// @dev A withdrawal (side -> main) as the side bridge would have burned it.
    function _withdrawal(uint64 nonce, address recipient, uint256 amount) internal view returns (Transfer memory) {
        return Transfer({
            srcChainId: SIDE_CHAIN_ID,
            srcBridge: address(side),
            dstChainId: mainChainId,
            dstBridge: address(main),
            nonce: nonce,
            token: address(token),
            sender: alice,
            recipient: recipient,
            amount: amount
        });
    }

    /// @dev A deposit (main -> side) as the main bridge would have locked it.
    function _deposit(uint64 nonce, address recipient, uint256 amount) internal view returns (Transfer memory) {
        return Transfer({
            srcChainId: mainChainId,
            srcBridge: address(main),
            dstChainId: SIDE_CHAIN_ID,
            dstBridge: address(side),
            nonce: nonce,
            token: address(token),
            sender: alice,
            recipient: recipient,
            amount: amount
        });
    }

    /// @dev The id a `Locked` event carries for a lock on this chain's main bridge.
    function _lockId(uint64 nonce, address token_, address sender, address recipient, uint256 amount)
        internal
        view
        returns (bytes32)
    {
        return _depositId(
            Transfer({
                srcChainId: block.chainid,
                srcBridge: address(main),
                dstChainId: SIDE_CHAIN_ID,
                dstBridge: address(side),
                nonce: nonce,
                token: token_,
                sender: sender,
                recipient: recipient,
                amount: amount
            })
        );
    }

    /// @dev The id of deposit `t` (its EIP-712 digest under the side bridge's domain).
    function _depositId(Transfer memory t) internal view returns (bytes32) {
        return _typedDigest(SIDE_CHAIN_ID, address(side), t);
    }

    /// @dev A MainBridge governed by this contract, live at once, with the given set.
    function _newMainBridge(address[] memory set, uint256 threshold_) internal returns (MainBridge) {
        return new MainBridge(address(this), address(0), opMain, SIDE_CHAIN_ID, set, threshold_);
    }

    function _one(Transfer memory t) internal pure returns (Transfer[] memory ts) {
        ts = new Transfer[](1);
        ts[0] = t;
    }

    function _onSide() internal {
        vm.chainId(SIDE_CHAIN_ID);
    }

    function _onMain() internal {
        vm.chainId(mainChainId);
    }

    // ---------------------------------------------------------------- actions

    /// @dev `user` locks `amount` of the main token (minted to them first) for `recipient`.
    function _lock(address user, uint256 amount, address recipient) internal returns (uint64 nonce) {
        token.mint(user, amount);
        vm.startPrank(user);
        token.approve(address(main), amount);
        nonce = main.lock(address(token), amount, recipient);
        vm.stopPrank();
    }

    /// @dev The first `k` validators each vote for deposit `t` (call on the side chain).
    function _approve(Transfer memory t, uint256 k) internal {
        for (uint256 i; i < k; ++i) {
            vm.prank(validatorAddrs[i]);
            side.approveDeposits(_one(t));
        }
    }

    /// @dev Gives `to` wrapped tokens the way a deposit would (bridge-only mint).
    function _mintWrapped(address to, uint256 amount) internal {
        vm.prank(address(side));
        wrapped.mint(to, amount);
    }

    /// @dev Counts logs in `logs` with topic0 `sig` emitted by `emitter`.
    function _countLogs(Vm.Log[] memory logs, address emitter, bytes32 sig) internal pure returns (uint256 n) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics.length > 0 && logs[i].topics[0] == sig) ++n;
        }
    }
}
