// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Identifier of a budget account (1-based; 0 means "none").
type AccountId is uint64;

/// @title Budget tree: application budgets as a tree of accounts controlled by ICON keys.
/// @notice An owner creates an application: a root account funded from the owner's wallet. Accounts form a
/// tree whose controllers are ICON keys. A parent allocates to a child; a child hands money back to its
/// parent; a child asks its parent for money with a funding request (foundering). Leases are paid from an
/// account and refunds return to the same account. Only the owner moves money out of the tree, and only
/// from the root. The owner publishes a policy record that running ICONs follow.
interface IBudgetTree {
    /// @notice The owner's policy for an application. Basis points are of 10_000.
    struct Policy {
        uint16 weightBps; // w in U = (1-w)·b + w·Σ λ·l, as basis points (0 = price only, 10000 = latency only)
        uint16 migrateThresholdBps; // minimum relative utility improvement to migrate
        uint16 replicateThresholdBps; // minimum relative utility improvement to replicate
        uint16 terminateThresholdBps; // a replica whose share of the benefit falls below this terminates
        uint96 maxPricePerSecond; // cap on a lease's price per second (0 = no cap); enforced when a lease opens
        uint96 maxRelayFee; // most one relayed intent may pay its relayer, token units (0 = relayers are paid nothing)
        uint96 relayAllowancePerDay; // most relay fees the application's whole tree pays per UTC day, token units
    }

    /// @notice A budget account.
    struct Account {
        address controller; // the ICON key that controls the account
        uint96 balance; // token units available to spend or allocate
        AccountId parent; // zero for a root
        AccountId root; // the application's root account (itself for a root)
        uint8 depth; // 0 for a root
        bool closed; // a closed account takes no new leases or allocations
    }

    /// @notice Emitted when `owner` creates an application with root account `root`.
    event AppCreated(AccountId indexed root, address indexed owner, address controller);
    /// @notice Emitted when a child account is created under `parent`.
    event AccountCreated(AccountId indexed account, AccountId indexed parent, address controller);
    /// @notice Emitted when `from` deposits into `account`; `amount` is what arrived in the vault and was credited
    /// (less than asked with a fee-on-transfer token).
    event Funded(AccountId indexed account, address indexed from, uint256 amount);
    /// @notice Emitted when the owner takes `amount` out of the tree from the root.
    event Withdrawn(AccountId indexed root, address indexed to, uint256 amount);
    /// @notice Emitted when `parent` allocates `amount` to `child`.
    event Allocated(AccountId indexed parent, AccountId indexed child, uint256 amount);
    /// @notice Emitted when `child` hands `amount` back to `parent`.
    event ReturnedToParent(AccountId indexed child, AccountId indexed parent, uint256 amount);
    /// @notice Emitted when `account` is closed; its balance went to its parent.
    event AccountClosed(AccountId indexed account, uint256 returned);
    /// @notice Emitted when the controller of `account` changes.
    event ControllerChanged(AccountId indexed account, address controller);
    /// @notice Emitted when `account` asks its parent (or, for a root, the owner) for `amount`.
    event FundingRequested(AccountId indexed root, AccountId indexed account, AccountId indexed parent, uint256 amount);
    /// @notice Emitted when the owner publishes a new policy.
    event PolicyUpdated(AccountId indexed root, uint32 version, Policy policy);

    /// @notice `account` does not exist.
    error BudgetUnknownAccount(AccountId account);
    /// @notice `caller` may not act on `account`.
    error BudgetUnauthorized(AccountId account, address caller);
    /// @notice `account` holds `balance` but `needed` is required.
    error BudgetInsufficientBalance(AccountId account, uint256 balance, uint256 needed);
    /// @notice `account` is closed.
    error BudgetAccountClosed(AccountId account);
    /// @notice `child` is not a child of `parent`.
    error BudgetNotChild(AccountId parent, AccountId child);
    /// @notice A new account would be at `depth`, beyond `maxDepth`.
    error BudgetDepthExceeded(uint256 depth, uint256 maxDepth);
    /// @notice `account` is not the root of an application.
    error BudgetNotRoot(AccountId account);
    /// @notice `account` is an application root and has no parent to return money to.
    error BudgetRootHasNoParent(AccountId account);
    /// @notice The policy is out of range; `field` names the bad field.
    error BudgetInvalidPolicy(string field);
    /// @notice A zero amount or zero address was given where it makes no sense.
    error BudgetZeroValue(string field);
    /// @notice `to` is the market or its registry: tokens sent there would be stranded, booked to no one.
    error BudgetInvalidRecipient(address to);

    /// @notice Creates an application with a root account controlled by `controller`, funded with `deposit`.
    function createApp(address controller, Policy calldata policy, uint256 deposit) external returns (AccountId root);
    /// @notice Like {createApp} but takes the deposit with an ERC-2612 permit instead of a prior approval.
    function createAppWithPermit(
        address controller,
        Policy calldata policy,
        uint256 deposit,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (AccountId root);
    /// @notice Deposits `amount` from the caller into `account` (needs allowance); credits what arrived.
    function fund(AccountId account, uint256 amount) external;
    /// @notice Deposits with an ERC-2612 permit.
    function fundWithPermit(AccountId account, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;
    /// @notice Owner only: moves `amount` out of the root account to `to` (not the market or its registry).
    function withdraw(AccountId root, uint256 amount, address to) external;
    /// @notice Creates a child of `parent` controlled by `controller` (parent's controller or owner).
    function createAccount(AccountId parent, address controller) external returns (AccountId child);
    /// @notice Moves `amount` from `parent` to its child `child` (parent's controller or owner); both must be open.
    function allocate(AccountId parent, AccountId child, uint256 amount) external;
    /// @notice Moves `amount` from `child` back to its parent (child's or parent's controller, or owner).
    function returnToParent(AccountId child, uint256 amount) external;
    /// @notice Returns the whole balance of `child` to its parent and closes it.
    function closeAccount(AccountId child) external;
    /// @notice Replaces the controller of `account` (parent's controller or owner; the owner for a root).
    function setController(AccountId account, address controller) external;
    /// @notice Account controller only: asks the parent (the owner, for a root) for `amount`.
    function requestFunding(AccountId account, uint256 amount) external;
    /// @notice Owner only: publishes a new policy for the application.
    function setPolicy(AccountId root, Policy calldata policy) external;

    /// @notice The account record.
    function account(AccountId id) external view returns (Account memory);
    /// @notice The owner of the application rooted at `root`.
    function ownerOf(AccountId root) external view returns (address);
    /// @notice The current policy and its version of the application rooted at `root`.
    function policyOf(AccountId root) external view returns (Policy memory policy, uint32 version);
    /// @notice Number of accounts created so far (ids are 1..accountCount).
    function accountCount() external view returns (uint64);
    /// @notice Deepest allowed account depth (root = 0).
    function maxDepth() external view returns (uint8);
}
