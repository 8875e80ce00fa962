// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestToken} from "../../../contracts/TestToken.sol";
import {IEPRegistry} from "../../../contracts/IEPRegistry.sol";
import {IconMarket} from "../../../contracts/IconMarket.sol";
import {IIEPRegistry} from "../../../contracts/interfaces/IIEPRegistry.sol";
import {ILeaseMarket} from "../../../contracts/interfaces/ILeaseMarket.sol";
import {IBudgetTree} from "../../../contracts/interfaces/IBudgetTree.sol";
import {TestBase} from "./TestBase.sol";
import {Samples} from "./Samples.sol";

/// @notice Deploys token, AccessManager, registry and market with the role wiring of
/// contracts/ignition/modules/IconMarket.ts (LEASE_MARKET_ROLE = 1 on the collateral hooks, granted to the
/// market without delay; ARBITER_ROLE = 2 on `slash`, granted to the arbiter with `arbiterDelay`).
abstract contract MarketFixture is TestBase {
    uint64 internal constant LEASE_MARKET_ROLE = 1;
    uint64 internal constant ARBITER_ROLE = 2;

    // defaultMarketParameters of the Ignition module
    uint128 internal constant MIN_STAKE = 100_000_000;
    uint64 internal constant UNBONDING = 172_800; // arbiter delay (1 day) + the registry's reaction window (1 day)
    uint32 internal constant SLASH_DELAY = 86_400;
    uint16 internal constant SLASH_CAP_BPS = 1_000;
    uint40 internal constant START_WINDOW = 300;
    uint16 internal constant COLLATERAL_BPS = 2_000;

    /// @dev A realistic clock; EDR starts test chains at timestamp 1.
    uint256 internal constant T0 = 1_750_000_000;

    TestToken internal token;
    /// @dev The token the market runs on: `token`, or the one given to {_deployMarketOver}.
    IERC20 internal asset;
    AccessManager internal manager;
    IEPRegistry internal registry;
    IconMarket internal market;
    address internal admin;
    address internal arbiter = address(0xA4B17E4);

    function _deployMarket(uint32 arbiterDelay) internal {
        token = new TestToken(address(this));
        _deployMarketOver(IERC20(address(token)), arbiterDelay);
    }

    /// @dev The same wiring over any ERC-20 (the fault suite uses the FeeOnTransferTokenFake).
    function _deployMarketOver(IERC20 asset_, uint32 arbiterDelay) internal {
        vm.warp(T0);
        admin = address(this);
        asset = asset_;
        manager = new AccessManager(admin);
        registry = new IEPRegistry(
            address(manager),
            asset_,
            IIEPRegistry.Parameters({
                minStake: MIN_STAKE,
                unbondingPeriod: UNBONDING,
                slashCapBps: SLASH_CAP_BPS,
                slashDelay: SLASH_DELAY
            })
        );
        market = new IconMarket(asset_, IIEPRegistry(address(registry)), START_WINDOW, COLLATERAL_BPS);

        bytes4[] memory hooks = new bytes4[](3);
        hooks[0] = IIEPRegistry.lockStake.selector;
        hooks[1] = IIEPRegistry.unlockStake.selector;
        hooks[2] = IIEPRegistry.slashLocked.selector;
        manager.setTargetFunctionRole(address(registry), hooks, LEASE_MARKET_ROLE);
        manager.grantRole(LEASE_MARKET_ROLE, address(market), 0);
        bytes4[] memory slashSel = new bytes4[](1);
        slashSel[0] = IIEPRegistry.slash.selector;
        manager.setTargetFunctionRole(address(registry), slashSel, ARBITER_ROLE);
        manager.grantRole(ARBITER_ROLE, arbiter, arbiterDelay);

        vm.label(address(asset_), "token");
        vm.label(address(manager), "manager");
        vm.label(address(registry), "registry");
        vm.label(address(market), "market");
        vm.label(arbiter, "arbiter");
    }

    function _listing(uint256 salt) internal pure returns (IIEPRegistry.Listing memory) {
        return Samples.listing(salt);
    }

    function _policy(uint96 cap) internal pure returns (IBudgetTree.Policy memory) {
        return Samples.policy(cap);
    }

    /// @dev Provider and tenant signatures (65-byte r‖s‖v) over the market's own digests.
    function _signOffer(uint256 providerKey, ILeaseMarket.Offer memory o) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(providerKey, market.hashOffer(o));
        return abi.encodePacked(r, s, v);
    }

    function _signAcceptance(uint256 tenantKey, ILeaseMarket.Offer memory o) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(tenantKey, market.hashAcceptance(o));
        return abi.encodePacked(r, s, v);
    }
}
