// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @notice Fault injection (a fake on purpose): an ERC-20 with permit whose transfers deliver less than asked
/// once a fee is switched on (`setFee`, at any time, by anyone: it is a test token), and whose holders can be
/// shrunk after the fact (`rebaseDown`), the way a fee-on-transfer or a downward-rebasing token behaves. A real
/// token cannot be made to do either on demand. The fee goes to `FEE_SINK`, so the supply stays traceable.
contract FeeOnTransferTokenFake is ERC20, ERC20Permit {
    address public constant FEE_SINK = address(0xFEE5);
    uint16 public feeBps;

    /// @notice A fee above 100 % was asked for.
    error FeeAboveAll(uint16 bps);

    constructor() ERC20("Fee Token Fake", "FEE") ERC20Permit("Fee Token Fake") {}

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Switches the transfer fee (basis points of each transfer, 0..10 000) on, off or to another rate.
    function setFee(uint16 bps) external {
        if (bps > 10_000) revert FeeAboveAll(bps);
        feeBps = bps;
    }

    /// @notice Takes `amount` from `holder` without its consent (a downward rebase, or a seizure): what a market
    /// cannot defend against.
    function rebaseDown(address holder, uint256 amount) external {
        _update(holder, FEE_SINK, amount);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @dev The recipient of a transfer gets `value` minus the fee; the sender pays exactly `value`.
    function _update(address from, address to, uint256 value) internal override {
        uint256 fee = from == address(0) || to == address(0) || to == FEE_SINK ? 0 : (value * feeBps) / 10_000;
        if (fee != 0) super._update(from, FEE_SINK, fee);
        super._update(from, to, value - fee);
    }
}
