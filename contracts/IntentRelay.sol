// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IBudgetTree, AccountId} from "./interfaces/IBudgetTree.sol";
import {IIntentRelay} from "./interfaces/IIntentRelay.sol";
import {ILeaseMarket} from "./interfaces/ILeaseMarket.sol";
import {LeaseEscrow} from "./LeaseEscrow.sol";

/// @title IntentRelay
/// @notice Gasless ICON operations: an intent signed by an ICON key, submitted by any relayer, repaid from the
/// ICON's budget account within the owner's caps. Abstract: deployed as part of {IconMarket}.
/// @dev The call runs as the signer through a self-call: {relay} keeps the signer in transient storage
/// (`_relayedSigner`) while it calls `address(this)`, and `_sender()` (BudgetTree) returns it when the caller is the
/// market itself. Only the selectors in `_isRelayable` are ever self-called.
abstract contract IntentRelay is IIntentRelay, LeaseEscrow {
    /// @dev EIP-712 type of an intent. Shared with TypeScript through protocol/eip712.ts.
    bytes32 public constant INTENT_TYPEHASH = keccak256(
        "Intent(address signer,uint64 account,bytes data,uint96 fee,address relayer,uint256 nonce,uint40 deadline)"
    );

    /// @dev Relay fees one application (all accounts of its tree) paid on one UTC day (one slot per root).
    struct RelaySpend {
        uint40 day;
        uint96 spent;
    }

    mapping(AccountId root => RelaySpend) private _relaySpend;

    /// @inheritdoc IIntentRelay
    function relay(Intent calldata i, bytes calldata signature) external returns (bytes memory result) {
        // No relay inside a guarded call (a token or registry calling back): the signer slot is never nested.
        if (_reentrancyGuardEntered()) revert ReentrancyGuardReentrantCall();
        if (block.timestamp > i.deadline) revert RelayExpired(i.deadline, block.timestamp);
        if (i.relayer != address(0) && i.relayer != msg.sender) revert RelayWrongRelayer(i.relayer, msg.sender);
        bytes4 selector = i.data.length < 4 ? bytes4(0) : bytes4(i.data[:4]);
        if (!_isRelayable(selector)) revert RelayNotAllowed(selector);
        if (!_isValidSignature(i.signer, _hashTypedDataV4(_hashIntentStruct(i)), signature)) {
            revert RelayInvalidSignature(i.signer);
        }
        _useNonce(i.signer, i.nonce);

        Account storage a = _existing(i.account);
        AccountId root = a.root;
        App storage app = _apps[root];
        if (i.signer != a.controller && i.signer != app.owner) revert RelayUnauthorized(i.account, i.signer);
        uint96 fee = i.fee;
        // The fee is paid before the call when the account holds it, so an intent that empties its own account
        // (closeAccount) still pays; else after the call, so an account below one fee can still terminate its
        // lease and pay out of the refund. One that still cannot pay reverts whole (BudgetInsufficientBalance).
        bool payAfter = fee > a.balance;
        if (fee != 0) {
            Policy storage p = app.policy;
            if (fee > p.maxRelayFee) revert RelayFeeTooHigh(fee, p.maxRelayFee);
            // Cannot truncate: block.timestamp / 1 days stays below 2^40 for billions of years.
            uint40 day = uint40(block.timestamp / 1 days);
            // Keyed by the root: the allowance bounds the whole application, however many accounts it creates.
            RelaySpend storage s = _relaySpend[root];
            uint256 spent = s.day == day ? s.spent : 0;
            if (spent + fee > p.relayAllowancePerDay) {
                revert RelayAllowanceExceeded(root, spent, fee, p.relayAllowancePerDay);
            }
            // Cannot truncate: spent + fee <= relayAllowancePerDay, a uint96.
            _relaySpend[root] = RelaySpend(day, uint96(spent + fee));
            if (!payAfter) _payRelayer(i.account, a, fee);
        }

        _relayedSigner = i.signer;
        bool ok;
        (ok, result) = address(this).call(i.data);
        _relayedSigner = address(0);
        if (!ok) {
            // Bubbles the call's own error; the whole relay reverts (no fee, nonce unused).
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        if (payAfter) _payRelayer(i.account, a, fee);
        emit Relayed(i.signer, i.account, msg.sender, i.nonce, fee);
    }

    /// @inheritdoc IIntentRelay
    function hashIntent(Intent calldata i) external view returns (bytes32) {
        return _hashTypedDataV4(_hashIntentStruct(i));
    }

    /// @inheritdoc IIntentRelay
    function relayFeesPaid(AccountId id, uint256 day) external view returns (uint256) {
        RelaySpend storage s = _relaySpend[_accounts[id].root];
        return s.day == day ? s.spent : 0;
    }

    /// @dev Moves `fee` from the paying account to the relayer's earnings (BudgetInsufficientBalance if short).
    function _payRelayer(AccountId id, Account storage a, uint96 fee) private {
        _debit(id, a, fee);
        _creditEarnings(msg.sender, fee);
    }

    /// @dev The ICON's own operations, nothing that moves money out of the tree or changes who controls it.
    function _isRelayable(bytes4 s) private pure returns (bool) {
        return s == IBudgetTree.createAccount.selector || s == IBudgetTree.allocate.selector
            || s == IBudgetTree.returnToParent.selector || s == IBudgetTree.closeAccount.selector
            || s == IBudgetTree.requestFunding.selector || s == ILeaseMarket.terminate.selector;
    }

    function _hashIntentStruct(Intent calldata i) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                INTENT_TYPEHASH, i.signer, i.account, keccak256(i.data), i.fee, i.relayer, i.nonce, i.deadline
            )
        );
    }
}
