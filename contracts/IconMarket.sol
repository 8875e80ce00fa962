// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IIEPRegistry} from "./interfaces/IIEPRegistry.sol";
import {BudgetTree} from "./BudgetTree.sol";
import {LeaseEscrow} from "./LeaseEscrow.sol";
import {IntentRelay} from "./IntentRelay.sol";

/// @title IconMarket
/// @notice The deployable market: budget tree, lease escrow and intent relay over one token vault, so that
/// `token.balanceOf(market) == Σ account balances + Σ lease escrow + Σ provider earnings` at every step.
/// @dev EIP-712 domain: name "ICON Market", version "1", this chain id, this contract.
contract IconMarket is IntentRelay {
    /// @notice A constructor argument is out of range; `field` names it.
    error MarketInvalidParameter(string field);

    constructor(IERC20 token_, IIEPRegistry registry_, uint40 startWindow_, uint16 collateralBps_)
        BudgetTree(token_)
        LeaseEscrow(registry_, startWindow_, collateralBps_)
        EIP712("ICON Market", "1")
    {
        if (registry_.token() != address(token_)) revert MarketInvalidParameter("registry token");
        if (startWindow_ == 0) revert MarketInvalidParameter("startWindow");
        if (collateralBps_ > _BPS) revert MarketInvalidParameter("collateralBps");
    }
}
