// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ILeaseMarket, LeaseId} from "../../contracts/interfaces/ILeaseMarket.sol";
import {AccountId} from "../../contracts/interfaces/IBudgetTree.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

/// @notice Property-based tests of claimMany: for any set of leases and any time after they started, one batch
/// pays and settles exactly what the same claims sent one by one pay and settle.
contract ClaimManyFuzzTest is MarketFixture {
    uint256 internal providerKey = 0xB0B;
    address internal provider;
    uint256 internal iconKey = 0x1C0;
    address internal owner = address(0x0FF1CE);
    uint64 internal root;
    uint256 internal nonce;

    function setUp() public {
        _deployMarket(86_400);
        provider = vm.addr(providerKey);
        token.mint(provider, 1_000_000e6);
        vm.startPrank(provider);
        token.approve(address(registry), type(uint256).max);
        registry.register(_listing(1));
        registry.stake(100_000e6);
        vm.stopPrank();
        token.mint(owner, 10_000_000e6);
        vm.startPrank(owner);
        token.approve(address(market), type(uint256).max);
        root = AccountId.unwrap(market.createApp(vm.addr(iconKey), _policy(0), 1_000_000e6));
        vm.stopPrank();
    }

    function _openConfirmed(uint256 seed) internal returns (LeaseId id, uint40 start) {
        uint96 price = uint96(bound(uint256(keccak256(abi.encode(seed, 1))), 1, 10_000));
        uint256 delay = bound(uint256(keccak256(abi.encode(seed, 2))), 0, 1 hours);
        uint256 duration = bound(uint256(keccak256(abi.encode(seed, 3))), 1, 2 days);
        ILeaseMarket.Offer memory o = ILeaseMarket.Offer({
            provider: provider,
            account: AccountId.wrap(root),
            token: address(token),
            pricePerSecond: price,
            cpuMillis: 500,
            memoryMiB: 256,
            start: uint40(block.timestamp + delay),
            end: uint40(block.timestamp + delay + duration),
            specHash: keccak256("busybox"),
            nonce: ++nonce,
            deadline: block.timestamp + 600
        });
        bytes memory ps = _signOffer(providerKey, o);
        bytes memory ts = _signAcceptance(iconKey, o);
        id = market.openLease(o, ps, ts);
        vm.prank(provider);
        market.confirmStart(id);
        start = o.start;
    }

    /// @notice claimMany over n leases equals n single claims at the same time: the same total, earnings, claimed
    /// times, states, escrow, locked collateral and vault balance.
    function test_fuzz_claimMany_equalsSingleClaims(uint256 seed, uint256 count, uint256 warp) public {
        uint256 n = bound(count, 1, 12);
        LeaseId[] memory ids = new LeaseId[](n);
        uint256 latestStart;
        for (uint256 i; i < n; ++i) {
            uint40 start;
            (ids[i], start) = _openConfirmed(uint256(keccak256(abi.encode(seed, i))));
            if (start > latestStart) latestStart = start;
        }
        vm.warp(bound(warp, latestStart + 1, latestStart + 3 days));

        uint256 snap = vm.snapshotState();
        uint256 singles;
        vm.recordLogs();
        vm.startPrank(provider);
        for (uint256 i; i < n; ++i) singles += market.claim(ids[i]);
        vm.stopPrank();
        bytes32 singleEvents = keccak256(abi.encode(vm.getRecordedLogs()));
        bytes memory afterSingles = _books(ids);
        assertTrue(vm.revertToState(snap), "revert to the snapshot");

        uint256 earningsBefore = market.earningsOf(provider);
        vm.recordLogs();
        vm.prank(provider);
        uint256 total = market.claimMany(ids);
        assertEq(keccak256(abi.encode(vm.getRecordedLogs())), singleEvents, "same events, same order");
        assertEq(total, singles, "total");
        assertEq(market.earningsOf(provider) - earningsBefore, total, "earnings credited once, the sum");
        assertEq(keccak256(_books(ids)), keccak256(afterSingles), "same books as single claims");
    }

    function _books(LeaseId[] memory ids) internal view returns (bytes memory b) {
        b = abi.encode(market.earningsOf(provider), registry.stakeOf(provider).locked, token.balanceOf(address(market)));
        uint256 owed = market.earningsOf(provider) + market.account(AccountId.wrap(root)).balance;
        for (uint256 i; i < ids.length; ++i) {
            ILeaseMarket.Lease memory l = market.lease(ids[i]);
            uint256 escrow = market.escrowOf(ids[i]);
            owed += escrow;
            b = abi.encode(b, l.claimedUntil, l.flags, market.state(ids[i]), escrow);
        }
        assertEq(token.balanceOf(address(market)), owed, "vault == account + escrow + earnings");
    }
}
