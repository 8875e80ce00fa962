/**
 * The yard through reorganisations shallower than its confirmation depth (3): blocks it has read are replaced by
 * other blocks (test/helpers/reorg.ts: snapshot, revert, the kept transactions sent again, a chain at least as
 * long), on the embedded chain over JSON-RPC, with a real yard (libp2p, Docker) and a tenant. Each case ends with
 * every balance exact: the tenant's account, the operator's earnings, the market's token balance (solvency), and
 * the yard's own count of claimed pay.
 *
 * The chain automines while the system acts (one block per transaction, so a reorganisation's depth is the number of
 * transactions it replaces) and mines a block every 300 ms while the test waits for the system to settle.
 */
import { expect } from "chai";
import { Wallet, type TransactionResponse } from "ethers";
import { parseYardConfig } from "../../../yard-node/config.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { useDockerYard, waitFor, WEB_IMAGE } from "../../helpers/docker.ts";
import { markReorg, reorg, type MiningMode } from "../../helpers/reorg.ts";
import { Tenant, USD, clientFor, startMarket, yardConfig, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;
const CONFIRMATIONS = 3;
const WAITING: MiningMode = { auto: true, intervalMs: 300 };

describe("yard through reorganisations shallower than its confirmation depth", function () {
  this.timeout(180_000);
  after(async () => {
    await m?.provider.send("evm_setIntervalMining", [0]).catch(() => undefined);
    await tenant?.stop();
    await yard?.stop();
    await m?.close();
  });
  // (registered before useDockerYard: the yard stops before the engine cleanup)
  const docker = useDockerYard("reorg");
  let m: TestMarket;
  let yard: Yard;
  let tenant: Tenant;
  let operator: Wallet;
  let web: string;

  before(async () => {
    m = await startMarket();
    operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    const c = yardConfig(m, docker.get().yardId, {
      chain: { rpcUrl: m.chain.url, deployment: m.deploymentFile, confirmations: CONFIRMATIONS, pollMs: 100 },
      // No periodic claims: a lease's only claim is its final one, so each case knows every transaction it makes.
      lease: { startLeadS: 2, earlyStartS: 2, claimIntervalS: 3600, stopTimeoutS: 1, imageGraceS: 3600, minSlotS: 5 },
    });
    yard = await Yard.start({ config: parseYardConfig(c, "reorg.json"), wallet: operator, log });
    tenant = await Tenant.create(m, 2, 3, USD(100));
    web = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice(7);
  });

  /** Automine only: the system's transactions are the only blocks. */
  const actOnly = (): Promise<unknown> => m.provider.send("evm_setIntervalMining", [0]);
  /** A block every 300 ms as well (the yard's follower needs blocks on top to act). */
  const mineAlong = (): Promise<unknown> => m.provider.send("evm_setIntervalMining", [WAITING.intervalMs]);
  const named = (name: string) => (tx: TransactionResponse) =>
    tx.to?.toLowerCase() === m.deployment.market.toLowerCase() &&
    m.admin.market.interface.parseTransaction({ data: tx.data })?.name === name;
  const earnings = (): Promise<bigint> => m.admin.market.getFunction("earningsOf")(operator.address);
  const counted = (): bigint => BigInt(yard.status().earningsClaimed);
  /**
   * Every claim buried and counted once: the yard's count equals the operator's earnings (all of them this yard's
   * claims, none withdrawn), and still does 6 blocks later.
   */
  const countedOnce = async (): Promise<void> => {
    await waitFor("every claim counted", async () => counted() === (await earnings()), 15_000);
    const head = await m.provider.getBlockNumber();
    await waitFor("6 blocks more", async () => (await m.provider.getBlockNumber()) >= head + 6, 10_000);
    expect(counted()).to.equal(await earnings());
  };

  it("a termination seen then unseen: the yard never acted on it, the container runs on", async () => {
    await actOnly();
    const { leaseId, offer } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 60 });
    await waitFor("start confirmed", () => yard.db.lease(leaseId)!.confirmed, 10_000);
    const container = yard.db.lease(leaseId)!.containerId!;
    const icon = await clientFor(m, 3);
    const point = await markReorg(m.provider);
    await icon.terminate(leaseId);
    await m.provider.send("evm_mine", []);
    expect((await m.admin.lease(leaseId)).state).to.be.oneOf(["Ended", "Settled"]); // (settled: nothing accrued)
    await new Promise((r) => setTimeout(r, 1000)); // the follower polls every 100 ms: ten passes on the seen chain
    const r = await reorg(m.provider, point, { drop: named("terminate"), mining: WAITING });
    expect(r.depth).to.equal(2);
    expect(r.dropped).to.have.length(1);
    // Blocks pile up on the new chain: far past the confirmation depth, the yard has nothing to act on.
    const head = await m.provider.getBlockNumber();
    await waitFor("6 blocks more", async () => (await m.provider.getBlockNumber()) >= head + 6, 10_000);
    expect((await m.admin.lease(leaseId)).state).to.equal("Running");
    const row = yard.db.lease(leaseId)!;
    expect(row.status).to.equal("deployed");
    expect(row.stoppedAt).to.equal(undefined);
    expect(row.containerId).to.equal(container);
    expect((await docker.get().runtime.inspect(container))?.running).to.equal(true);
    // The tenant ends it for real: now the yard stops it, paid exactly to the termination. (A fresh client: the
    // first one's nonce count still includes the dropped termination.)
    await actOnly();
    await (await clientFor(m, 3)).terminate(leaseId);
    const stoppedAt = (await m.admin.lease(leaseId)).stoppedAt;
    await mineAlong();
    await waitFor("the lease to settle", () => yard.db.lease(leaseId)!.status === "settled", 20_000);
    expect(await docker.get().runtime.inspect(container)).to.equal(undefined);
    expect((await m.admin.lease(leaseId)).claimedUntil).to.equal(stoppedAt);
    expect(await earnings()).to.equal(offer.pricePerSecond * (stoppedAt - offer.start));
    await countedOnce();
  });

  it("a lease opened then dropped from the chain before its slot: the yard sends the opening again; container and lease agree, balances exact", async () => {
    await actOnly();
    const paidBefore = await earnings();
    const balanceBefore = (await m.admin.account(tenant.account)).balance;
    const point = await markReorg(m.provider);
    // A slot 15 s ahead: the contract opens no slot that has started, so only an opening dropped before its start
    // can be sent again (after it, the yard unwinds: the last case).
    const earliestStart = BigInt(Math.floor(Date.now() / 1000) + 15);
    const addr = yard.node.getMultiaddrs()[0]!;
    const { leaseId, offer } = await tenant.lease(addr, web, { slotSeconds: 12, earliestStart });
    await m.provider.send("evm_mine", []);
    const r = await reorg(m.provider, point, { drop: named("openLease"), mining: WAITING });
    expect([r.depth, r.dropped.length]).to.deep.equal([2, 1]);
    expect((await m.admin.lease(leaseId)).state).to.equal("None");
    await waitFor("the lease on chain again", async () => (await m.admin.lease(leaseId)).state === "Scheduled");
    const l = await m.admin.lease(leaseId);
    expect([l.provider.toLowerCase(), l.start, l.end, l.account, l.pricePerSecond]).to.deep.equal([
      operator.address.toLowerCase(),
      offer.start,
      offer.end,
      tenant.account,
      offer.pricePerSecond,
    ]);
    // The slot comes: the container the tenant deployed runs and the start is confirmed on the chain.
    await waitFor("start confirmed on chain", async () => ((await m.admin.lease(leaseId)).flags & 1) === 1, 30_000);
    const container = yard.db.lease(leaseId)!.containerId!;
    expect((await docker.get().runtime.inspect(container))?.running).to.equal(true);
    // The slot runs out: the final claim, the lease settled, every balance exact.
    await waitFor("the lease to settle", () => yard.db.lease(leaseId)!.status === "settled", 30_000);
    await countedOnce();
    const cost = offer.pricePerSecond * (offer.end - offer.start);
    expect((await m.admin.lease(leaseId)).claimedUntil).to.equal(offer.end);
    expect(await earnings()).to.equal(paidBefore + cost);
    expect((await m.admin.account(tenant.account)).balance).to.equal(balanceBefore - cost);
    expect((await m.admin.solvency()).ok).to.equal(true);
    expect(await docker.get().runtime.inspect(container)).to.equal(undefined);
  });

  it("a claim that vanished (depth 2, confirmations 3): the yard claims again, counts it once, balances exact", async () => {
    await actOnly();
    const paidBefore = await earnings();
    const balanceBefore = (await m.admin.account(tenant.account)).balance;
    const { leaseId, offer } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 8 });
    await waitFor("start confirmed", () => yard.db.lease(leaseId)!.confirmed, 10_000);
    await mineAlong(); // buries the opening and the confirmation
    const head = await m.provider.getBlockNumber();
    await waitFor("both buried", async () => (await m.provider.getBlockNumber()) >= head + CONFIRMATIONS + 1);
    await actOnly();
    const point = await markReorg(m.provider);
    // The slot ends: the yard claims (its final claim); it takes the lease for settled once that is buried.
    const cost = offer.pricePerSecond * (offer.end - offer.start);
    await waitFor("the final claim", async () => (await earnings()) === paidBefore + cost, 20_000);
    // One claim, or two when the first landed in a block stamped a second before the slot's end (the yard's clock
    // runs ahead of a chain that mines only on transactions): two blocks either way.
    if ((await m.provider.getBlockNumber()) - point.block < 2) await m.provider.send("evm_mine", []);
    expect(yard.db.lease(leaseId)!.status, "settled before its claim was buried").to.equal("ended");
    const r = await reorg(m.provider, point, { drop: named("claim"), mining: WAITING });
    expect(r.depth).to.equal(2);
    expect(r.dropped).to.have.length.within(1, 2);
    expect(await earnings()).to.equal(paidBefore);
    await waitFor("the pay claimed again", async () => (await earnings()) === paidBefore + cost, 20_000);
    await waitFor("the lease settled again", () => yard.db.lease(leaseId)!.status === "settled", 10_000);
    await countedOnce();
    expect(await earnings()).to.equal(paidBefore + cost);
    expect((await m.admin.lease(leaseId)).claimedUntil).to.equal(offer.end);
    expect((await m.admin.account(tenant.account)).balance).to.equal(balanceBefore - cost);
    expect((await m.admin.solvency()).ok).to.equal(true);
  });
  it("a lease dropped after its offer expired: the yard unwinds it — container gone, capacity back, no money moved, its id free", async () => {
    await actOnly();
    const paidBefore = await earnings();
    const balanceBefore = (await m.admin.account(tenant.account)).balance;
    const point = await markReorg(m.provider);
    const { leaseId, offer } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 600 });
    await waitFor("start confirmed", () => yard.db.lease(leaseId)!.confirmed, 10_000);
    const container = yard.db.lease(leaseId)!.containerId!;
    // The new chain's blocks come past the offer's deadline (the quote was valid 60 s) and the slot's start: it
    // cannot be opened again.
    const laterS = Number(offer.deadline) - Math.floor(Date.now() / 1000) + 5;
    const r = await reorg(m.provider, point, { drop: named("openLease"), mining: WAITING, laterS });
    expect([r.depth, r.dropped.length]).to.deep.equal([2, 1]);
    await waitFor("the lease unwound and forgotten", () => yard.db.lease(leaseId) === undefined, 15_000);
    expect(await docker.get().runtime.inspect(container)).to.equal(undefined);
    expect((await docker.get().runtime.list({ leaseId })).length).to.equal(0);
    // Its capacity is free again: the whole yard (yardConfig's 4000 mCPU), no other lease in the slot.
    expect(yard.ledger.freeDuring(Number(offer.start), Number(offer.end)).cpuMillis).to.equal(4000);
    expect((await m.admin.lease(leaseId)).state).to.equal("None");
    expect((await m.admin.account(tenant.account)).balance).to.equal(balanceBefore);
    expect(await earnings()).to.equal(paidBefore);
    expect((await m.admin.solvency()).ok).to.equal(true);
    // The chain numbers the next lease as the one that vanished: the yard records and runs it as any other.
    await actOnly();
    const next = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 8 });
    expect(next.leaseId).to.equal(leaseId);
    expect(yard.db.lease(leaseId)!.offer.nonce).to.equal(next.offer.nonce);
    await mineAlong();
    await waitFor("the next lease to settle", () => yard.db.lease(leaseId)!.status === "settled", 30_000);
    const cost = next.offer.pricePerSecond * (next.offer.end - next.offer.start);
    expect((await m.admin.account(tenant.account)).balance).to.equal(balanceBefore - cost);
    expect(await earnings()).to.equal(paidBefore + cost);
    await countedOnce();
  });
});
