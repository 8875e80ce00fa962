// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountId} from "./IBudgetTree.sol";

/// @notice Identifier of a lease (1-based).
type LeaseId is uint64;

/// @title Lease escrow: leases opened from a provider-signed offer plus a tenant-signed acceptance.
/// @notice The deposit (price × slot length) moves from the tenant's budget account into escrow when the
/// lease opens. Payment accrues per second from the slot start; the provider claims what has accrued into
/// its earnings balance and withdraws earnings when it likes (pull payments: no call ever pushes tokens to
/// a provider, so no provider can block a settlement). The
/// tenant may end early and the unused part returns to the paying account. A provider that does not confirm
/// the start within the start window lets the tenant cancel for a full refund plus a slash of the
/// provider's collateral.
interface ILeaseMarket {
    /// @notice Provider-signed offer (EIP-712). Every economic term is inside.
    struct Offer {
        address provider; // registry operator address; signs the offer and receives payment
        AccountId account; // tenant budget account that pays; its controller signs the acceptance
        address token; // payment token; must be the market's token
        uint96 pricePerSecond; // token units per second for the whole lease
        uint32 cpuMillis; // CPU, millicores
        uint32 memoryMiB; // memory, MiB
        uint40 start; // slot start (unix seconds)
        uint40 end; // slot end (unix seconds)
        bytes32 specHash; // hash of the deployment spec (image digest, ports, …)
        uint256 nonce; // provider's unordered nonce
        uint256 deadline; // offer must be opened by this time
    }

    /// @notice Lifecycle of a lease, computed from its record and the clock.
    enum LeaseState {
        None, // no such lease
        Scheduled, // opened, slot not started
        Running, // inside the slot (confirmed, or still within the start window)
        StartMissed, // the provider did not confirm the start within the start window
        Ended, // slot over (or terminated); accrued payment may still be unclaimed
        Settled, // fully paid out and collateral released
        Cancelled // start missed and cancelled: tenant refunded, provider slashed
    }

    /// @notice A lease record as stored (two storage slots; LeaseEscrow's `_storeLease` writes a new one as two packed
    /// words in this layout: keep the two in step).
    // solhint-disable-next-line gas-struct-packing
    struct Lease {
        address provider;
        uint40 start;
        uint40 end; // slot end as agreed
        uint8 flags; // bit 0 confirmed, bit 1 terminated, bit 2 settled, bit 3 cancelled, bit 4 collateral released
        uint96 pricePerSecond;
        AccountId account;
        uint40 claimedUntil; // payment up to this time has been paid to the provider
        uint40 stoppedAt; // non-zero if terminated early: the effective end
    }

    /// @notice Emitted when a lease opens; `deposit` moved from `account` into escrow.
    event LeaseOpened(
        LeaseId indexed id,
        address indexed provider,
        AccountId indexed account,
        uint256 pricePerSecond,
        uint40 start,
        uint40 end,
        uint256 deposit,
        bytes32 offerHash
    );
    /// @notice Emitted when the provider confirms the container started.
    event LeaseStartConfirmed(LeaseId indexed id);
    /// @notice Emitted when `amount` of accrued payment moves from escrow to the provider's earnings.
    event LeaseClaimed(LeaseId indexed id, uint256 amount, uint40 claimedUntil);
    /// @notice Emitted when `provider` withdraws `amount` of earnings to `to`.
    event EarningsWithdrawn(address indexed provider, address indexed to, uint256 amount);
    /// @notice Emitted when the tenant ends the lease early; `refund` returned to the account.
    event LeaseTerminated(LeaseId indexed id, uint40 stoppedAt, uint256 refund);
    /// @notice Emitted when a lease whose start was missed is cancelled; `penalty` is the slashed collateral that
    /// arrived from the registry and was credited to the paying account.
    event LeaseCancelled(LeaseId indexed id, uint256 refund, uint256 penalty);
    /// @notice Emitted when a lease is fully paid out and its collateral released.
    event LeaseSettled(LeaseId indexed id);
    /// @notice Emitted when releasing (or, for a cancelled lease, slashing) the collateral of lease `id` in the
    /// registry failed; `reason` is the registry's revert data. The lease went on without it; anyone retries with
    /// {releaseCollateral}.
    event CollateralReleaseFailed(LeaseId indexed id, bytes reason);
    /// @notice Emitted when a retried release of lease `id`'s collateral succeeded; `penalty` is the slashed
    /// collateral credited to the paying account (cancelled leases; zero otherwise).
    event CollateralReleased(LeaseId indexed id, uint256 penalty);
    /// @notice Emitted when a provider invalidates offer nonces.
    event NoncesInvalidated(address indexed provider, uint256 word, uint256 mask);

    /// @notice Lease `id` is in `current`; the call needs one of the states in bitmask `allowed` (1 << state).
    error LeaseInvalidState(LeaseId id, LeaseState current, uint256 allowed);
    /// @notice The offer expired at `deadline`.
    error LeaseOfferExpired(uint256 deadline, uint256 nowTs);
    /// @notice The offer nonce was used or cancelled.
    error LeaseNonceUsed(address provider, uint256 nonce);
    /// @notice The signature does not come from `expectedSigner`.
    error LeaseInvalidSignature(address expectedSigner);
    /// @notice The offer names `token`; the market pays in `expected`.
    error LeaseWrongToken(address token, address expected);
    /// @notice The slot is empty, already started, or too long.
    error LeaseInvalidSlot(uint40 start, uint40 end, uint256 nowTs);
    /// @notice The price is zero or above the application's cap.
    error LeaseInvalidPrice(uint256 pricePerSecond, uint256 cap);
    /// @notice `caller` may not do this to lease `id`.
    error LeaseUnauthorized(LeaseId id, address caller);
    /// @notice The provider has not confirmed the start of lease `id`, so nothing can be claimed.
    error LeaseNotConfirmed(LeaseId id);
    /// @notice Nothing has accrued on lease `id` since the last claim.
    error LeaseNothingToClaim(LeaseId id);
    /// @notice `provider` has no earnings to withdraw.
    error LeaseNoEarnings(address provider);
    /// @notice The zero address was given as recipient.
    error LeaseZeroRecipient();
    /// @notice Lease `id` has no collateral waiting to be released: it is still open, does not exist, or its
    /// collateral was already released.
    error LeaseNoCollateralPending(LeaseId id);
    /// @notice `to` is the market or its registry: tokens sent there would be stranded, booked to no one.
    error LeaseInvalidRecipient(address to);
    /// @notice {claimMany} was given `length` ids; it takes 1 to `max`.
    error LeaseBatchLength(uint256 length, uint256 max);

    /// @notice Opens a lease from `offer`, signed by the provider and accepted by the tenant account's
    /// controller. Anyone may submit (the yard relays, so ICON keys need no gas).
    function openLease(Offer calldata offer, bytes calldata providerSignature, bytes calldata tenantSignature)
        external
        returns (LeaseId id);
    /// @notice Provider only: confirms the container runs; needed before the start window closes.
    function confirmStart(LeaseId id) external;
    /// @notice Provider only: moves what has accrued to the provider's earnings; settles the lease once
    /// the slot is over.
    function claim(LeaseId id) external returns (uint256 amount);
    /// @notice Provider only: {claim} for every lease in `ids` (1 to 256) in one transaction, with the same rules
    /// per id: the whole call reverts with the first id's error (another provider's lease, not confirmed, not
    /// running or ended, nothing accrued — so also a repeated id). Emits per lease what {claim} emits; returns
    /// the sum credited to the caller's earnings.
    function claimMany(LeaseId[] calldata ids) external returns (uint256 total);
    /// @notice Anyone: credits the provider with the rest and releases collateral after the slot is over.
    function settle(LeaseId id) external;
    /// @notice Provider: transfers all of the caller's earnings to `to` (not the market or its registry).
    function withdrawEarnings(address to) external returns (uint256 amount);
    /// @notice Tenant (account controller or app owner): ends the lease now; the unused part is refunded.
    function terminate(LeaseId id) external returns (uint256 refund);
    /// @notice Anyone: cancels a lease whose start was missed; full refund, provider collateral slashed to
    /// the tenant account.
    function cancelMissedStart(LeaseId id) external returns (uint256 refund, uint256 penalty);
    /// @notice Anyone: retries releasing the collateral of a terminated, settled or cancelled lease whose release
    /// failed in the registry (see {CollateralReleaseFailed}); for a cancelled lease the slashed collateral is
    /// credited to the paying account. Reverts with the registry's error while it still fails.
    function releaseCollateral(LeaseId id) external returns (uint256 penalty);
    /// @notice Provider only: invalidates the nonces in `mask` of nonce word `word`.
    function invalidateNonces(uint256 word, uint256 mask) external;

    /// @notice The stored lease record.
    function lease(LeaseId id) external view returns (Lease memory);
    /// @notice The lease's lifecycle state now.
    function state(LeaseId id) external view returns (LeaseState);
    /// @notice Accrued, unclaimed payment now.
    function claimable(LeaseId id) external view returns (uint256);
    /// @notice Claimed earnings of `provider` not yet withdrawn.
    function earningsOf(address provider) external view returns (uint256);
    /// @notice Escrow still held for lease `id` (unclaimed accrued plus not-yet-accrued).
    function escrowOf(LeaseId id) external view returns (uint256);
    /// @notice Collateral the lease locks in the registry: deposit × collateralBps / 10 000, rounded up.
    function collateralOf(LeaseId id) external view returns (uint256);
    /// @notice True if `nonce` of `provider` is used or cancelled.
    function isNonceUsed(address provider, uint256 nonce) external view returns (bool);
    /// @notice EIP-712 digest of an offer (what the provider signs).
    function hashOffer(Offer calldata offer) external view returns (bytes32);
    /// @notice EIP-712 digest of an acceptance of `offer` (what the tenant signs).
    function hashAcceptance(Offer calldata offer) external view returns (bytes32);
    /// @notice Number of leases opened so far (ids are 1..leaseCount).
    function leaseCount() external view returns (uint64);
    /// @notice Seconds after the slot start within which the provider must confirm.
    function startWindow() external view returns (uint40);
    /// @notice Share of a lease's deposit locked as provider collateral, in basis points.
    function collateralBps() external view returns (uint16);
}
