// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @notice ERC-20 that calls a contract recipient on every transfer (ERC-777 / ERC-1363 style)
/// and bubbles up the recipient's revert data, as such tokens do.
contract HookToken is ERC20 {
    constructor() ERC20("Hook", "HOOK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == address(0) || to.code.length == 0) return;
        (bool ok, bytes memory reason) =
            to.call(abi.encodeWithSignature("onTokenReceived(address,uint256)", from, value));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }
}

/// @notice A recipient whose hook reverts with the largest blob a fixed share of its gas pays
/// for (at most 4 MiB), starting with `Bomb()`. A share near 30% is the attacker's best: the
/// token and the bridge's inner frame can still copy the blob on their way up, and an outer
/// frame that copied it whole ran out of gas, whatever the transaction's gas limit.
contract ReturnBombRecipient {
    error Bomb();

    uint256 internal constant MAX_WORDS = 4 << 15; // 4 MiB
    uint256 public immutable sharePercent;

    constructor(uint256 sharePercent_) {
        sharePercent = sharePercent_;
    }

    fallback() external {
        // memory of w words costs 3w + w^2/512: the largest w within the budget
        uint256 budget = gasleft() * sharePercent / 100;
        uint256 words = Math.sqrt(768 * 768 + 512 * budget) - 768;
        if (words > MAX_WORDS) words = MAX_WORDS;
        bytes4 selector = Bomb.selector;
        assembly ("memory-safe") {
            mstore(0, selector)
            revert(0, mul(words, 32))
        }
    }
}

/// @notice A recipient whose hook burns every unit of gas it is given.
contract GasBurnerRecipient {
    fallback() external {
        assembly ("memory-safe") {
            invalid()
        }
    }
}
