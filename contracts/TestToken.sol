// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestToken
/// @notice Development and demo token: 6 decimals (like USDC), ERC-2612 permit, owner-minted.
/// The real market token is configuration; nothing in the market depends on this contract.
contract TestToken is ERC20, ERC20Permit, Ownable {
    constructor(address owner_) ERC20("ICON Test Dollar", "iUSD") ERC20Permit("ICON Test Dollar") Ownable(owner_) {}

    /// @notice Owner only: mints `amount` to `to`.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
