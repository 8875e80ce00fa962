// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IIEPRegistry} from "../../contracts/interfaces/IIEPRegistry.sol";
import {ILeaseMarket, LeaseId} from "../../contracts/interfaces/ILeaseMarket.sol";
import {IBudgetTree, AccountId} from "../../contracts/interfaces/IBudgetTree.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {FeeOnTransferTokenFake} from "../../contracts/mocks/FeeOnTransferTokenFake.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";
import {MarketHandler, IMintableToken} from "./handlers/MarketHandler.sol";
import {RelayActor} from "./handlers/RelayActor.sol";

/// @notice The invariants shared by both suites.
abstract contract MarketInvariants is MarketFixture {
    MarketHandler internal handler;

    /// @dev Only the handler is fuzzed; without this the runner would also call token/registry/market
    /// directly with random senders (it targets every contract created in setUp by default).
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    // ---------------------------------------------------------------- 0. the handler itself

    /// @notice No action the contracts' own views call valid reverted, and no forbidden action succeeded.
    function invariant_noSurprises() public view {
        string memory s = handler.surprise();
        require(bytes(s).length == 0, s);
    }

    /// @notice The clock only moves forward and the invariant checks see the handler's warps.
    function invariant_clockFollowsHandler() public view {
        assertEq(block.timestamp, handler.gLastTimestamp(), "block.timestamp != handler's last warp");
        assertGe(block.timestamp, T0, "clock went back before setUp");
    }

    // ---------------------------------------------------------------- 1. market vault

    /// @notice asset.balanceOf(market) == Σ account balances + Σ escrowOf(lease) + Σ earningsOf(provider).
    /// (Relay fees are earnings of the providers that relayed: the handler's yards are its providers.)
    /// (Earnings must be included: since the pull-payment change, claimed payment stays in the market
    /// until the provider withdraws it.)
    function invariant_marketVaultBacksAccountsEscrowAndEarnings() public view {
        uint256 owed;
        uint256 n = market.accountCount();
        assertEq(n, handler.accountCount(), "accountCount");
        for (uint64 i = 1; i <= n; ++i) owed += market.account(AccountId.wrap(i)).balance;
        uint256 m = market.leaseCount();
        assertEq(m, handler.leaseCount(), "leaseCount");
        for (uint64 i = 1; i <= m; ++i) owed += market.escrowOf(LeaseId.wrap(i));
        for (uint256 i = 0; i < handler.providerCount(); ++i) owed += market.earningsOf(handler.providers(i));
        assertEq(asset.balanceOf(address(market)), owed, "market vault != accounts + escrow + earnings");
    }

    // ---------------------------------------------------------------- 2. registry vault

    /// @notice asset.balanceOf(registry) == Σ stakeOf(provider).total.
    function invariant_registryVaultBacksStake() public view {
        uint256 total;
        for (uint256 i = 0; i < handler.providerCount(); ++i) total += registry.stakeOf(handler.providers(i)).total;
        assertEq(asset.balanceOf(address(registry)), total, "registry vault != sum of stake totals");
    }

    // ---------------------------------------------------------------- 3. per-lease conservation

    /// @notice For each lease: paid + refunded + escrowOf == deposit (deposit = price × (end − start)).
    function invariant_leaseDepositConserved() public view {
        uint256 m = handler.leaseCount();
        for (uint64 id = 1; id <= m; ++id) {
            MarketHandler.GLease memory g = handler.leaseGhost(id);
            ILeaseMarket.Lease memory l = market.lease(LeaseId.wrap(id));
            assertEq(g.deposit, uint256(l.pricePerSecond) * (l.end - l.start), "ghost deposit != price * slot");
            assertEq(
                g.paid + g.refunded + market.escrowOf(LeaseId.wrap(id)), g.deposit, "paid + refunded + escrow != deposit"
            );
        }
    }

    /// @notice Every lease is in the lifecycle state the handler's own model of it predicts.
    function invariant_leaseStateMatchesModel() public view {
        uint256 m = handler.leaseCount();
        for (uint64 id = 1; id <= m; ++id) {
            assertEq(
                uint256(market.state(LeaseId.wrap(id))),
                uint256(handler.modelState(id)),
                string.concat("state of lease ", _str(id))
            );
        }
    }

    // ---------------------------------------------------------------- 4. no overpayment

    /// @notice The provider never got more than price × elapsed: paid ≤ price × (min(now, effectiveEnd) − start);
    /// nothing at all for a lease it never confirmed; and what is still claimable is exactly the rest.
    function invariant_providerNeverPaidAheadOfTime() public view {
        uint256 m = handler.leaseCount();
        for (uint64 id = 1; id <= m; ++id) {
            MarketHandler.GLease memory g = handler.leaseGhost(id);
            ILeaseMarket.Lease memory l = market.lease(LeaseId.wrap(id));
            uint256 effEnd = l.stoppedAt != 0 ? l.stoppedAt : l.end;
            uint256 upTo = block.timestamp < effEnd ? block.timestamp : effEnd;
            uint256 elapsed = upTo > l.start ? upTo - l.start : 0;
            assertLe(g.paid, uint256(l.pricePerSecond) * elapsed, "provider paid ahead of time");
            assertEq(g.paid, uint256(l.pricePerSecond) * (l.claimedUntil - l.start), "paid != price * (claimedUntil - start)");
            if (!g.confirmed) assertEq(g.paid, 0, "unconfirmed lease paid");
            if (g.confirmed) {
                assertEq(
                    g.paid + market.claimable(LeaseId.wrap(id)),
                    uint256(l.pricePerSecond) * elapsed,
                    "paid + claimable != price * elapsed"
                );
            }
        }
    }

    // ---------------------------------------------------------------- 5. budget conservation per node

    /// @notice For each account: balance == funded + allocated in + returned in (from children) + refunds +
    /// penalties − allocated out − returned out − lease deposits − owner withdrawals; tree shape matches.
    function invariant_budgetNodeConservation() public view {
        uint256 n = handler.accountCount();
        for (uint64 id = 1; id <= n; ++id) {
            IBudgetTree.Account memory a = market.account(AccountId.wrap(id));
            MarketHandler.GAccount memory g = handler.accountGhost(id);
            assertEq(a.balance, handler.expectedBalance(id), string.concat("budget node ", _str(id)));
            assertEq(AccountId.unwrap(a.parent), g.parent, "parent");
            assertEq(AccountId.unwrap(a.root), g.root, "root");
            assertEq(a.controller, g.controller, "controller");
            assertEq(a.depth, g.depth, "depth");
            assertTrue(a.closed == g.closed, "closed flag");
        }
    }

    // ---------------------------------------------------------------- 6. registry stake bookkeeping

    /// @notice locked ≤ total and unbonding ≤ total − locked for every provider; and the stake record equals
    /// the handler's model (stakes − withdrawals − slashes, collateral locked/unlocked at the right times).
    function invariant_stakeBounds() public view {
        for (uint256 i = 0; i < handler.providerCount(); ++i) {
            address p = handler.providers(i);
            IIEPRegistry.StakeInfo memory s = registry.stakeOf(p);
            assertLe(s.locked, s.total, "locked > total");
            assertLe(s.unbonding, s.total - s.locked, "unbonding > total - locked");
            MarketHandler.GStake memory g = handler.stakeGhost(p);
            assertEq(s.total, g.total, "total != model");
            assertEq(s.total, g.staked - g.withdrawn - g.slashedArbiter - g.slashedMarket, "total != flows");
            assertEq(s.locked, g.locked, "locked != model");
            assertEq(s.unbonding, g.unbonding, "unbonding != model");
            assertEq(market.earningsOf(p), g.earned - g.earningsWithdrawn, "earnings != earned - withdrawn");
        }
    }

    /// @notice Locked collateral never exceeds the collateral of the provider's leases not yet released.
    function invariant_lockedBackedByOpenLeases() public view {
        for (uint256 i = 0; i < handler.providerCount(); ++i) {
            address p = handler.providers(i);
            uint256 open;
            uint256 m = handler.leaseCount();
            for (uint64 id = 1; id <= m; ++id) {
                MarketHandler.GLease memory g = handler.leaseGhost(id);
                if (g.provider == p && !g.released) open += g.collateral;
            }
            assertLe(registry.stakeOf(p).locked, open, "locked > collateral of unreleased leases");
        }
    }

    // ---------------------------------------------------------------- 7. token supply

    /// @notice totalSupply == minted by the handler == Σ balances of every holder the handler knows.
    function invariant_tokenSupplyConserved() public view {
        uint256 sum = asset.balanceOf(address(market)) + asset.balanceOf(address(registry))
            + asset.balanceOf(handler.slashRecipient()) + asset.balanceOf(handler.relayer())
            + asset.balanceOf(handler.stranger()) + asset.balanceOf(address(handler)) + asset.balanceOf(address(this))
            + asset.balanceOf(arbiter) + asset.balanceOf(handler.FEE_SINK());
        for (uint256 i = 0; i < handler.providerCount(); ++i) sum += asset.balanceOf(handler.providers(i));
        for (uint256 i = 0; i < handler.iconCount(); ++i) sum += asset.balanceOf(handler.icons(i));
        for (uint256 i = 0; i < handler.ownerCount(); ++i) sum += asset.balanceOf(handler.owners(i));
        assertEq(asset.totalSupply(), handler.gMinted(), "supply != minted");
        assertEq(sum, asset.totalSupply(), "tracked balances != supply");
        assertEq(asset.balanceOf(handler.slashRecipient()), handler.gSlashedToRecipient(), "slash recipient");
    }
}

/// @notice Stateful invariant tests of the whole market (token, AccessManager, registry, IconMarket) driven
/// by {MarketHandler}. Runs and depth come from hardhat.config.ts (test.solidity.invariant).
contract MarketInvariantsTest is MarketInvariants {
    function setUp() public {
        // Arbiter with execution delay 0 so the handler can slash directly (the cap still applies).
        _deployMarket(0);
        handler = new MarketHandler(
            IMintableToken(address(token)),
            registry,
            market,
            arbiter,
            FeeOnTransferTokenFake(address(0)),
            AccessManager(address(0)),
            new RelayActor(market)
        );
        token.transferOwnership(address(handler));
        vm.label(address(handler), "handler");
    }
}

/// @notice The same invariants with faults injected by the handler's `fault` entry point: the token is the
/// FeeOnTransferTokenFake, whose fee (0..10 %) is switched on, off and changed mid-run, and the market's registry
/// role (LEASE_MARKET_ROLE) is revoked and re-granted mid-run (the handler holds the AccessManager's admin role).
/// Books never exceed the vaults (they equal them), tenants can always terminate and be refunded, providers can
/// always be paid and settle (`invariant_noSurprises`), and a failed collateral release is retried exactly.
contract MarketFaultInvariantsTest is MarketInvariants {
    function setUp() public {
        FeeOnTransferTokenFake fee = new FeeOnTransferTokenFake();
        _deployMarketOver(IERC20(address(fee)), 0);
        handler =
            new MarketHandler(IMintableToken(address(fee)), registry, market, arbiter, fee, manager, new RelayActor(market));
        manager.grantRole(0, address(handler), 0); // ADMIN_ROLE: revoke and re-grant the market's role
        vm.label(address(handler), "handler");
    }
}
