// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title WrappedToken
/// @notice The side-chain twin of a main-chain token. Name, symbol and decimals mirror the
/// original; only its SideBridge mints (on deposit) and burns (on withdrawal).
contract WrappedToken is ERC20 {
    /// @notice The only minter and burner.
    address public immutable bridge;
    /// @notice The main-chain token this one stands for.
    address public immutable mainToken;
    uint8 private immutable _decimals;

    error OnlyBridge();

    modifier onlyBridge() {
        if (msg.sender != bridge) revert OnlyBridge();
        _;
    }

    constructor(string memory name_, string memory symbol_, uint8 decimals_, address bridge_, address mainToken_)
        ERC20(name_, symbol_)
    {
        bridge = bridge_;
        mainToken = mainToken_;
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mints `amount` to `to` (bridge only).
    function mint(address to, uint256 amount) external onlyBridge {
        _mint(to, amount);
    }

    /// @notice Burns `amount` from `from` (bridge only; the holder asked for it by calling burn
    /// on the bridge).
    function burn(address from, uint256 amount) external onlyBridge {
        _burn(from, amount);
    }
}
