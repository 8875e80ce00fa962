// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IBudgetTree, AccountId} from "./interfaces/IBudgetTree.sol";

/// @title BudgetTree
/// @notice Application budgets as trees of accounts. Abstract: {IconMarket} combines it with the lease
/// escrow so a lease moves money between a budget account and escrow by bookkeeping, inside one token vault.
abstract contract BudgetTree is IBudgetTree, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 internal constant _BPS = 10_000;
    /// @dev Depth bound: a root plus eight levels of replicas is far beyond any overlay the agent builds,
    /// and it bounds the cost of anything that walks the tree.
    uint8 private constant _MAX_DEPTH = 8;

    struct App {
        address owner;
        uint32 policyVersion;
        Policy policy;
    }

    IERC20 internal immutable _token;
    uint64 private _accountCount;
    mapping(AccountId id => Account) internal _accounts;
    mapping(AccountId root => App) internal _apps;
    /// @dev The signer of the intent being relayed (IntentRelay), for the length of its self-call only.
    address internal transient _relayedSigner;

    constructor(IERC20 token_) {
        _token = token_;
    }

    // ---------------------------------------------------------------- owner: in and out of the tree

    /// @inheritdoc IBudgetTree
    function createApp(address controller, Policy calldata policy, uint256 deposit)
        external
        nonReentrant
        returns (AccountId root)
    {
        root = _createApp(controller, policy, deposit);
    }

    /// @inheritdoc IBudgetTree
    function createAppWithPermit(
        address controller,
        Policy calldata policy,
        uint256 deposit,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (AccountId root) {
        _permit(deposit, deadline, v, r, s);
        root = _createApp(controller, policy, deposit);
    }

    /// @inheritdoc IBudgetTree
    function fund(AccountId id, uint256 amount) external nonReentrant {
        _fund(id, amount);
    }

    /// @inheritdoc IBudgetTree
    function fundWithPermit(AccountId id, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        _permit(amount, deadline, v, r, s);
        _fund(id, amount);
    }

    /// @inheritdoc IBudgetTree
    function withdraw(AccountId root, uint256 amount, address to) external nonReentrant {
        Account storage a = _existing(root);
        if (AccountId.unwrap(a.parent) != 0) revert BudgetNotRoot(root);
        if (msg.sender != _apps[root].owner) revert BudgetUnauthorized(root, msg.sender);
        if (to == address(0)) revert BudgetZeroValue("to");
        if (_isHouse(to)) revert BudgetInvalidRecipient(to);
        if (amount == 0) revert BudgetZeroValue("amount");
        _debit(root, a, amount);
        _token.safeTransfer(to, amount);
        emit Withdrawn(root, to, amount);
    }

    /// @inheritdoc IBudgetTree
    function setPolicy(AccountId root, Policy calldata policy) external {
        Account storage a = _existing(root);
        if (AccountId.unwrap(a.parent) != 0) revert BudgetNotRoot(root);
        App storage app = _apps[root];
        if (msg.sender != app.owner) revert BudgetUnauthorized(root, msg.sender);
        _checkPolicy(policy);
        app.policy = policy;
        uint32 version = app.policyVersion + 1;
        app.policyVersion = version;
        emit PolicyUpdated(root, version, policy);
    }

    // ---------------------------------------------------------------- inside the tree

    /// @inheritdoc IBudgetTree
    function createAccount(AccountId parent, address controller) external returns (AccountId child) {
        Account storage p = _existing(parent);
        _checkControllerOrOwner(parent, p);
        if (p.closed) revert BudgetAccountClosed(parent);
        if (controller == address(0)) revert BudgetZeroValue("controller");
        uint256 depth = uint256(p.depth) + 1;
        if (depth > _MAX_DEPTH) revert BudgetDepthExceeded(depth, _MAX_DEPTH);
        child = _newAccount();
        // depth <= _MAX_DEPTH fits in uint8.
        _accounts[child] = Account(controller, 0, parent, p.root, uint8(depth), false);
        emit AccountCreated(child, parent, controller);
    }

    /// @inheritdoc IBudgetTree
    function allocate(AccountId parent, AccountId child, uint256 amount) external {
        Account storage p = _existing(parent);
        _checkControllerOrOwner(parent, p);
        // A closed account only hands money back up (returnToParent); it never pushes money down again.
        if (p.closed) revert BudgetAccountClosed(parent);
        Account storage c = _existing(child);
        if (AccountId.unwrap(c.parent) != AccountId.unwrap(parent)) revert BudgetNotChild(parent, child);
        if (c.closed) revert BudgetAccountClosed(child);
        if (amount == 0) revert BudgetZeroValue("amount");
        _debit(parent, p, amount);
        _credit(c, amount);
        emit Allocated(parent, child, amount);
    }

    /// @inheritdoc IBudgetTree
    function returnToParent(AccountId child, uint256 amount) external {
        if (amount == 0) revert BudgetZeroValue("amount");
        _returnToParent(child, amount, false);
    }

    /// @inheritdoc IBudgetTree
    function closeAccount(AccountId child) external {
        Account storage c = _existing(child);
        if (c.closed) revert BudgetAccountClosed(child);
        _returnToParent(child, c.balance, true);
    }

    /// @inheritdoc IBudgetTree
    function setController(AccountId id, address controller) external {
        Account storage a = _existing(id);
        if (controller == address(0)) revert BudgetZeroValue("controller");
        AccountId parent = a.parent;
        bool allowed = msg.sender == _apps[a.root].owner ||
            (AccountId.unwrap(parent) != 0 && msg.sender == _accounts[parent].controller);
        if (!allowed) revert BudgetUnauthorized(id, msg.sender);
        a.controller = controller;
        emit ControllerChanged(id, controller);
    }

    /// @inheritdoc IBudgetTree
    function requestFunding(AccountId id, uint256 amount) external {
        Account storage a = _existing(id);
        address sender = _sender();
        if (sender != a.controller) revert BudgetUnauthorized(id, sender);
        if (amount == 0) revert BudgetZeroValue("amount");
        emit FundingRequested(a.root, id, a.parent, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IBudgetTree
    function account(AccountId id) external view returns (Account memory) {
        return _accounts[id];
    }

    /// @inheritdoc IBudgetTree
    function ownerOf(AccountId root) external view returns (address) {
        return _apps[root].owner;
    }

    /// @inheritdoc IBudgetTree
    function policyOf(AccountId root) external view returns (Policy memory policy, uint32 version) {
        App storage app = _apps[root];
        return (app.policy, app.policyVersion);
    }

    /// @inheritdoc IBudgetTree
    function accountCount() external view returns (uint64) {
        return _accountCount;
    }

    /// @inheritdoc IBudgetTree
    function maxDepth() external pure returns (uint8) {
        return _MAX_DEPTH;
    }

    // ---------------------------------------------------------------- internals

    function _createApp(address controller, Policy calldata policy, uint256 deposit) private returns (AccountId root) {
        if (controller == address(0)) revert BudgetZeroValue("controller");
        _checkPolicy(policy);
        root = _newAccount();
        _accounts[root] = Account(controller, 0, AccountId.wrap(0), root, 0, false);
        _apps[root] = App(msg.sender, 1, policy);
        emit AppCreated(root, msg.sender, controller);
        emit PolicyUpdated(root, 1, policy);
        if (deposit != 0) _fund(root, deposit);
    }

    /// @dev Credits what arrived in the vault, not what was asked: a fee-on-transfer token (or one whose fee is
    /// switched on later) can never make the books exceed the vault. Runs under nonReentrant (every caller).
    function _fund(AccountId id, uint256 amount) private {
        Account storage a = _existing(id);
        if (a.closed) revert BudgetAccountClosed(id);
        if (amount == 0) revert BudgetZeroValue("amount");
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received == 0) revert BudgetZeroValue("amount received");
        _credit(a, received);
        emit Funded(id, msg.sender, received);
    }

    function _returnToParent(AccountId child, uint256 amount, bool close) private {
        Account storage c = _existing(child);
        AccountId parent = c.parent;
        if (AccountId.unwrap(parent) == 0) revert BudgetRootHasNoParent(child);
        Account storage p = _accounts[parent];
        address sender = _sender();
        bool allowed = sender == c.controller || sender == p.controller || sender == _apps[c.root].owner;
        if (!allowed) revert BudgetUnauthorized(child, sender);
        _debit(child, c, amount);
        _credit(p, amount);
        emit ReturnedToParent(child, parent, amount);
        if (close) {
            c.closed = true;
            emit AccountClosed(child, amount);
        }
    }

    /// @dev Permit failures are ignored on purpose: a front-runner may already have used the permit, in
    /// which case the allowance is there and the transfer succeeds; otherwise the transfer reverts.
    function _permit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) private {
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
    }

    function _newAccount() private returns (AccountId id) {
        uint64 n = _accountCount + 1;
        _accountCount = n;
        id = AccountId.wrap(n);
    }

    /// @dev True for the addresses whose token balance is booked by the market or its registry: a transfer
    /// there would strand the tokens (nobody is credited and nothing can take them out).
    function _isHouse(address to) internal view virtual returns (bool);

    function _existing(AccountId id) internal view returns (Account storage a) {
        a = _accounts[id];
        if (a.controller == address(0)) revert BudgetUnknownAccount(id);
    }

    function _checkControllerOrOwner(AccountId id, Account storage a) internal view {
        address sender = _sender();
        if (sender != a.controller && sender != _apps[a.root].owner) revert BudgetUnauthorized(id, sender);
    }

    /// @dev Who acts: the signer of the intent being relayed when the market calls itself (IntentRelay), else the
    /// caller. Used by the relayable operations only; owner-only functions (withdraw, setPolicy, setController,
    /// createApp, fund) keep `msg.sender`, so no self-call could ever act as an owner there.
    function _sender() internal view returns (address) {
        return msg.sender == address(this) ? _relayedSigner : msg.sender;
    }

    function _debit(AccountId id, Account storage a, uint256 amount) internal {
        uint96 balance = a.balance;
        if (amount > balance) revert BudgetInsufficientBalance(id, balance, amount);
        // Cannot underflow: checked just above.
        unchecked {
            a.balance = balance - uint96(amount);
        }
    }

    function _credit(Account storage a, uint256 amount) internal {
        a.balance = (uint256(a.balance) + amount).toUint96();
    }

    function _checkPolicy(Policy calldata p) private pure {
        if (p.weightBps > _BPS) revert BudgetInvalidPolicy("weightBps");
        if (p.migrateThresholdBps > _BPS) revert BudgetInvalidPolicy("migrateThresholdBps");
        if (p.replicateThresholdBps > _BPS) revert BudgetInvalidPolicy("replicateThresholdBps");
        if (p.terminateThresholdBps > _BPS) revert BudgetInvalidPolicy("terminateThresholdBps");
    }
}
