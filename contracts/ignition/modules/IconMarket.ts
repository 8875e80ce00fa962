/**
 * Hardhat Ignition modules for the ICON market.
 *
 *   IconMarket     the market over an existing ERC-20 (module parameter `token`)
 *   IconMarketDev  the same over a freshly deployed TestToken (6 decimals, permit) — demo and tests
 *
 * Access control: one OpenZeppelin AccessManager. The market holds LEASE_MARKET_ROLE (no delay) for the
 * registry's collateral hooks; the arbiter holds ARBITER_ROLE with an execution delay for `slash`;
 * `setParameters` stays with the admin role (the deployer, who can hand it to a multisig/timelock).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { id } from "ethers";

export const LEASE_MARKET_ROLE = 1n;
export const ARBITER_ROLE = 2n;

const selector = (signature: string): string => id(signature).slice(0, 10);

/** Defaults chosen for development; production deployments pass their own parameters. */
export const defaultMarketParameters = {
  /** Bonded stake a provider needs to be listed as active: 100 tokens of 6 decimals. */
  minStake: 100_000_000n,
  /** One day of unbonding: long enough for the arbiter's delayed slash to land before stake leaves. */
  unbondingPeriod: 86_400n,
  /** An arbiter incident slashes at most 10 % of a provider's stake. */
  slashCapBps: 1_000n,
  /** The provider must confirm a lease's start within 5 minutes of the slot start. */
  startWindow: 300n,
  /** 20 % of each lease's value is locked from the provider's stake as collateral. */
  collateralBps: 2_000n,
  /** The arbiter's slash takes effect no earlier than one day after it is scheduled. */
  arbiterDelay: 86_400n,
};

function buildMarket(m: IgnitionModuleBuilder, token: ContractFuture<string>) {
  const p = defaultMarketParameters;
  const admin = m.getParameter("admin", m.getAccount(0));
  const arbiter = m.getParameter("arbiter", m.getAccount(0));
  const manager = m.contract("AccessManager", [admin]);
  const registry = m.contract("IEPRegistry", [
    manager,
    token,
    {
      minStake: m.getParameter("minStake", p.minStake),
      unbondingPeriod: m.getParameter("unbondingPeriod", p.unbondingPeriod),
      slashCapBps: m.getParameter("slashCapBps", p.slashCapBps),
    },
  ]);
  const market = m.contract("IconMarket", [
    token,
    registry,
    m.getParameter("startWindow", p.startWindow),
    m.getParameter("collateralBps", p.collateralBps),
  ]);
  const hooks = m.call(
    manager,
    "setTargetFunctionRole",
    [
      registry,
      [
        selector("lockStake(address,uint256)"),
        selector("unlockStake(address,uint256)"),
        selector("slashLocked(address,uint256,address)"),
      ],
      LEASE_MARKET_ROLE,
    ],
    { id: "RoleForMarketHooks" },
  );
  m.call(manager, "grantRole", [LEASE_MARKET_ROLE, market, 0n], { id: "GrantMarketRole", after: [hooks] });
  const slash = m.call(
    manager,
    "setTargetFunctionRole",
    [registry, [selector("slash(address,uint256,address,bytes32)")], ARBITER_ROLE],
    { id: "RoleForArbiterSlash" },
  );
  m.call(manager, "grantRole", [ARBITER_ROLE, arbiter, m.getParameter("arbiterDelay", p.arbiterDelay)], {
    id: "GrantArbiterRole",
    after: [slash],
  });
  return { manager, registry, market };
}

export const IconMarketModule = buildModule("IconMarket", (m) => {
  const token = m.contractAt("IERC20", m.getParameter<string>("token"));
  return { token, ...buildMarket(m, token) };
});

export const IconMarketDevModule = buildModule("IconMarketDev", (m) => {
  const token = m.contract("TestToken", [m.getAccount(0)]);
  return { token, ...buildMarket(m, token) };
});

export default IconMarketDevModule;
