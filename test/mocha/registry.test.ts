import { expect } from "chai";
import {
  network,
  deployMarket,
  listProvider,
  listing,
  createApp,
  makeOffer,
  openLease,
  params,
  USD,
  LEASE_MARKET_ROLE,
  ARBITER_ROLE,
  type Market,
} from "../helpers/market.ts";

const conn = await network.create();
const { loadFixture, time } = conn.networkHelpers;
const { ethers } = conn;

const DAY = 86_400n;
const YEAR = 365n * DAY;
const TOTAL = params.minStake * 10n; // what listProvider stakes

async function deployed() {
  return deployMarket(conn);
}

async function listed() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  return m;
}

/** A listed provider plus an operator EOA holding the lease-market role, to drive the hooks directly. */
async function withHookOperator() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  await m.manager.connect(m.deployer).grantRole(LEASE_MARKET_ROLE, m.child.address, 0n);
  return { m, operator: m.child };
}

/** Opens a lease whose collateral is 720 tokens (3600 s at 1 token/s, 20 %). */
async function listedWithLease() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  const acct = await createApp(m, USD(10_000));
  const offer = await makeOffer(m, acct, { pricePerSecond: USD(1) });
  const id = await openLease(m, offer);
  return { m, id, collateral: (USD(3600) * params.collateralBps) / 10_000n };
}

async function ts(): Promise<bigint> {
  return BigInt(await time.latest());
}

function slashData(m: Market, provider: string, amount: bigint, recipient: string, incident: string) {
  return m.registry.interface.encodeFunctionData("slash", [provider, amount, recipient, incident]);
}

/** Schedules an arbiter slash through the AccessManager and waits out the execution delay. */
async function scheduleAndWait(m: Market, data: string) {
  await m.manager.connect(m.deployer).schedule(await m.registry.getAddress(), data, 0n);
  await time.increase(params.arbiterDelay);
}

describe("IEPRegistry", () => {
  describe("register", () => {
    it("lists a provider and emits ListingUpdated with its peer id, domain and region", async () => {
      const m = await loadFixture(deployed);
      const l = listing("aa");
      await expect(m.registry.connect(m.provider).register(l))
        .to.emit(m.registry, "ListingUpdated")
        .withArgs(m.provider.address, l.peerId, l.domain, l.region);
      const stored = await m.registry.listing(m.provider.address);
      expect(stored.peerId).to.equal(l.peerId);
      expect([...stored.multiaddrs]).to.deep.equal(l.multiaddrs);
      expect(stored.domain).to.equal(l.domain);
      expect(stored.region).to.equal(l.region);
      expect(stored.cpuMillis).to.equal(BigInt(l.cpuMillis));
      expect(stored.memoryMiB).to.equal(BigInt(l.memoryMiB));
      expect(stored.cpuPricePerSecond).to.equal(l.cpuPricePerSecond);
      expect(stored.memoryPricePerSecond).to.equal(l.memoryPricePerSecond);
      expect(await m.registry.providers()).to.deep.equal([m.provider.address]);
    });

    it("accepts the largest valid listing (64-byte peer id, 8 multiaddrs of 256 bytes, 256-byte domain and region)", async () => {
      const m = await loadFixture(deployed);
      const l = {
        ...listing("aa"),
        peerId: "0x" + "ab".repeat(64),
        multiaddrs: Array.from({ length: 8 }, () => "/".padEnd(256, "a")),
        domain: "d".repeat(256),
        region: "r".repeat(256),
      };
      await expect(m.registry.connect(m.provider).register(l)).to.emit(m.registry, "ListingUpdated");
    });

    const invalid: Array<[string, string, (l: ReturnType<typeof listing>) => void]> = [
      ["an empty peer id", "peerId", (l) => (l.peerId = "0x")],
      ["a peer id longer than 64 bytes", "peerId", (l) => (l.peerId = "0x" + "ab".repeat(65))],
      ["no multiaddrs", "multiaddrs", (l) => (l.multiaddrs = [])],
      [
        "more than 8 multiaddrs",
        "multiaddrs",
        (l) => (l.multiaddrs = Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)),
      ],
      ["an empty multiaddr", "multiaddrs", (l) => (l.multiaddrs = ["/ip4/10.0.0.1/tcp/1", ""])],
      ["a multiaddr longer than 256 bytes", "multiaddrs", (l) => (l.multiaddrs = ["/".padEnd(257, "a")])],
      ["a domain longer than 256 bytes", "domain", (l) => (l.domain = "d".repeat(257))],
      ["a region longer than 256 bytes", "region", (l) => (l.region = "r".repeat(257))],
      ["zero CPU", "cpuMillis", (l) => (l.cpuMillis = 0)],
      ["zero memory", "memoryMiB", (l) => (l.memoryMiB = 0)],
    ];
    for (const [what, field, mutate] of invalid) {
      it(`refuses a listing with ${what} (RegistryInvalidListing "${field}")`, async () => {
        const m = await loadFixture(deployed);
        const l = listing("aa");
        mutate(l);
        await expect(m.registry.connect(m.provider).register(l))
          .to.be.revertedWithCustomError(m.registry, "RegistryInvalidListing")
          .withArgs(field);
        expect(await m.registry.providers()).to.deep.equal([]);
      });
    }

    it("updates an existing listing in place without listing the provider twice", async () => {
      const m = await loadFixture(listed);
      const l = { ...listing("bb"), domain: "edge-b.example", region: "us-east", cpuMillis: 16_000 };
      await expect(m.registry.connect(m.provider).register(l))
        .to.emit(m.registry, "ListingUpdated")
        .withArgs(m.provider.address, l.peerId, "edge-b.example", "us-east");
      const stored = await m.registry.listing(m.provider.address);
      expect(stored.domain).to.equal("edge-b.example");
      expect(stored.cpuMillis).to.equal(16_000n);
      expect(await m.registry.providers()).to.deep.equal([m.provider.address]);
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(TOTAL);
    });
  });

  describe("unregister", () => {
    it("removes the listing, emits ListingRemoved and leaves the stake untouched", async () => {
      const m = await loadFixture(listed);
      expect(await m.registry.isActive(m.provider.address)).to.equal(true);
      await expect(m.registry.connect(m.provider).unregister())
        .to.emit(m.registry, "ListingRemoved")
        .withArgs(m.provider.address);
      expect((await m.registry.listing(m.provider.address)).peerId).to.equal("0x");
      expect(await m.registry.isActive(m.provider.address)).to.equal(false);
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(TOTAL);
      expect(await m.registry.providers()).to.deep.equal([m.provider.address]);
    });

    it("refuses to unregister a provider that is not listed", async () => {
      const m = await loadFixture(listed);
      await expect(m.registry.connect(m.stranger).unregister())
        .to.be.revertedWithCustomError(m.registry, "RegistryNotRegistered")
        .withArgs(m.stranger.address);
      await m.registry.connect(m.provider).unregister();
      await expect(m.registry.connect(m.provider).unregister())
        .to.be.revertedWithCustomError(m.registry, "RegistryNotRegistered")
        .withArgs(m.provider.address);
    });
  });

  describe("stake", () => {
    it("takes the tokens and emits Staked with the new total", async () => {
      const m = await loadFixture(listed);
      const registryAddr = await m.registry.getAddress();
      const before = await m.token.balanceOf(registryAddr);
      await expect(m.registry.connect(m.provider).stake(USD(5)))
        .to.emit(m.registry, "Staked")
        .withArgs(m.provider.address, USD(5), TOTAL + USD(5));
      expect(await m.token.balanceOf(registryAddr)).to.equal(before + USD(5));
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(TOTAL + USD(5));
      expect(await m.registry.availableStake(m.provider.address)).to.equal(TOTAL + USD(5));
    });

    it("refuses to stake zero", async () => {
      const m = await loadFixture(listed);
      await expect(m.registry.connect(m.provider).stake(0n)).to.be.revertedWithCustomError(
        m.registry,
        "RegistryZeroAmount",
      );
    });

    it("refuses to stake without an allowance", async () => {
      const m = await loadFixture(listed);
      await m.token.connect(m.stranger).approve(await m.registry.getAddress(), 0n);
      await expect(m.registry.connect(m.stranger).stake(1n)).to.be.revertedWithCustomError(
        m.token,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("requestUnstake", () => {
    it("starts unbonding, emits UnstakeRequested with readyAt = now + unbonding period", async () => {
      const m = await loadFixture(listed);
      const t = (await ts()) + 5n;
      await time.setNextBlockTimestamp(t);
      await expect(m.registry.connect(m.provider).requestUnstake(USD(10)))
        .to.emit(m.registry, "UnstakeRequested")
        .withArgs(m.provider.address, USD(10), USD(10), t + params.unbondingPeriod);
      const s = await m.registry.stakeOf(m.provider.address);
      expect(s.unbonding).to.equal(USD(10));
      expect(s.readyAt).to.equal(t + params.unbondingPeriod);
      expect(s.total).to.equal(TOTAL);
      expect(await m.registry.availableStake(m.provider.address)).to.equal(TOTAL - USD(10));
    });

    it("adds a second request to the unbonding amount and restarts the period", async () => {
      const m = await loadFixture(listed);
      await m.registry.connect(m.provider).requestUnstake(USD(10));
      const t = (await ts()) + 100n;
      await time.setNextBlockTimestamp(t);
      await expect(m.registry.connect(m.provider).requestUnstake(USD(5)))
        .to.emit(m.registry, "UnstakeRequested")
        .withArgs(m.provider.address, USD(5), USD(15), t + params.unbondingPeriod);
    });

    it("refuses to unstake zero", async () => {
      const m = await loadFixture(listed);
      await expect(m.registry.connect(m.provider).requestUnstake(0n)).to.be.revertedWithCustomError(
        m.registry,
        "RegistryZeroAmount",
      );
    });

    it("refuses to unstake more than the available stake", async () => {
      const m = await loadFixture(listed);
      await expect(m.registry.connect(m.provider).requestUnstake(TOTAL + 1n))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider.address, TOTAL, TOTAL + 1n);
      await m.registry.connect(m.provider).requestUnstake(USD(400));
      await expect(m.registry.connect(m.provider).requestUnstake(TOTAL - USD(400) + 1n))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider.address, TOTAL - USD(400), TOTAL - USD(400) + 1n);
    });

    it("refuses to unstake below what active leases need", async () => {
      const { m, collateral } = await loadFixture(listedWithLease);
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(collateral);
      const free = TOTAL - collateral;
      expect(await m.registry.availableStake(m.provider.address)).to.equal(free);
      await expect(m.registry.connect(m.provider).requestUnstake(free + 1n))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider.address, free, free + 1n);
      await expect(m.registry.connect(m.provider).requestUnstake(free)).to.emit(m.registry, "UnstakeRequested");
      expect(await m.registry.availableStake(m.provider.address)).to.equal(0n);
    });
  });

  describe("withdraw", () => {
    it("refuses to withdraw when nothing is unbonding", async () => {
      const m = await loadFixture(listed);
      await expect(m.registry.connect(m.provider).withdraw(m.provider.address))
        .to.be.revertedWithCustomError(m.registry, "RegistryNothingToWithdraw")
        .withArgs(m.provider.address);
    });

    it("refuses to withdraw before the unbonding period is over", async () => {
      const m = await loadFixture(listed);
      await m.registry.connect(m.provider).requestUnstake(USD(10));
      const { readyAt } = await m.registry.stakeOf(m.provider.address);
      await time.setNextBlockTimestamp(readyAt - 1n);
      await expect(m.registry.connect(m.provider).withdraw(m.provider.address))
        .to.be.revertedWithCustomError(m.registry, "RegistryUnbondingNotOver")
        .withArgs(m.provider.address, readyAt, readyAt - 1n);
    });

    it("pays the unbonded stake to the recipient from readyAt on and emits StakeWithdrawn", async () => {
      const m = await loadFixture(listed);
      await m.registry.connect(m.provider).requestUnstake(USD(10));
      const { readyAt } = await m.registry.stakeOf(m.provider.address);
      await time.setNextBlockTimestamp(readyAt);
      const before = await m.token.balanceOf(m.stranger.address);
      await expect(m.registry.connect(m.provider).withdraw(m.stranger.address))
        .to.emit(m.registry, "StakeWithdrawn")
        .withArgs(m.provider.address, m.stranger.address, USD(10));
      expect(await m.token.balanceOf(m.stranger.address)).to.equal(before + USD(10));
      const s = await m.registry.stakeOf(m.provider.address);
      expect(s.total).to.equal(TOTAL - USD(10));
      expect(s.unbonding).to.equal(0n);
      expect(s.readyAt).to.equal(0n);
      await expect(m.registry.connect(m.provider).withdraw(m.provider.address)).to.be.revertedWithCustomError(
        m.registry,
        "RegistryNothingToWithdraw",
      );
    });
  });

  describe("lease-market hooks", () => {
    for (const fn of ["lockStake", "unlockStake", "slashLocked"] as const) {
      it(`refuses ${fn} from anyone but the market (AccessManagedUnauthorized)`, async () => {
        const m = await loadFixture(listed);
        const call =
          fn === "slashLocked"
            ? m.registry.connect(m.stranger).slashLocked(m.provider.address, 1n, m.stranger.address)
            : m.registry.connect(m.stranger)[fn](m.provider.address, 1n);
        await expect(call)
          .to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized")
          .withArgs(m.stranger.address);
      });
    }

    it("refuses the hooks to the admin and the arbiter too: only the lease-market role may call them", async () => {
      const m = await loadFixture(listed);
      await expect(m.registry.connect(m.deployer).lockStake(m.provider.address, 1n))
        .to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized")
        .withArgs(m.deployer.address);
    });

    it("refuses to let a stranger grant itself the market role (AccessManagerUnauthorizedAccount)", async () => {
      const m = await loadFixture(listed);
      await expect(m.manager.connect(m.stranger).grantRole(LEASE_MARKET_ROLE, m.stranger.address, 0n))
        .to.be.revertedWithCustomError(m.manager, "AccessManagerUnauthorizedAccount")
        .withArgs(m.stranger.address, 0n);
    });

    it("locks free bonded stake for the market role and emits StakeLocked", async () => {
      const { m, operator } = await loadFixture(withHookOperator);
      await expect(m.registry.connect(operator).lockStake(m.provider.address, USD(300)))
        .to.emit(m.registry, "StakeLocked")
        .withArgs(m.provider.address, USD(300), USD(300));
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(USD(300));
      expect(await m.registry.availableStake(m.provider.address)).to.equal(TOTAL - USD(300));
    });

    it("follows its AccessManager's move to another manager: authority() and the hooks' check ask the new one", async () => {
      const { m, operator } = await loadFixture(withHookOperator);
      const registry = await m.registry.getAddress();
      const other = await ethers.deployContract("AccessManager", [m.deployer.address]);
      await expect(m.manager.connect(m.deployer).updateAuthority(registry, await other.getAddress()))
        .to.emit(m.registry, "AuthorityUpdated")
        .withArgs(await other.getAddress());
      expect(await m.registry.authority()).to.equal(await other.getAddress());
      // The old manager's grant no longer counts; the new manager's does.
      await expect(m.registry.connect(operator).lockStake(m.provider.address, 1n))
        .to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized")
        .withArgs(operator.address);
      await other
        .connect(m.deployer)
        .setTargetFunctionRole(registry, [m.registry.interface.getFunction("lockStake")!.selector], LEASE_MARKET_ROLE);
      await other.connect(m.deployer).grantRole(LEASE_MARKET_ROLE, operator.address, 0n);
      await expect(m.registry.connect(operator).lockStake(m.provider.address, 1n))
        .to.emit(m.registry, "StakeLocked")
        .withArgs(m.provider.address, 1n, 1n);
      // Only the current authority may move it again.
      await expect(m.registry.connect(m.deployer).setAuthority(await m.manager.getAddress()))
        .to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized")
        .withArgs(m.deployer.address);
    });

    it("refuses to lock stake of an unlisted provider", async () => {
      const { m, operator } = await loadFixture(withHookOperator);
      await expect(m.registry.connect(operator).lockStake(m.provider2.address, 1n))
        .to.be.revertedWithCustomError(m.registry, "RegistryNotRegistered")
        .withArgs(m.provider2.address);
    });

    it("refuses to lock stake of a provider bonded below the minimum (unbonding does not count)", async () => {
      const { m, operator } = await loadFixture(withHookOperator);
      await listProvider(m, m.provider2, params.minStake - 1n);
      await expect(m.registry.connect(operator).lockStake(m.provider2.address, 1n))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider2.address, params.minStake - 1n, params.minStake);
      await m.registry.connect(m.provider).requestUnstake(TOTAL - params.minStake + 1n);
      await expect(m.registry.connect(operator).lockStake(m.provider.address, 1n))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider.address, params.minStake - 1n, params.minStake);
    });

    it("refuses to lock more than the free stake", async () => {
      const { m, operator } = await loadFixture(withHookOperator);
      await m.registry.connect(operator).lockStake(m.provider.address, USD(600));
      await expect(m.registry.connect(operator).lockStake(m.provider.address, TOTAL - USD(600) + 1n))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider.address, TOTAL - USD(600), TOTAL - USD(600) + 1n);
    });

    it("unlocks collateral (saturating at zero) and emits StakeUnlocked", async () => {
      const { m, operator } = await loadFixture(withHookOperator);
      await m.registry.connect(operator).lockStake(m.provider.address, USD(300));
      await expect(m.registry.connect(operator).unlockStake(m.provider.address, USD(100)))
        .to.emit(m.registry, "StakeUnlocked")
        .withArgs(m.provider.address, USD(100), USD(200));
      await expect(m.registry.connect(operator).unlockStake(m.provider.address, USD(500)))
        .to.emit(m.registry, "StakeUnlocked")
        .withArgs(m.provider.address, USD(500), 0n);
      expect(await m.registry.availableStake(m.provider.address)).to.equal(TOTAL);
    });

    it("slashes at most the locked collateral for the market and pays the recipient", async () => {
      const { m, operator } = await loadFixture(withHookOperator);
      await m.registry.connect(operator).lockStake(m.provider.address, USD(300));
      const before = await m.token.balanceOf(m.owner.address);
      await expect(m.registry.connect(operator).slashLocked(m.provider.address, USD(500), m.owner.address))
        .to.emit(m.registry, "Slashed")
        .withArgs(m.provider.address, USD(300), m.owner.address, ethers.ZeroHash);
      expect(await m.token.balanceOf(m.owner.address)).to.equal(before + USD(300));
      const s = await m.registry.stakeOf(m.provider.address);
      expect(s.total).to.equal(TOTAL - USD(300));
      expect(s.locked).to.equal(0n);
      expect(
        await m.registry.connect(operator).slashLocked.staticCall(m.provider.address, 1n, m.owner.address),
      ).to.equal(0n);
    });
  });

  describe("arbiter slash", () => {
    const incident = ethers.id("incident-1");

    it("refuses an immediate arbiter slash: it must be scheduled and wait the execution delay", async () => {
      const m = await loadFixture(listed);
      const registryAddr = await m.registry.getAddress();
      const data = slashData(m, m.provider.address, USD(10), m.owner.address, incident);
      const opId = await m.manager.hashOperation(m.deployer.address, registryAddr, data);
      // Direct call without a schedule: AccessManaged asks the manager to consume an operation that does not exist.
      await expect(m.registry.connect(m.deployer).slash(m.provider.address, USD(10), m.owner.address, incident))
        .to.be.revertedWithCustomError(m.manager, "AccessManagerNotScheduled")
        .withArgs(opId);
      await expect(m.manager.connect(m.deployer).schedule(registryAddr, data, 0n)).to.emit(
        m.manager,
        "OperationScheduled",
      );
      await expect(m.manager.connect(m.deployer).execute(registryAddr, data))
        .to.be.revertedWithCustomError(m.manager, "AccessManagerNotReady")
        .withArgs(opId);
      await time.increase(params.arbiterDelay - 5n);
      await expect(m.manager.connect(m.deployer).execute(registryAddr, data))
        .to.be.revertedWithCustomError(m.manager, "AccessManagerNotReady")
        .withArgs(opId);
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(TOTAL);
    });

    it("executes a scheduled arbiter slash after the delay, pays the recipient and emits Slashed with the incident", async () => {
      const m = await loadFixture(listed);
      const data = slashData(m, m.provider.address, USD(10), m.owner.address, incident);
      await scheduleAndWait(m, data);
      const before = await m.token.balanceOf(m.owner.address);
      await expect(m.manager.connect(m.deployer).execute(await m.registry.getAddress(), data))
        .to.emit(m.registry, "Slashed")
        .withArgs(m.provider.address, USD(10), m.owner.address, incident);
      expect(await m.token.balanceOf(m.owner.address)).to.equal(before + USD(10));
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(TOTAL - USD(10));
    });

    it("lets the arbiter call slash directly once its scheduled operation is ready", async () => {
      const m = await loadFixture(listed);
      await scheduleAndWait(m, slashData(m, m.provider.address, USD(10), m.owner.address, incident));
      await expect(m.registry.connect(m.deployer).slash(m.provider.address, USD(10), m.owner.address, incident))
        .to.emit(m.registry, "Slashed")
        .withArgs(m.provider.address, USD(10), m.owner.address, incident);
    });

    it("refuses an arbiter slash from a stranger, directly or through the manager", async () => {
      const m = await loadFixture(listed);
      const registryAddr = await m.registry.getAddress();
      const data = slashData(m, m.provider.address, USD(10), m.stranger.address, incident);
      await expect(m.registry.connect(m.stranger).slash(m.provider.address, USD(10), m.stranger.address, incident))
        .to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized")
        .withArgs(m.stranger.address);
      await expect(m.manager.connect(m.stranger).schedule(registryAddr, data, 0n))
        .to.be.revertedWithCustomError(m.manager, "AccessManagerUnauthorizedCall")
        .withArgs(m.stranger.address, registryAddr, data.slice(0, 10));
      // The arbiter role is held by the deployer with a delay.
      const [isMember, delay] = await m.manager.hasRole(ARBITER_ROLE, m.deployer.address);
      expect(isMember).to.equal(true);
      expect(delay).to.equal(params.arbiterDelay);
    });

    it("refuses an arbiter slash above the cap", async () => {
      const m = await loadFixture(listed);
      const cap = (TOTAL * params.slashCapBps) / 10_000n;
      const data = slashData(m, m.provider.address, cap + 1n, m.owner.address, incident);
      await scheduleAndWait(m, data);
      await expect(m.manager.connect(m.deployer).execute(await m.registry.getAddress(), data))
        .to.be.revertedWithCustomError(m.registry, "RegistrySlashAboveCap")
        .withArgs(m.provider.address, cap + 1n, cap);
      const atCap = slashData(m, m.provider.address, cap, m.owner.address, incident);
      await scheduleAndWait(m, atCap);
      await expect(m.manager.connect(m.deployer).execute(await m.registry.getAddress(), atCap))
        .to.emit(m.registry, "Slashed")
        .withArgs(m.provider.address, cap, m.owner.address, incident);
    });

    it("refuses to reuse an incident, the zero incident and a zero amount", async () => {
      const m = await loadFixture(listed);
      const registryAddr = await m.registry.getAddress();
      const first = slashData(m, m.provider.address, USD(1), m.owner.address, incident);
      const again = slashData(m, m.provider.address, USD(2), m.owner.address, incident);
      const zeroIncident = slashData(m, m.provider.address, USD(1), m.owner.address, ethers.ZeroHash);
      const zeroAmount = slashData(m, m.provider.address, 0n, m.owner.address, ethers.id("incident-2"));
      for (const d of [first, again, zeroIncident, zeroAmount])
        await m.manager.connect(m.deployer).schedule(registryAddr, d, 0n);
      await time.increase(params.arbiterDelay);
      await m.manager.connect(m.deployer).execute(registryAddr, first);
      await expect(m.manager.connect(m.deployer).execute(registryAddr, again))
        .to.be.revertedWithCustomError(m.registry, "RegistryIncidentUsed")
        .withArgs(incident);
      await expect(m.manager.connect(m.deployer).execute(registryAddr, zeroIncident))
        .to.be.revertedWithCustomError(m.registry, "RegistryIncidentUsed")
        .withArgs(ethers.ZeroHash);
      await expect(m.manager.connect(m.deployer).execute(registryAddr, zeroAmount)).to.be.revertedWithCustomError(
        m.registry,
        "RegistryZeroAmount",
      );
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(TOTAL - USD(1));
    });

    it("keeps stake slashable while it unbonds: the slash lands before the withdrawal and shrinks it", async () => {
      const m = await loadFixture(listed);
      const registryAddr = await m.registry.getAddress();
      const amount = USD(100);
      const data = slashData(m, m.provider.address, amount, m.owner.address, incident);
      await m.manager.connect(m.deployer).schedule(registryAddr, data, 0n);
      // The provider tries to run with everything as soon as it sees the scheduled slash.
      await m.registry.connect(m.provider).requestUnstake(TOTAL);
      expect(await m.registry.isActive(m.provider.address)).to.equal(false);
      const { readyAt } = await m.registry.stakeOf(m.provider.address);
      const slashReady = await m.manager.getSchedule(
        await m.manager.hashOperation(m.deployer.address, registryAddr, data),
      );
      expect(slashReady).to.be.lessThan(readyAt);
      await time.setNextBlockTimestamp(slashReady);
      await expect(m.manager.connect(m.deployer).execute(registryAddr, data))
        .to.emit(m.registry, "Slashed")
        .withArgs(m.provider.address, amount, m.owner.address, incident);
      const s = await m.registry.stakeOf(m.provider.address);
      expect(s.total).to.equal(TOTAL - amount);
      expect(s.unbonding).to.equal(TOTAL - amount);
      await time.increaseTo(readyAt);
      await expect(m.registry.connect(m.provider).withdraw(m.provider.address))
        .to.emit(m.registry, "StakeWithdrawn")
        .withArgs(m.provider.address, m.provider.address, TOTAL - amount);
      expect(await m.token.balanceOf(registryAddr)).to.equal(0n);
    });

    it("caps a slash of locked stake so that locked and unbonding never exceed the total", async () => {
      const { m, collateral } = await loadFixture(listedWithLease);
      const registryAddr = await m.registry.getAddress();
      const free = TOTAL - collateral;
      await m.registry.connect(m.provider).requestUnstake(free);
      const cap = (TOTAL * params.slashCapBps) / 10_000n;
      const data = slashData(m, m.provider.address, cap, m.owner.address, incident);
      await scheduleAndWait(m, data);
      await m.manager.connect(m.deployer).execute(registryAddr, data);
      const s = await m.registry.stakeOf(m.provider.address);
      expect(s.total).to.equal(TOTAL - cap);
      expect(s.locked + s.unbonding).to.be.lessThanOrEqual(s.total);
      expect(await m.token.balanceOf(registryAddr)).to.equal(s.total);
    });
  });

  describe("setParameters", () => {
    it("lets the admin set parameters and emits ParametersUpdated", async () => {
      const m = await loadFixture(listed);
      const p = { minStake: USD(50), unbondingPeriod: 3n * DAY, slashCapBps: 2_500n, slashDelay: 3_600n };
      await expect(m.registry.connect(m.deployer).setParameters(p))
        .to.emit(m.registry, "ParametersUpdated")
        .withArgs(p.minStake, p.unbondingPeriod, p.slashCapBps, p.slashDelay);
      const q = await m.registry.parameters();
      expect([q.minStake, q.unbondingPeriod, q.slashCapBps, q.slashDelay]).to.deep.equal([
        p.minStake,
        p.unbondingPeriod,
        p.slashCapBps,
        p.slashDelay,
      ]);
    });

    it("refuses parameters from anyone but the admin", async () => {
      const m = await loadFixture(listed);
      const p = { minStake: 0n, unbondingPeriod: DAY, slashCapBps: 10_000n, slashDelay: 0n };
      await expect(m.registry.connect(m.stranger).setParameters(p))
        .to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized")
        .withArgs(m.stranger.address);
      await expect(m.registry.connect(m.provider).setParameters(p))
        .to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized")
        .withArgs(m.provider.address);
    });

    const base = { minStake: USD(1), unbondingPeriod: DAY, slashCapBps: 1_000n, slashDelay: 0n };
    const bad: Array<[string, string, Partial<typeof base>]> = [
      ["a zero unbonding period", "unbondingPeriod", { unbondingPeriod: 0n }],
      ["an unbonding period over a year", "unbondingPeriod", { unbondingPeriod: YEAR + 1n }],
      ["a zero slash cap", "slashCapBps", { slashCapBps: 0n }],
      ["a slash cap above 100 %", "slashCapBps", { slashCapBps: 10_001n }],
    ];
    for (const [what, field, over] of bad) {
      it(`refuses ${what} (RegistryInvalidParameter "${field}")`, async () => {
        const m = await loadFixture(listed);
        await expect(m.registry.connect(m.deployer).setParameters({ ...base, ...over }))
          .to.be.revertedWithCustomError(m.registry, "RegistryInvalidParameter")
          .withArgs(field);
      });
    }

    it("accepts the range limits: one-year unbonding and a 100 % cap; the reaction window alone with no slash delay", async () => {
      const m = await loadFixture(listed);
      await expect(
        m.registry
          .connect(m.deployer)
          .setParameters({ minStake: 0n, unbondingPeriod: YEAR, slashCapBps: 10_000n, slashDelay: YEAR - DAY }),
      ).to.emit(m.registry, "ParametersUpdated");
      await expect(
        m.registry
          .connect(m.deployer)
          .setParameters({ minStake: 0n, unbondingPeriod: DAY, slashCapBps: 1n, slashDelay: 0n }),
      ).to.emit(m.registry, "ParametersUpdated");
    });

    it('refuses a minimum stake above 2^96 − 1 (RegistryInvalidParameter "minStake") and accepts 2^96 − 1', async () => {
      const m = await loadFixture(listed);
      const p = { minStake: 2n ** 96n, unbondingPeriod: DAY, slashCapBps: 1_000n, slashDelay: 0n };
      await expect(m.registry.connect(m.deployer).setParameters(p))
        .to.be.revertedWithCustomError(m.registry, "RegistryInvalidParameter")
        .withArgs("minStake");
      await expect(m.registry.connect(m.deployer).setParameters({ ...p, minStake: 2n ** 96n - 1n }))
        .to.emit(m.registry, "ParametersUpdated")
        .withArgs(2n ** 96n - 1n, DAY, 1_000n, 0n);
      expect((await m.registry.parameters()).minStake).to.equal(2n ** 96n - 1n);
      expect(await m.registry.isActive(m.provider.address)).to.equal(false);
    });

    it("deactivates providers when the minimum stake rises above their bonded stake", async () => {
      const m = await loadFixture(listed);
      expect(await m.registry.isActive(m.provider.address)).to.equal(true);
      await m.registry
        .connect(m.deployer)
        .setParameters({ minStake: TOTAL + 1n, unbondingPeriod: DAY, slashCapBps: 1_000n, slashDelay: 0n });
      expect(await m.registry.isActive(m.provider.address)).to.equal(false);
    });
  });

  describe("views", () => {
    it("reports the token and the deployed default parameters", async () => {
      const m = await loadFixture(deployed);
      expect(await m.registry.token()).to.equal(await m.token.getAddress());
      const p = await m.registry.parameters();
      expect([p.minStake, p.unbondingPeriod, p.slashCapBps, p.slashDelay]).to.deep.equal([
        params.minStake,
        params.unbondingPeriod,
        params.slashCapBps,
        params.arbiterDelay,
      ]);
    });

    it("counts a provider as active only while listed with bonded stake of at least the minimum", async () => {
      const m = await loadFixture(deployed);
      const p = m.provider.address;
      expect(await m.registry.isActive(p)).to.equal(false);
      await m.registry.connect(m.provider).stake(params.minStake);
      expect(await m.registry.isActive(p)).to.equal(false); // staked but not listed
      await m.registry.connect(m.provider).register(listing("aa"));
      expect(await m.registry.isActive(p)).to.equal(true); // exactly the minimum
      await m.registry.connect(m.provider).requestUnstake(1n);
      expect(await m.registry.isActive(p)).to.equal(false); // unbonding does not count
      await m.registry.connect(m.provider).stake(1n);
      expect(await m.registry.isActive(p)).to.equal(true);
      await m.registry.connect(m.provider).unregister();
      expect(await m.registry.isActive(p)).to.equal(false);
    });

    it("reports available stake as total minus unbonding minus locked", async () => {
      const { m, collateral } = await loadFixture(listedWithLease);
      await m.registry.connect(m.provider).requestUnstake(USD(50));
      expect(await m.registry.availableStake(m.provider.address)).to.equal(TOTAL - USD(50) - collateral);
      const s = await m.registry.stakeOf(m.provider.address);
      expect([s.total, s.locked, s.unbonding]).to.deep.equal([TOTAL, collateral, USD(50)]);
      expect(await m.registry.availableStake(m.stranger.address)).to.equal(0n);
    });

    it("lists every provider that ever registered, in order, including removed listings", async () => {
      const m = await loadFixture(deployed);
      await m.registry.connect(m.provider2).register(listing("02"));
      await m.registry.connect(m.provider).register(listing("01"));
      await m.registry.connect(m.provider2).register(listing("03"));
      await m.registry.connect(m.provider2).unregister();
      expect(await m.registry.providers()).to.deep.equal([m.provider2.address, m.provider.address]);
      expect((await m.registry.listing(m.provider2.address)).peerId).to.equal("0x");
    });
  });
});
