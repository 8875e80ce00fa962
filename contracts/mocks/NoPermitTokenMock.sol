// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test stand-in for a plain ERC-20 (6 decimals) without ERC-2612 permit or ERC-5267: a client must
/// approve before the market can take its tokens. Anyone may mint.
contract NoPermitTokenMock is ERC20 {
    constructor() ERC20("Plain Dollar", "PLAIN") {}

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
