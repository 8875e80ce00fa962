/**
 * Issue 15, contract items 6–11: each attack reproduced as a test, plus its relatives of the same class.
 * The names of these tests are quoted in contracts/README.md ("Guarantees") as the tests that pin each rule.
 */
import { expect } from "chai";
import {
  network,
  deployMarket,
  deployFeeMarket,
  defaultPolicy,
  deploymentOf,
  signPermit,
  vaultBook,
  listProvider,
  createApp,
  makeOffer,
  openLease,
  params,
  USD,
  ARBITER_ROLE,
  LEASE_MARKET_ROLE,
  type Market,
} from "../helpers/market.ts";

const conn = await network.create();
const { loadFixture, time } = conn.networkHelpers;
const { ethers } = conn;

async function ready() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  const acct = await createApp(m, USD(10_000));
  return { m, acct };
}

/** A confirmed lease at 100 units/s whose provider has earnings (one claim made). */
async function withEarnings() {
  const { m, acct } = await ready();
  const offer = await makeOffer(m, acct);
  const id = await openLease(m, offer);
  await m.market.connect(m.provider).confirmStart(id);
  await time.increaseTo(offer.start + 100n);
  await m.market.connect(m.provider).claim(id);
  return { m, acct, id, offer };
}

async function addresses(m: Market) {
  return { market: await m.market.getAddress(), registry: await m.registry.getAddress() };
}

/** Market over the fee-taking fake token, fee off: a listed provider and an app with 10 000 tokens. */
async function feeReady() {
  const { m, fee } = await deployFeeMarket(conn);
  await listProvider(m, m.provider);
  const acct = await createApp(m, USD(10_000));
  return { m, fee, acct };
}

/** The registry's vault and the sum of the stake totals of both providers. */
async function stakeBook(m: Market) {
  const vault = await m.token.balanceOf(await m.registry.getAddress());
  let booked = 0n;
  for (const p of [m.provider, m.provider2]) booked += (await m.registry.stakeOf(p.address)).total;
  return { vault, booked };
}

async function expectBooksEqualVaults(m: Market) {
  const market = await vaultBook(m);
  expect(market.owed, "market books").to.equal(market.vault);
  const registry = await stakeBook(m);
  expect(registry.booked, "registry books").to.equal(registry.vault);
}

describe("hardening (issue 15)", () => {
  it("every custom error of IconMarket and IEPRegistry has a sentence in MarketClient's error mapping", async () => {
    const { errorsWithSentences } = await import("../../protocol/chain/errors.ts");
    const { iconMarketAbi, iepRegistryAbi } = await import("../../protocol/chain/abi.generated.ts");
    const have = new Set(errorsWithSentences());
    const missing = [...iconMarketAbi, ...iepRegistryAbi]
      .filter((f) => f.type === "error" && !have.has(f.name))
      .map((f) => (f as { name: string }).name);
    expect(missing).to.deep.equal([]);
  });

  describe("item 6: tokens that deliver less than asked", () => {
    it("createApp and fund credit what arrived, not what was asked (1 % fee): Funded names the received amount", async () => {
      const { m, fee } = await loadFixture(feeReady);
      await fee.setFee(100);
      await expect(m.market.connect(m.owner).createApp(m.icon.address, defaultPolicy(), USD(1_000)))
        .to.emit(m.market, "Funded")
        .withArgs(2n, m.owner.address, USD(990));
      expect((await m.market.account(2n)).balance).to.equal(USD(990));
      await expect(m.market.connect(m.stranger).fund(2n, USD(100)))
        .to.emit(m.market, "Funded")
        .withArgs(2n, m.stranger.address, USD(99));
      expect((await m.market.account(2n)).balance).to.equal(USD(1_089));
      await expectBooksEqualVaults(m);
    });

    it("createAppWithPermit and fundWithPermit credit what arrived", async () => {
      const { m, fee } = await loadFixture(feeReady);
      await fee.setFee(250);
      const deadline = BigInt(await time.latest()) + 3_600n;
      let p = await signPermit(m, m.child, USD(400), deadline);
      await m.token.connect(m.deployer).mint(m.child.address, USD(1_000));
      await m.market
        .connect(m.child)
        .createAppWithPermit(m.icon.address, defaultPolicy(), USD(400), deadline, p.v, p.r, p.s);
      expect((await m.market.account(2n)).balance).to.equal(USD(390));
      p = await signPermit(m, m.child, USD(200), deadline);
      await expect(m.market.connect(m.child).fundWithPermit(2n, USD(200), deadline, p.v, p.r, p.s))
        .to.emit(m.market, "Funded")
        .withArgs(2n, m.child.address, USD(195));
      expect((await m.market.account(2n)).balance).to.equal(USD(585));
      await expectBooksEqualVaults(m);
    });

    it("stake credits what arrived: Staked and the stake total name the received amount", async () => {
      const { m, fee } = await loadFixture(feeReady);
      await fee.setFee(100);
      const total = (await m.registry.stakeOf(m.provider.address)).total;
      await expect(m.registry.connect(m.provider).stake(USD(100)))
        .to.emit(m.registry, "Staked")
        .withArgs(m.provider.address, USD(99), total + USD(99));
      await m.registry.connect(m.provider2).stake(USD(1_000));
      expect((await m.registry.stakeOf(m.provider2.address)).total).to.equal(USD(990));
      await expectBooksEqualVaults(m);
    });

    it("refuses a transfer that delivers nothing (100 % fee): fund, createApp and stake revert", async () => {
      const { m, fee } = await loadFixture(feeReady);
      await fee.setFee(10_000);
      await expect(m.market.connect(m.owner).fund(1n, USD(10)))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("amount received");
      await expect(
        m.market.connect(m.owner).createApp(m.icon.address, defaultPolicy(), USD(10)),
      ).to.be.revertedWithCustomError(m.market, "BudgetZeroValue");
      await expect(m.registry.connect(m.provider).stake(USD(10))).to.be.revertedWithCustomError(
        m.registry,
        "RegistryZeroAmount",
      );
    });

    it("a fee switched on after deposits: every exit still pays, books never exceed the vaults, the last to leave is not stuck", async () => {
      const { m, fee, acct } = await loadFixture(feeReady);
      const offer = await makeOffer(m, acct, { pricePerSecond: 1_000n });
      const id = await openLease(m, offer);
      await m.market.connect(m.provider).confirmStart(id);
      await time.increaseTo(offer.start + 600n);
      await m.market.connect(m.provider).claim(id);
      await fee.setFee(500); // 5 %, from now on
      await expectBooksEqualVaults(m);
      await m.market.connect(m.icon).terminate(id);
      await expectBooksEqualVaults(m);
      const root = (await m.market.account(acct)).balance;
      const ownerBefore = await m.token.balanceOf(m.owner.address);
      await m.market.connect(m.owner).withdraw(acct, root, m.owner.address);
      expect(await m.token.balanceOf(m.owner.address)).to.equal(ownerBefore + root - (root * 500n) / 10_000n);
      await m.market.settle(id); // the seconds between the last claim and the termination
      await m.market.connect(m.provider).withdrawEarnings(m.provider.address);
      await expectBooksEqualVaults(m);
      expect(await m.token.balanceOf(await m.market.getAddress())).to.equal(0n); // nobody left behind
      const free = await m.registry.availableStake(m.provider.address);
      await m.registry.connect(m.provider).requestUnstake(free);
      await time.increase(params.unbondingPeriod);
      await m.registry.connect(m.provider).withdraw(m.provider.address);
      await expectBooksEqualVaults(m);
      expect(await m.token.balanceOf(await m.registry.getAddress())).to.equal(0n);
    });

    it("a missed start with a fee on credits the tenant the penalty that arrived from the registry, not the one slashed", async () => {
      const { m, fee, acct } = await loadFixture(feeReady);
      const offer = await makeOffer(m, acct, { pricePerSecond: 100n }); // collateral 72 000
      const id = await openLease(m, offer);
      await fee.setFee(1_000); // 10 %
      await time.increaseTo(offer.start + params.startWindow);
      const before = (await m.market.account(acct)).balance;
      await expect(m.market.cancelMissedStart(id)).to.emit(m.market, "LeaseCancelled").withArgs(id, 360_000n, 64_800n);
      expect((await m.market.account(acct)).balance).to.equal(before + 360_000n + 64_800n);
      await expectBooksEqualVaults(m);
    });

    it("what the market cannot prevent: a token that shrinks the vault after deposit; MarketClient.solvency() reports the shortfall", async () => {
      const { m, fee } = await loadFixture(feeReady);
      const { MarketClient } = await import("../../protocol/chain/client.ts");
      const c = await MarketClient.connect({
        deployment: await deploymentOf(m),
        provider: ethers.provider as unknown as import("ethers").Provider,
      });
      let s = await c.solvency();
      expect([s.ok, s.surplus]).to.deep.equal([true, 0n]);
      await m.token.connect(m.stranger).transfer(await m.market.getAddress(), 7n); // stray tokens: surplus, still solvent
      s = await c.solvency();
      expect([s.ok, s.surplus]).to.deep.equal([true, 7n]);
      await fee.rebaseDown(await m.market.getAddress(), 10n);
      s = await c.solvency();
      expect([s.ok, s.surplus]).to.deep.equal([false, -3n]);
    });
  });

  describe("item 7: a slash always lands before the stake can leave", () => {
    it("a slash scheduled right after requestUnstake is executable before the stake can be withdrawn", async () => {
      const { m } = await loadFixture(ready);
      const registry = await m.registry.getAddress();
      const total = (await m.registry.stakeOf(m.provider.address)).total;
      await m.registry.connect(m.provider).requestUnstake(USD(500));
      const readyAt = (await m.registry.stakeOf(m.provider.address)).readyAt;
      await time.increase(60); // the arbiter reacts a minute later (the deployer is the arbiter)
      const data = m.registry.interface.encodeFunctionData("slash", [
        m.provider.address,
        USD(100),
        m.owner.address,
        ethers.id("left in a hurry"),
      ]);
      await m.manager.connect(m.deployer).schedule(registry, data, 0n);
      const opId = await m.manager.hashOperation(m.deployer.address, registry, data);
      const executableAt = await m.manager.getSchedule(opId);
      expect(executableAt).to.be.lessThan(readyAt);
      await time.increaseTo(executableAt);
      await expect(m.registry.connect(m.provider).withdraw(m.provider.address)).to.be.revertedWithCustomError(
        m.registry,
        "RegistryUnbondingNotOver",
      );
      await expect(m.manager.connect(m.deployer).execute(registry, data)).to.emit(m.registry, "Slashed");
      await time.increaseTo(readyAt);
      await m.registry.connect(m.provider).withdraw(m.provider.address);
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(total - USD(600));
    });

    it("the deployment keeps the registry's slashDelay equal to the arbiter's execution delay, and unbonding >= delay + window", async () => {
      const { m } = await loadFixture(ready);
      const p = await m.registry.parameters();
      const [, delay] = await m.manager.getAccess(ARBITER_ROLE, m.deployer.address);
      expect(p.slashDelay).to.equal(delay);
      expect(p.slashDelay).to.equal(params.arbiterDelay);
      const window = await m.registry.slashReactionWindow();
      expect(p.unbondingPeriod).to.be.greaterThanOrEqual(p.slashDelay + window);
      expect(params.unbondingPeriod).to.equal(params.arbiterDelay + window);
    });

    it("refuses parameters whose unbonding is shorter than the slash delay plus the reaction window (RegistryUnbondingTooShort)", async () => {
      const { m } = await loadFixture(ready);
      const window = await m.registry.slashReactionWindow();
      const p = { minStake: USD(1), unbondingPeriod: 86_400n + window - 1n, slashCapBps: 1_000n, slashDelay: 86_400n };
      await expect(m.registry.connect(m.deployer).setParameters(p))
        .to.be.revertedWithCustomError(m.registry, "RegistryUnbondingTooShort")
        .withArgs(p.unbondingPeriod, p.slashDelay, window);
      await expect(m.registry.connect(m.deployer).setParameters({ ...p, unbondingPeriod: 86_400n + window })).to.emit(
        m.registry,
        "ParametersUpdated",
      );
      const factory = await ethers.getContractFactory("IEPRegistry");
      await expect(
        ethers.deployContract("IEPRegistry", [await m.manager.getAddress(), await m.token.getAddress(), p]),
      ).to.be.revertedWithCustomError(factory, "RegistryUnbondingTooShort");
    });
  });

  describe("item 8: tenants' refunds and providers' pay never depend on the registry", () => {
    /** A confirmed lease and an unconfirmed one; then the market loses LEASE_MARKET_ROLE. */
    async function roleRevoked() {
      const { m, acct } = await ready();
      const running = await makeOffer(m, acct, { pricePerSecond: 100n });
      const a = await openLease(m, running);
      await m.market.connect(m.provider).confirmStart(a);
      const missed = await makeOffer(m, acct, { pricePerSecond: 100n });
      const b = await openLease(m, missed);
      await m.manager.connect(m.deployer).revokeRole(LEASE_MARKET_ROLE, await m.market.getAddress());
      return { m, acct, a, b, running, missed, collateral: 72_000n };
    }

    async function regrant(m: Market) {
      await m.manager.connect(m.deployer).grantRole(LEASE_MARKET_ROLE, await m.market.getAddress(), 0n);
    }

    it("terminate refunds the tenant although unlocking fails; anyone releases the collateral once the role is back", async () => {
      const { m, acct, a, running, collateral } = await loadFixture(roleRevoked);
      await time.increaseTo(running.start + 100n);
      const before = (await m.market.account(acct)).balance;
      const tx = m.market.connect(m.icon).terminate(a);
      await expect(tx).to.emit(m.market, "LeaseTerminated").and.to.emit(m.market, "CollateralReleaseFailed");
      const stopped = (await m.market.lease(a)).stoppedAt;
      expect((await m.market.account(acct)).balance).to.equal(before + 100n * (running.end - stopped));
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(2n * collateral); // still locked
      await expect(m.market.connect(m.stranger).releaseCollateral(a)).to.be.revertedWithCustomError(
        m.registry,
        "AccessManagedUnauthorized",
      );
      await regrant(m);
      await expect(m.market.connect(m.stranger).releaseCollateral(a))
        .to.emit(m.market, "CollateralReleased")
        .withArgs(a, 0n);
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(collateral);
      await expect(m.market.connect(m.stranger).releaseCollateral(a))
        .to.be.revertedWithCustomError(m.market, "LeaseNoCollateralPending")
        .withArgs(a);
      const book = await vaultBook(m);
      expect(book.owed).to.equal(book.vault);
    });

    it("claim and settle pay the provider although unlocking fails; the release is retried by the next settlement or by anyone", async () => {
      const { m, a, running, collateral } = await loadFixture(roleRevoked);
      await time.increaseTo(running.end + 1n);
      await expect(m.market.connect(m.provider).claim(a))
        .to.emit(m.market, "LeaseSettled")
        .and.to.emit(m.market, "CollateralReleaseFailed");
      expect(await m.market.earningsOf(m.provider.address)).to.equal(360_000n);
      expect(await m.market.state(a)).to.equal(5n); // Settled
      await expect(m.market.connect(m.provider).withdrawEarnings(m.provider.address)).to.emit(
        m.market,
        "EarningsWithdrawn",
      );
      await regrant(m);
      const { MarketClient, LEASE_FLAGS } = await import("../../protocol/chain/client.ts");
      expect((await m.market.lease(a)).flags & BigInt(LEASE_FLAGS.collateralReleased)).to.equal(0n);
      const c = await MarketClient.connect({
        deployment: await deploymentOf(m),
        signer: m.provider as unknown as import("ethers").Signer,
      });
      expect(await c.releaseCollateral(a)).to.equal(0n); // what `icon` and the yard call
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(collateral); // lease b's only
      expect((await m.market.lease(a)).flags & BigInt(LEASE_FLAGS.collateralReleased)).to.not.equal(0n);
    });

    it("settle by anyone pays the provider although unlocking fails", async () => {
      const { m, a, running } = await loadFixture(roleRevoked);
      await time.increaseTo(running.end + 1n);
      await expect(m.market.connect(m.stranger).settle(a))
        .to.emit(m.market, "LeaseClaimed")
        .and.to.emit(m.market, "CollateralReleaseFailed");
      expect(await m.market.earningsOf(m.provider.address)).to.equal(360_000n);
    });

    it("cancelMissedStart refunds the tenant although slashing fails; the penalty reaches the tenant when released later", async () => {
      const { m, acct, b, missed, collateral } = await loadFixture(roleRevoked);
      await time.increaseTo(missed.start + params.startWindow);
      const before = (await m.market.account(acct)).balance;
      await expect(m.market.cancelMissedStart(b))
        .to.emit(m.market, "LeaseCancelled")
        .withArgs(b, 360_000n, 0n)
        .and.to.emit(m.market, "CollateralReleaseFailed");
      expect((await m.market.account(acct)).balance).to.equal(before + 360_000n);
      await regrant(m);
      await expect(m.market.connect(m.stranger).releaseCollateral(b))
        .to.emit(m.market, "CollateralReleased")
        .withArgs(b, collateral);
      expect((await m.market.account(acct)).balance).to.equal(before + 360_000n + collateral);
      const book = await vaultBook(m);
      expect(book.owed).to.equal(book.vault);
    });

    it("refuses releaseCollateral for a lease still running, never opened, or already released (LeaseNoCollateralPending)", async () => {
      const { m, a } = await loadFixture(roleRevoked);
      for (const id of [a, 99n]) {
        await expect(m.market.releaseCollateral(id))
          .to.be.revertedWithCustomError(m.market, "LeaseNoCollateralPending")
          .withArgs(id);
      }
    });

    it("without the role no new lease opens (and nothing moves): the one registry call the market cannot do without", async () => {
      const { m, acct } = await loadFixture(roleRevoked);
      const before = await vaultBook(m);
      const offer = await makeOffer(m, acct);
      await expect(openLease(m, offer)).to.be.revertedWithCustomError(m.registry, "AccessManagedUnauthorized");
      expect(await vaultBook(m)).to.deep.equal(before);
    });
  });

  describe("item 9: collateral rounds in the market's favour", () => {
    it("locks one unit of collateral for a 4-unit deposit at 20 % (ceil, not floor to zero)", async () => {
      const { m, acct } = await loadFixture(ready);
      const t = BigInt(await time.latest());
      const offer = await makeOffer(m, acct, { pricePerSecond: 1n, start: t + 10n, end: t + 14n });
      const id = await openLease(m, offer);
      expect(await m.market.collateralOf(id)).to.equal(1n);
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(1n);
      await m.market.connect(m.icon).terminate(id);
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(0n);
    });

    it("locks exactly deposit × bps / 10 000 when it divides evenly (no extra unit)", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct, { pricePerSecond: 100n }); // 360 000 deposit → 72 000
      const id = await openLease(m, offer);
      expect(await m.market.collateralOf(id)).to.equal(72_000n);
      expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(72_000n);
    });

    it("a missed start of a tiny lease still costs the provider one unit of collateral", async () => {
      const { m, acct } = await loadFixture(ready);
      const t = BigInt(await time.latest());
      const offer = await makeOffer(m, acct, { pricePerSecond: 1n, start: t + 10n, end: t + 14n });
      const id = await openLease(m, offer);
      await time.increaseTo(offer.end);
      await expect(m.market.cancelMissedStart(id)).to.emit(m.market, "LeaseCancelled").withArgs(id, 4n, 1n);
    });
  });

  describe("item 10: a closed account cannot push money down", () => {
    /** Root 1 → A = 2 (child key) → A1 = 3 (stranger key); A closed; A1 handed 50 back to A. */
    async function closedParent() {
      const { m } = await ready();
      await m.market.connect(m.icon).createAccount(1n, m.child.address);
      await m.market.connect(m.child).createAccount(2n, m.stranger.address);
      await m.market.connect(m.icon).allocate(1n, 2n, USD(100));
      await m.market.connect(m.child).allocate(2n, 3n, USD(100));
      await m.market.connect(m.icon).closeAccount(2n);
      await m.market.connect(m.stranger).returnToParent(3n, USD(50)); // late money arrives in the closed A
      return m;
    }

    it("refuses allocate from a closed parent to its open child (BudgetAccountClosed of the parent)", async () => {
      const m = await loadFixture(closedParent);
      expect((await m.market.account(2n)).balance).to.equal(USD(50));
      for (const caller of [m.child, m.owner]) {
        await expect(m.market.connect(caller).allocate(2n, 3n, USD(10)))
          .to.be.revertedWithCustomError(m.market, "BudgetAccountClosed")
          .withArgs(2n);
      }
    });

    it("a closed account's money still goes up: returnToParent to the root works", async () => {
      const m = await loadFixture(closedParent);
      await expect(m.market.connect(m.child).returnToParent(2n, USD(50)))
        .to.emit(m.market, "ReturnedToParent")
        .withArgs(2n, 1n, USD(50));
    });
  });

  describe("item 11: money is never sent to the market's or registry's own address", () => {
    it("refuses a budget withdrawal to the market or the registry (BudgetInvalidRecipient)", async () => {
      const { m, acct } = await loadFixture(ready);
      const a = await addresses(m);
      for (const to of [a.market, a.registry]) {
        await expect(m.market.connect(m.owner).withdraw(acct, USD(1), to))
          .to.be.revertedWithCustomError(m.market, "BudgetInvalidRecipient")
          .withArgs(to);
      }
    });

    it("refuses an earnings withdrawal to the market or the registry (LeaseInvalidRecipient)", async () => {
      const { m } = await loadFixture(withEarnings);
      const a = await addresses(m);
      for (const to of [a.market, a.registry]) {
        await expect(m.market.connect(m.provider).withdrawEarnings(to))
          .to.be.revertedWithCustomError(m.market, "LeaseInvalidRecipient")
          .withArgs(to);
      }
    });

    it("refuses a stake withdrawal to the zero address, the registry or a market (RegistryInvalidRecipient)", async () => {
      const { m } = await loadFixture(ready);
      await m.registry.connect(m.provider).requestUnstake(USD(10));
      await time.increase(params.unbondingPeriod);
      const a = await addresses(m);
      for (const to of [ethers.ZeroAddress, a.registry, a.market]) {
        await expect(m.registry.connect(m.provider).withdraw(to))
          .to.be.revertedWithCustomError(m.registry, "RegistryInvalidRecipient")
          .withArgs(to);
      }
      await expect(m.registry.connect(m.provider).withdraw(m.provider.address)).to.emit(m.registry, "StakeWithdrawn");
    });

    it("refuses an arbiter slash paid to the zero address, the registry or a market (RegistryInvalidRecipient)", async () => {
      const { m } = await loadFixture(ready);
      await m.manager.connect(m.deployer).grantRole(ARBITER_ROLE, m.stranger.address, 0n);
      const a = await addresses(m);
      let n = 0;
      for (const to of [ethers.ZeroAddress, a.registry, a.market]) {
        await expect(m.registry.connect(m.stranger).slash(m.provider.address, USD(1), to, ethers.id(`i${n++}`)))
          .to.be.revertedWithCustomError(m.registry, "RegistryInvalidRecipient")
          .withArgs(to);
      }
    });

    it("stray tokens sent to the market by a plain transfer are surplus: booked funds untouched, solvency still holds", async () => {
      const { m } = await loadFixture(withEarnings);
      const market = await m.market.getAddress();
      const vaultBefore = await m.token.balanceOf(market);
      await m.token.connect(m.stranger).transfer(market, USD(5));
      expect(await m.token.balanceOf(market)).to.equal(vaultBefore + USD(5));
      // Nothing is credited to anyone: every book is as before, and the owner can still take out only the root's balance.
      const root = (await m.market.account(1n)).balance;
      await expect(m.market.connect(m.owner).withdraw(1n, root + 1n, m.owner.address))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(1n, root, root + 1n);
    });
  });
});
