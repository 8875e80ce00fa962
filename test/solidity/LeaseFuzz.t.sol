// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {IIEPRegistry} from "../../contracts/interfaces/IIEPRegistry.sol";
import {ILeaseMarket, LeaseId} from "../../contracts/interfaces/ILeaseMarket.sol";
import {IBudgetTree, AccountId} from "../../contracts/interfaces/IBudgetTree.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

/// @notice Property-based (fuzz) tests of single leases and budget moves, plus unit tests of the edges the
/// invariant handler reaches rarely. Fuzz runs come from hardhat.config.ts (test.solidity.fuzz.runs).
contract LeaseFuzzTest is MarketFixture {
    uint32 internal constant ARBITER_DELAY = 86_400; // the Ignition module's arbiterDelay

    uint256 internal providerKey = 0xB0B;
    address internal provider;
    uint256 internal iconKey = 0x1C0;
    address internal icon;
    uint256 internal childKey = 0xC41D;
    address internal childIcon;
    address internal owner = address(0x0FF1CE);
    address internal relayer = address(0x4E1A7E4);
    address internal stranger = address(0x5742A6E4);
    uint64 internal root;
    uint256 internal nonce;

    function setUp() public {
        _deployMarket(ARBITER_DELAY);
        provider = vm.addr(providerKey);
        icon = vm.addr(iconKey);
        childIcon = vm.addr(childKey);
        vm.label(provider, "provider");
        vm.label(icon, "icon");
        vm.label(childIcon, "childIcon");
        vm.label(owner, "owner");

        token.mint(provider, 1_000_000e6);
        vm.startPrank(provider);
        token.approve(address(registry), type(uint256).max);
        registry.register(_listing(1));
        registry.stake(100_000e6);
        vm.stopPrank();

        token.mint(owner, 10_000_000e6);
        vm.startPrank(owner);
        token.approve(address(market), type(uint256).max);
        root = AccountId.unwrap(market.createApp(icon, _policy(0), 1_000_000e6));
        vm.stopPrank();
    }

    // ================================================================ helpers

    function _offer(uint96 price, uint256 startDelay, uint256 duration) internal returns (ILeaseMarket.Offer memory o) {
        o = ILeaseMarket.Offer({
            provider: provider,
            account: AccountId.wrap(root),
            token: address(token),
            pricePerSecond: price,
            cpuMillis: 500,
            memoryMiB: 256,
            start: uint40(block.timestamp + startDelay),
            end: uint40(block.timestamp + startDelay + duration),
            specHash: keccak256("busybox@sha256:demo"),
            nonce: ++nonce,
            deadline: block.timestamp + 600
        });
    }

    function _open(ILeaseMarket.Offer memory o) internal returns (LeaseId id) {
        bytes memory ps = _signOffer(providerKey, o);
        bytes memory ts = _signAcceptance(iconKey, o);
        vm.prank(relayer);
        id = market.openLease(o, ps, ts);
    }

    function _boundedOffer(uint256 price, uint256 startDelay, uint256 duration)
        internal
        returns (ILeaseMarket.Offer memory)
    {
        return _offer(uint96(bound(price, 1, 10_000)), bound(startDelay, 0, 1 days), bound(duration, 1, 30 days));
    }

    function _vaultOwed() internal view returns (uint256 owed) {
        for (uint64 i = 1; i <= market.accountCount(); ++i) owed += market.account(AccountId.wrap(i)).balance;
        for (uint64 i = 1; i <= market.leaseCount(); ++i) owed += market.escrowOf(LeaseId.wrap(i));
        owed += market.earningsOf(provider);
    }

    function _bal(uint64 id) internal view returns (uint256) {
        return market.account(AccountId.wrap(id)).balance;
    }

    function _invalidState(LeaseId id, ILeaseMarket.LeaseState s, uint256 allowed) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ILeaseMarket.LeaseInvalidState.selector, id, s, allowed);
    }

    function _bit(ILeaseMarket.LeaseState s) internal pure returns (uint256) {
        return 1 << uint256(s);
    }

    // ================================================================ fuzz: claims

    /// @notice For any warp, a claim pays exactly price × (min(now, end) − claimedUntil), and the claims of a
    /// lease add up to price × (min(now, end) − start).
    function test_fuzz_claim_amountIsPriceTimesElapsed(
        uint256 price,
        uint256 startDelay,
        uint256 duration,
        uint256 warp1,
        uint256 warp2
    ) public {
        ILeaseMarket.Offer memory o = _boundedOffer(price, startDelay, duration);
        LeaseId id = _open(o);
        vm.prank(provider);
        market.confirmStart(id);
        uint256 p = o.pricePerSecond;

        // first claim: anywhere from before the start to well past the end
        vm.warp(bound(warp1, block.timestamp, uint256(o.end) + 2 days));
        if (block.timestamp <= o.start) {
            ILeaseMarket.LeaseState s = block.timestamp < o.start
                ? ILeaseMarket.LeaseState.Scheduled
                : ILeaseMarket.LeaseState.Running;
            if (s == ILeaseMarket.LeaseState.Scheduled) {
                vm.expectRevert(
                    _invalidState(id, s, _bit(ILeaseMarket.LeaseState.Running) | _bit(ILeaseMarket.LeaseState.Ended))
                );
            } else {
                vm.expectRevert(abi.encodeWithSelector(ILeaseMarket.LeaseNothingToClaim.selector, id));
            }
            vm.prank(provider);
            market.claim(id);
            vm.warp(uint256(o.start) + 1);
        }
        uint256 upTo = block.timestamp < o.end ? block.timestamp : o.end;
        assertEq(market.claimable(id), p * (upTo - o.start), "claimable before first claim");
        vm.prank(provider);
        uint256 first = market.claim(id);
        assertEq(first, p * (upTo - o.start), "first claim != price * elapsed");
        assertEq(market.lease(id).claimedUntil, upTo, "claimedUntil");

        // second claim at a later time: pays only the new seconds
        vm.warp(bound(warp2, block.timestamp, uint256(o.end) + 2 days));
        uint256 upTo2 = block.timestamp < o.end ? block.timestamp : o.end;
        if (upTo2 == upTo) {
            ILeaseMarket.LeaseState s = market.state(id);
            if (s == ILeaseMarket.LeaseState.Settled) {
                vm.expectRevert(
                    _invalidState(id, s, _bit(ILeaseMarket.LeaseState.Running) | _bit(ILeaseMarket.LeaseState.Ended))
                );
            } else {
                vm.expectRevert(abi.encodeWithSelector(ILeaseMarket.LeaseNothingToClaim.selector, id));
            }
            vm.prank(provider);
            market.claim(id);
        } else {
            vm.prank(provider);
            uint256 second = market.claim(id);
            assertEq(second, p * (upTo2 - upTo), "second claim != price * new seconds");
        }
        assertEq(market.earningsOf(provider), p * (upTo2 - o.start), "earnings != price * elapsed");
        assertEq(
            market.earningsOf(provider) + market.escrowOf(id), p * (uint256(o.end) - o.start), "earnings + escrow"
        );
        assertEq(token.balanceOf(address(market)), _vaultOwed(), "vault");
        if (upTo2 == o.end) {
            assertEq(uint256(market.state(id)), uint256(ILeaseMarket.LeaseState.Settled), "settled at end");
            assertEq(registry.stakeOf(provider).locked, 0, "collateral released");
        }
    }

    // ================================================================ fuzz: terminate

    /// @notice For any termination time (with or without a prior claim, confirmed or not), the refund plus
    /// everything the provider is ever paid equals the deposit, and the collateral is released.
    function test_fuzz_terminate_refundPlusClaimsEqualsDeposit(
        uint256 price,
        uint256 startDelay,
        uint256 duration,
        uint256 claimAt,
        uint256 terminateAt,
        bool confirm,
        bool byOwner
    ) public {
        ILeaseMarket.Offer memory o = _boundedOffer(price, startDelay, duration);
        uint256 deposit = uint256(o.pricePerSecond) * (o.end - o.start);
        uint256 accountBefore = _bal(root);
        LeaseId id = _open(o);
        assertEq(_bal(root), accountBefore - deposit, "deposit taken");
        if (confirm) {
            vm.prank(provider);
            market.confirmStart(id);
        }
        // an unconfirmed lease can only be terminated before its start window closes
        uint256 lastStop = confirm ? uint256(o.end) - 1 : _min(uint256(o.start) + START_WINDOW, o.end) - 1;
        uint256 claims;
        vm.warp(bound(claimAt, block.timestamp, lastStop));
        if (confirm && block.timestamp > o.start) {
            vm.prank(provider);
            claims += market.claim(id);
        }
        vm.warp(bound(terminateAt, block.timestamp, lastStop));
        bool running = block.timestamp >= o.start;
        vm.prank(byOwner ? owner : icon);
        uint256 refund = market.terminate(id);
        uint256 stopAt = confirm && running ? block.timestamp : o.start;
        assertEq(refund, uint256(o.pricePerSecond) * (uint256(o.end) - stopAt), "refund != price * (end - stop)");
        assertEq(registry.stakeOf(provider).locked, 0, "collateral released at terminate");

        // after the end, whatever accrued before the stop is the provider's
        vm.warp(uint256(o.end) + 1);
        if (market.state(id) == ILeaseMarket.LeaseState.Ended) {
            uint256 e = market.earningsOf(provider);
            market.settle(id);
            claims += market.earningsOf(provider) - e;
        }
        assertEq(uint256(market.state(id)), uint256(ILeaseMarket.LeaseState.Settled), "settled");
        assertEq(claims + refund, deposit, "claims + refund != deposit");
        assertEq(market.escrowOf(id), 0, "escrow left");
        assertEq(_bal(root), accountBefore - claims, "account got the refund");
        assertEq(token.balanceOf(address(market)), _vaultOwed(), "vault");
    }

    // ================================================================ fuzz: tampered offers

    /// @notice Changing any single field of a signed offer (both signatures over the original) makes
    /// openLease fail; the untampered offer still opens afterwards.
    function test_fuzz_openLease_tamperedFieldFails(uint256 field, uint256 value) public {
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        bytes memory ps = _signOffer(providerKey, o);
        bytes memory ts = _signAcceptance(iconKey, o);
        ILeaseMarket.Offer memory t = _copy(o);
        field = field % 11;
        if (field == 0) t.provider = address(uint160(value));
        else if (field == 1) t.account = AccountId.wrap(uint64(value));
        else if (field == 2) t.token = address(uint160(value));
        else if (field == 3) t.pricePerSecond = uint96(value);
        else if (field == 4) t.cpuMillis = uint32(value);
        else if (field == 5) t.memoryMiB = uint32(value);
        else if (field == 6) t.start = uint40(value);
        else if (field == 7) t.end = uint40(value);
        else if (field == 8) t.specHash = bytes32(value);
        else if (field == 9) t.nonce = value;
        else t.deadline = value;
        vm.assume(market.hashOffer(t) != market.hashOffer(o)); // the value really changed the field

        uint256 vault = token.balanceOf(address(market));
        uint256 bal = _bal(root);
        vm.prank(relayer);
        try market.openLease(t, ps, ts) {
            revert(string.concat("tampered field ", _str(field), " accepted"));
        } catch {}
        assertEq(market.leaseCount(), 0, "no lease");
        assertEq(_bal(root), bal, "account untouched");
        assertEq(token.balanceOf(address(market)), vault, "vault untouched");
        assertEq(registry.stakeOf(provider).locked, 0, "nothing locked");
        assertFalse(market.isNonceUsed(provider, o.nonce), "nonce untouched");

        vm.prank(relayer);
        market.openLease(o, ps, ts);
        assertEq(market.leaseCount(), 1, "original opens");
    }

    /// @notice A tenant acceptance of a different offer (any field changed) does not open the provider's offer.
    function test_fuzz_openLease_acceptanceOfOtherOfferFails(uint256 field, uint256 value) public {
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        ILeaseMarket.Offer memory t = _copy(o);
        field = field % 3;
        if (field == 0) t.pricePerSecond = uint96(bound(value, 1, type(uint96).max));
        else if (field == 1) t.end = uint40(bound(value, uint256(o.start) + 1, uint256(o.start) + 366 days));
        else t.specHash = bytes32(value);
        vm.assume(market.hashOffer(t) != market.hashOffer(o));
        bytes memory ps = _signOffer(providerKey, o);
        bytes memory ts = _signAcceptance(iconKey, t);
        vm.expectRevert(abi.encodeWithSelector(ILeaseMarket.LeaseInvalidSignature.selector, icon));
        vm.prank(relayer);
        market.openLease(o, ps, ts);
    }

    function _copy(ILeaseMarket.Offer memory o) internal pure returns (ILeaseMarket.Offer memory t) {
        t = ILeaseMarket.Offer(
            o.provider,
            o.account,
            o.token,
            o.pricePerSecond,
            o.cpuMillis,
            o.memoryMiB,
            o.start,
            o.end,
            o.specHash,
            o.nonce,
            o.deadline
        );
    }

    // ================================================================ fuzz: budget moves

    /// @notice allocate / returnToParent / closeAccount never change the sum of a parent and its child, at any
    /// depth, whoever of the allowed callers moves the money.
    function test_fuzz_budget_allocateReturnKeepsParentChildSum(
        uint256 deposit,
        uint256 a1,
        uint256 a2,
        uint256 r1,
        uint256 r2,
        uint8 callers
    ) public {
        deposit = bound(deposit, 1, 1_000_000e6);
        vm.prank(owner);
        uint64 app = AccountId.unwrap(market.createApp(icon, _policy(0), deposit));
        vm.prank(callers & 1 == 0 ? icon : owner);
        uint64 child = AccountId.unwrap(market.createAccount(AccountId.wrap(app), childIcon));
        vm.prank(childIcon);
        uint64 grandchild = AccountId.unwrap(market.createAccount(AccountId.wrap(child), icon));
        uint256 total = token.balanceOf(address(market));

        a1 = bound(a1, 1, deposit);
        vm.prank(callers & 2 == 0 ? icon : owner);
        market.allocate(AccountId.wrap(app), AccountId.wrap(child), a1);
        assertEq(_bal(app) + _bal(child), deposit, "root+child after allocate");
        assertEq(_bal(child), a1, "child got a1");

        a2 = bound(a2, 1, a1);
        vm.prank(callers & 4 == 0 ? childIcon : owner);
        market.allocate(AccountId.wrap(child), AccountId.wrap(grandchild), a2);
        assertEq(_bal(child) + _bal(grandchild), a1, "child+grandchild after allocate");

        r1 = bound(r1, 1, a2);
        address[3] memory allowed = [icon, childIcon, owner]; // grandchild's controller, parent's, owner
        vm.prank(allowed[(callers >> 3) % 3]);
        market.returnToParent(AccountId.wrap(grandchild), r1);
        assertEq(_bal(child) + _bal(grandchild), a1, "child+grandchild after return");

        uint256 childBal = _bal(child);
        r2 = bound(r2, 0, childBal);
        if (r2 != 0) {
            vm.prank(callers & 32 == 0 ? childIcon : icon);
            market.returnToParent(AccountId.wrap(child), r2);
        }
        assertEq(_bal(app) + _bal(child), deposit - _bal(grandchild), "root+child after return");

        // closing moves the whole balance up, still conserving the pair
        uint256 pair = _bal(child) + _bal(grandchild);
        vm.prank(owner);
        market.closeAccount(AccountId.wrap(grandchild));
        assertEq(_bal(grandchild), 0, "closed is empty");
        assertEq(_bal(child), pair, "child+grandchild after close");
        assertEq(_bal(app) + _bal(child) + _bal(grandchild), deposit, "tree total");
        assertEq(token.balanceOf(address(market)), total, "no tokens moved");
        assertEq(token.balanceOf(address(market)), _vaultOwed(), "vault");
    }

    /// @notice Moving more than an account holds always fails and changes nothing.
    function test_fuzz_budget_overdraftReverts(uint256 deposit, uint256 extra) public {
        deposit = bound(deposit, 0, 1_000_000e6);
        extra = bound(extra, 1, type(uint96).max);
        vm.prank(owner);
        uint64 app = AccountId.unwrap(market.createApp(icon, _policy(0), deposit));
        vm.prank(icon);
        uint64 child = AccountId.unwrap(market.createAccount(AccountId.wrap(app), childIcon));
        vm.expectRevert(
            abi.encodeWithSelector(IBudgetTree.BudgetInsufficientBalance.selector, app, deposit, deposit + extra)
        );
        vm.prank(icon);
        market.allocate(AccountId.wrap(app), AccountId.wrap(child), deposit + extra);
        vm.expectRevert(
            abi.encodeWithSelector(IBudgetTree.BudgetInsufficientBalance.selector, child, 0, extra)
        );
        vm.prank(childIcon);
        market.returnToParent(AccountId.wrap(child), extra);
        assertEq(_bal(app), deposit, "unchanged");
    }

    // ================================================================ unit: EIP-712

    /// @notice hashOffer / hashAcceptance equal a digest computed here from the EIP-712 spec and the type
    /// strings of protocol/eip712.ts, so off-chain signers and the contract agree.
    function test_hashOffer_matchesIndependentEip712Digest() public {
        ILeaseMarket.Offer memory o = _offer(123, 10, 3600);
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("ICON Market"),
                keccak256("1"),
                block.chainid,
                address(market)
            )
        );
        string memory offerType =
            "Offer(address provider,uint64 account,address token,uint96 pricePerSecond,uint32 cpuMillis,uint32 memoryMiB,uint40 start,uint40 end,bytes32 specHash,uint256 nonce,uint256 deadline)";
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(bytes(offerType)),
                o.provider,
                AccountId.unwrap(o.account),
                o.token,
                o.pricePerSecond,
                o.cpuMillis,
                o.memoryMiB,
                o.start,
                o.end,
                o.specHash,
                o.nonce,
                o.deadline
            )
        );
        bytes32 acceptance = keccak256(
            abi.encode(keccak256(bytes(string.concat("Acceptance(Offer offer)", offerType))), structHash)
        );
        assertEq(market.hashOffer(o), keccak256(abi.encodePacked(hex"1901", domain, structHash)), "offer digest");
        assertEq(market.hashAcceptance(o), keccak256(abi.encodePacked(hex"1901", domain, acceptance)), "acceptance");
    }

    // ================================================================ unit: lease edges

    function test_openLease_replayedOfferReverts() public {
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        bytes memory ps = _signOffer(providerKey, o);
        bytes memory ts = _signAcceptance(iconKey, o);
        vm.prank(relayer);
        market.openLease(o, ps, ts);
        vm.expectRevert(abi.encodeWithSelector(ILeaseMarket.LeaseNonceUsed.selector, provider, o.nonce));
        vm.prank(relayer);
        market.openLease(o, ps, ts);
    }

    function test_openLease_invalidatedNonceReverts() public {
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        vm.prank(provider);
        market.invalidateNonces(o.nonce >> 8, 1 << (o.nonce & 0xff));
        bytes memory ps = _signOffer(providerKey, o);
        bytes memory ts = _signAcceptance(iconKey, o);
        vm.expectRevert(abi.encodeWithSelector(ILeaseMarket.LeaseNonceUsed.selector, provider, o.nonce));
        vm.prank(relayer);
        market.openLease(o, ps, ts);
    }

    function test_settle_unconfirmedLeaseAfterEndIsStartMissed() public {
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        LeaseId id = _open(o);
        vm.warp(uint256(o.end) + 1);
        assertEq(uint256(market.state(id)), uint256(ILeaseMarket.LeaseState.StartMissed), "state");
        vm.expectRevert(
            _invalidState(id, ILeaseMarket.LeaseState.StartMissed, _bit(ILeaseMarket.LeaseState.Ended))
        );
        market.settle(id);
    }

    function test_cancelMissedStart_refundsDepositAndSlashesCollateral() public {
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        uint256 deposit = 100 * 3600;
        uint256 before = _bal(root);
        LeaseId id = _open(o);
        uint256 stakeBefore = registry.stakeOf(provider).total;
        vm.warp(uint256(o.start) + START_WINDOW);
        vm.prank(stranger);
        (uint256 refund, uint256 penalty) = market.cancelMissedStart(id);
        assertEq(refund, deposit, "refund");
        assertEq(penalty, (deposit * COLLATERAL_BPS) / 10_000, "penalty");
        assertEq(_bal(root), before + penalty, "tenant gets deposit + penalty");
        assertEq(registry.stakeOf(provider).total, stakeBefore - penalty, "stake slashed");
        assertEq(registry.stakeOf(provider).locked, 0, "nothing locked");
        assertEq(token.balanceOf(address(market)), _vaultOwed(), "vault");
    }

    function test_cancelMissedStart_confirmedLeaseReverts() public {
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        LeaseId id = _open(o);
        vm.prank(provider);
        market.confirmStart(id);
        vm.warp(uint256(o.start) + START_WINDOW + 1);
        vm.expectRevert(
            _invalidState(id, ILeaseMarket.LeaseState.Running, _bit(ILeaseMarket.LeaseState.StartMissed))
        );
        market.cancelMissedStart(id);
    }

    /// @notice A provider staked exactly the minimum with all of it locked; an arbiter slash (through the
    /// AccessManager delay) eats into the collateral, so a later missed-start cancel pays a partial penalty.
    function test_cancelMissedStart_afterArbiterSlashPaysPartialPenalty() public {
        uint256 key2 = 0xB0B2;
        address p2 = vm.addr(key2);
        token.mint(p2, MIN_STAKE);
        vm.startPrank(p2);
        token.approve(address(registry), type(uint256).max);
        registry.register(_listing(2));
        registry.stake(MIN_STAKE);
        vm.stopPrank();
        // collateral = 20 % of deposit = the whole stake
        uint256 deposit = (uint256(MIN_STAKE) * 10_000) / COLLATERAL_BPS;
        ILeaseMarket.Offer memory o = _offer(uint96(deposit / 5000), 60, 5000);
        o.provider = p2;
        bytes memory ps = _signOffer(key2, o);
        bytes memory ts = _signAcceptance(iconKey, o);
        vm.prank(relayer);
        LeaseId id = market.openLease(o, ps, ts);
        assertEq(registry.stakeOf(p2).locked, MIN_STAKE, "all locked");

        uint256 cut = (uint256(MIN_STAKE) * SLASH_CAP_BPS) / 10_000;
        bytes memory call = abi.encodeCall(IIEPRegistry.slash, (p2, cut, arbiter, keccak256("incident-1")));
        vm.prank(arbiter);
        manager.schedule(address(registry), call, 0);
        vm.warp(block.timestamp + ARBITER_DELAY);
        vm.prank(arbiter);
        manager.execute(address(registry), call);
        assertEq(registry.stakeOf(p2).total, MIN_STAKE - cut, "slashed");
        assertEq(registry.stakeOf(p2).locked, MIN_STAKE - cut, "locked capped to total");

        uint256 before = _bal(root);
        (uint256 refund, uint256 penalty) = market.cancelMissedStart(id);
        assertEq(refund, uint256(o.pricePerSecond) * 5000, "full refund");
        assertEq(penalty, MIN_STAKE - cut, "penalty limited to what is left");
        assertEq(_bal(root), before + refund + penalty, "tenant credited");
        assertEq(registry.stakeOf(p2).total, 0, "stake gone");
        assertEq(token.balanceOf(address(market)), _vaultOwed(), "vault");
    }

    /// @notice A refund for a lease of an account closed meanwhile lands in the closed account and can still
    /// be handed back to the parent (no funds stuck).
    function test_terminate_refundToClosedAccountIsRecoverable() public {
        vm.prank(icon);
        uint64 child = AccountId.unwrap(market.createAccount(AccountId.wrap(root), childIcon));
        vm.prank(icon);
        market.allocate(AccountId.wrap(root), AccountId.wrap(child), 1_000e6);
        ILeaseMarket.Offer memory o = _offer(100, 60, 3600);
        o.account = AccountId.wrap(child);
        bytes memory ps = _signOffer(providerKey, o);
        bytes memory ts = _signAcceptance(childKey, o);
        vm.prank(relayer);
        LeaseId id = market.openLease(o, ps, ts);
        vm.prank(owner);
        market.closeAccount(AccountId.wrap(child));
        vm.prank(owner);
        uint256 refund = market.terminate(id);
        assertEq(_bal(child), refund, "refund in closed account");
        vm.prank(icon);
        market.returnToParent(AccountId.wrap(child), refund);
        assertEq(_bal(child), 0, "recovered");
        assertEq(token.balanceOf(address(market)), _vaultOwed(), "vault");
    }

    function test_terminate_strangerReverts() public {
        LeaseId id = _open(_offer(100, 60, 3600));
        vm.expectRevert(abi.encodeWithSelector(ILeaseMarket.LeaseUnauthorized.selector, id, stranger));
        vm.prank(stranger);
        market.terminate(id);
    }

    function test_withdrawEarnings_paysClaimedOnce() public {
        ILeaseMarket.Offer memory o = _offer(100, 0, 3600);
        LeaseId id = _open(o);
        vm.prank(provider);
        market.confirmStart(id);
        vm.warp(uint256(o.end) + 10);
        market.settle(id);
        uint256 before = token.balanceOf(provider);
        vm.prank(provider);
        uint256 amount = market.withdrawEarnings(provider);
        assertEq(amount, 100 * 3600, "earnings");
        assertEq(token.balanceOf(provider), before + amount, "paid");
        vm.expectRevert(abi.encodeWithSelector(ILeaseMarket.LeaseNoEarnings.selector, provider));
        vm.prank(provider);
        market.withdrawEarnings(provider);
    }

    // ================================================================ unit: registry

    function test_withdraw_beforeUnbondingOverReverts() public {
        vm.prank(provider);
        registry.requestUnstake(1e6);
        uint64 readyAt = uint64(block.timestamp + UNBONDING);
        vm.warp(readyAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IIEPRegistry.RegistryUnbondingNotOver.selector, provider, readyAt, readyAt - 1)
        );
        vm.prank(provider);
        registry.withdraw(provider);
        vm.warp(readyAt);
        vm.prank(provider);
        assertEq(registry.withdraw(provider), 1e6, "withdrawn");
    }

    function test_requestUnstake_lockedStakeReverts() public {
        LeaseId id = _open(_offer(1_000, 60, 30 days));
        uint256 free = registry.availableStake(provider);
        assertEq(registry.stakeOf(provider).locked, market.collateralOf(id), "locked");
        vm.expectRevert(
            abi.encodeWithSelector(IIEPRegistry.RegistryInsufficientStake.selector, provider, free, free + 1)
        );
        vm.prank(provider);
        registry.requestUnstake(free + 1);
    }

    /// @notice The arbiter holds its role with the Ignition module's execution delay: a direct call fails,
    /// an early execute fails, the scheduled call works after the delay and a reused incident fails.
    function test_slash_arbiterNeedsDelayAndFreshIncident() public {
        bytes32 incident = keccak256("incident-7");
        bytes memory call = abi.encodeCall(IIEPRegistry.slash, (provider, 1e6, arbiter, incident));
        bytes32 op = manager.hashOperation(arbiter, address(registry), call);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, op));
        vm.prank(arbiter);
        registry.slash(provider, 1e6, arbiter, incident);

        vm.prank(arbiter);
        manager.schedule(address(registry), call, 0);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotReady.selector, op));
        vm.prank(arbiter);
        manager.execute(address(registry), call);

        vm.warp(block.timestamp + ARBITER_DELAY);
        vm.prank(arbiter);
        manager.execute(address(registry), call);
        assertEq(token.balanceOf(arbiter), 1e6, "slashed to recipient");

        vm.prank(arbiter);
        manager.schedule(address(registry), call, 0);
        vm.warp(block.timestamp + ARBITER_DELAY);
        vm.expectRevert(abi.encodeWithSelector(IIEPRegistry.RegistryIncidentUsed.selector, incident));
        vm.prank(arbiter);
        manager.execute(address(registry), call);
    }

    /// @notice Above the per-incident cap the arbiter's slash fails, whatever the amount.
    function test_fuzz_slash_aboveCapReverts(uint256 amount) public {
        uint256 cap = (uint256(registry.stakeOf(provider).total) * SLASH_CAP_BPS) / 10_000;
        amount = bound(amount, cap + 1, type(uint128).max);
        bytes memory call = abi.encodeCall(IIEPRegistry.slash, (provider, amount, arbiter, keccak256("big")));
        vm.prank(arbiter);
        manager.schedule(address(registry), call, 0);
        vm.warp(block.timestamp + ARBITER_DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(IIEPRegistry.RegistrySlashAboveCap.selector, provider, amount, cap)
        );
        vm.prank(arbiter);
        manager.execute(address(registry), call);
    }

    function test_lockStake_strangerReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, stranger));
        vm.prank(stranger);
        registry.lockStake(provider, 1);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
