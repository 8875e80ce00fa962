/**
 * Issue 15, contract items 6–11: each attack reproduced as a test, plus its relatives of the same class.
 * The names of these tests are quoted in contracts/README.md ("Guarantees") as the tests that pin each rule.
 */
import { expect } from "chai";
import {
  network,
  deployMarket,
  listProvider,
  createApp,
  makeOffer,
  openLease,
  params,
  USD,
  ARBITER_ROLE,
  type Market,
} from "./helpers/market.ts";

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

describe("hardening (issue 15)", () => {
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
