// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AuthorityUtils} from "@openzeppelin/contracts/access/manager/AuthorityUtils.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IIEPRegistry} from "./interfaces/IIEPRegistry.sol";

/// @title IEPRegistry
/// @notice Listings and stake of edge providers. Restricted functions (lease-market hooks, arbiter slash,
/// parameters) are guarded by an OpenZeppelin AccessManager, which also carries the arbiter's execution delay.
contract IEPRegistry is IIEPRegistry, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 private constant _BPS = 10_000;
    uint256 private constant _MAX_MULTIADDRS = 8;
    uint256 private constant _MAX_TEXT = 256;
    /// @notice Time the arbiter has, after a provider asks to unstake, to notice a fault and schedule a slash:
    /// one day. Unbonding lasts at least this plus the arbiter's execution delay (`Parameters.slashDelay`).
    uint64 public constant SLASH_REACTION_WINDOW = 1 days;

    /// @dev A provider's stake as stored (the view {stakeOf} returns it as a {StakeInfo}, total = bonded +
    /// unbonding). The first slot holds all that {lockStake} reads — bonded, locked and whether the provider is
    /// listed — so a lease opening reads one cold slot of the registry's state for the provider, not three (the
    /// listing's peer id and both slots of a {StakeInfo}). 120-bit amounts: 1.3·10³⁶ units.
    struct Stake {
        uint120 bonded; // total − unbonding: what backs leases and counts against the minimum stake
        uint120 locked; // collateral of active leases (≤ bonded)
        bool listed; // the provider has a listing (mirrors a non-empty peer id)
        uint120 unbonding; // requested to leave, withdrawable from `readyAt`
        uint64 readyAt;
    }

    /// @dev What every {lockStake} reads besides the provider's stake, in one slot: the authority its `restricted`
    /// check asks (AccessManaged keeps its own copy too, in step: see {_setAuthority}) and the minimum stake (a copy
    /// of `_params.minStake`, in step: see {_setParameters}). One cold read instead of two per lease opening.
    struct LockGate {
        address authority;
        uint96 minStake;
    }

    IERC20 private immutable _token;
    LockGate private _gate;
    Parameters private _params;
    mapping(address provider => Listing) private _listings;
    mapping(address provider => Stake) private _stakes;
    mapping(bytes32 incident => bool) private _incidents;
    address[] private _providers;
    mapping(address provider => bool) private _known;

    constructor(address initialAuthority, IERC20 token_, Parameters memory params) AccessManaged(initialAuthority) {
        _token = token_;
        _setParameters(params);
    }

    // ---------------------------------------------------------------- listings

    /// @inheritdoc IIEPRegistry
    function register(Listing calldata entry) external {
        if (entry.peerId.length == 0 || entry.peerId.length > 64) revert RegistryInvalidListing("peerId");
        if (entry.multiaddrs.length == 0 || entry.multiaddrs.length > _MAX_MULTIADDRS) {
            revert RegistryInvalidListing("multiaddrs");
        }
        for (uint256 i = 0; i < entry.multiaddrs.length; ++i) {
            if (bytes(entry.multiaddrs[i]).length == 0 || bytes(entry.multiaddrs[i]).length > _MAX_TEXT) {
                revert RegistryInvalidListing("multiaddrs");
            }
        }
        if (bytes(entry.domain).length > _MAX_TEXT) revert RegistryInvalidListing("domain");
        if (bytes(entry.region).length > _MAX_TEXT) revert RegistryInvalidListing("region");
        if (entry.cpuMillis == 0) revert RegistryInvalidListing("cpuMillis");
        if (entry.memoryMiB == 0) revert RegistryInvalidListing("memoryMiB");
        _listings[msg.sender] = entry;
        _stakes[msg.sender].listed = true;
        if (!_known[msg.sender]) {
            _known[msg.sender] = true;
            _providers.push(msg.sender);
        }
        emit ListingUpdated(msg.sender, entry.peerId, entry.domain, entry.region);
    }

    /// @inheritdoc IIEPRegistry
    function unregister() external {
        _checkRegistered(msg.sender);
        delete _listings[msg.sender];
        _stakes[msg.sender].listed = false;
        emit ListingRemoved(msg.sender);
    }

    // ---------------------------------------------------------------- staking

    /// @inheritdoc IIEPRegistry
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert RegistryZeroAmount();
        // Credits what arrived, not what was asked (fee-on-transfer tokens): the books never exceed the vault.
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received == 0) revert RegistryZeroAmount();
        Stake storage s = _stakes[msg.sender];
        uint120 unbonding = s.unbonding;
        // Checked: the total (bonded + unbonding) stays within 120 bits; unstaking and slashing only move or shrink
        // its parts, so every part and sum of parts fits too.
        uint120 total = (uint256(s.bonded) + unbonding + received).toUint120();
        s.bonded = total - unbonding;
        emit Staked(msg.sender, received, total);
    }

    /// @inheritdoc IIEPRegistry
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert RegistryZeroAmount();
        Stake storage s = _stakes[msg.sender];
        uint256 free = _available(s);
        if (amount > free) revert RegistryInsufficientStake(msg.sender, free, amount);
        uint64 readyAt = (block.timestamp + _params.unbondingPeriod).toUint64();
        // Cannot overflow or underflow: amount <= free <= bonded, and bonded + unbonding (the total) fits in 120 bits.
        uint120 unbonding = s.unbonding + uint120(amount);
        s.bonded -= uint120(amount);
        s.unbonding = unbonding;
        s.readyAt = readyAt;
        emit UnstakeRequested(msg.sender, amount, unbonding, readyAt);
    }

    /// @inheritdoc IIEPRegistry
    function withdraw(address to) external nonReentrant returns (uint256 amount) {
        _checkRecipient(to);
        Stake storage s = _stakes[msg.sender];
        amount = s.unbonding;
        if (amount == 0) revert RegistryNothingToWithdraw(msg.sender);
        if (block.timestamp < s.readyAt) revert RegistryUnbondingNotOver(msg.sender, s.readyAt, block.timestamp);
        // The total (bonded + unbonding) falls by the unbonding part; bonded and locked stay (see _slash).
        s.unbonding = 0;
        s.readyAt = 0;
        _token.safeTransfer(to, amount);
        emit StakeWithdrawn(msg.sender, to, amount);
    }

    // ---------------------------------------------------------------- market hooks

    /// @inheritdoc IIEPRegistry
    function lockStake(address provider, uint256 amount) external restricted {
        Stake storage s = _stakes[provider];
        if (!s.listed) revert RegistryNotRegistered(provider);
        uint256 bonded = s.bonded;
        uint256 minStake = _gate.minStake;
        if (bonded < minStake) revert RegistryInsufficientStake(provider, bonded, minStake);
        uint120 locked = s.locked;
        uint256 free = bonded - locked;
        if (amount > free) revert RegistryInsufficientStake(provider, free, amount);
        // Cannot overflow: locked + amount <= bonded (uint120).
        unchecked {
            locked += uint120(amount);
        }
        s.locked = locked;
        emit StakeLocked(provider, amount, locked);
    }

    /// @inheritdoc IIEPRegistry
    function unlockStake(address provider, uint256 amount) external restricted {
        Stake storage s = _stakes[provider];
        // Saturating: an arbiter slash may already have consumed part of the locked collateral.
        uint120 locked = amount >= s.locked ? 0 : s.locked - uint120(amount);
        s.locked = locked;
        emit StakeUnlocked(provider, amount, locked);
    }

    /// @inheritdoc IIEPRegistry
    function slashLocked(address provider, uint256 amount, address recipient)
        external
        restricted
        nonReentrant
        returns (uint256 slashed)
    {
        Stake storage s = _stakes[provider];
        slashed = amount < s.locked ? amount : s.locked;
        // Cannot underflow: slashed <= locked <= bonded <= total.
        s.locked -= uint120(slashed);
        _slash(provider, s, slashed, recipient, bytes32(0));
    }

    /// @inheritdoc IIEPRegistry
    function slash(address provider, uint256 amount, address recipient, bytes32 incident)
        external
        restricted
        nonReentrant
    {
        if (amount == 0) revert RegistryZeroAmount();
        _checkRecipient(recipient);
        if (incident == bytes32(0) || _incidents[incident]) revert RegistryIncidentUsed(incident);
        Stake storage s = _stakes[provider];
        uint256 cap = ((uint256(s.bonded) + s.unbonding) * _params.slashCapBps) / _BPS;
        if (amount > cap) revert RegistrySlashAboveCap(provider, amount, cap);
        _incidents[incident] = true;
        _slash(provider, s, amount, recipient, incident);
    }

    /// @inheritdoc IIEPRegistry
    function setParameters(Parameters calldata params) external restricted {
        _setParameters(params);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IIEPRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IIEPRegistry
    function slashReactionWindow() external pure returns (uint64) {
        return SLASH_REACTION_WINDOW;
    }

    /// @inheritdoc IIEPRegistry
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc IIEPRegistry
    function listing(address provider) external view returns (Listing memory) {
        return _listings[provider];
    }

    /// @inheritdoc IIEPRegistry
    function stakeOf(address provider) external view returns (StakeInfo memory) {
        Stake storage s = _stakes[provider];
        return StakeInfo(uint128(s.bonded) + s.unbonding, s.locked, s.unbonding, s.readyAt);
    }

    /// @inheritdoc IIEPRegistry
    function availableStake(address provider) external view returns (uint256) {
        return _available(_stakes[provider]);
    }

    /// @inheritdoc IIEPRegistry
    function isActive(address provider) external view returns (bool) {
        Stake storage s = _stakes[provider];
        return s.listed && s.bonded >= _gate.minStake;
    }

    /// @inheritdoc IIEPRegistry
    function providers() external view returns (address[] memory) {
        return _providers;
    }

    /// @notice The AccessManager that guards the restricted functions.
    /// @dev Read from the slot {lockStake} reads anyway (see `_gate`).
    function authority() public view override returns (address) {
        return _gate.authority;
    }

    // ---------------------------------------------------------------- internals

    /// @dev AccessManaged's own record and event, plus the copy {authority} reads.
    function _setAuthority(address newAuthority) internal override {
        _gate.authority = newAuthority;
        super._setAuthority(newAuthority);
    }

    function _available(Stake storage s) private view returns (uint256) {
        return s.bonded - s.locked;
    }

    /// @dev Takes `amount` (<= total) from the stake, keeping locked <= total and unbonding <= total - locked (so
    /// locked <= bonded), and pays `recipient`.
    function _slash(address provider, Stake storage s, uint256 amount, address recipient, bytes32 incident)
        private
    {
        if (amount == 0) return;
        uint120 unbonding = s.unbonding;
        // Cannot underflow or truncate: amount <= total = bonded + unbonding, which fits in 120 bits (see stake).
        uint120 total = uint120(uint256(s.bonded) + unbonding - amount);
        uint120 locked = s.locked;
        if (locked > total) locked = total;
        if (unbonding > total - locked) unbonding = total - locked;
        s.bonded = total - unbonding;
        s.locked = locked;
        s.unbonding = unbonding;
        _token.safeTransfer(recipient, amount);
        emit Slashed(provider, amount, recipient, incident);
    }

    /// @dev Refuses zero, this registry and any lease market (an address its authority lets call the collateral
    /// hooks): the registry's and a market's token balances are booked, so tokens sent there are stranded.
    function _checkRecipient(address to) private view {
        if (to == address(0) || to == address(this)) revert RegistryInvalidRecipient(to);
        (bool immediate, uint32 delay) =
            AuthorityUtils.canCallWithDelay(authority(), to, address(this), this.lockStake.selector);
        if (immediate || delay != 0) revert RegistryInvalidRecipient(to);
    }

    function _checkRegistered(address provider) private view {
        if (_listings[provider].peerId.length == 0) revert RegistryNotRegistered(provider);
    }

    function _setParameters(Parameters memory p) private {
        if (p.unbondingPeriod == 0 || p.unbondingPeriod > 365 days) revert RegistryInvalidParameter("unbondingPeriod");
        if (p.slashCapBps == 0 || p.slashCapBps > _BPS) revert RegistryInvalidParameter("slashCapBps");
        // The arbiter's delay lives in the AccessManager (its grant of the arbiter role), which cannot list who
        // holds a role, so the registry cannot read it; deployment passes the same value to the grant and here.
        if (p.unbondingPeriod < uint256(p.slashDelay) + SLASH_REACTION_WINDOW) {
            revert RegistryUnbondingTooShort(p.unbondingPeriod, p.slashDelay, SLASH_REACTION_WINDOW);
        }
        if (p.minStake > type(uint96).max) revert RegistryInvalidParameter("minStake");
        _params = p;
        // Cannot truncate: checked just above.
        _gate.minStake = uint96(p.minStake);
        emit ParametersUpdated(p.minStake, p.unbondingPeriod, p.slashCapBps, p.slashDelay);
    }
}
