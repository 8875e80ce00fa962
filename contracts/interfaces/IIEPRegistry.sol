// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IEP registry: listings, staking, unbonding and slashing of edge providers.
/// @notice An IEP operator lists its yard (libp2p peer id, multiaddrs, DNS domain, capacity, prices, region)
/// and stakes the market token. Stake backs the leases the provider sells: a lease locks part of it as
/// collateral until the lease ends. Unstaking waits an unbonding period, during which the stake stays
/// slashable. Stake is slashed only by the lease market for faults it verifies itself, or by an arbiter
/// role (AccessManager, with an execution delay) up to a cap per incident.
interface IIEPRegistry {
    /// @notice A yard listing. Prices are indicative (the binding price is in each signed offer).
    struct Listing {
        bytes peerId; // libp2p peer id (multihash bytes) the yard's noise key hashes to
        string[] multiaddrs; // dialable multiaddrs, e.g. /ip4/203.0.113.7/tcp/4001
        string domain; // DNS domain under which the yard publishes `_edge._tcp.<domain>` SRV
        string region; // free-form region label, e.g. "eu-central/fra"
        uint32 cpuMillis; // total CPU offered, in millicores
        uint32 memoryMiB; // total memory offered, in MiB
        uint96 cpuPricePerSecond; // token units per CPU core (1000 millicores) per second
        uint96 memoryPricePerSecond; // token units per GiB (1024 MiB) per second
    }

    /// @notice Stake of one provider. `locked` backs active leases; `unbonding` is waiting to leave.
    struct StakeInfo {
        uint128 total; // everything the provider has staked and not withdrawn (includes unbonding)
        uint128 locked; // collateral of active leases; cannot be unstaked
        uint128 unbonding; // requested to leave, withdrawable from `readyAt`
        uint64 readyAt; // when the unbonding amount can be withdrawn
    }

    /// @notice Tunable parameters (admin role, through AccessManager). Always
    /// unbondingPeriod >= slashDelay + slashReactionWindow(), so a slash scheduled within the reaction window
    /// after a provider asks to unstake becomes executable before that stake can be withdrawn.
    struct Parameters {
        uint128 minStake; // bonded stake a provider needs to count as active (at most 2^96 − 1)
        uint64 unbondingPeriod; // seconds between unstake request and withdrawal
        uint16 slashCapBps; // max share of the total stake one arbiter incident may slash
        uint32 slashDelay; // the arbiter's AccessManager execution delay for `slash`, kept in step by deployment
    }

    /// @notice Emitted when `provider` registers or changes its listing.
    event ListingUpdated(address indexed provider, bytes peerId, string domain, string region);
    /// @notice Emitted when `provider` removes its listing.
    event ListingRemoved(address indexed provider);
    /// @notice Emitted when `provider` adds `amount` (what arrived in the registry) to its stake.
    event Staked(address indexed provider, uint256 amount, uint256 total);
    /// @notice Emitted when `provider` asks to unstake; `readyAt` is when it can withdraw.
    event UnstakeRequested(address indexed provider, uint256 amount, uint256 unbonding, uint64 readyAt);
    /// @notice Emitted when `provider` withdraws unbonded stake.
    event StakeWithdrawn(address indexed provider, address indexed to, uint256 amount);
    /// @notice Emitted when the lease market locks collateral for a lease.
    event StakeLocked(address indexed provider, uint256 amount, uint256 locked);
    /// @notice Emitted when the lease market releases collateral.
    event StakeUnlocked(address indexed provider, uint256 amount, uint256 locked);
    /// @notice Emitted when stake is slashed; `incident` is zero for faults the lease market verified.
    event Slashed(address indexed provider, uint256 amount, address indexed recipient, bytes32 indexed incident);
    /// @notice Emitted when parameters change.
    event ParametersUpdated(uint128 minStake, uint64 unbondingPeriod, uint16 slashCapBps, uint32 slashDelay);

    /// @notice `provider` has no listing.
    error RegistryNotRegistered(address provider);
    /// @notice The listing is malformed; `field` names the bad field.
    error RegistryInvalidListing(string field);
    /// @notice `provider` has `available` unlocked, bonded stake but `needed` is required.
    error RegistryInsufficientStake(address provider, uint256 available, uint256 needed);
    /// @notice The unbonding period of `provider` ends at `readyAt`; it is `nowTs`.
    error RegistryUnbondingNotOver(address provider, uint64 readyAt, uint256 nowTs);
    /// @notice Nothing is waiting to be withdrawn for `provider`.
    error RegistryNothingToWithdraw(address provider);
    /// @notice An amount of zero was given.
    error RegistryZeroAmount();
    /// @notice An arbiter slash of `amount` exceeds the per-incident `cap`.
    error RegistrySlashAboveCap(address provider, uint256 amount, uint256 cap);
    /// @notice `incident` was already used for a slash.
    error RegistryIncidentUsed(bytes32 incident);
    /// @notice A parameter is out of range; `field` names it.
    error RegistryInvalidParameter(string field);
    /// @notice `unbondingPeriod` is shorter than the arbiter's `slashDelay` plus the `reactionWindow`: a provider
    /// could withdraw stake before a slash scheduled in reaction to its unstake request lands.
    error RegistryUnbondingTooShort(uint256 unbondingPeriod, uint256 slashDelay, uint256 reactionWindow);
    /// @notice `to` is zero, the registry or a lease market (a holder of the collateral-hook role): tokens
    /// sent there would be lost or stranded, booked to no one.
    error RegistryInvalidRecipient(address to);

    /// @notice Registers or updates the caller's listing.
    function register(Listing calldata listing) external;
    /// @notice Removes the caller's listing (stake is untouched).
    function unregister() external;
    /// @notice Transfers `amount` of the token from the caller (needs allowance) and adds what arrived to its stake.
    function stake(uint256 amount) external;
    /// @notice Starts unbonding `amount`; it can be withdrawn after the unbonding period.
    function requestUnstake(uint256 amount) external;
    /// @notice Withdraws what finished unbonding to `to` (not zero, the registry or a lease market).
    function withdraw(address to) external returns (uint256 amount);

    /// @notice Lease market only: locks `amount` of bonded, free stake of `provider` as lease collateral.
    function lockStake(address provider, uint256 amount) external;
    /// @notice Lease market only: releases `amount` of collateral.
    function unlockStake(address provider, uint256 amount) external;
    /// @notice Lease market only: slashes locked collateral for a fault the market verified; pays `recipient`.
    function slashLocked(address provider, uint256 amount, address recipient) external returns (uint256 slashed);
    /// @notice Arbiter only (behind an AccessManager execution delay): slashes up to the per-incident cap.
    function slash(address provider, uint256 amount, address recipient, bytes32 incident) external;
    /// @notice Admin only: sets the parameters.
    function setParameters(Parameters calldata parameters) external;

    /// @notice The staking token.
    function token() external view returns (address);
    /// @notice Seconds the arbiter is given, after a provider asks to unstake, to notice a fault and schedule a
    /// slash; unbonding is at least this plus the slash delay.
    function slashReactionWindow() external view returns (uint64);
    /// @notice Current parameters.
    function parameters() external view returns (Parameters memory);
    /// @notice The listing of `provider` (empty peer id if none).
    function listing(address provider) external view returns (Listing memory);
    /// @notice Stake bookkeeping of `provider`.
    function stakeOf(address provider) external view returns (StakeInfo memory);
    /// @notice Bonded stake not locked by leases and not unbonding.
    function availableStake(address provider) external view returns (uint256);
    /// @notice True if `provider` is listed and its bonded stake reaches the minimum.
    function isActive(address provider) external view returns (bool);
    /// @notice All providers that ever registered (a removed listing has an empty peer id).
    function providers() external view returns (address[] memory);
}
