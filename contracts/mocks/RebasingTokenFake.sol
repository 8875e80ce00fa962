// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Fault injection (a fake on purpose): a rebasing ERC-20 in the manner of stETH. Holders own shares; a
/// balance is shares × an index that grows 0.01 % with every block, so balances change without any transfer, and a
/// transfer moves `value / index` shares (rounded down), delivering up to one unit less than asked. `sharesOf`
/// answers as stETH's does. The market's books assume neither happens: deploying over this token must be refused.
contract RebasingTokenFake is ERC20 {
    uint256 private constant ONE = 1e18;
    uint256 private immutable _startBlock;

    constructor() ERC20("Rebasing Dollar Fake", "REB") {
        _startBlock = block.number;
    }

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Shares held by `holder` (what does not change with a rebase).
    function sharesOf(address holder) external view returns (uint256) {
        return super.balanceOf(holder);
    }

    /// @notice The index: tokens per share, 1e18 at deployment, +0.01 % per block since.
    function index() public view returns (uint256) {
        return ONE + (block.number - _startBlock) * 1e14;
    }

    function balanceOf(address holder) public view override returns (uint256) {
        return (super.balanceOf(holder) * index()) / ONE;
    }

    function totalSupply() public view override returns (uint256) {
        return (super.totalSupply() * index()) / ONE;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @dev Moves the shares `value` is worth now.
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, (value * ONE) / index());
    }
}
