/**
 * The yard through reorganisations shallower than its confirmation depth (3): blocks it has read are replaced by
 * other blocks (test/helpers/reorg.ts: snapshot, revert, the kept transactions sent again, a chain at least as
 * long), on the embedded chain over JSON-RPC, with a real yard (libp2p, Docker) and a tenant. Each case ends with
 * every balance exact: the tenant's account, the operator's earnings, the market's token balance (solvency), and
 * the yard's own count of claimed pay.
 *
 * A re-key after the container started (in its early start, the only time an opening can still land: the chain
 * refuses one whose slot began) with traffic flowing keeps serving the client under the new id — the same port, an
 * open keep-alive connection and new ones, the flows recorded under the new id — and bills it under the new id; the
 * ICON's recovery (icon-agent/recovery.ts) adopts it under the new id: one lease paid.
 *
 * The chain automines while the system acts (one block per transaction, so a reorganisation's depth is the number of
 * transactions it replaces) and mines a block every 300 ms while the test waits for the system to settle.
 */
import http from "node:http";
import { expect } from "chai";
import { Transaction, Wallet, type TransactionResponse } from "ethers";
import { ACCEPTANCE_TYPES, OFFER_TYPES, peerIdBytes } from "../../../protocol/index.ts";
import { parseYardConfig } from "../../../yard-node/config.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { recoveryOver } from "../../helpers/recovery.ts";
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
  const chainNow = async (): Promise<bigint> => BigInt((await m.provider.getBlock("latest"))!.timestamp);
  /** A provider's stake locked as collateral in the registry. */
  const locked = async (provider: string): Promise<bigint> =>
    BigInt(((await m.admin.registry.getFunction("stakeOf")(provider)) as { locked: bigint }).locked);
  /**
   * What a case must leave exact: the tenant's account, the operator's earnings, the market's token balance, the
   * yard's collateral locked in the registry (solvency checked on the way).
   */
  const money = async (): Promise<{ balance: bigint; earnings: bigint; market: bigint; locked: bigint }> => {
    expect((await m.admin.solvency()).ok).to.equal(true);
    return {
      balance: (await m.admin.account(tenant.account)).balance,
      earnings: await earnings(),
      market: BigInt(await m.admin.token.getFunction("balanceOf")(m.deployment.market)),
      locked: await locked(operator.address),
    };
  };
  /** The signed openLease transaction mined after block `from`. */
  const openingOf = async (from: number): Promise<TransactionResponse> => {
    for (let n = from + 1; n <= (await m.provider.getBlockNumber()); n++)
      for (const t of (await m.provider.getBlock(n, true))!.prefetchedTransactions) if (named("openLease")(t)) return t;
    throw new Error("no opening after the fork point");
  };
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

  it("a lease opened then dropped from the chain before its slot: the yard does not send it again, holds it, and unwinds it at the offer's deadline + 60 s; no money moved", async () => {
    await actOnly();
    const before = await money();
    const point = await markReorg(m.provider);
    const earliestStart = (await chainNow()) + 15n;
    const { leaseId, offer } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, {
      slotSeconds: 12,
      earliestStart,
    });
    await m.provider.send("evm_mine", []);
    const r = await reorg(m.provider, point, { drop: named("openLease"), mining: WAITING });
    expect([r.depth, r.dropped.length]).to.deep.equal([2, 1]);
    const row = yard.db.lease(leaseId)!;
    await waitFor("the opening held as pending", () => yard.db.pendingOpen(row.offerHash) !== undefined, 10_000);
    // Held, not sent again: blocks pile up and the chain still has no such lease; the yard sent nothing for it.
    const head = await m.provider.getBlockNumber();
    await waitFor("6 blocks more", async () => (await m.provider.getBlockNumber()) >= head + 6, 10_000);
    expect((await m.admin.lease(leaseId)).state).to.equal("None");
    expect(yard.db.lease(leaseId)?.offerHash).to.equal(row.offerHash);
    // The chain's clock passes the offer's deadline + 60 s: no opening of it can land any more.
    await m.provider.send("evm_increaseTime", [Number(offer.deadline - (await chainNow())) + 65]);
    await waitFor("the lease unwound and forgotten", () => yard.db.lease(leaseId) === undefined, 20_000);
    expect(yard.db.pendingOpen(row.offerHash)).to.equal(undefined);
    expect((await docker.get().runtime.list({ leaseId })).length).to.equal(0);
    expect(yard.ledger.freeDuring(Number(offer.start), Number(offer.end)).cpuMillis).to.equal(4000);
    expect((await m.admin.lease(leaseId)).state).to.equal("None");
    expect(await money()).to.deep.equal(before);
  });

  it("a dropped opening included again later under another id: the yard adopts it under the new id, container kept, balances exact", async () => {
    await actOnly();
    const before = await money();
    // Another provider, so that another lease can take the id on the new chain without this yard.
    const other = await clientFor(m, 6, USD(200));
    const otherWallet = new Wallet(m.keys[6]!, m.provider);
    if (!(await other.providerStatus(otherWallet.address)).listing) {
      await other.register({
        peerId: peerIdBytes(tenant.node.peerId),
        multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
        domain: "other.icon",
        region: "test-1",
        cpuMillis: 1000,
        memoryMiB: 1024,
        cpuPricePerSecond: 1n,
        memoryPricePerSecond: 1n,
      });
      await other.stake(USD(100));
    }
    const otherStake = await locked(otherWallet.address);
    const point = await markReorg(m.provider);
    const earliestStart = (await chainNow()) + 20n;
    const addr = yard.node.getMultiaddrs()[0]!;
    const { leaseId, offer } = await tenant.lease(addr, web, { slotSeconds: 12, earliestStart });
    await m.provider.send("evm_mine", []);
    // The original opening, signed, as a node's mempool would keep it.
    const opening = await openingOf(point.block);
    const r = await reorg(m.provider, point, { drop: (t) => t.hash === opening.hash, mining: { auto: true } });
    expect([r.depth, r.dropped.length]).to.deep.equal([2, 1]);
    // The new chain: another provider's lease for the same account takes the id first, then the original lands.
    const t0 = await chainNow();
    const o2 = {
      ...offer,
      provider: otherWallet.address,
      pricePerSecond: 1n,
      start: t0 + 600n,
      end: t0 + 610n,
      nonce: offer.nonce + 1n,
    };
    const ps = await otherWallet.signTypedData(other.domain(), OFFER_TYPES, o2);
    const ts = await tenant.icon.signTypedData(other.domain(), ACCEPTANCE_TYPES, { offer: o2 });
    const taken = await other.openLeaseTx(o2, ps, ts);
    expect(taken.leaseId).to.equal(leaseId);
    await m.provider.send("eth_sendRawTransaction", [Transaction.from(opening).serialized]);
    const moved = leaseId + 1n;
    expect((await m.admin.lease(moved)).provider.toLowerCase()).to.equal(operator.address.toLowerCase());
    await mineAlong();
    await waitFor("the lease adopted under its new id", () => yard.db.lease(moved) !== undefined, 20_000);
    expect(yard.db.lease(leaseId)).to.equal(undefined);
    await waitFor("start confirmed on chain", async () => ((await m.admin.lease(moved)).flags & 1) === 1, 30_000);
    const container = yard.db.lease(moved)!.containerId!;
    expect((await docker.get().runtime.inspect(container))?.running).to.equal(true);
    // The yard did nothing for the other provider's lease that holds its old id.
    expect((await m.admin.lease(leaseId)).flags & 1).to.equal(0);
    await waitFor("the lease to settle", () => yard.db.lease(moved)!.status === "settled", 30_000);
    await countedOnce();
    const cost = offer.pricePerSecond * (offer.end - offer.start);
    const held = o2.pricePerSecond * (o2.end - o2.start); // the other lease's escrow, its slot to come
    expect((await m.admin.lease(moved)).claimedUntil).to.equal(offer.end);
    const after = await money();
    expect(after.earnings).to.equal(before.earnings + cost);
    expect(after.balance).to.equal(before.balance - cost - held);
    expect(after.market).to.equal(before.market); // the pay and the other escrow stay in the market
    expect(after.locked).to.equal(before.locked);
    expect(await locked(otherWallet.address)).to.be.greaterThan(otherStake);
    expect(await docker.get().runtime.inspect(container)).to.equal(undefined);
  });

  it("a lease re-keyed while its container runs and serves: the client is served on under the new id (same port, open connection, flows), billed under it, balances exact", async () => {
    await actOnly();
    const before = await money();
    const otherWallet = new Wallet(m.keys[6]!, m.provider); // listed by the case before
    const other = await clientFor(m, 6);
    const point = await markReorg(m.provider);
    const forkTs = (await m.provider.getBlock(point.block))!.timestamp;
    const earliestStart = BigInt(forkTs) + 20n;
    const addr = yard.node.getMultiaddrs()[0]!;
    // HTTP mode: the ingress keeps the client's connection open (the upstream closes its own after each answer).
    const { leaseId, offer, endpoint } = await tenant.lease(
      addr,
      web,
      { slotSeconds: 30, earliestStart },
      { httpPorts: [8080] },
    );
    const opening = await openingOf(point.block);
    // The container starts early (earlyStartS) and serves: a keep-alive connection and a fresh one.
    const [host, port] = endpoint.split(":") as [string, string];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = (keep: boolean): Promise<string> =>
      new Promise((resolve) => {
        const req = http.get(
          { host, port: Number(port), path: "/", agent: keep ? agent : false, timeout: 5000 },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () =>
              resolve(res.statusCode === 200 && body.includes("icon-web-ok") ? "ok" : `HTTP ${res.statusCode}`),
            );
            res.on("error", (e) => resolve(`response: ${e.message}`));
          },
        );
        req.on("socket", (s) => keep && sockets.add(s));
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e: NodeJS.ErrnoException) => resolve(`request: ${e.code ?? e.message}`));
      });
    try {
      await waitFor("the service to answer", async () => (await get(false)) === "ok", 40_000);
      expect(await get(true)).to.equal("ok");
      const container = yard.db.lease(leaseId)!.containerId!;
      // Another lease of the account, at another provider, will take the id on the new chain (signed beforehand:
      // it lands at once after the reorganisation, before the yard's follower fills the dropped opening's nonce).
      const o2 = {
        ...offer,
        provider: otherWallet.address,
        pricePerSecond: 1n,
        start: BigInt(forkTs) + 600n,
        end: BigInt(forkTs) + 610n,
        nonce: offer.nonce + 1n,
      };
      const ps = await otherWallet.signTypedData(other.domain(), OFFER_TYPES, o2);
      const ts = await tenant.icon.signTypedData(other.domain(), ACCEPTANCE_TYPES, { offer: o2 });
      // The opening is dropped (with whatever the yard sent after it); the new chain's blocks are as early as the
      // replaced ones, before the slot's start, so the original can still land — under the next id.
      const r = await reorg(m.provider, point, {
        drop: (t) => t.from.toLowerCase() === operator.address.toLowerCase(),
        mining: { auto: true },
        timestamp: forkTs + 1,
      });
      expect(r.dropped).to.include(opening.hash);
      expect((await other.openLeaseTx(o2, ps, ts)).leaseId).to.equal(leaseId);
      await m.provider.send("eth_sendRawTransaction", [Transaction.from(opening).serialized]);
      const moved = leaseId + 1n;
      expect((await m.admin.lease(moved)).provider.toLowerCase()).to.equal(operator.address.toLowerCase());
      expect(BigInt((await m.provider.getBlock("latest"))!.timestamp)).to.be.below(offer.start);
      await mineAlong();
      await waitFor("the lease re-keyed", () => yard.db.lease(moved) !== undefined, 20_000);
      expect(yard.db.lease(leaseId)).to.equal(undefined);
      expect(yard.db.lease(moved)!.containerId).to.equal(container);
      expect(yard.db.lease(moved)!.ingress["8080"]).to.equal(Number(port));
      // Served on: the open connection and a fresh one, through the same port; the flows are the new id's.
      const socketsBefore = sockets.size;
      expect(await get(true)).to.equal("ok");
      expect(sockets.size, "the keep-alive connection was kept").to.equal(socketsBefore);
      expect(await get(false)).to.equal("ok");
      expect(yard.overlay.flows(moved).snapshot().length, "no flow recorded under the new id").to.be.greaterThan(0);
      // The ICON's recovery (icon-agent/recovery.ts) adopts the lease under its new id: not the lease that took the
      // old id (another yard's, unknown to its state: ended by the sweep, refunded in full), not a second lease.
      const said: string[] = [];
      const placement = {
        leaseId,
        leaseStart: offer.start,
        end: offer.end,
        pricePerSecond: offer.pricePerSecond,
        yard: { operator: operator.address },
      };
      const seed = { account: tenant.account, root: tenant.account, placement, children: {}, replicas: 0 };
      // What the sweep gives back: every lease of the account not yet started other than the placement's (this
      // case's other-provider lease, and the one of the case before), refunded in full.
      let refunds = 0n;
      for (const id of await m.admin.leasesOf(tenant.account)) {
        const l = await m.admin.lease(id);
        if (id !== moved && l.state === "Scheduled") refunds += l.pricePerSecond * (l.end - l.start);
      }
      await recoveryOver({ seed, client: await clientFor(m, 3), said, confirmations: CONFIRMATIONS }).recover();
      expect(seed.placement.leaseId, said.join("; ")).to.equal(moved);
      expect(said.filter((l) => l.startsWith("placed"))).to.deep.equal([]);
      expect((await m.admin.lease(leaseId)).state).to.be.oneOf(["Ended", "Settled"]);
      await waitFor(
        "start confirmed on chain under the new id",
        async () => ((await m.admin.lease(moved)).flags & 1) === 1,
        30_000,
      );
      expect(await get(false)).to.equal("ok");
      await waitFor("the lease to settle", () => yard.db.lease(moved)!.status === "settled", 60_000);
      await countedOnce();
      const cost = offer.pricePerSecond * (offer.end - offer.start);
      expect((await m.admin.lease(moved)).claimedUntil).to.equal(offer.end);
      const after = await money();
      expect(after.earnings).to.equal(before.earnings + cost);
      const held = o2.pricePerSecond * (o2.end - o2.start); // (among the refunds)
      expect(after.balance, "one lease paid").to.equal(before.balance - cost - held + refunds);
      expect(after.market).to.equal(before.market);
      expect(await docker.get().runtime.inspect(container)).to.equal(undefined);
      expect(await get(false)).to.not.equal("ok"); // ended: its endpoint closed
    } finally {
      agent.destroy();
    }
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
    // The new chain's blocks come past the offer's deadline + 60 s (the quote was valid 60 s) and the slot's start:
    // it cannot be opened again, and the yard unwinds it.
    const laterS = Number(offer.deadline - (await chainNow())) + 65;
    const r = await reorg(m.provider, point, { drop: named("openLease"), mining: WAITING, laterS });
    // (2 blocks: the opening and the confirmation; 3 when a confirmStart sent a second early, by a yard clock that
    // leads a chain whose timestamps were pushed ahead, was mined reverted first)
    expect(r.dropped).to.have.length(1);
    expect(r.depth).to.be.within(2, 3);
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
    // Its start stays unconfirmed until its container runs: the vanished lease's confirmStart, stranded behind the
    // dropped opening's nonce, ran (reverted) when the yard filled the gap, and cannot confirm this one now.
    await actOnly();
    const opened = await tenant.open(yard.node.getMultiaddrs()[0]!, tenant.rfq(web, { slotSeconds: 8 }));
    const next = { leaseId: opened.leaseId, offer: opened.offer };
    expect(next.leaseId).to.equal(leaseId);
    expect(yard.db.lease(leaseId)!.offer.nonce).to.equal(next.offer.nonce);
    await mineAlong();
    const opensAt = await m.provider.getBlockNumber();
    await waitFor("6 blocks more", async () => (await m.provider.getBlockNumber()) >= opensAt + 6, 10_000);
    expect((await m.admin.lease(leaseId)).flags & 1, "confirmed with no container").to.equal(0);
    const deployed = await opened.session.request({
      type: "deploy",
      spec: { leaseId, imageRef: WEB_IMAGE, imageDigest: web, command: [], env: [], ports: [8080] },
    });
    await opened.session.close();
    expect(deployed.type).to.equal("running");
    await waitFor("the next lease to settle", () => yard.db.lease(leaseId)!.status === "settled", 30_000);
    const cost = next.offer.pricePerSecond * (next.offer.end - next.offer.start);
    expect((await m.admin.account(tenant.account)).balance).to.equal(balanceBefore - cost);
    expect(await earnings()).to.equal(paidBefore + cost);
    await countedOnce();
  });
});
