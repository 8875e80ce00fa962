// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Fault injection (a fake on purpose): a 6-decimal ERC-20 without permit whose moves revert on demand, the
/// way a pausable or blocklisting token, or one with a broken `transferFrom`, behaves: `setTransferFromReverts`
/// makes every `transferFrom` revert, `setMovesLeft(n)` lets `n` more moves (transfer or transferFrom; mints do not
/// count) through and reverts every one after them. The token probe of `icon deploy --token` must refuse it and
/// say what it left where.
contract RevertingTokenFake is ERC20 {
    /// @notice How many more moves go through (all of them until `setMovesLeft`).
    uint256 public movesLeft = type(uint256).max;
    /// @notice Whether every `transferFrom` reverts.
    bool public transferFromReverts;

    /// @notice A move after the allowed ones.
    error RevertingTokenNoMovesLeft(address from, address to, uint256 value);
    /// @notice A `transferFrom` while they are switched off.
    error RevertingTokenTransferFromOff(address from, address to, uint256 value);

    constructor() ERC20("Reverting Token Fake", "STUCK") {}

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Lets `n` more moves through; every one after them reverts.
    function setMovesLeft(uint256 n) external {
        movesLeft = n;
    }

    /// @notice Switches every `transferFrom` to revert (or back).
    function setTransferFromReverts(bool on) external {
        transferFromReverts = on;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (transferFromReverts) revert RevertingTokenTransferFromOff(from, to, value);
        return super.transferFrom(from, to, value);
    }

    /// @dev Counts (and once none are left, refuses) every move but a mint or a burn.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            if (movesLeft == 0) revert RevertingTokenNoMovesLeft(from, to, value);
            if (movesLeft != type(uint256).max) movesLeft -= 1;
        }
        super._update(from, to, value);
    }
}
