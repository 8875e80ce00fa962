// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A test token without ERC-2612 permit (no `nonces`, no EIP-712 domain), as many deployed ERC-20s are:
/// owners then approve the market before a deposit. The owner console's test deploys the market over it to drive
/// that path (the development token takes permits).
contract PlainTokenFake is ERC20 {
    constructor() ERC20("Plain Token Fake", "PLAIN") {}

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
