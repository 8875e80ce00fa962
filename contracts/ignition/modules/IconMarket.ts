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
  /**
   * Two days of unbonding = the arbiter's delay (1 day) + the registry's SLASH_REACTION_WINDOW (1 day): a slash
   * scheduled up to a day after a provider asks to unstake is executable before that stake can leave. The
   * registry refuses anything shorter (RegistryUnbondingTooShort).
   */
  unbondingPeriod: 172_800n,
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
  // One value for the arbiter's execution delay in the AccessManager and the registry's slashDelay, which
  // checks unbondingPeriod >= slashDelay + SLASH_REACTION_WINDOW (the registry cannot read the grant itself).
  const arbiterDelay = m.getParameter("arbiterDelay", p.arbiterDelay);
  const registry = m.contract("IEPRegistry", [
    manager,
    token,
    {
      minStake: m.getParameter("minStake", p.minStake),
      unbondingPeriod: m.getParameter("unbondingPeriod", p.unbondingPeriod),
      slashCapBps: m.getParameter("slashCapBps", p.slashCapBps),
      slashDelay: arbiterDelay,
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
  m.call(manager, "grantRole", [ARBITER_ROLE, arbiter, arbiterDelay], {
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
