// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IIEPRegistry} from "./interfaces/IIEPRegistry.sol";
import {ILeaseMarket, LeaseId} from "./interfaces/ILeaseMarket.sol";
import {AccountId} from "./interfaces/IBudgetTree.sol";
import {BudgetTree} from "./BudgetTree.sol";

/// @title LeaseEscrow
/// @notice Leases paid per second out of budget accounts. Abstract: deployed as part of {IconMarket}.
abstract contract LeaseEscrow is ILeaseMarket, BudgetTree, EIP712 {
    using SafeERC20 for IERC20;

    /// @dev EIP-712 type of the provider's offer. Shared with TypeScript through protocol/eip712.ts.
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(address provider,uint64 account,address token,uint96 pricePerSecond,uint32 cpuMillis,uint32 memoryMiB,uint40 start,uint40 end,bytes32 specHash,uint256 nonce,uint256 deadline)"
    );
    /// @dev EIP-712 type of the tenant's acceptance: the whole offer nested, so wallets show every term.
    bytes32 public constant ACCEPTANCE_TYPEHASH = keccak256(
        "Acceptance(Offer offer)Offer(address provider,uint64 account,address token,uint96 pricePerSecond,uint32 cpuMillis,uint32 memoryMiB,uint40 start,uint40 end,bytes32 specHash,uint256 nonce,uint256 deadline)"
    );

    uint8 private constant _CONFIRMED = 1;
    uint8 private constant _TERMINATED = 2;
    uint8 private constant _SETTLED = 4;
    uint8 private constant _CANCELLED = 8;
    uint8 private constant _RELEASED = 16; // collateral released in the registry

    /// @dev Longest slot one lease may cover; renewals extend beyond it. Bounds deposits and time math.
    uint256 private constant _MAX_SLOT = 366 days;
    /// @dev Half the order of secp256k1: an ECDSA signature with a larger s is the malleable twin of another.
    uint256 private constant _HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @dev Most leases one {claimMany} may name: bounds the transaction's gas (≈ 10k per lease).
    uint256 public constant MAX_CLAIM_BATCH = 256;

    IIEPRegistry private immutable _registry;
    uint40 private immutable _startWindow;
    uint16 private immutable _collateralBps;

    uint64 private _leaseCount;
    mapping(LeaseId id => Lease) private _leases;
    mapping(address provider => mapping(uint256 word => uint256 bitmap)) private _nonces;
    mapping(address provider => uint256) private _earnings;

    constructor(IIEPRegistry registry_, uint40 startWindow_, uint16 collateralBps_) {
        _registry = registry_;
        _startWindow = startWindow_;
        _collateralBps = collateralBps_;
    }

    // ---------------------------------------------------------------- opening

    /// @inheritdoc ILeaseMarket
    function openLease(Offer calldata offer, bytes calldata providerSignature, bytes calldata tenantSignature)
        external
        nonReentrant
        returns (LeaseId id)
    {
        Offer memory o = _decodeOffer(offer);
        (bytes32 offerHash, uint256 deposit) = _acceptOffer(o, providerSignature, tenantSignature);
        uint64 n;
        // Cannot overflow: one lease per call, each costing > 100 000 gas; 2^64 of them would take ≈ 10^24 gas.
        unchecked {
            n = _leaseCount + 1;
        }
        _leaseCount = n;
        id = LeaseId.wrap(n);
        _storeLease(_leases[id], o);
        emit LeaseOpened(id, o.provider, o.account, o.pricePerSecond, o.start, o.end, deposit, offerHash);
    }

    /// @dev Checks terms and both signatures, uses the nonce, moves the deposit into escrow, locks collateral.
    function _acceptOffer(Offer memory o, bytes calldata providerSignature, bytes calldata tenantSignature)
        private
        returns (bytes32 offerHash, uint256 deposit)
    {
        if (o.token != address(_token)) revert LeaseWrongToken(o.token, address(_token));
        if (block.timestamp > o.deadline) revert LeaseOfferExpired(o.deadline, block.timestamp);
        uint256 slot;
        // Cannot underflow: end > start is checked first.
        unchecked {
            if (o.start < block.timestamp || o.end <= o.start || (slot = o.end - o.start) > _MAX_SLOT) {
                revert LeaseInvalidSlot(o.start, o.end, block.timestamp);
            }
        }
        Account storage a = _accounts[o.account];
        address controller = a.controller;
        if (controller == address(0)) revert BudgetUnknownAccount(o.account);
        if (a.closed) revert BudgetAccountClosed(o.account);
        uint256 cap = _apps[a.root].policy.maxPricePerSecond;
        if (o.pricePerSecond == 0 || (cap != 0 && o.pricePerSecond > cap)) {
            revert LeaseInvalidPrice(o.pricePerSecond, cap);
        }

        bytes32 structHash = _hashOfferStruct(o);
        bytes32 domain = _domainSeparatorV4();
        offerHash = MessageHashUtils.toTypedDataHash(domain, structHash);
        if (!_isValidSignature(o.provider, offerHash, providerSignature)) revert LeaseInvalidSignature(o.provider);
        bytes32 acceptHash = MessageHashUtils.toTypedDataHash(domain, _hashAcceptanceStruct(structHash));
        if (!_isValidSignature(controller, acceptHash, tenantSignature)) revert LeaseInvalidSignature(controller);
        _useNonce(o.provider, o.nonce);

        // Cannot overflow: uint96 price times a slot of at most _MAX_SLOT seconds.
        unchecked {
            deposit = uint256(o.pricePerSecond) * slot;
        }
        _debit(o.account, a, deposit);
        _lockCollateral(o.provider, _collateralOf(deposit));
    }

    /// @dev `_registry.lockStake(provider, amount)`, which also reverts unless the provider is listed and staked at
    /// least the minimum; its error bubbles up as it is. A plain call: the compiler's high-level call first asks
    /// whether the registry has code (the registry is immutable and answered `token()` in the constructor) and
    /// checks the empty return data, ≈ 200 gas more.
    function _lockCollateral(address provider, uint256 amount) private {
        address registry_ = address(_registry);
        bytes4 selector = IIEPRegistry.lockStake.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, selector)
            mstore(add(p, 0x04), provider)
            mstore(add(p, 0x24), amount)
            if iszero(call(gas(), registry_, 0, p, 0x44, 0, 0)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
        }
    }

    /// @inheritdoc ILeaseMarket
    function invalidateNonces(uint256 word, uint256 mask) external {
        _nonces[msg.sender][word] |= mask;
        emit NoncesInvalidated(msg.sender, word, mask);
    }

    // ---------------------------------------------------------------- provider side

    /// @inheritdoc ILeaseMarket
    function confirmStart(LeaseId id) external {
        Lease storage ls = _leases[id];
        _checkProvider(id, ls);
        _checkState(id, ls, _bit(LeaseState.Scheduled) | _bit(LeaseState.Running));
        if (ls.flags & _CONFIRMED != 0) return;
        ls.flags |= _CONFIRMED;
        emit LeaseStartConfirmed(id);
    }

    /// @inheritdoc ILeaseMarket
    function claim(LeaseId id) external returns (uint256 amount) {
        Lease storage ls = _leases[id];
        _checkProvider(id, ls);
        _checkState(id, ls, _bit(LeaseState.Running) | _bit(LeaseState.Ended));
        if (ls.flags & _CONFIRMED == 0) revert LeaseNotConfirmed(id);
        amount = _payAccrued(id, ls);
        if (amount == 0) revert LeaseNothingToClaim(id);
    }

    /// @inheritdoc ILeaseMarket
    /// @dev Each id passes exactly the checks of {claim} and emits its events; the earnings slot is written once
    /// for the sum (every id is the caller's). nonReentrant: the sum is booked after the registry calls of leases
    /// that settle.
    function claimMany(LeaseId[] calldata ids) external nonReentrant returns (uint256 total) {
        uint256 n = ids.length;
        if (n == 0 || n > MAX_CLAIM_BATCH) revert LeaseBatchLength(n, MAX_CLAIM_BATCH);
        for (uint256 i; i < n; ++i) {
            LeaseId id = ids[i];
            Lease storage ls = _leases[id];
            _checkProvider(id, ls);
            _checkState(id, ls, _bit(LeaseState.Running) | _bit(LeaseState.Ended));
            if (ls.flags & _CONFIRMED == 0) revert LeaseNotConfirmed(id);
            uint256 amount = _accrue(id, ls);
            if (amount == 0) revert LeaseNothingToClaim(id);
            total += amount;
        }
        _earnings[msg.sender] += total;
    }

    /// @inheritdoc ILeaseMarket
    function settle(LeaseId id) external {
        Lease storage ls = _leases[id];
        _checkState(id, ls, _bit(LeaseState.Ended));
        _payAccrued(id, ls);
    }

    /// @inheritdoc ILeaseMarket
    function withdrawEarnings(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert LeaseZeroRecipient();
        if (_isHouse(to)) revert LeaseInvalidRecipient(to);
        amount = _earnings[msg.sender];
        if (amount == 0) revert LeaseNoEarnings(msg.sender);
        _earnings[msg.sender] = 0;
        _token.safeTransfer(to, amount);
        emit EarningsWithdrawn(msg.sender, to, amount);
    }

    // ---------------------------------------------------------------- tenant side

    /// @inheritdoc ILeaseMarket
    function terminate(LeaseId id) external nonReentrant returns (uint256 refund) {
        Lease storage ls = _leases[id];
        LeaseState s = _checkState(id, ls, _bit(LeaseState.Scheduled) | _bit(LeaseState.Running));
        Account storage a = _accounts[ls.account];
        address sender = _sender();
        if (sender != a.controller && sender != _apps[a.root].owner) revert LeaseUnauthorized(id, sender);

        uint40 stopAt;
        uint8 flags = _TERMINATED;
        if (s == LeaseState.Scheduled || ls.flags & _CONFIRMED == 0) {
            // Not started, or started but never confirmed: nothing is owed to the provider.
            stopAt = ls.claimedUntil;
            flags |= _SETTLED;
        } else {
            // Cannot truncate: block.timestamp < end, which is a uint40.
            stopAt = uint40(block.timestamp);
        }
        // Cannot underflow: stopAt <= end.
        refund = uint256(ls.pricePerSecond) * (ls.end - stopAt);
        ls.stoppedAt = stopAt;
        ls.flags |= flags;
        _credit(a, refund);
        _releaseCollateral(id, ls, false);
        emit LeaseTerminated(id, stopAt, refund);
        if (flags & _SETTLED != 0) emit LeaseSettled(id);
    }

    /// @inheritdoc ILeaseMarket
    function cancelMissedStart(LeaseId id) external nonReentrant returns (uint256 refund, uint256 penalty) {
        Lease storage ls = _leases[id];
        _checkState(id, ls, _bit(LeaseState.StartMissed));
        refund = uint256(ls.pricePerSecond) * (ls.end - ls.claimedUntil);
        ls.stoppedAt = ls.claimedUntil;
        ls.flags |= _CANCELLED | _SETTLED;
        _credit(_accounts[ls.account], refund);
        penalty = _releaseCollateral(id, ls, false);
        emit LeaseCancelled(id, refund, penalty);
    }

    /// @inheritdoc ILeaseMarket
    function releaseCollateral(LeaseId id) external nonReentrant returns (uint256 penalty) {
        Lease storage ls = _leases[id];
        uint8 flags = ls.flags;
        if (flags & (_TERMINATED | _SETTLED | _CANCELLED) == 0 || flags & _RELEASED != 0) {
            revert LeaseNoCollateralPending(id);
        }
        penalty = _releaseCollateral(id, ls, true);
        emit CollateralReleased(id, penalty);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ILeaseMarket
    function lease(LeaseId id) external view returns (Lease memory) {
        return _leases[id];
    }

    /// @inheritdoc ILeaseMarket
    function state(LeaseId id) external view returns (LeaseState) {
        return _state(_leases[id]);
    }

    /// @inheritdoc ILeaseMarket
    function claimable(LeaseId id) external view returns (uint256) {
        Lease storage ls = _leases[id];
        if (ls.flags & _CONFIRMED == 0) return 0;
        (, uint256 amount) = _accrued(ls);
        return amount;
    }

    /// @inheritdoc ILeaseMarket
    function earningsOf(address provider) external view returns (uint256) {
        return _earnings[provider];
    }

    /// @inheritdoc ILeaseMarket
    function escrowOf(LeaseId id) external view returns (uint256) {
        Lease storage ls = _leases[id];
        return uint256(ls.pricePerSecond) * (_effectiveEnd(ls) - ls.claimedUntil);
    }

    /// @inheritdoc ILeaseMarket
    function collateralOf(LeaseId id) external view returns (uint256) {
        return _collateral(_leases[id]);
    }

    /// @inheritdoc ILeaseMarket
    function isNonceUsed(address provider, uint256 nonce) external view returns (bool) {
        return _nonces[provider][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc ILeaseMarket
    function hashOffer(Offer calldata o) external view returns (bytes32) {
        return _hashTypedDataV4(_hashOfferStruct(o));
    }

    /// @inheritdoc ILeaseMarket
    function hashAcceptance(Offer calldata o) external view returns (bytes32) {
        return _hashTypedDataV4(_hashAcceptanceStruct(_hashOfferStruct(o)));
    }

    /// @inheritdoc ILeaseMarket
    function leaseCount() external view returns (uint64) {
        return _leaseCount;
    }

    /// @inheritdoc ILeaseMarket
    function startWindow() external view returns (uint40) {
        return _startWindow;
    }

    /// @inheritdoc ILeaseMarket
    function collateralBps() external view returns (uint16) {
        return _collateralBps;
    }

    /// @notice The provider registry this market locks collateral in.
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @notice The payment token.
    function token() external view returns (address) {
        return address(_token);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Credits the provider's earnings with what accrued up to now (or the effective end) and settles a
    /// finished lease. Moves no tokens: earnings are withdrawn separately (pull payments).
    function _payAccrued(LeaseId id, Lease storage ls) private returns (uint256 amount) {
        amount = _accrue(id, ls);
        if (amount != 0) _earnings[ls.provider] += amount;
    }

    /// @dev {_payAccrued} without the earnings credit: moves claimedUntil, settles a finished lease and emits
    /// {LeaseClaimed}; the caller books the returned amount to the provider's earnings.
    function _accrue(LeaseId id, Lease storage ls) private returns (uint256 amount) {
        uint40 until;
        (until, amount) = _accrued(ls);
        ls.claimedUntil = until;
        if (until == _effectiveEnd(ls)) {
            uint8 flags = ls.flags;
            ls.flags = flags | _SETTLED;
            if (flags & _RELEASED == 0) _releaseCollateral(id, ls, false);
            emit LeaseSettled(id);
        }
        if (amount != 0) emit LeaseClaimed(id, amount, until);
    }

    /// @dev Books `amount` to the earnings of `to` (a provider or a relayer); moves no tokens.
    function _creditEarnings(address to, uint256 amount) internal {
        _earnings[to] += amount;
    }

    function _isHouse(address to) internal view override returns (bool) {
        return to == address(this) || to == address(_registry);
    }

    /// @dev Releases the lease's collateral in the registry, or for a cancelled lease slashes it to the paying
    /// account (crediting what arrived: a fee-on-transfer token delivers less). Unless `strict`, a failing
    /// registry (the market lost its role, the registry is paused or broken) is caught: the event says so, the
    /// collateral stays locked in the registry (the provider cannot unstake it) and {releaseCollateral} retries;
    /// so no refund, payment or settlement ever depends on the registry. With `strict` the error bubbles up.
    function _releaseCollateral(LeaseId id, Lease storage ls, bool strict) private returns (uint256 penalty) {
        uint256 amount = _collateral(ls);
        if (ls.flags & _CANCELLED != 0) {
            uint256 before = _token.balanceOf(address(this));
            if (strict) {
                _registry.slashLocked(ls.provider, amount, address(this));
            } else {
                try _registry.slashLocked(ls.provider, amount, address(this)) {}
                catch (bytes memory reason) {
                    emit CollateralReleaseFailed(id, reason);
                    return 0;
                }
            }
            penalty = _token.balanceOf(address(this)) - before;
            _credit(_accounts[ls.account], penalty);
        } else if (strict) {
            _registry.unlockStake(ls.provider, amount);
        } else {
            try _registry.unlockStake(ls.provider, amount) {}
            catch (bytes memory reason) {
                emit CollateralReleaseFailed(id, reason);
                return 0;
            }
        }
        ls.flags |= _RELEASED;
    }

    function _accrued(Lease storage ls) private view returns (uint40 until, uint256 amount) {
        uint40 end = _effectiveEnd(ls);
        // Cannot truncate: the minimum with a uint40 fits in uint40.
        until = block.timestamp < end ? uint40(block.timestamp) : end;
        if (until <= ls.claimedUntil) return (ls.claimedUntil, 0);
        amount = uint256(ls.pricePerSecond) * (until - ls.claimedUntil);
    }

    function _state(Lease storage ls) private view returns (LeaseState) {
        if (ls.provider == address(0)) return LeaseState.None;
        uint8 flags = ls.flags;
        if (flags & _CANCELLED != 0) return LeaseState.Cancelled;
        if (flags & _SETTLED != 0) return LeaseState.Settled;
        if (flags & (_CONFIRMED | _TERMINATED) == 0) {
            uint256 deadline = uint256(ls.start) + _startWindow;
            if (deadline > ls.end) deadline = ls.end;
            if (block.timestamp >= deadline) return LeaseState.StartMissed;
        }
        if (block.timestamp < ls.start) return LeaseState.Scheduled;
        if (block.timestamp < _effectiveEnd(ls)) return LeaseState.Running;
        return LeaseState.Ended;
    }

    function _checkState(LeaseId id, Lease storage ls, uint256 allowed) private view returns (LeaseState s) {
        s = _state(ls);
        if (_bit(s) & allowed == 0) revert LeaseInvalidState(id, s, allowed);
    }

    function _checkProvider(LeaseId id, Lease storage ls) private view {
        if (msg.sender != ls.provider) revert LeaseUnauthorized(id, msg.sender);
    }

    function _effectiveEnd(Lease storage ls) private view returns (uint40) {
        uint40 stopped = ls.stoppedAt;
        return stopped != 0 ? stopped : ls.end;
    }

    function _collateral(Lease storage ls) private view returns (uint256) {
        return _collateralOf(uint256(ls.pricePerSecond) * (ls.end - ls.start));
    }

    /// @dev deposit × collateralBps / 10 000 rounded up (in the market's favour): a small deposit never locks
    /// zero collateral unless collateralBps is zero.
    function _collateralOf(uint256 deposit) private view returns (uint256) {
        // Cannot overflow: deposit < 2^96 · 2^25 (a uint96 price over at most _MAX_SLOT seconds), bps < 2^16.
        unchecked {
            return (deposit * _collateralBps + _BPS - 1) / _BPS;
        }
    }

    /// @dev True if `signature` is `signer`'s over `hash`: an ECDSA signature recovering to `signer` (65 bytes, low s:
    /// the checks of OpenZeppelin's ECDSA.tryRecover), else an ERC-1271 contract's approval (OpenZeppelin
    /// SignatureChecker). ECDSA first:
    /// an EOA signer then costs no code-size probe of its (cold) account, 2 600 gas each; a contract signer pays a
    /// failed recovery (≈ 3 k) before its ERC-1271 call. Accepting a key's signature for an address that has code
    /// accepts only the key of that very address (an EIP-7702 account's own key, which controls it anyway): no key
    /// is known for a contract created by CREATE/CREATE2.
    function _isValidSignature(address signer, bytes32 hash, bytes calldata signature) internal view returns (bool) {
        if (signature.length == 65) {
            bytes32 r;
            bytes32 s;
            uint256 v;
            assembly ("memory-safe") {
                r := calldataload(signature.offset)
                s := calldataload(add(signature.offset, 0x20))
                v := byte(0, calldataload(add(signature.offset, 0x40)))
            }
            // The checks of OpenZeppelin's ECDSA.tryRecover: s in the lower half order (no malleable twin), a
            // non-zero result; v other than 27 or 28 makes the precompile return nothing.
            if (uint256(s) <= _HALF_ORDER) {
                address recovered;
                assembly ("memory-safe") {
                    // ecrecover(hash, v, r, s) through the precompile, in free memory (not allocated: read back at
                    // once); the result lands in scratch space.
                    let p := mload(0x40)
                    mstore(p, hash)
                    mstore(add(p, 0x20), v)
                    mstore(add(p, 0x40), r)
                    mstore(add(p, 0x60), s)
                    mstore(0x00, 0)
                    pop(staticcall(gas(), 1, p, 0x80, 0x00, 0x20))
                    recovered := mload(0x00)
                }
                if (recovered != address(0) && recovered == signer) return true;
            }
        }
        return SignatureChecker.isValidERC1271SignatureNowCalldata(signer, hash, signature);
    }

    function _useNonce(address provider, uint256 nonce) internal {
        mapping(uint256 word => uint256 bitmap) storage words = _nonces[provider];
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bitmap = words[nonce >> 8];
        if (bitmap & bit != 0) revert LeaseNonceUsed(provider, nonce);
        words[nonce >> 8] = bitmap | bit;
    }

    /// @dev keccak256(abi.encode(ACCEPTANCE_TYPEHASH, offerStructHash)), in scratch space.
    function _hashAcceptanceStruct(bytes32 offerStructHash) private pure returns (bytes32 h) {
        bytes32 typeHash = ACCEPTANCE_TYPEHASH;
        assembly ("memory-safe") {
            mstore(0x00, typeHash)
            mstore(0x20, offerStructHash)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @dev The offer in memory, validated as the ABI decoder validates it (each value within its type, else a revert
    /// without data), in one pass: Solidity's own copy (`Offer memory o = offer`) checks field by field (≈ 900 gas),
    /// and reading the calldata struct in place re-validates a field at each of ≈ 40 reads. An Offer is eleven words
    /// in calldata as in memory; the last three (bytes32, uint256, uint256) take any value.
    function _decodeOffer(Offer calldata offer) private pure returns (Offer memory o) {
        assembly ("memory-safe") {
            calldatacopy(o, offer, 0x160)
            let dirty := or(shr(160, mload(o)), shr(64, mload(add(o, 0x20)))) // provider, account
            dirty := or(dirty, or(shr(160, mload(add(o, 0x40))), shr(96, mload(add(o, 0x60))))) // token, price
            dirty := or(dirty, or(shr(32, mload(add(o, 0x80))), shr(32, mload(add(o, 0xa0))))) // cpu, memory
            dirty := or(dirty, or(shr(40, mload(add(o, 0xc0))), shr(40, mload(add(o, 0xe0))))) // start, end
            if dirty { revert(0, 0) }
        }
    }

    /// @dev keccak256(abi.encode(OFFER_TYPEHASH, o.provider, …, o.deadline)): an Offer in memory is its eleven
    /// fields as eleven clean words in order, so it is copied whole behind the type hash, in free memory (not
    /// allocated: it is only hashed).
    function _hashOfferStruct(Offer memory o) private pure returns (bytes32 h) {
        bytes32 typeHash = OFFER_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typeHash)
            mcopy(add(p, 0x20), o, 0x160)
            h := keccak256(p, 0x180)
        }
    }

    /// @dev Writes a new lease record: Lease(o.provider, o.start, o.end, 0, o.pricePerSecond, o.account, o.start, 0),
    /// its two slots as two words (Solidity's copy of a struct into storage reads and masks each field: ≈ 1 k more).
    /// Packing as the compiler lays out {Lease}: each slot's first field in the lowest bits. Flags 0 (open),
    /// claimedUntil = start, stoppedAt 0; every value has its type's width (decoded from calldata), so none spills.
    function _storeLease(Lease storage ls, Offer memory o) private {
        uint256 w0 = uint256(uint160(o.provider)) | (uint256(o.start) << 160) | (uint256(o.end) << 200);
        uint256 w1 = uint256(o.pricePerSecond) | (uint256(AccountId.unwrap(o.account)) << 96) | (uint256(o.start) << 160);
        assembly ("memory-safe") {
            sstore(ls.slot, w0)
            sstore(add(ls.slot, 1), w1)
        }
    }

    function _bit(LeaseState s) private pure returns (uint256) {
        return 1 << uint256(s);
    }
}
