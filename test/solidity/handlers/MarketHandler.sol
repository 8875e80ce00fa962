// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {FeeOnTransferTokenFake} from "../../../contracts/mocks/FeeOnTransferTokenFake.sol";
import {IEPRegistry} from "../../../contracts/IEPRegistry.sol";
import {IconMarket} from "../../../contracts/IconMarket.sol";
import {ILeaseMarket, LeaseId} from "../../../contracts/interfaces/ILeaseMarket.sol";
import {AccountId} from "../../../contracts/interfaces/IBudgetTree.sol";
import {RelayActor} from "./RelayActor.sol";
import {CheatBase} from "../utils/TestBase.sol";
import {Vm} from "../utils/Vm.sol";
import {Samples} from "../utils/Samples.sol";

/// @notice Invariant handler: every public non-view function is one bounded, mostly-valid action (or a small
/// group of them, selected by `kind`) by one of a few actors (providers, app owners, ICON controller keys, a
/// relayer, the arbiter, a stranger). Ghost
/// variables record what should have happened, from return values and events, independently of the
/// contracts' own bookkeeping. Where the contracts' views say an action must succeed (settle an ended lease,
/// withdraw unbonded stake, ...) the handler calls it in try/catch and records a surprise if it reverts;
/// where an action must fail (stranger moving money, replayed offer) a success is a surprise.
/// `MarketInvariants` checks the ghosts and `surprise` after every call. The handler itself never reverts
/// (checked by running the campaign with failOnRevert = true), so no call is silently dropped.
/// @notice The token the handler drives: the TestToken (owned by the handler) or the FeeOnTransferTokenFake.
interface IMintableToken is IERC20 {
    function mint(address to, uint256 amount) external;
}

contract MarketHandler is CheatBase {
    // ---------------------------------------------------------------- system under test
    IMintableToken public immutable token;
    IEPRegistry public immutable registry;
    IconMarket public immutable market;
    address public immutable arbiter;
    /// @dev Signs and relays intents for the handler (its own contract: see RelayActor).
    RelayActor public immutable relayActor;

    uint256 internal constant MAX_ACCOUNTS = 20;
    uint256 internal constant MAX_APPS = 4;
    bytes32 internal constant LEASE_CLAIMED = keccak256("LeaseClaimed(uint64,uint256,uint40)");

    // ---------------------------------------------------------------- actors
    uint256[] internal providerKeys;
    address[] public providers;
    uint256[] internal iconKeys;
    address[] public icons;
    address[] public owners;
    address public relayer = address(0x4E1A7E4);
    address public stranger = address(0x5742A6E4);
    address public slashRecipient = address(0x51A54EC);
    mapping(address => uint256) internal keyOf;
    uint256 internal immutable startWindow;

    // ---------------------------------------------------------------- faults (MarketFaultInvariants only)
    /// @dev Set when the token is the FeeOnTransferTokenFake: `fault` switches its fee on, off or to another rate.
    FeeOnTransferTokenFake public immutable feeToken;
    /// @dev Set when the handler holds the AccessManager's admin role: `fault` revokes and re-grants the market's
    /// LEASE_MARKET_ROLE, so collateral calls into the registry fail while it is revoked.
    AccessManager public immutable manager;
    uint64 internal constant LEASE_MARKET_ROLE = 1;
    address public constant FEE_SINK = address(0xFEE5);
    bool public gRoleRevoked;
    uint256 public gFeeBps;

    // ---------------------------------------------------------------- ghosts: budget tree
    struct GAccount {
        uint64 parent;
        uint64 root;
        address controller;
        uint8 depth;
        bool closed;
        // credits
        uint256 funded;
        uint256 allocIn;
        uint256 returnIn;
        uint256 refunds;
        uint256 penalties;
        // debits
        uint256 allocOut;
        uint256 returnOut;
        uint256 deposits;
        uint256 withdrawn;
        uint256 relayFees; // fees paid to relayers for intents charged to this account
    }

    uint64[] public accountIds;
    uint64[] public rootIds;
    mapping(uint64 => GAccount) internal gAccount;
    mapping(uint64 => address) public gOwnerOf;
    mapping(uint64 => uint96) public gCapOf;

    // ---------------------------------------------------------------- ghosts: leases
    struct GLease {
        address provider;
        uint64 account;
        uint96 price;
        uint40 start;
        uint40 end;
        uint256 deposit;
        uint256 collateral;
        uint256 paid; // Σ LeaseClaimed amounts (claim return values and settle events)
        uint256 refunded; // terminate / cancel refunds
        uint256 penalty;
        bool confirmed;
        bool released; // collateral handed back (unlock or slashLocked)
        bool settled;
        bool cancelled;
        uint256 stoppedAt; // set by terminate
    }

    uint64[] public leaseIds;
    mapping(uint64 => GLease) internal gLease;

    // ---------------------------------------------------------------- ghosts: registry (a model of StakeInfo)
    struct GStake {
        uint256 total;
        uint256 locked;
        uint256 unbonding;
        uint256 readyAt;
        uint256 staked;
        uint256 withdrawn;
        uint256 slashedArbiter;
        uint256 slashedMarket;
        bool listed;
        uint256 earned; // Σ paid on its leases, plus relay fees it earned relaying intents
        uint256 earningsWithdrawn;
    }

    mapping(address => GStake) internal gStake;

    // ---------------------------------------------------------------- ghosts: token
    uint256 public gMinted;
    uint256 public gSlashedToRecipient;
    uint256 public gIncidents;
    uint256 public gLastTimestamp;

    // ---------------------------------------------------------------- diagnostics
    string public surprise; // first unexpected revert / unexpected success, empty if none
    mapping(bytes32 => uint256) public calls; // successful actions by name
    uint256 public gCalls; // handler entry points called in this run (== invariant depth at the end)

    modifier step() {
        ++gCalls;
        _;
    }
    uint256 internal nonceCounter;


    // last opened offer, for a replay attempt
    ILeaseMarket.Offer internal lastOffer;
    bytes internal lastProviderSig;
    bytes internal lastTenantSig;
    bool internal haveLastOffer;

    constructor(
        IMintableToken token_,
        IEPRegistry registry_,
        IconMarket market_,
        address arbiter_,
        FeeOnTransferTokenFake feeToken_,
        AccessManager manager_,
        RelayActor relayActor_
    ) {
        token = token_;
        relayActor = relayActor_;
        feeToken = feeToken_;
        manager = manager_;
        registry = registry_;
        market = market_;
        arbiter = arbiter_;
        startWindow = market_.startWindow();
        for (uint256 i = 0; i < 3; ++i) {
            uint256 k = uint256(keccak256(abi.encode("provider", i))) % 1e70 + 1;
            providerKeys.push(k);
            address p = vm.addr(k);
            providers.push(p);
            keyOf[p] = k;
            vm.label(p, string.concat("provider", _str(i)));
            vm.prank(p);
            token.approve(address(registry), type(uint256).max);
        }
        for (uint256 i = 0; i < 4; ++i) {
            uint256 k = uint256(keccak256(abi.encode("icon", i))) % 1e70 + 1;
            iconKeys.push(k);
            address a = vm.addr(k);
            icons.push(a);
            keyOf[a] = k;
            vm.label(a, string.concat("icon", _str(i)));
        }
        for (uint256 i = 0; i < 2; ++i) {
            address o = address(uint160(0x0FF1CE00 + i));
            owners.push(o);
            vm.label(o, string.concat("owner", _str(i)));
            vm.prank(o);
            token.approve(address(market), type(uint256).max);
        }
        vm.label(relayer, "relayer");
        vm.label(stranger, "stranger");
        vm.label(slashRecipient, "slashRecipient");
        gLastTimestamp = block.timestamp;
    }

    // ================================================================ grouped entry points
    // The fuzzer picks target functions uniformly; grouping the rarer actions keeps the lease lifecycle
    // (open, confirm, claim, settle, terminate, cancel, withdraw earnings, warp, warpToEdge) at 9 of the 14
    // entry points.

    /// @notice kind % 3: stake, requestUnstake, withdraw unbonded stake.
    function stakeOp(uint256 kind, uint256 pSeed, uint256 amount) external step {
        kind %= 3;
        if (kind == 0) _act_stake(pSeed, amount);
        else if (kind == 1) _act_requestUnstake(pSeed, amount);
        else _act_withdrawStake(pSeed);
    }

    /// @notice kind % 3: register, unregister, arbiter slash.
    function providerOp(uint256 kind, uint256 pSeed, uint256 amount) external step {
        kind %= 3;
        if (kind == 0) _act_register(pSeed);
        else if (kind == 1) _act_unregister(pSeed);
        else _act_arbiterSlash(pSeed, amount);
    }

    /// @notice kind % 6: createApp, createAccount, allocate, returnToParent, closeAccount, relayed allocate.
    function treeOp(uint256 kind, uint256 seedA, uint256 seedB, uint256 amount, bool flag) external step {
        kind %= 6;
        if (kind == 0) _act_createApp(seedA, seedB, amount, seedB >> 8);
        else if (kind == 1) _act_createAccount(seedA, seedB, flag);
        else if (kind == 2) _act_allocate(seedA, amount, flag);
        else if (kind == 3) _act_returnToParent(seedA, amount, seedB);
        else if (kind == 4) _act_closeAccount(seedA, seedB);
        else _act_relayAllocate(seedA, amount, seedB);
    }

    /// @notice kind % 3: fund (owner or stranger), owner withdraws from a root, owner replaces a controller.
    function ownerOp(uint256 kind, uint256 seedA, uint256 seedB, uint256 amount, bool flag) external step {
        kind %= 3;
        if (kind == 0) _act_fund(seedA, amount, flag);
        else if (kind == 1) _act_withdrawBudget(seedA, amount);
        else _act_setController(seedA, seedB);
    }

    /// @notice Faults (a no-op unless the suite enables them): kind % 4 = 0 sets the token's transfer fee to
    /// 0..10 % (one time in three off), 1 revokes the market's registry role, 2 re-grants it, 3 retries the
    /// collateral release of a lease whose release failed.
    function fault(uint256 kind, uint256 x) external step {
        kind %= 4;
        if (kind == 0 && address(feeToken) != address(0)) {
            gFeeBps = x % 3 == 0 ? 0 : bound(x >> 2, 1, 1_000);
            feeToken.setFee(uint16(gFeeBps));
            _count("setFee");
        } else if (kind == 1 && address(manager) != address(0)) {
            manager.revokeRole(LEASE_MARKET_ROLE, address(market));
            gRoleRevoked = true;
            _count("revokeMarketRole");
        } else if (kind == 2 && address(manager) != address(0)) {
            manager.grantRole(LEASE_MARKET_ROLE, address(market), 0);
            gRoleRevoked = false;
            _count("grantMarketRole");
        } else if (kind == 3) {
            _act_releaseCollateral(x);
        }
    }

    /// @notice Forbidden moves that must all revert: stranger actions, replaying an opened offer or a relayed intent.
    function abuse(uint256 kind, uint256 seed) external step {
        if (kind % 7 == 6) _act_replayLastIntent();
        else if (kind % 7 == 5) _act_replayLastOffer();
        else _act_strangerAttack(kind, seed);
    }

    // ================================================================ registry actions

    function _act_register(uint256 pSeed) internal {
        address p = providers[pSeed % providers.length];
        _register(p);
    }

    function _act_unregister(uint256 pSeed) internal {
        address p = providers[pSeed % providers.length];
        if (!gStake[p].listed) return;
        vm.prank(p);
        registry.unregister();
        gStake[p].listed = false;
        _count("unregister");
    }

    function _act_stake(uint256 pSeed, uint256 amount) internal {
        address p = providers[pSeed % providers.length];
        amount = bound(amount, 1, 500e6);
        _stake(p, amount);
    }

    function _act_requestUnstake(uint256 pSeed, uint256 amount) internal {
        address p = providers[pSeed % providers.length];
        GStake storage g = gStake[p];
        uint256 free = g.total - g.unbonding - g.locked;
        if (registry.availableStake(p) != free) _surprise("availableStake != model");
        bool over;
        (amount, over) = _amount(amount, free);
        vm.prank(p);
        try registry.requestUnstake(amount) {
            if (over) _surprise("requestUnstake above available stake succeeded");
            g.unbonding += amount;
            g.readyAt = block.timestamp + registry.parameters().unbondingPeriod;
            _count("requestUnstake");
        } catch (bytes memory err) {
            if (!over) _surpriseErr("requestUnstake within available reverted", err);
        }
    }

    function _act_withdrawStake(uint256 pSeed) internal {
        address p = _pickProvider(pSeed, 1);
        GStake storage g = gStake[p];
        bool ready = g.unbonding != 0 && block.timestamp >= g.readyAt;
        uint256 before = token.balanceOf(p);
        vm.prank(p);
        try registry.withdraw(p) returns (uint256 amount) {
            if (!ready) _surprise("registry.withdraw succeeded before unbonding was over / with nothing unbonding");
            if (amount != g.unbonding) _surprise("registry.withdraw amount != unbonding");
            if (token.balanceOf(p) - before != _net(amount)) _surprise("registry.withdraw transferred != amount");
            g.total -= amount;
            g.withdrawn += amount;
            g.unbonding = 0;
            g.readyAt = 0;
            _count("withdrawStake");
        } catch (bytes memory err) {
            if (ready) _surpriseErr("registry.withdraw reverted although unbonding was over", err);
        }
    }

    /// @dev Arbiter slash (the test wiring grants ARBITER_ROLE with execution delay 0), within the cap.
    function _act_arbiterSlash(uint256 pSeed, uint256 amount) internal {
        address p = providers[pSeed % providers.length];
        GStake storage g = gStake[p];
        uint256 cap = (g.total * registry.parameters().slashCapBps) / 10_000;
        bool over;
        (amount, over) = _amount(amount, cap);
        bytes32 incident = keccak256(abi.encode("incident", ++gIncidents));
        vm.prank(arbiter);
        try registry.slash(p, amount, slashRecipient, incident) {
            if (over) _surprise("arbiter slash above the cap succeeded");
            _modelSlash(g, amount);
            g.slashedArbiter += amount;
            gSlashedToRecipient += _net(amount);
            _count("arbiterSlash");
        } catch (bytes memory err) {
            if (!over) _surpriseErr("arbiter slash within cap reverted", err);
            return;
        }
        // the same incident can never be used twice
        vm.prank(arbiter);
        try registry.slash(p, 1, slashRecipient, incident) {
            _surprise("incident reused");
        } catch {}
    }

    // ================================================================ budget tree actions

    function _act_createApp(uint256 ownerSeed, uint256 iconSeed, uint256 deposit, uint256 capSeed) internal {
        if (rootIds.length >= MAX_APPS || accountIds.length >= MAX_ACCOUNTS) return;
        address o = owners[ownerSeed % owners.length];
        address c = icons[iconSeed % icons.length];
        deposit = bound(deposit, 0, 2_000e6);
        uint96 cap = capSeed % 3 == 0 ? uint96(bound(capSeed, 1, 2_000)) : 0;
        _mintTo(o, deposit);
        uint256 received = _net(deposit);
        vm.prank(o);
        try market.createApp(c, Samples.policy(cap), deposit) returns (AccountId rootId) {
            uint64 id = AccountId.unwrap(rootId);
            if (id != accountIds.length + 1) _surprise("account ids not sequential");
            accountIds.push(id);
            rootIds.push(id);
            GAccount storage a = gAccount[id];
            a.root = id;
            a.controller = c;
            a.funded = received;
            if (_balance(id) != received) _surprise("createApp credited != what arrived");
            gOwnerOf[id] = o;
            gCapOf[id] = cap;
            _count("createApp");
        } catch (bytes memory err) {
            _surpriseErr("createApp reverted", err);
        }
    }

    function _act_fund(uint256 aSeed, uint256 amount, bool byStranger) internal {
        (bool ok, uint64 id) = _pickAccount(aSeed, true);
        if (!ok) return;
        amount = bound(amount, 1, 1_000e6);
        address from = byStranger ? stranger : gOwnerOf[gAccount[id].root];
        _fund(from, id, amount);
    }

    function _act_createAccount(uint256 aSeed, uint256 iconSeed, bool asOwner) internal {
        if (accountIds.length >= MAX_ACCOUNTS) return;
        (bool ok, uint64 parent) = _pickAccount(aSeed, true);
        if (!ok) return;
        GAccount storage p = gAccount[parent];
        address c = icons[iconSeed % icons.length];
        address caller = asOwner ? gOwnerOf[p.root] : p.controller;
        vm.prank(caller);
        try market.createAccount(AccountId.wrap(parent), c) returns (AccountId childId) {
            if (p.depth + 1 > 8) _surprise("createAccount beyond max depth");
            uint64 id = AccountId.unwrap(childId);
            accountIds.push(id);
            GAccount storage a = gAccount[id];
            a.parent = parent;
            a.root = p.root;
            a.controller = c;
            a.depth = p.depth + 1;
            _count("createAccount");
        } catch (bytes memory err) {
            if (p.depth + 1 <= 8) _surpriseErr("createAccount reverted", err);
        }
    }

    function _act_allocate(uint256 aSeed, uint256 amount, bool asOwner) internal {
        (bool ok, uint64 child) = _pickChild(aSeed, true);
        if (!ok) return;
        uint64 parent = gAccount[child].parent;
        uint256 bal = expectedBalance(parent);
        bool over;
        (amount, over) = _amount(amount, bal);
        address caller = asOwner ? gOwnerOf[gAccount[parent].root] : gAccount[parent].controller;
        uint256 sumBefore = _balance(parent) + _balance(child);
        // A closed parent only hands money back up: its open children (made before it closed) get nothing more.
        bool parentClosed = gAccount[parent].closed;
        vm.prank(caller);
        try market.allocate(AccountId.wrap(parent), AccountId.wrap(child), amount) {
            if (over) _surprise("allocate of more than the parent holds succeeded");
            if (parentClosed) _surprise("allocate from a closed parent succeeded");
            gAccount[parent].allocOut += amount;
            gAccount[child].allocIn += amount;
            if (_balance(parent) + _balance(child) != sumBefore) _surprise("allocate changed parent+child sum");
            _count("allocate");
        } catch (bytes memory err) {
            if (!over && !parentClosed) _surpriseErr("allocate reverted", err);
        }
    }

    function _act_returnToParent(uint256 aSeed, uint256 amount, uint256 callerSeed) internal {
        (bool ok, uint64 child) = _pickChild(aSeed, false);
        if (!ok) return;
        uint64 parent = gAccount[child].parent;
        uint256 bal = expectedBalance(child);
        bool over;
        (amount, over) = _amount(amount, bal);
        uint256 which = callerSeed % 3;
        address caller = which == 0
            ? gAccount[child].controller
            : which == 1 ? gAccount[parent].controller : gOwnerOf[gAccount[child].root];
        uint256 sumBefore = _balance(child) + _balance(parent);
        vm.prank(caller);
        try market.returnToParent(AccountId.wrap(child), amount) {
            if (over) _surprise("returnToParent of more than the child holds succeeded");
            gAccount[child].returnOut += amount;
            gAccount[parent].returnIn += amount;
            if (_balance(parent) + _balance(child) != sumBefore) _surprise("returnToParent changed parent+child sum");
            _count("returnToParent");
        } catch (bytes memory err) {
            if (!over) _surpriseErr("returnToParent reverted", err);
        }
    }

    function _act_closeAccount(uint256 aSeed, uint256 callerSeed) internal {
        (bool ok, uint64 child) = _pickChild(aSeed, true);
        if (!ok) return;
        uint64 parent = gAccount[child].parent;
        uint256 bal = _balance(child);
        address caller = callerSeed % 2 == 0 ? gAccount[child].controller : gOwnerOf[gAccount[child].root];
        vm.prank(caller);
        try market.closeAccount(AccountId.wrap(child)) {
            gAccount[child].returnOut += bal;
            gAccount[parent].returnIn += bal;
            gAccount[child].closed = true;
            if (_balance(child) != 0) _surprise("closed account kept a balance");
            _count("closeAccount");
        } catch (bytes memory err) {
            _surpriseErr("closeAccount reverted", err);
        }
    }

    /// @dev The parent's ICON key signs an allocate intent with a fee; a provider's yard relays it (RelayActor). Refused
    /// exactly when the parent is closed, cannot pay fee + amount, or the fee would pass the application's allowance
    /// for the day (kept per root; relayFeesPaid reads it through any account of the tree).
    function _act_relayAllocate(uint256 aSeed, uint256 amount, uint256 feeSeed) internal {
        (bool ok, uint64 child) = _pickChild(aSeed, true);
        if (!ok) return;
        uint64 parent = gAccount[child].parent;
        // Every app the handler creates has Samples.policy's relay caps (it never publishes another policy).
        uint96 fee = uint96(bound(feeSeed, 0, Samples.MAX_RELAY_FEE));
        uint256 spent = market.relayFeesPaid(AccountId.wrap(parent), block.timestamp / 1 days);
        uint256 bal = expectedBalance(parent);
        bool refused;
        (amount, refused) = _amount(amount, bal > fee ? bal - fee : 0);
        refused = refused || gAccount[parent].closed || (fee != 0 && spent + fee > Samples.RELAY_ALLOWANCE_PER_DAY);
        _relayAllocate(child, amount, fee, providers[feeSeed % providers.length], refused);
    }

    function _relayAllocate(uint64 child, uint256 amount, uint96 fee, address yard, bool refused) internal {
        uint64 parent = gAccount[child].parent;
        uint256 vaultBefore = token.balanceOf(address(market));
        (bool relayed, bytes memory err) =
            relayActor.relayAllocate(keyOf[gAccount[parent].controller], parent, child, amount, fee, yard);
        if (!relayed) {
            if (!refused) _surpriseErr("valid relayed allocate reverted", err);
            return;
        }
        if (refused) _surprise("a relayed allocate that must fail succeeded");
        if (token.balanceOf(address(market)) != vaultBefore) _surprise("relay moved tokens");
        gAccount[parent].relayFees += fee;
        gAccount[parent].allocOut += amount;
        gAccount[child].allocIn += amount;
        gStake[yard].earned += fee;
        _count("relay");
    }

    /// @dev Re-submitting a relayed intent must always fail (its nonce is used), whoever relays it.
    function _act_replayLastIntent() internal {
        if (relayActor.replayLast(stranger)) _surprise("a replayed intent ran twice");
    }

    function _act_withdrawBudget(uint256 rSeed, uint256 amount) internal {
        if (rootIds.length == 0) return;
        uint64 root = rootIds[rSeed % rootIds.length];
        bool over;
        (amount, over) = _amount(amount, expectedBalance(root));
        address o = gOwnerOf[root];
        vm.prank(o);
        try market.withdraw(AccountId.wrap(root), amount, o) {
            if (over) _surprise("owner withdrew more than the root holds");
            gAccount[root].withdrawn += amount;
            _count("withdrawBudget");
        } catch (bytes memory err) {
            if (!over) _surpriseErr("owner withdraw from root reverted", err);
        }
    }

    function _act_setController(uint256 aSeed, uint256 iconSeed) internal {
        (bool ok, uint64 id) = _pickAccount(aSeed, false);
        if (!ok) return;
        address c = icons[iconSeed % icons.length];
        vm.prank(gOwnerOf[gAccount[id].root]);
        try market.setController(AccountId.wrap(id), c) {
            gAccount[id].controller = c;
            _count("setController");
        } catch (bytes memory err) {
            _surpriseErr("setController by owner reverted", err);
        }
    }

    /// @dev A stranger (not owner, not a controller) tries to move money: every attempt must revert.
    function _act_strangerAttack(uint256 kind, uint256 seed) internal {
        if (accountIds.length == 0) return;
        uint64 id = accountIds[seed % accountIds.length];
        uint64 root = gAccount[id].root;
        bool succeeded;
        vm.startPrank(stranger);
        kind = kind % 5;
        if (kind == 0) {
            try market.withdraw(AccountId.wrap(root), 1, stranger) { succeeded = true; } catch {}
        } else if (kind == 1) {
            try market.returnToParent(AccountId.wrap(id), 1) { succeeded = true; } catch {}
        } else if (kind == 2) {
            try market.createAccount(AccountId.wrap(id), stranger) { succeeded = true; } catch {}
        } else if (kind == 3) {
            try market.setController(AccountId.wrap(id), stranger) { succeeded = true; } catch {}
        } else if (leaseIds.length != 0) {
            uint64 lid = leaseIds[seed % leaseIds.length];
            try market.terminate(LeaseId.wrap(lid)) { succeeded = true; } catch {}
            try market.claim(LeaseId.wrap(lid)) { succeeded = true; } catch {}
        }
        vm.stopPrank();
        if (succeeded) _surprise("a stranger moved money or took control");
    }

    // ================================================================ lease actions

    struct OpenArgs {
        uint256 pSeed;
        uint256 aSeed;
        uint256 price;
        uint256 startDelay;
        uint256 duration;
    }

    /// @dev Opens a lease between a provider and an open account; lists/stakes the provider and funds the
    /// account first if needed, so that the open must succeed.
    function openLease(uint256 pSeed, uint256 aSeed, uint256 price, uint256 startDelay, uint256 duration) external step {
        _openLease(OpenArgs(pSeed, aSeed, price, startDelay, duration));
    }

    function _openLease(OpenArgs memory args) internal {
        if (accountIds.length == 0) _act_createApp(args.aSeed, args.pSeed, args.price, 1);
        (bool ok, uint64 acct) = _pickAccount(args.aSeed, true);
        if (!ok) return;
        address p = providers[args.pSeed % providers.length];
        uint96 cap = gCapOf[gAccount[acct].root];
        ILeaseMarket.Offer memory o;
        o.provider = p;
        o.account = AccountId.wrap(acct);
        o.token = address(token);
        o.pricePerSecond = uint96(bound(args.price, 1, cap == 0 ? 2_000 : cap));
        o.cpuMillis = 500;
        o.memoryMiB = 256;
        o.start = uint40(block.timestamp + bound(args.startDelay, 0, 2 hours));
        o.end = o.start + uint40(args.duration % 2 == 0 ? bound(args.duration >> 1, 1, 2 hours) : bound(args.duration >> 1, 1, 3 days));
        o.specHash = keccak256(abi.encode("spec", args.price));
        o.nonce = uint256(keccak256(abi.encode(p, ++nonceCounter)));
        o.deadline = block.timestamp + 10 minutes;
        uint256 deposit = uint256(o.pricePerSecond) * (o.end - o.start);
        uint256 collateral = (deposit * market.collateralBps() + 9_999) / 10_000; // rounded up
        // make the open valid: listing, bonded stake >= minimum, free stake >= collateral, budget >= deposit
        _prepareProvider(p, collateral);
        // one lease in three runs in a fresh replica account: the ICON creates a child and allocates to it
        if (args.aSeed % 3 == 0 && accountIds.length < MAX_ACCOUNTS && gAccount[acct].depth < 8) {
            acct = _spawnChild(acct, args.startDelay, deposit);
            o.account = AccountId.wrap(acct);
        }
        uint256 bal = _balance(acct);
        if (bal < deposit) _fund(gOwnerOf[gAccount[acct].root], acct, _gross(deposit - bal));
        _submit(o, deposit, collateral);
    }

    /// @dev The parent's controller creates a child controlled by another ICON key and allocates `amount`.
    function _spawnChild(uint64 parent, uint256 iconSeed, uint256 amount) internal returns (uint64 child) {
        GAccount storage p = gAccount[parent];
        address c = icons[(iconSeed >> 3) % icons.length];
        vm.prank(p.controller);
        try market.createAccount(AccountId.wrap(parent), c) returns (AccountId childId) {
            child = AccountId.unwrap(childId);
            accountIds.push(child);
            GAccount storage a = gAccount[child];
            a.parent = parent;
            a.root = p.root;
            a.controller = c;
            a.depth = p.depth + 1;
            _count("createAccount");
        } catch (bytes memory err) {
            _surpriseErr("createAccount for a replica reverted", err);
            return parent;
        }
        uint256 bal = _balance(parent);
        if (bal < amount) _fund(gOwnerOf[p.root], parent, _gross(amount - bal));
        vm.prank(p.controller);
        try market.allocate(AccountId.wrap(parent), AccountId.wrap(child), amount) {
            p.allocOut += amount;
            gAccount[child].allocIn += amount;
            _count("allocate");
        } catch (bytes memory err) {
            _surpriseErr("allocate to a replica reverted", err);
        }
    }

    function _prepareProvider(address p, uint256 collateral) internal {
        if (!gStake[p].listed) _register(p);
        GStake storage g = gStake[p];
        uint256 minStake = registry.parameters().minStake;
        uint256 bonded = g.total - g.unbonding;
        uint256 need;
        if (bonded < minStake) need = minStake - bonded;
        if (bonded + need - g.locked < collateral) need = collateral + g.locked - bonded;
        if (need != 0) _stake(p, _gross(need));
    }

    function _submit(ILeaseMarket.Offer memory o, uint256 deposit, uint256 collateral) internal {
        uint64 acct = AccountId.unwrap(o.account);
        bytes memory ps = _sign(keyOf[o.provider], market.hashOffer(o));
        bytes memory ts = _sign(keyOf[gAccount[acct].controller], market.hashAcceptance(o));
        uint256 vaultBefore = token.balanceOf(address(market));
        vm.prank(relayer);
        try market.openLease(o, ps, ts) returns (LeaseId leaseId) {
            uint64 id = LeaseId.unwrap(leaseId);
            if (id != leaseIds.length + 1) _surprise("lease ids not sequential");
            if (token.balanceOf(address(market)) != vaultBefore) _surprise("openLease moved tokens");
            if (gRoleRevoked) _surprise("openLease without the market role succeeded");
            leaseIds.push(id);
            GLease storage l = gLease[id];
            l.provider = o.provider;
            l.account = acct;
            l.price = o.pricePerSecond;
            l.start = o.start;
            l.end = o.end;
            l.deposit = deposit;
            l.collateral = collateral;
            gAccount[acct].deposits += deposit;
            gStake[o.provider].locked += collateral;
            if (market.collateralOf(leaseId) != collateral) _surprise("collateralOf != deposit * bps");
            lastOffer = o;
            lastProviderSig = ps;
            lastTenantSig = ts;
            haveLastOffer = true;
            _count("openLease");
        } catch (bytes memory err) {
            if (!gRoleRevoked) _surpriseErr("valid openLease reverted", err);
        }
    }

    /// @dev Re-submitting an opened offer must always fail (nonce used, or by now expired / started).
    function _act_replayLastOffer() internal {
        if (!haveLastOffer) return;
        vm.prank(relayer);
        try market.openLease(lastOffer, lastProviderSig, lastTenantSig) {
            _surprise("replayed offer opened a second lease");
        } catch {}
    }

    function confirmStart(uint256 lSeed) external step {
        (bool ok, uint64 id) = _pickLeaseIn(lSeed, _bit(ILeaseMarket.LeaseState.Scheduled) | _bit(ILeaseMarket.LeaseState.Running), true);
        if (!ok) return;
        GLease storage l = gLease[id];
        ILeaseMarket.LeaseState s = market.state(LeaseId.wrap(id));
        bool allowed = s == ILeaseMarket.LeaseState.Scheduled || s == ILeaseMarket.LeaseState.Running;
        vm.prank(l.provider);
        try market.confirmStart(LeaseId.wrap(id)) {
            if (!allowed) _surprise("confirmStart outside Scheduled/Running");
            l.confirmed = true;
            _count("confirmStart");
        } catch (bytes memory err) {
            if (allowed) _surpriseErr("confirmStart reverted in Scheduled/Running", err);
        }
    }

    function claim(uint256 lSeed) external step {
        (bool ok, uint64 id) = _pickLeaseIn(lSeed, _bit(ILeaseMarket.LeaseState.Running) | _bit(ILeaseMarket.LeaseState.Ended), false);
        if (!ok) return;
        GLease storage l = gLease[id];
        LeaseId lid = LeaseId.wrap(id);
        ILeaseMarket.LeaseState s = market.state(lid);
        ILeaseMarket.Lease memory rec = market.lease(lid);
        uint256 effEnd = rec.stoppedAt != 0 ? rec.stoppedAt : rec.end;
        uint256 until = block.timestamp < effEnd ? block.timestamp : effEnd;
        uint256 expected = until > rec.claimedUntil ? uint256(l.price) * (until - rec.claimedUntil) : 0;
        bool mustWork = l.confirmed && expected != 0 &&
            (s == ILeaseMarket.LeaseState.Running || s == ILeaseMarket.LeaseState.Ended);
        if (market.claimable(lid) != (l.confirmed ? expected : 0)) _surprise("claimable != price * elapsed");
        vm.prank(l.provider);
        try market.claim(lid) returns (uint256 amount) {
            if (!mustWork) _surprise("claim succeeded when nothing was claimable");
            if (amount != expected) _surprise("claim amount != price * (min(now, end) - claimedUntil)");
            _paid(l, amount);
            if (until == effEnd) {
                _release(l);
                l.settled = true;
            }
            _count("claim");
        } catch (bytes memory err) {
            if (mustWork) _surpriseErr("claim reverted with something claimable", err);
        }
    }

    function settle(uint256 lSeed) external step {
        (bool ok, uint64 id) = _pickLeaseIn(lSeed, _bit(ILeaseMarket.LeaseState.Ended), false);
        if (!ok) return;
        GLease storage l = gLease[id];
        LeaseId lid = LeaseId.wrap(id);
        bool ended = market.state(lid) == ILeaseMarket.LeaseState.Ended;
        uint256 earningsBefore = market.earningsOf(l.provider);
        vm.recordLogs();
        vm.prank(stranger);
        try market.settle(lid) {
            if (!ended) _surprise("settle succeeded on a lease that has not ended");
            uint256 amount = _claimedFromLogs(id);
            if (market.earningsOf(l.provider) - earningsBefore != amount) _surprise("settle: earnings != event");
            _paid(l, amount);
            _release(l);
            l.settled = true;
            if (market.state(lid) != ILeaseMarket.LeaseState.Settled) _surprise("settle did not settle");
            _count("settle");
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            if (ended) _surpriseErr("settle reverted on an ended lease", err);
        }
    }

    function terminate(uint256 lSeed, bool asOwner) external step {
        (bool ok, uint64 id) = _pickLeaseIn(lSeed, _bit(ILeaseMarket.LeaseState.Scheduled) | _bit(ILeaseMarket.LeaseState.Running), false);
        if (!ok) return;
        GLease storage l = gLease[id];
        LeaseId lid = LeaseId.wrap(id);
        ILeaseMarket.LeaseState s = market.state(lid);
        bool allowed = s == ILeaseMarket.LeaseState.Scheduled || s == ILeaseMarket.LeaseState.Running;
        GAccount storage a = gAccount[l.account];
        address caller = asOwner ? gOwnerOf[a.root] : a.controller;
        bool confirmedRunning = s == ILeaseMarket.LeaseState.Running && l.confirmed;
        uint256 stopAt = confirmedRunning ? block.timestamp : l.start;
        vm.prank(caller);
        try market.terminate(lid) returns (uint256 refund) {
            if (!allowed) _surprise("terminate outside Scheduled/Running");
            if (refund != uint256(l.price) * (l.end - stopAt)) _surprise("terminate refund != price * (end - stop)");
            l.refunded += refund;
            a.refunds += refund;
            l.stoppedAt = stopAt;
            if (!confirmedRunning) l.settled = true;
            _release(l);
            _count("terminate");
        } catch (bytes memory err) {
            if (allowed) _surpriseErr("terminate reverted in Scheduled/Running", err);
        }
    }

    function cancelMissedStart(uint256 lSeed) external step {
        (bool ok, uint64 id) = _pickLeaseIn(lSeed, _bit(ILeaseMarket.LeaseState.StartMissed), false);
        if (!ok) return;
        GLease storage l = gLease[id];
        LeaseId lid = LeaseId.wrap(id);
        bool missed = market.state(lid) == ILeaseMarket.LeaseState.StartMissed;
        GStake storage g = gStake[l.provider];
        vm.prank(stranger);
        try market.cancelMissedStart(lid) returns (uint256 refund, uint256 penalty) {
            if (!missed) _surprise("cancelMissedStart on a lease whose start was not missed");
            if (l.confirmed) _surprise("cancelled a confirmed lease");
            if (refund != l.deposit) _surprise("cancel refund != deposit");
            l.refunded += refund;
            gAccount[l.account].refunds += refund;
            l.cancelled = true;
            uint256 arrived = gRoleRevoked ? 0 : _slashPenalty(l, g);
            if (penalty != arrived) _surprise("cancel penalty != what arrived of min(collateral, locked)");
            _count("cancelMissedStart");
        } catch (bytes memory err) {
            if (missed) _surpriseErr("cancelMissedStart reverted on a missed start", err);
        }
    }

    function withdrawEarnings(uint256 pSeed) external step {
        address p = _pickProvider(pSeed, 2);
        GStake storage g = gStake[p];
        uint256 owed = g.earned - g.earningsWithdrawn;
        uint256 before = token.balanceOf(p);
        vm.prank(p);
        try market.withdrawEarnings(p) returns (uint256 amount) {
            if (owed == 0) _surprise("withdrawEarnings with no earnings succeeded");
            if (amount != owed) _surprise("withdrawEarnings amount != earned - withdrawn");
            if (token.balanceOf(p) - before != _net(amount)) _surprise("withdrawEarnings transferred != amount");
            g.earningsWithdrawn += amount;
            _count("withdrawEarnings");
        } catch (bytes memory err) {
            if (owed != 0) _surpriseErr("withdrawEarnings reverted with earnings owed", err);
        }
    }

    function warp(uint256 secs, uint256 mode) external step {
        // mostly short steps (inside start windows / slots), sometimes long ones (unbonding, slot ends)
        secs = mode % 4 == 0 ? bound(secs, 1 hours, 2 days) : bound(secs, 1, 15 minutes);
        vm.warp(block.timestamp + secs);
        gLastTimestamp = block.timestamp;
        _count("warp");
    }

    /// @notice Jumps exactly onto a boundary of a lease (start − 1, start, deadline − 1, deadline, end − 1, end),
    /// where off-by-one errors live; random warps would almost never land there.
    function warpToEdge(uint256 lSeed, uint256 which) external step {
        if (leaseIds.length == 0) return;
        GLease storage l = gLease[leaseIds[lSeed % leaseIds.length]];
        uint256 deadline = uint256(l.start) + startWindow;
        if (deadline > l.end) deadline = l.end;
        uint256[6] memory edges = [uint256(l.start) - 1, l.start, deadline - 1, deadline, uint256(l.end) - 1, l.end];
        uint256 t = edges[which % 6];
        if (t <= block.timestamp) return;
        vm.warp(t);
        gLastTimestamp = t;
        _count("warpToEdge");
    }

    // ================================================================ views for the invariants

    function accountCount() external view returns (uint256) {
        return accountIds.length;
    }

    function leaseCount() external view returns (uint256) {
        return leaseIds.length;
    }

    function providerCount() external view returns (uint256) {
        return providers.length;
    }

    function iconCount() external view returns (uint256) {
        return icons.length;
    }

    function ownerCount() external view returns (uint256) {
        return owners.length;
    }

    function expectedBalance(uint64 id) public view returns (uint256) {
        GAccount storage a = gAccount[id];
        return a.funded + a.allocIn + a.returnIn + a.refunds + a.penalties - a.allocOut - a.returnOut - a.deposits
            - a.withdrawn - a.relayFees;
    }

    function accountGhost(uint64 id) external view returns (GAccount memory) {
        return gAccount[id];
    }

    /// @notice The lease state from the ghost record alone (the lifecycle of ILeaseMarket.LeaseState).
    function modelState(uint64 id) external view returns (ILeaseMarket.LeaseState) {
        GLease storage l = gLease[id];
        if (l.provider == address(0)) return ILeaseMarket.LeaseState.None;
        if (l.cancelled) return ILeaseMarket.LeaseState.Cancelled;
        if (l.settled) return ILeaseMarket.LeaseState.Settled;
        if (!l.confirmed && l.stoppedAt == 0) {
            uint256 deadline = uint256(l.start) + startWindow;
            if (deadline > l.end) deadline = l.end;
            if (block.timestamp >= deadline) return ILeaseMarket.LeaseState.StartMissed;
        }
        if (block.timestamp < l.start) return ILeaseMarket.LeaseState.Scheduled;
        uint256 effEnd = l.stoppedAt != 0 ? l.stoppedAt : l.end;
        if (block.timestamp < effEnd) return ILeaseMarket.LeaseState.Running;
        return ILeaseMarket.LeaseState.Ended;
    }

    function leaseGhost(uint64 id) external view returns (GLease memory) {
        return gLease[id];
    }

    function stakeGhost(address p) external view returns (GStake memory) {
        return gStake[p];
    }

    function callCount(string calldata name) external view returns (uint256) {
        return calls[keccak256(bytes(name))];
    }

    // ================================================================ internals

    function _register(address p) internal {
        vm.prank(p);
        try registry.register(Samples.listing(uint256(uint160(p)))) {
            gStake[p].listed = true;
            _count("register");
        } catch (bytes memory err) {
            _surpriseErr("register reverted", err);
        }
    }

    function _stake(address p, uint256 amount) internal {
        _mintTo(p, amount);
        uint256 received = _net(amount);
        vm.prank(p);
        try registry.stake(amount) {
            gStake[p].total += received;
            gStake[p].staked += received;
            _count("stake");
        } catch (bytes memory err) {
            _surpriseErr("stake reverted", err);
        }
    }

    function _fund(address from, uint64 id, uint256 amount) internal {
        _mintTo(from, amount);
        if (token.allowance(from, address(market)) < amount) {
            vm.prank(from);
            token.approve(address(market), type(uint256).max);
        }
        uint256 received = _net(amount);
        uint256 before = _balance(id);
        vm.prank(from);
        try market.fund(AccountId.wrap(id), amount) {
            gAccount[id].funded += received;
            if (_balance(id) - before != received) _surprise("fund credited != what arrived");
            _count("fund");
        } catch (bytes memory err) {
            _surpriseErr("fund reverted", err);
        }
    }

    function _mintTo(address to, uint256 amount) internal {
        uint256 bal = token.balanceOf(to);
        if (bal >= amount) return;
        token.mint(to, amount - bal);
        gMinted += amount - bal;
    }

    /// @dev Mirrors IEPRegistry._slash on the model.
    function _modelSlash(GStake storage g, uint256 amount) internal {
        g.total -= amount;
        if (g.locked > g.total) g.locked = g.total;
        if (g.unbonding > g.total - g.locked) g.unbonding = g.total - g.locked;
    }

    /// @dev Collateral of `l` handed back through unlockStake (saturating), once; not while the market lacks its
    /// registry role (the market catches the failure and the collateral stays locked until a retry).
    function _release(GLease storage l) internal {
        if (l.released || gRoleRevoked) return;
        l.released = true;
        GStake storage g = gStake[l.provider];
        g.locked = l.collateral >= g.locked ? 0 : g.locked - l.collateral;
    }

    /// @dev Model of a successful slashLocked for cancelled lease `l`: takes min(collateral, locked) from the
    /// stake and credits the paying account with what arrived (less the token's fee). Returns what arrived.
    function _slashPenalty(GLease storage l, GStake storage g) internal returns (uint256 arrived) {
        uint256 slashed = l.collateral < g.locked ? l.collateral : g.locked;
        arrived = _net(slashed);
        l.penalty += arrived;
        gAccount[l.account].penalties += arrived;
        g.locked -= slashed;
        _modelSlash(g, slashed);
        g.slashedMarket += slashed;
        l.released = true;
    }

    /// @dev Retries the collateral release of a lease whose release failed (or, one time in four, of any lease:
    /// refused unless its release is pending). Must succeed exactly when pending and the market has its role.
    function _act_releaseCollateral(uint256 seed) internal {
        uint256 n = leaseIds.length;
        if (n == 0) return;
        uint64 id = leaseIds[(seed >> 2) % n];
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < n; ++i) {
                uint64 cand = leaseIds[((seed >> 2) + i) % n];
                if (_releasePending(gLease[cand])) {
                    id = cand;
                    break;
                }
            }
        }
        GLease storage l = gLease[id];
        GStake storage g = gStake[l.provider];
        bool pending = _releasePending(l);
        bool mustWork = pending && !gRoleRevoked;
        vm.prank(stranger);
        try market.releaseCollateral(LeaseId.wrap(id)) returns (uint256 penalty) {
            if (!mustWork) _surprise("releaseCollateral succeeded with nothing pending or without the role");
            uint256 arrived;
            if (l.cancelled) arrived = _slashPenalty(l, g);
            else _release(l);
            if (penalty != arrived) _surprise("releaseCollateral penalty != what arrived");
            _count("releaseCollateral");
        } catch (bytes memory err) {
            if (mustWork) _surpriseErr("releaseCollateral reverted with a pending release and the role", err);
        }
    }

    function _releasePending(GLease storage l) internal view returns (bool) {
        return !l.released && (l.settled || l.cancelled || l.stoppedAt != 0);
    }

    /// @dev What a transfer of `amount` delivers under the current fee (FeeOnTransferTokenFake: fee floored).
    function _net(uint256 amount) internal view returns (uint256) {
        return amount - (amount * gFeeBps) / 10_000;
    }

    /// @dev An amount whose transfer delivers at least `amount` under the current fee.
    function _gross(uint256 amount) internal view returns (uint256) {
        return gFeeBps == 0 ? amount : (amount * 10_000) / (10_000 - gFeeBps) + 1;
    }

    function _paid(GLease storage l, uint256 amount) internal {
        l.paid += amount;
        gStake[l.provider].earned += amount;
    }

    function _claimedFromLogs(uint64 id) internal returns (uint256 amount) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory lg = logs[i];
            if (lg.emitter == address(market) && lg.topics.length == 2 && lg.topics[0] == LEASE_CLAIMED) {
                if (uint256(lg.topics[1]) != id) _surprise("LeaseClaimed for another lease");
                (uint256 a,) = abi.decode(lg.data, (uint256, uint40));
                amount += a;
            }
        }
    }

    function _balance(uint64 id) internal view returns (uint256) {
        return market.account(AccountId.wrap(id)).balance;
    }

    function _pickAccount(uint256 seed, bool openOnly) internal view returns (bool, uint64) {
        uint256 n = accountIds.length;
        for (uint256 i = 0; i < n; ++i) {
            uint64 id = accountIds[(seed % n + i) % n];
            if (!openOnly || !gAccount[id].closed) return (true, id);
        }
        return (false, 0);
    }

    function _pickChild(uint256 seed, bool openOnly) internal view returns (bool, uint64) {
        uint256 n = accountIds.length;
        for (uint256 i = 0; i < n; ++i) {
            uint64 id = accountIds[(seed % n + i) % n];
            if (gAccount[id].parent != 0 && (!openOnly || !gAccount[id].closed)) return (true, id);
        }
        return (false, 0);
    }

    /// @dev One pick in four is any lease (to exercise the refusals); otherwise the first lease from a
    /// random offset whose state is in `states` (and, if `unconfirmed`, that is not confirmed yet).
    function _pickLeaseIn(uint256 seed, uint256 states, bool unconfirmed) internal view returns (bool, uint64) {
        uint256 n = leaseIds.length;
        if (n == 0) return (false, 0);
        if (seed % 4 == 0) return (true, leaseIds[(seed >> 2) % n]);
        for (uint256 i = 0; i < n; ++i) {
            uint64 id = leaseIds[((seed >> 2) + i) % n];
            if (_bit(market.state(LeaseId.wrap(id))) & states == 0) continue;
            if (unconfirmed && gLease[id].confirmed) continue;
            return (true, id);
        }
        return (true, leaseIds[(seed >> 2) % n]);
    }

    /// @dev kind 1: has unbonded stake ready to withdraw; kind 2: has earnings. One pick in four is random.
    function _pickProvider(uint256 seed, uint256 kind) internal view returns (address) {
        uint256 n = providers.length;
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < n; ++i) {
                address p = providers[((seed >> 2) + i) % n];
                GStake storage g = gStake[p];
                if (kind == 1 && g.unbonding != 0 && block.timestamp >= g.readyAt) return p;
                if (kind == 2 && g.earned > g.earningsWithdrawn) return p;
            }
        }
        return providers[(seed >> 2) % n];
    }

    function _bit(ILeaseMarket.LeaseState st) internal pure returns (uint256) {
        return 1 << uint256(st);
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }


    /// @dev One amount in five (and every amount when `max` is 0) is above `max` and must be refused;
    /// the others are in [1, max].
    function _amount(uint256 raw, uint256 max) internal pure returns (uint256 amount, bool over) {
        if (max == 0 || raw % 5 == 0) return (bound(raw >> 3, max + 1, 2 * max + 1), true);
        return (bound(raw, 1, max), false);
    }

    function _count(string memory name) internal {
        ++calls[keccak256(bytes(name))];
    }

    function _surprise(string memory what) internal {
        if (bytes(surprise).length == 0) surprise = what;
    }

    function _surpriseErr(string memory what, bytes memory err) internal {
        if (bytes(surprise).length != 0) return;
        bytes4 sel = err.length >= 4 ? bytes4(err) : bytes4(0);
        surprise = string.concat(what, " (error selector ", _hex4(sel), ")");
    }

    function _hex4(bytes4 b) internal pure returns (string memory) {
        bytes memory out = new bytes(10);
        bytes16 digits = "0123456789abcdef";
        out[0] = "0";
        out[1] = "x";
        for (uint256 i = 0; i < 4; ++i) {
            out[2 + 2 * i] = digits[uint8(b[i]) >> 4];
            out[3 + 2 * i] = digits[uint8(b[i]) & 0x0f];
        }
        return string(out);
    }
}
