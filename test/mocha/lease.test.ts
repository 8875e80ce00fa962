import { expect } from "chai";
import {
  network,
  deployMarket,
  listProvider,
  createApp,
  makeOffer,
  signOffer,
  signAcceptance,
  openLease,
  openWith,
  vaultBook,
  minedAt,
  listing,
  params,
  USD,
  type Market,
} from "../helpers/market.ts";
import type { Offer } from "../../protocol/eip712.ts";

const conn = await network.create();
const { loadFixture, time, mine } = conn.networkHelpers;
const { ethers } = conn;

const P = 100n; // price per second, token units
const SLOT = 3_600n;
const DEPOSIT = P * SLOT;
const COLLATERAL = (DEPOSIT * params.collateralBps) / 10_000n;
const WINDOW = params.startWindow;
const BUDGET = USD(10_000);

const S = { None: 0, Scheduled: 1, Running: 2, StartMissed: 3, Ended: 4, Settled: 5, Cancelled: 6 } as const;
type S = (typeof S)[keyof typeof S];
const bit = (...s: S[]) => s.reduce((a, x) => a | (1n << BigInt(x)), 0n);

/** A listed provider and an app (root account 1 controlled by `icon`) with 10 000 tokens. */
async function ready() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  const acct = await createApp(m, BUDGET);
  return { m, acct };
}

/** `ready` plus one lease (100/s for one hour, starting 10 s from the fixture's clock). */
async function opened() {
  const { m, acct } = await ready();
  const offer = await makeOffer(m, acct, { pricePerSecond: P });
  const id = await openLease(m, offer);
  return { m, acct, offer, id };
}

/** `opened`, confirmed by the provider before the start. */
async function confirmed() {
  const f = await opened();
  await f.m.market.connect(f.m.provider).confirmStart(f.id);
  return f;
}

async function balanceOf(m: Market, acct: bigint) {
  return (await m.market.account(acct)).balance;
}

async function locked(m: Market) {
  return (await m.registry.stakeOf(m.provider.address)).locked;
}

async function expectVaultBalanced(m: Market) {
  const { vault, owed } = await vaultBook(m);
  expect(vault, "vault == accounts + escrow + earnings").to.equal(owed);
}

describe("LeaseEscrow", () => {
  describe("openLease", () => {
    it("opens a lease: LeaseOpened with the offer hash, deposit debited, collateral = deposit x collateralBps locked", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct, { pricePerSecond: P });
      const offerHash = await m.market.hashOffer(offer);
      const tx = openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer));
      await expect(tx)
        .to.emit(m.market, "LeaseOpened")
        .withArgs(1n, m.provider.address, acct, P, offer.start, offer.end, DEPOSIT, offerHash);
      await expect(tx).to.emit(m.registry, "StakeLocked").withArgs(m.provider.address, COLLATERAL, COLLATERAL);
      expect(COLLATERAL).to.equal((DEPOSIT * (await m.market.collateralBps())) / 10_000n);
      expect(await balanceOf(m, acct)).to.equal(BUDGET - DEPOSIT);
      expect(await locked(m)).to.equal(COLLATERAL);
      expect(await m.market.collateralOf(1n)).to.equal(COLLATERAL);
      expect(await m.market.escrowOf(1n)).to.equal(DEPOSIT);
      expect(await m.market.leaseCount()).to.equal(1n);
      expect(await m.market.state(1n)).to.equal(BigInt(S.Scheduled));
      expect(await m.market.isNonceUsed(m.provider.address, offer.nonce)).to.equal(true);
      const l = await m.market.lease(1n);
      expect([
        l.provider,
        l.start,
        l.end,
        l.flags,
        l.pricePerSecond,
        l.account,
        l.claimedUntil,
        l.stoppedAt,
      ]).to.deep.equal([m.provider.address, offer.start, offer.end, 0n, P, acct, offer.start, 0n]);
      await expectVaultBalanced(m);
    });

    it("refuses a slot that starts in the past, is empty, or is longer than 366 days", async () => {
      const { m, acct } = await loadFixture(ready);
      const t = BigInt(await time.latest());
      const cases: Array<Partial<Offer>> = [
        { start: t - 1n, end: t + 100n },
        { start: t + 50n, end: t + 50n },
        { start: t + 50n, end: t + 40n },
        { start: t + 50n, end: t + 50n + 366n * 86_400n + 1n, pricePerSecond: 1n },
      ];
      for (const over of cases) {
        const offer = await makeOffer(m, acct, over);
        await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer)))
          .to.be.revertedWithCustomError(m.market, "LeaseInvalidSlot")
          .withArgs(offer.start, offer.end, (v: bigint) => v >= t);
      }
    });

    it("refuses a zero price", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct, { pricePerSecond: 0n });
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer)))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidPrice")
        .withArgs(0n, 0n);
    });

    it("refuses a price above the application's policy cap (LeaseInvalidPrice) and accepts one at the cap", async () => {
      const { m } = await loadFixture(ready);
      const capped = await createApp(m, BUDGET, P);
      const above = await makeOffer(m, capped, { pricePerSecond: P + 1n });
      await expect(openWith(m, above, await signOffer(m, above), await signAcceptance(m, above)))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidPrice")
        .withArgs(P + 1n, P);
      const at = await makeOffer(m, capped, { pricePerSecond: P });
      await expect(openWith(m, at, await signOffer(m, at), await signAcceptance(m, at))).to.emit(
        m.market,
        "LeaseOpened",
      );
    });

    it("applies the root's price cap to leases paid by a child account", async () => {
      const { m } = await loadFixture(ready);
      const root = await createApp(m, BUDGET, P);
      await m.market.connect(m.icon).createAccount(root, m.icon.address);
      const child = await m.market.accountCount();
      await m.market.connect(m.icon).allocate(root, child, USD(100));
      const offer = await makeOffer(m, child, { pricePerSecond: P * 2n });
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer)))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidPrice")
        .withArgs(P * 2n, P);
    });

    it("refuses a lease paid from an unknown or a closed account", async () => {
      const { m, acct } = await loadFixture(ready);
      const unknown = await makeOffer(m, 42n);
      await expect(openWith(m, unknown, await signOffer(m, unknown), await signAcceptance(m, unknown)))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(42n);
      await m.market.connect(m.icon).createAccount(acct, m.icon.address);
      const child = await m.market.accountCount();
      await m.market.connect(m.icon).closeAccount(child);
      const closed = await makeOffer(m, child);
      await expect(openWith(m, closed, await signOffer(m, closed), await signAcceptance(m, closed)))
        .to.be.revertedWithCustomError(m.market, "BudgetAccountClosed")
        .withArgs(child);
    });

    it("refuses a lease from an unregistered provider (RegistryNotRegistered bubbles up)", async () => {
      const { m, acct } = await loadFixture(ready);
      await m.registry.connect(m.provider2).stake(USD(1_000));
      const offer = await makeOffer(m, acct, { provider: m.provider2.address });
      await expect(openWith(m, offer, await signOffer(m, offer, m.provider2), await signAcceptance(m, offer)))
        .to.be.revertedWithCustomError(m.registry, "RegistryNotRegistered")
        .withArgs(m.provider2.address);
    });

    it("refuses a lease from a provider without the minimum stake (RegistryInsufficientStake bubbles up)", async () => {
      const { m, acct } = await loadFixture(ready);
      await m.registry.connect(m.provider2).register(listing("02"));
      const offer = await makeOffer(m, acct, { provider: m.provider2.address });
      await expect(openWith(m, offer, await signOffer(m, offer, m.provider2), await signAcceptance(m, offer)))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider2.address, 0n, params.minStake);
    });

    it("refuses a lease whose collateral exceeds the provider's free stake", async () => {
      const { m, acct } = await loadFixture(ready);
      await listProvider(m, m.provider2, params.minStake);
      // 1 token/s for 3600 s: collateral 720 tokens > 100 tokens staked.
      const offer = await makeOffer(m, acct, { provider: m.provider2.address, pricePerSecond: USD(1) });
      await expect(openWith(m, offer, await signOffer(m, offer, m.provider2), await signAcceptance(m, offer)))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider2.address, params.minStake, USD(720));
    });

    it("refuses a lease the paying account cannot afford (BudgetInsufficientBalance)", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct, { pricePerSecond: BUDGET / SLOT + 1n });
      const deposit = (BUDGET / SLOT + 1n) * SLOT;
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer)))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(acct, BUDGET, deposit);
    });
  });

  describe("confirmStart", () => {
    it("lets the provider confirm before the start or inside the start window, once", async () => {
      const { m, id, offer } = await loadFixture(opened);
      await time.setNextBlockTimestamp(offer.start + WINDOW - 1n);
      await expect(m.market.connect(m.provider).confirmStart(id)).to.emit(m.market, "LeaseStartConfirmed").withArgs(id);
      expect((await m.market.lease(id)).flags).to.equal(1n);
      await expect(m.market.connect(m.provider).confirmStart(id)).not.to.emit(m.market, "LeaseStartConfirmed");
      expect(await m.market.state(id)).to.equal(BigInt(S.Running));
    });

    it("refuses a confirmation by anyone but the provider", async () => {
      const { m, id } = await loadFixture(opened);
      for (const s of [m.stranger, m.icon, m.owner]) {
        await expect(m.market.connect(s).confirmStart(id))
          .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
          .withArgs(id, s.address);
      }
    });

    it("refuses a confirmation once the start window has closed", async () => {
      const { m, id, offer } = await loadFixture(opened);
      await time.setNextBlockTimestamp(offer.start + WINDOW);
      await expect(m.market.connect(m.provider).confirmStart(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.StartMissed, bit(S.Scheduled, S.Running));
    });
  });

  describe("claim", () => {
    it("pays exactly price x elapsed mid-lease, to the wei, into the provider's earnings and then its wallet", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      const t = offer.start + 1_000n;
      await time.setNextBlockTimestamp(t);
      const e0 = await m.market.earningsOf(m.provider.address);
      await expect(m.market.connect(m.provider).claim(id))
        .to.emit(m.market, "LeaseClaimed")
        .withArgs(id, P * 1_000n, t)
        .and.not.to.emit(m.market, "LeaseSettled");
      expect((await m.market.earningsOf(m.provider.address)) - e0).to.equal(P * 1_000n);
      expect((await m.market.lease(id)).claimedUntil).to.equal(t);
      expect(await m.market.escrowOf(id)).to.equal(DEPOSIT - P * 1_000n);
      expect(await locked(m)).to.equal(COLLATERAL);
      await expectVaultBalanced(m);

      // A later claim pays only what accrued since.
      await time.setNextBlockTimestamp(t + 7n);
      await expect(m.market.connect(m.provider).claim(id))
        .to.emit(m.market, "LeaseClaimed")
        .withArgs(id, P * 7n, t + 7n);

      const marketAddr = await m.market.getAddress();
      const w = m.market.connect(m.provider).withdrawEarnings(m.provider.address);
      await expect(w)
        .to.emit(m.market, "EarningsWithdrawn")
        .withArgs(m.provider.address, m.provider.address, P * 1_007n);
      await expect(w).to.changeTokenBalances(ethers, m.token, [m.provider, marketAddr], [P * 1_007n, -(P * 1_007n)]);
      expect(await m.market.earningsOf(m.provider.address)).to.equal(0n);
      await expectVaultBalanced(m);
    });

    it("settles on a claim after the end: pays the rest, releases the collateral, emits LeaseSettled", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.setNextBlockTimestamp(offer.start + 100n);
      await m.market.connect(m.provider).claim(id);
      await time.increaseTo(offer.end + 50n);
      expect(await m.market.claimable(id)).to.equal(DEPOSIT - P * 100n);
      const tx = m.market.connect(m.provider).claim(id);
      await expect(tx)
        .to.emit(m.market, "LeaseClaimed")
        .withArgs(id, DEPOSIT - P * 100n, offer.end);
      await expect(tx).to.emit(m.market, "LeaseSettled").withArgs(id);
      await expect(tx).to.emit(m.registry, "StakeUnlocked").withArgs(m.provider.address, COLLATERAL, 0n);
      expect(await m.market.state(id)).to.equal(BigInt(S.Settled));
      expect(await m.market.escrowOf(id)).to.equal(0n);
      expect(await m.market.earningsOf(m.provider.address)).to.equal(DEPOSIT);
      expect(await locked(m)).to.equal(0n);
      await expect(m.market.connect(m.provider).claim(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Settled, bit(S.Running, S.Ended));
      await expectVaultBalanced(m);
    });

    it("refuses a claim before the provider confirmed the start (LeaseNotConfirmed)", async () => {
      const { m, id, offer } = await loadFixture(opened);
      await time.setNextBlockTimestamp(offer.start + 10n);
      await expect(m.market.connect(m.provider).claim(id))
        .to.be.revertedWithCustomError(m.market, "LeaseNotConfirmed")
        .withArgs(id);
      expect(await m.market.claimable(id)).to.equal(0n);
    });

    it("refuses a claim before the slot starts", async () => {
      const { m, id } = await loadFixture(confirmed);
      await expect(m.market.connect(m.provider).claim(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Scheduled, bit(S.Running, S.Ended));
    });

    it("refuses a second claim in the same second (LeaseNothingToClaim)", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.setNextBlockTimestamp(offer.start + 60n);
      await conn.provider.request({ method: "evm_setAutomine", params: [false] });
      let first, second;
      try {
        first = await m.market.connect(m.provider).claim(id, { gasLimit: 500_000n });
        second = await m.market.connect(m.provider).claim(id, { gasLimit: 500_000n });
        await mine();
      } finally {
        await conn.provider.request({ method: "evm_setAutomine", params: [true] });
      }
      const [r1, r2] = [
        await ethers.provider.getTransactionReceipt(first.hash),
        await ethers.provider.getTransactionReceipt(second.hash),
      ];
      expect(r1!.blockNumber).to.equal(r2!.blockNumber);
      expect(r1!.status).to.equal(1);
      expect(r2!.status).to.equal(0);
      await expect(second).to.be.revertedWithCustomError(m.market, "LeaseNothingToClaim").withArgs(id);
      expect(await m.market.earningsOf(m.provider.address)).to.equal(P * 60n);
    });

    it("refuses a claim by anyone but the provider", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.increaseTo(offer.start + 60n);
      for (const s of [m.stranger, m.icon, m.provider2]) {
        await expect(m.market.connect(s).claim(id))
          .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
          .withArgs(id, s.address);
      }
    });
  });

  describe("settle and withdrawEarnings", () => {
    it("lets anyone settle after the end, crediting the provider (not the caller)", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.increaseTo(offer.end);
      const tx = m.market.connect(m.stranger).settle(id);
      await expect(tx).to.emit(m.market, "LeaseClaimed").withArgs(id, DEPOSIT, offer.end);
      await expect(tx).to.emit(m.market, "LeaseSettled").withArgs(id);
      await expect(tx).to.emit(m.registry, "StakeUnlocked").withArgs(m.provider.address, COLLATERAL, 0n);
      expect(await m.market.earningsOf(m.provider.address)).to.equal(DEPOSIT);
      expect(await m.market.earningsOf(m.stranger.address)).to.equal(0n);
      await expect(m.market.connect(m.stranger).settle(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Settled, bit(S.Ended));
    });

    it("refuses to settle before the end", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.setNextBlockTimestamp(offer.end - 1n);
      await expect(m.market.connect(m.stranger).settle(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Running, bit(S.Ended));
    });

    it("refuses to withdraw earnings that do not exist or to the zero address", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await expect(m.market.connect(m.provider).withdrawEarnings(m.provider.address))
        .to.be.revertedWithCustomError(m.market, "LeaseNoEarnings")
        .withArgs(m.provider.address);
      await time.increaseTo(offer.end);
      await m.market.connect(m.stranger).settle(id);
      await expect(m.market.connect(m.provider).withdrawEarnings(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        m.market,
        "LeaseZeroRecipient",
      );
      await expect(m.market.connect(m.stranger).withdrawEarnings(m.stranger.address))
        .to.be.revertedWithCustomError(m.market, "LeaseNoEarnings")
        .withArgs(m.stranger.address);
    });
  });

  describe("terminate", () => {
    for (const who of ["controller", "owner"] as const) {
      it(`lets the ${who} end a running lease early: refund = price x (end - now) to the same budget account, never a wallet`, async () => {
        const { m, acct, id, offer } = await loadFixture(confirmed);
        const caller = who === "controller" ? m.icon : m.owner;
        const t = offer.start + 1_000n;
        await time.setNextBlockTimestamp(t);
        const refund = P * (offer.end - t);
        const before = await balanceOf(m, acct);
        const marketAddr = await m.market.getAddress();
        const tx = m.market.connect(caller).terminate(id);
        await expect(tx).to.emit(m.market, "LeaseTerminated").withArgs(id, t, refund);
        await expect(tx).to.emit(m.registry, "StakeUnlocked").withArgs(m.provider.address, COLLATERAL, 0n);
        await expect(tx).not.to.emit(m.market, "LeaseSettled");
        await expect(tx).to.changeTokenBalances(
          ethers,
          m.token,
          [m.icon, m.owner, m.provider, marketAddr],
          [0n, 0n, 0n, 0n],
        );
        expect(await balanceOf(m, acct)).to.equal(before + refund);
        expect(await m.market.state(id)).to.equal(BigInt(S.Ended));
        expect(await m.market.escrowOf(id)).to.equal(P * 1_000n);
        expect((await m.market.lease(id)).stoppedAt).to.equal(t);
        // The provider still claims what accrued up to the stop, then the lease settles.
        await expect(m.market.connect(m.provider).claim(id))
          .to.emit(m.market, "LeaseClaimed")
          .withArgs(id, P * 1_000n, t)
          .and.to.emit(m.market, "LeaseSettled")
          .and.not.to.emit(m.registry, "StakeUnlocked");
        await expectVaultBalanced(m);
      });
    }

    it("refunds the lease's own account even when it is a child and its controller changed", async () => {
      const { m, acct } = await loadFixture(ready);
      const [, , , , , , , k1, k2] = await ethers.getSigners();
      await m.market.connect(m.icon).createAccount(acct, k1.address);
      const child = await m.market.accountCount();
      await m.market.connect(m.icon).allocate(acct, child, DEPOSIT);
      const offer = await makeOffer(m, child, { pricePerSecond: P });
      const id =
        (await openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer, k1)),
        await m.market.leaseCount());
      await m.market.connect(m.icon).setController(child, k2.address);
      await expect(m.market.connect(k1).terminate(id))
        .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
        .withArgs(id, k1.address);
      const rootBefore = await balanceOf(m, acct);
      await expect(m.market.connect(k2).terminate(id))
        .to.emit(m.market, "LeaseTerminated")
        .withArgs(id, offer.start, DEPOSIT);
      expect(await balanceOf(m, child)).to.equal(DEPOSIT);
      expect(await balanceOf(m, acct)).to.equal(rootBefore);
    });

    it("refunds into an account closed while its lease ran, and the refund stays recoverable by the parent", async () => {
      const { m, acct } = await loadFixture(ready);
      await m.market.connect(m.icon).createAccount(acct, m.icon.address);
      const child = await m.market.accountCount();
      await m.market.connect(m.icon).allocate(acct, child, DEPOSIT);
      const offer = await makeOffer(m, child, { pricePerSecond: P });
      await openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer));
      const id = await m.market.leaseCount();
      await expect(m.market.connect(m.icon).closeAccount(child)).to.emit(m.market, "AccountClosed").withArgs(child, 0n);
      await expect(m.market.connect(m.icon).terminate(id))
        .to.emit(m.market, "LeaseTerminated")
        .withArgs(id, offer.start, DEPOSIT);
      expect(await balanceOf(m, child)).to.equal(DEPOSIT);
      const rootBefore = await balanceOf(m, acct);
      await expect(m.market.connect(m.icon).returnToParent(child, DEPOSIT))
        .to.emit(m.market, "ReturnedToParent")
        .withArgs(child, acct, DEPOSIT);
      expect(await balanceOf(m, acct)).to.equal(rootBefore + DEPOSIT);
      await expectVaultBalanced(m);
    });

    it("refunds everything and settles when terminated before the start", async () => {
      const { m, acct, id, offer } = await loadFixture(confirmed);
      const tx = m.market.connect(m.icon).terminate(id);
      await expect(tx).to.emit(m.market, "LeaseTerminated").withArgs(id, offer.start, DEPOSIT);
      await expect(tx).to.emit(m.market, "LeaseSettled").withArgs(id);
      await expect(tx).to.emit(m.registry, "StakeUnlocked").withArgs(m.provider.address, COLLATERAL, 0n);
      expect(await balanceOf(m, acct)).to.equal(BUDGET);
      expect(await m.market.state(id)).to.equal(BigInt(S.Settled));
      expect(await m.market.escrowOf(id)).to.equal(0n);
      expect(await locked(m)).to.equal(0n);
      await time.increaseTo(offer.start + 100n);
      await expect(m.market.connect(m.provider).claim(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Settled, bit(S.Running, S.Ended));
      await expectVaultBalanced(m);
    });

    it("refunds everything when the slot started but the provider never confirmed", async () => {
      const { m, acct, id, offer } = await loadFixture(opened);
      await time.setNextBlockTimestamp(offer.start + WINDOW - 1n);
      const tx = m.market.connect(m.icon).terminate(id);
      await expect(tx).to.emit(m.market, "LeaseTerminated").withArgs(id, offer.start, DEPOSIT);
      await expect(tx).to.emit(m.market, "LeaseSettled").withArgs(id);
      expect(await balanceOf(m, acct)).to.equal(BUDGET);
      expect(await m.market.state(id)).to.equal(BigInt(S.Settled));
      expect(await m.market.earningsOf(m.provider.address)).to.equal(0n);
      await expectVaultBalanced(m);
    });

    it("refuses a termination by anyone but the account's controller or the owner", async () => {
      const { m, id } = await loadFixture(confirmed);
      for (const s of [m.stranger, m.provider, m.child]) {
        await expect(m.market.connect(s).terminate(id))
          .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
          .withArgs(id, s.address);
      }
    });

    it("refuses to terminate after the end, twice, or a lease that does not exist", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.setNextBlockTimestamp(offer.start + 10n);
      await m.market.connect(m.icon).terminate(id);
      await expect(m.market.connect(m.icon).terminate(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Ended, bit(S.Scheduled, S.Running));
      await expect(m.market.connect(m.icon).terminate(9n))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(9n, S.None, bit(S.Scheduled, S.Running));
    });

    it("refuses to terminate a lease whose slot is over", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.increaseTo(offer.end);
      await expect(m.market.connect(m.icon).terminate(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Ended, bit(S.Scheduled, S.Running));
    });
  });

  describe("cancelMissedStart", () => {
    it("refunds the deposit and slashes the collateral into the tenant account when the start was missed", async () => {
      const { m, acct, id, offer } = await loadFixture(opened);
      await time.increaseTo(offer.start + WINDOW);
      expect(await m.market.state(id)).to.equal(BigInt(S.StartMissed));
      const marketAddr = await m.market.getAddress();
      const registryAddr = await m.registry.getAddress();
      const tx = m.market.connect(m.stranger).cancelMissedStart(id);
      await expect(tx).to.emit(m.market, "LeaseCancelled").withArgs(id, DEPOSIT, COLLATERAL);
      await expect(tx)
        .to.emit(m.registry, "Slashed")
        .withArgs(m.provider.address, COLLATERAL, marketAddr, ethers.ZeroHash);
      await expect(tx).to.changeTokenBalances(ethers, m.token, [registryAddr, marketAddr], [-COLLATERAL, COLLATERAL]);
      expect(await balanceOf(m, acct)).to.equal(BUDGET + COLLATERAL);
      expect(await m.market.state(id)).to.equal(BigInt(S.Cancelled));
      expect(await m.market.escrowOf(id)).to.equal(0n);
      const s = await m.registry.stakeOf(m.provider.address);
      expect(s.locked).to.equal(0n);
      expect(s.total).to.equal(params.minStake * 10n - COLLATERAL);
      await expectVaultBalanced(m);
    });

    it("lets a missed start be cancelled even after the slot is over", async () => {
      const { m, id, offer } = await loadFixture(opened);
      await time.increaseTo(offer.end + 1_000n);
      expect(await m.market.state(id)).to.equal(BigInt(S.StartMissed));
      await expect(m.market.connect(m.icon).cancelMissedStart(id))
        .to.emit(m.market, "LeaseCancelled")
        .withArgs(id, DEPOSIT, COLLATERAL);
    });

    it("refuses to cancel while the start window is open, a confirmed lease, or twice", async () => {
      const { m, id, offer } = await loadFixture(opened);
      await time.setNextBlockTimestamp(offer.start + WINDOW - 1n);
      await expect(m.market.connect(m.stranger).cancelMissedStart(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Running, bit(S.StartMissed));
      await time.increaseTo(offer.start + WINDOW);
      await m.market.connect(m.stranger).cancelMissedStart(id);
      await expect(m.market.connect(m.stranger).cancelMissedStart(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Cancelled, bit(S.StartMissed));
    });

    it("refuses to cancel a confirmed lease after its start window", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      await time.increaseTo(offer.start + WINDOW + 10n);
      await expect(m.market.connect(m.stranger).cancelMissedStart(id))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
        .withArgs(id, S.Running, bit(S.StartMissed));
    });
  });

  describe("renewal", () => {
    it("renews with a second offer whose start is the first one's end; both run back to back and settle", async () => {
      const { m, acct, id, offer } = await loadFixture(confirmed);
      const deadline = offer.start + 600n;
      const next = await makeOffer(m, acct, { pricePerSecond: P, start: offer.end, end: offer.end + SLOT, deadline });
      await time.setNextBlockTimestamp(offer.start + 500n);
      await expect(openWith(m, next, await signOffer(m, next), await signAcceptance(m, next)))
        .to.emit(m.market, "LeaseOpened")
        .withArgs(
          2n,
          m.provider.address,
          acct,
          P,
          offer.end,
          offer.end + SLOT,
          DEPOSIT,
          await m.market.hashOffer(next),
        );
      expect(await locked(m)).to.equal(2n * COLLATERAL);
      expect(await balanceOf(m, acct)).to.equal(BUDGET - 2n * DEPOSIT);
      await m.market.connect(m.provider).confirmStart(2n);
      await time.setNextBlockTimestamp(offer.end);
      await expect(m.market.connect(m.provider).claim(id)).to.emit(m.market, "LeaseSettled").withArgs(id);
      expect(await m.market.state(2n)).to.equal(BigInt(S.Running));
      expect(await locked(m)).to.equal(COLLATERAL);
      await time.increaseTo(next.end);
      await expect(m.market.connect(m.provider).claim(2n))
        .to.emit(m.market, "LeaseClaimed")
        .withArgs(2n, DEPOSIT, next.end);
      expect(await m.market.earningsOf(m.provider.address)).to.equal(2n * DEPOSIT);
      expect(await locked(m)).to.equal(0n);
      await expectVaultBalanced(m);
    });
  });

  describe("ERC-1271 tenant controller", () => {
    async function withWallet() {
      const { m, acct } = await ready();
      const wallet = await ethers.deployContract("ERC1271WalletMock", [m.icon.address]);
      await m.market.connect(m.owner).setController(acct, await wallet.getAddress());
      return { m, acct, wallet };
    }

    it("opens a lease accepted by a smart-contract account whose owner key signed", async () => {
      const { m, acct } = await loadFixture(withWallet);
      const offer = await makeOffer(m, acct, { pricePerSecond: P });
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer, m.icon)))
        .to.emit(m.market, "LeaseOpened")
        .withArgs(1n, m.provider.address, acct, P, offer.start, offer.end, DEPOSIT, await m.market.hashOffer(offer));
    });

    it("refuses an acceptance for a smart-contract account signed by a wrong key", async () => {
      const { m, acct, wallet } = await loadFixture(withWallet);
      const offer = await makeOffer(m, acct, { pricePerSecond: P });
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer, m.stranger)))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidSignature")
        .withArgs(await wallet.getAddress());
    });
  });

  describe("conservation", () => {
    it("keeps paid + refunded + remaining escrow == deposit at every step of a lease", async () => {
      const { m, acct, id, offer } = await loadFixture(confirmed);
      let paid = 0n;
      let refunded = 0n;
      const check = async (step: string) => {
        expect(paid + refunded + (await m.market.escrowOf(id)), step).to.equal(DEPOSIT);
        await expectVaultBalanced(m);
      };
      await check("opened");
      const claimAt = async (t: bigint) => {
        await time.setNextBlockTimestamp(t);
        const e0 = await m.market.earningsOf(m.provider.address);
        await m.market.connect(m.provider).claim(id);
        paid += (await m.market.earningsOf(m.provider.address)) - e0;
      };
      await claimAt(offer.start + 17n);
      await check("first claim");
      await claimAt(offer.start + 1_234n);
      await check("second claim");
      const b0 = await balanceOf(m, acct);
      await time.setNextBlockTimestamp(offer.start + 2_000n);
      await m.market.connect(m.icon).terminate(id);
      refunded += (await balanceOf(m, acct)) - b0;
      await check("terminated");
      await time.increase(10n);
      const e0 = await m.market.earningsOf(m.provider.address);
      await m.market.connect(m.stranger).settle(id);
      paid += (await m.market.earningsOf(m.provider.address)) - e0;
      await check("settled");
      expect(await m.market.escrowOf(id)).to.equal(0n);
      expect(paid).to.equal(P * 2_000n);
      expect(refunded).to.equal(P * (SLOT - 2_000n));
      await m.market.connect(m.provider).withdrawEarnings(m.provider.address);
      await expectVaultBalanced(m);
    });

    it("never pays the provider more than price x elapsed, whatever the claim times", async () => {
      const { m, id, offer } = await loadFixture(confirmed);
      let t = offer.start;
      for (const step of [1n, 2n, 3n, 59n, 600n, 1n, 1_000n, 7n, 5_000n]) {
        t += step;
        await time.setNextBlockTimestamp(t);
        const tx = await m.market.connect(m.provider).claim(id);
        const at = await minedAt(m, tx);
        const elapsed = (at < offer.end ? at : offer.end) - offer.start;
        expect(await m.market.earningsOf(m.provider.address)).to.equal(P * elapsed);
        if (at >= offer.end) break;
      }
      expect(await m.market.earningsOf(m.provider.address)).to.equal(DEPOSIT);
      expect(await m.market.state(id)).to.equal(BigInt(S.Settled));
    });
  });

  describe("invalidateNonces", () => {
    it("cancels the provider's nonces so an offer using one can no longer open", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct, { nonce: (5n << 8n) | 3n });
      await expect(m.market.connect(m.provider).invalidateNonces(5n, 1n << 3n))
        .to.emit(m.market, "NoncesInvalidated")
        .withArgs(m.provider.address, 5n, 1n << 3n);
      expect(await m.market.isNonceUsed(m.provider.address, offer.nonce)).to.equal(true);
      expect(await m.market.isNonceUsed(m.provider.address, offer.nonce + 1n)).to.equal(false);
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer)))
        .to.be.revertedWithCustomError(m.market, "LeaseNonceUsed")
        .withArgs(m.provider.address, offer.nonce);
    });

    it("only touches the caller's own nonces", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct, { nonce: 3n });
      await m.market.connect(m.stranger).invalidateNonces(0n, ethers.MaxUint256);
      expect(await m.market.isNonceUsed(m.provider.address, 3n)).to.equal(false);
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer))).to.emit(
        m.market,
        "LeaseOpened",
      );
    });
  });

  describe("views", () => {
    it("reports None for a lease that does not exist and the deployed window and collateral share", async () => {
      const { m } = await loadFixture(ready);
      expect(await m.market.state(1n)).to.equal(BigInt(S.None));
      expect(await m.market.escrowOf(1n)).to.equal(0n);
      expect(await m.market.startWindow()).to.equal(WINDOW);
      expect(await m.market.collateralBps()).to.equal(params.collateralBps);
      expect(await m.market.token()).to.equal(await m.token.getAddress());
      expect(await m.market.registry()).to.equal(await m.registry.getAddress());
    });
  });
});
