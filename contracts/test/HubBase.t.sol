// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "./utils/ForgeStd.sol";

import {MainHub} from "../src/MainHub.sol";
import {MainHubAdmin} from "../src/MainHubAdmin.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";

import {MockERC20} from "./mocks/MockERC20.sol";

/// @notice Shared fixture for the hub: one MainHub on this chain with three routes (side chains
/// A, B and C, each with its own bridge address and its own validator keys), one token open
/// toward all three, owned by the test contract as governance. The side chains are not run
/// here: their bridges are addresses, and their validators sign with keys the test holds.
abstract contract HubTestBase is Test {
    uint256 internal constant ROUTES = 3;
    uint256 internal constant N_VALIDATORS = 4;
    uint256 internal constant THRESHOLD = 3;
    uint256 internal constant OPEN_CAP = type(uint112).max;

    MockERC20 internal token;
    Operational internal op;
    MainHub internal hub;
    /// @dev The hub, addressed through its route administration.
    MainHubAdmin internal govern;

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal guardian = makeAddr("guardian");
    address internal feeRecipient = makeAddr("fees");

    /// @dev Per route: side chain id, bridge, id, keys and addresses (ascending by address).
    uint256[ROUTES] internal chainIds = [uint256(0xA1), 0xB1, 0xC1];
    address[ROUTES] internal bridges;
    bytes32[ROUTES] internal routes;
    uint256[][ROUTES] internal keys;
    address[][ROUTES] internal signers;

    function setUp() public virtual {
        token = new MockERC20("Main Token", "MAIN", 18);
        op = new Operational(address(this), address(0), feeRecipient);
        hub = new MainHub(address(this), address(0), op);
        govern = MainHubAdmin(address(hub));
        op.setBridge(address(hub));
        op.mapToken(address(token), address(token)); // listed for the hub
        op.addGuardian(guardian);
        for (uint256 i; i < ROUTES; ++i) {
            bridges[i] = makeAddr(string.concat("sideBridge", vm.toString(i)));
            (keys[i], signers[i]) = _makeKeys(N_VALIDATORS, 0x1000 * (i + 1));
            routes[i] = govern.addRoute(chainIds[i], bridges[i], signers[i], THRESHOLD);
            govern.setRouteToken(routes[i], address(token), makeAddr(string.concat("wrapped", vm.toString(i))));
            govern.setInboundLimits(routes[i], address(token), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        }
        token.mint(alice, 1e30);
        token.mint(bob, 1e30);
        vm.prank(alice);
        token.approve(address(hub), type(uint256).max);
        vm.prank(bob);
        token.approve(address(hub), type(uint256).max);
    }

    // ---------------------------------------------------------------- governance stand-in

    function minDelay() external pure returns (uint256) {
        return 1 hours;
    }

    function threshold() external pure returns (uint256) {
        return 1;
    }

    // ---------------------------------------------------------------- helpers

    /// @dev `n` keys from `base`, sorted by address, and their addresses.
    function _makeKeys(uint256 n, uint256 base) internal pure returns (uint256[] memory k, address[] memory a) {
        k = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            k[i] = base + i;
        }
        for (uint256 i = 1; i < n; ++i) {
            uint256 key = k[i];
            uint256 j = i;
            while (j > 0 && vm.addr(k[j - 1]) > vm.addr(key)) {
                k[j] = k[j - 1];
                --j;
            }
            k[j] = key;
        }
        a = new address[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = vm.addr(k[i]);
        }
    }

    /// @dev `user` locks `amount` for itself on route `r`.
    function _lock(address user, uint256 r, uint256 amount) internal returns (uint64 nonce) {
        vm.prank(user);
        nonce = hub.lock(routes[r], address(token), amount, user);
    }

    /// @dev A withdrawal from route `r` to this hub.
    function _home(uint256 r, uint64 nonce, address recipient, uint256 amount) internal view returns (Transfer memory) {
        return _to(r, block.chainid, address(hub), nonce, recipient, amount);
    }

    /// @dev A withdrawal from route `r` to side chain `d`'s bridge (chained).
    function _chained(uint256 r, uint256 d, uint64 nonce, address recipient, uint256 amount)
        internal
        view
        returns (Transfer memory)
    {
        return _to(r, chainIds[d], bridges[d], nonce, recipient, amount);
    }

    function _to(uint256 r, uint256 dstChainId, address dstBridge, uint64 nonce, address recipient, uint256 amount)
        internal
        view
        returns (Transfer memory)
    {
        return Transfer({
            srcChainId: chainIds[r],
            srcBridge: bridges[r],
            dstChainId: dstChainId,
            dstBridge: dstBridge,
            nonce: nonce,
            token: address(token),
            sender: recipient,
            recipient: recipient,
            amount: amount
        });
    }

    /// @dev The first `THRESHOLD` keys of route `r` sign `t` (ascending signers).
    function _sigs(uint256 r, Transfer memory t) internal view returns (bytes memory sigs) {
        return _sigsBy(keys[r], t);
    }

    /// @dev The first `THRESHOLD` of `signerKeys` (ascending by address) sign `t`.
    function _sigsBy(uint256[] memory signerKeys, Transfer memory t) internal view returns (bytes memory sigs) {
        bytes32 id = hub.hashTransfer(t);
        for (uint256 i; i < THRESHOLD; ++i) {
            (uint8 v, bytes32 rr, bytes32 s) = vm.sign(signerKeys[i], id);
            sigs = bytes.concat(sigs, abi.encodePacked(rr, s, v));
        }
    }

    function _release(uint256 r, Transfer memory t) internal {
        hub.release(t, _sigs(r, t));
    }

    function _custody(uint256 r) internal view returns (uint256) {
        return hub.custody(routes[r], address(token));
    }
}
