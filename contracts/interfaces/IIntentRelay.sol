// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountId} from "./IBudgetTree.sol";

/// @title Intent relay: gasless ICON operations.
/// @notice An ICON key holds no native currency. It signs an EIP-712 intent (one budget-tree or lease call, a fee,
/// a nonce and a deadline) and anyone — a yard, by default the ICON's own — submits it with {relay}. The call runs
/// as the signer; the relayer is repaid `fee` token units from the intent's budget account into its earnings
/// (withdrawn with `withdrawEarnings`), within the owner's caps: at most `Policy.maxRelayFee` per intent and
/// `Policy.relayAllowancePerDay` per application (all accounts of its tree together) and UTC day. Only tree and lease operations of the ICON itself may be
/// relayed (createAccount, allocate, returnToParent, closeAccount, requestFunding, terminate): never a withdrawal,
/// a deposit, a policy or controller change. Opening a lease needs no intent: `openLease` is relayed already
/// (the yard submits it with the tenant's signed acceptance).
interface IIntentRelay {
    /// @notice One relayed call, signed by `signer` in the market's EIP-712 domain.
    struct Intent {
        address signer; // the ICON key (controller of `account`) or the application's owner
        AccountId account; // budget account that pays the fee; `signer` must control it (or own its application)
        bytes data; // the abi-encoded call (selector and arguments) to run as `signer`
        uint96 fee; // token units credited to the relayer's earnings
        address relayer; // who may submit; address(0) = anyone
        uint256 nonce; // unordered nonce of `signer` (the market's nonce bitmap, shared with offers)
        uint40 deadline; // the intent must be relayed by this time (unix seconds)
    }

    /// @notice Emitted when `relayer` ran an intent of `signer`, paid `fee` from `account`.
    event Relayed(
        address indexed signer, AccountId indexed account, address indexed relayer, uint256 nonce, uint96 fee
    );

    /// @notice The intent expired at `deadline`; it is `nowTs`.
    error RelayExpired(uint256 deadline, uint256 nowTs);
    /// @notice The intent may be submitted only by `relayer`, not `caller`.
    error RelayWrongRelayer(address relayer, address caller);
    /// @notice The signature does not come from `signer` over this intent in this market's domain.
    error RelayInvalidSignature(address signer);
    /// @notice The intent's call `selector` may not be relayed (or the call data is shorter than a selector).
    error RelayNotAllowed(bytes4 selector);
    /// @notice `signer` neither controls `account` nor owns its application, so it may not charge fees to it.
    error RelayUnauthorized(AccountId account, address signer);
    /// @notice The fee is above the application's `maxRelayFee`.
    error RelayFeeTooHigh(uint256 fee, uint256 maxRelayFee);
    /// @notice The application of root `root` (all accounts of its tree) already paid `spent` in relay fees today;
    /// `fee` more would pass its `allowance`.
    error RelayAllowanceExceeded(AccountId root, uint256 spent, uint256 fee, uint256 allowance);

    /// @notice Checks `intent` and `signature`, uses the nonce, runs the call as the signer and pays the fee from
    /// `intent.account` to the caller's earnings — before the call when the account holds it, else after it (so an
    /// account below one fee may pay out of a terminate's refund; if it still cannot pay, the whole relay reverts
    /// with BudgetInsufficientBalance). Returns the call's return data. A failing call reverts the whole relay.
    function relay(Intent calldata intent, bytes calldata signature) external returns (bytes memory result);
    /// @notice EIP-712 digest of `intent` (what the signer signs).
    function hashIntent(Intent calldata intent) external view returns (bytes32);
    /// @notice Relay fees the application of `account` (any account of its tree: the spend is kept per root) paid
    /// on the UTC day `day` (block.timestamp / 1 days); 0 for other days and unknown accounts.
    function relayFeesPaid(AccountId account, uint256 day) external view returns (uint256);
}
