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
  USD,
  type Market,
} from "../helpers/market.ts";

const conn = await network.create();
const { loadFixture, time, mine } = conn.networkHelpers;

const P = 100n;
const S = { Running: 2, Ended: 4, Settled: 5 } as const;
const bit = (...s: number[]) => s.reduce((a, x) => a | (1n << BigInt(x)), 0n);

/**
 * Three confirmed leases of `m.provider` (two of an hour, one of 100 s that has ended by `at`) and one confirmed
 * lease of `m.provider2`; `at` is a time when all of them have accrued.
 */
async function leases() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  await listProvider(m, m.provider2);
  const acct = await createApp(m, USD(10_000));
  const t = BigInt(await time.latest());
  const ids: bigint[] = [];
  for (const len of [3_600n, 3_600n, 100n]) {
    ids.push(await openLease(m, await makeOffer(m, acct, { pricePerSecond: P, start: t + 10n, end: t + 10n + len })));
  }
  const o2 = await makeOffer(m, acct, { provider: m.provider2.address, pricePerSecond: P * 2n });
  await openWith(m, o2, await signOffer(m, o2, m.provider2), await signAcceptance(m, o2));
  const other = await m.market.leaseCount();
  for (const id of ids) await m.market.connect(m.provider).confirmStart(id);
  await m.market.connect(m.provider2).confirmStart(other);
  return { m, ids, other, at: t + 10n + 500n };
}

/** Everything a claim changes, per lease and for the provider, plus the vault equation. */
async function books(m: Market, ids: bigint[]) {
  const out: unknown[] = [await m.market.earningsOf(m.provider.address), await m.registry.stakeOf(m.provider.address)];
  for (const id of ids) {
    const l = await m.market.lease(id);
    out.push([l.claimedUntil, l.flags, await m.market.state(id), await m.market.escrowOf(id)]);
  }
  const { vault, owed } = await vaultBook(m);
  expect(vault, "vault == accounts + escrow + earnings").to.equal(owed);
  return out;
}

/** The market's events in `blockNumber`, as [name, ...args] strings, in log order. */
async function eventsIn(m: Market, blockNumber: number) {
  const logs = await m.ethers.provider.getLogs({ fromBlock: blockNumber, toBlock: blockNumber });
  const out: string[] = [];
  for (const log of logs) {
    const c = log.address === (await m.market.getAddress()) ? m.market : m.registry;
    const p = c.interface.parseLog(log);
    if (p) out.push(`${p.name}(${p.args.map(String).join(",")})`);
  }
  return out;
}

describe("claimMany", () => {
  it("equals the same claims sent singly in one block: balances, lease records, collateral and events", async () => {
    const { m, ids, at } = await loadFixture(leases);
    await time.setNextBlockTimestamp(at);
    const tx = await m.market.connect(m.provider).claimMany(ids);
    const batchBlock = (await tx.wait())!.blockNumber;
    const batch = await books(m, ids);
    const batchEvents = await eventsIn(m, batchBlock);
    // 500 s each on the long leases, the whole 100 s slot on the ended one (which settles).
    expect(batch[0]).to.equal(P * 500n * 2n + P * 100n);
    expect(batchEvents.filter((e) => e.startsWith("LeaseClaimed"))).to.have.length(3);
    expect(batchEvents).to.include(`LeaseSettled(${ids[2]})`);

    const again = await loadFixture(leases);
    await conn.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      // A fixed gas limit: estimating in the pending block would run before the slots start.
      for (const id of again.ids) await again.m.market.connect(again.m.provider).claim(id, { gasLimit: 300_000n });
      await time.setNextBlockTimestamp(at);
      await mine();
    } finally {
      await conn.provider.request({ method: "evm_setAutomine", params: [true] });
    }
    const singleBlock = await again.m.ethers.provider.getBlockNumber();
    expect(await books(again.m, again.ids)).to.deep.equal(batch);
    expect(await eventsIn(again.m, singleBlock)).to.deep.equal(batchEvents);
  });

  it("returns the total it credits to the caller's earnings", async () => {
    const { m, ids, at } = await loadFixture(leases);
    await time.setNextBlockTimestamp(at);
    await mine();
    const total = await m.market.connect(m.provider).claimMany.staticCall(ids);
    expect(total).to.equal(P * 500n * 2n + P * 100n);
    await time.setNextBlockTimestamp(at + 1n);
    await m.market.connect(m.provider).claimMany(ids.slice(0, 2));
    expect(await m.market.earningsOf(m.provider.address)).to.equal(P * 501n * 2n);
  });

  it("refuses the whole batch when one id is another provider's lease (LeaseUnauthorized), changing nothing", async () => {
    const { m, ids, other, at } = await loadFixture(leases);
    await time.setNextBlockTimestamp(at);
    const before = await books(m, [...ids, other]);
    await expect(m.market.connect(m.provider).claimMany([ids[0]!, other, ids[1]!]))
      .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
      .withArgs(other, m.provider.address);
    expect(await books(m, [...ids, other])).to.deep.equal(before);
    await expect(m.market.connect(m.stranger).claimMany([ids[0]!]))
      .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
      .withArgs(ids[0], m.stranger.address);
  });

  it("refuses a settled lease (LeaseInvalidState), an unconfirmed one (LeaseNotConfirmed) and one not started", async () => {
    const { m, ids, at } = await loadFixture(leases);
    await time.setNextBlockTimestamp(at);
    await m.market.connect(m.provider).claim(ids[2]!); // ended: settles
    await expect(m.market.connect(m.provider).claimMany([ids[0]!, ids[2]!]))
      .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
      .withArgs(ids[2], S.Settled, bit(S.Running, S.Ended));
    const acct = (await m.market.lease(ids[0]!)).account;
    const late = await openLease(m, await makeOffer(m, acct, { pricePerSecond: P }));
    await expect(m.market.connect(m.provider).claimMany([ids[0]!, late]))
      .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
      .withArgs(late, 1n, bit(S.Running, S.Ended));
    await time.increase(20);
    await expect(m.market.connect(m.provider).claimMany([late]))
      .to.be.revertedWithCustomError(m.market, "LeaseNotConfirmed")
      .withArgs(late);
  });

  it("refuses a repeated id: the second claim of a lease in the same block has nothing to claim", async () => {
    const { m, ids, at } = await loadFixture(leases);
    await time.setNextBlockTimestamp(at);
    await expect(m.market.connect(m.provider).claimMany([ids[0]!, ids[1]!, ids[0]!]))
      .to.be.revertedWithCustomError(m.market, "LeaseNothingToClaim")
      .withArgs(ids[0]);
    await time.setNextBlockTimestamp(at + 10n);
    await expect(m.market.connect(m.provider).claimMany([ids[2]!, ids[2]!]))
      .to.be.revertedWithCustomError(m.market, "LeaseInvalidState")
      .withArgs(ids[2], S.Settled, bit(S.Running, S.Ended));
    expect(await m.market.earningsOf(m.provider.address)).to.equal(0n);
  });

  it("refuses an empty list and one longer than MAX_CLAIM_BATCH (256) with LeaseBatchLength", async () => {
    const { m, ids } = await loadFixture(leases);
    expect(await m.market.MAX_CLAIM_BATCH()).to.equal(256n);
    await expect(m.market.connect(m.provider).claimMany([]))
      .to.be.revertedWithCustomError(m.market, "LeaseBatchLength")
      .withArgs(0n, 256n);
    const many = Array.from({ length: 257 }, (_, i) => ids[i % 2]!);
    await expect(m.market.connect(m.provider).claimMany(many))
      .to.be.revertedWithCustomError(m.market, "LeaseBatchLength")
      .withArgs(257n, 256n);
  });
});
