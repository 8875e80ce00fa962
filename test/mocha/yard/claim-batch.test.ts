/**
 * The yard's claims in one transaction: leases due in the same tick are claimed with one claimMany; a batch the
 * chain refuses (one lease settled by someone else meanwhile) falls back to single claims, so the others are
 * still paid. The lease lifecycle runs in this process on the real embedded chain (MarketClient as the provider)
 * and a real database; the leases are past their slot (status "ended"), so nothing reaches Docker or the network,
 * which are stand-ins here.
 */
import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { MarketClient } from "../../../protocol/index.ts";
import { silentLogger, type Logger } from "../../../protocol/log.ts";
import { YardDb } from "../../../yard-node/db.ts";
import { LeaseLifecycle, type LeaseLifecycleComponents } from "../../../yard-node/leases.ts";
import { LeaseClaims } from "../../../yard-node/claims.ts";
import type { ContainerInfo } from "../../../yard-node/runtime.ts";
import {
  network,
  deployMarket,
  deploymentOf,
  listProvider,
  createApp,
  makeOffer,
  openLease,
  USD,
} from "../../helpers/market.ts";

const conn = await network.create();
const { time } = conn.networkHelpers;
const P = 100n;
const SLOT = 60n;

describe("yard claims: one claimMany per tick, single claims when the batch is refused", function () {
  this.timeout(60_000);

  /** Three leases of the provider, confirmed and past their slot, recorded by the yard as ended. */
  async function setUp() {
    const m = await deployMarket(conn);
    await listProvider(m, m.provider);
    const acct = await createApp(m, USD(1_000));
    const t = BigInt(await time.latest());
    const ids: bigint[] = [];
    const db = new YardDb(path.join(await mkdtemp(path.join(tmpdir(), "icon-cm-claims-")), "yard.db"));
    for (let i = 0; i < 3; i++) {
      const offer = await makeOffer(m, acct, { pricePerSecond: P, start: t + 10n, end: t + 10n + SLOT });
      const id = await openLease(m, offer);
      await m.market.connect(m.provider).confirmStart(id);
      db.addLease(id, offer, await m.market.hashOffer(offer), undefined);
      db.update(id, { status: "ended", confirmed: true });
      ids.push(id);
    }
    await time.increase(Number(SLOT) + 20);
    const chain = await MarketClient.connect({
      deployment: await deploymentOf(m),
      provider: m.ethers.provider,
      signer: m.provider,
    });
    const warnings: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const log: Logger = { ...silentLogger, warn: (msg, fields) => warnings.push({ msg, fields }) };
    const now = () => Math.floor(Date.now() / 1000);
    const leases = new LeaseLifecycle({
      config: { lease: { earlyStartS: 2, stopTimeoutS: 1, maxRestarts: 3, claimIntervalS: 5, imageGraceS: 1e6 } },
      runtime: {} as LeaseLifecycleComponents["runtime"],
      db,
      chain,
      watch: { call: (_what: string, fn: () => Promise<unknown>) => fn(), now } as LeaseLifecycleComponents["watch"],
      ledger: { endAt: () => undefined },
      owners: { rootOf: async () => acct },
      overlay: { localChanged: () => undefined },
      gateway: { env: () => [], leaseEnded: async () => undefined, leaseMoved: () => undefined },
      network: {
        recheck: async () => undefined,
        wantFirewallCheck: () => undefined,
      } as unknown as LeaseLifecycleComponents["network"],
      containers: new Map<string, ContainerInfo>(),
      metrics: { inc: () => undefined, set: () => undefined },
      log,
      signal: new AbortController().signal,
    } as unknown as LeaseLifecycleComponents);
    return { m, ids, db, leases, warnings, chain, log, now };
  }

  it("claims three due leases in one transaction and settles them, paid to the unit", async () => {
    const { m, ids, db, leases, warnings } = await setUp();
    const sent = await m.ethers.provider.getTransactionCount(m.provider.address);
    const block = await m.ethers.provider.getBlockNumber();
    await leases.tick();
    expect(await m.ethers.provider.getTransactionCount(m.provider.address), "one transaction").to.equal(sent + 1);
    const tx = (await m.ethers.provider.getBlock(block + 1, true))!.prefetchedTransactions[0]!;
    expect(m.market.interface.parseTransaction(tx)!.name).to.equal("claimMany");
    expect(await m.market.earningsOf(m.provider.address)).to.equal(3n * P * SLOT);
    for (const id of ids) {
      expect(db.lease(id)!.status).to.equal("settled");
      expect(await m.market.state(id)).to.equal(5n); // Settled
    }
    expect(warnings).to.deep.equal([]);
  });

  it("falls back to single claims when the batch is refused: the others are paid, the refusal is logged", async () => {
    const { m, ids, db, leases, warnings } = await setUp();
    await m.market.connect(m.stranger).settle(ids[1]!); // anyone may settle an ended lease: the batch now reverts
    await leases.tick();
    expect(warnings.map((w) => w.msg)).to.deep.equal(["batch claim refused; claiming these leases one by one"]);
    expect(warnings[0]!.fields!.leases).to.equal(ids.join(","));
    expect(await m.market.earningsOf(m.provider.address)).to.equal(3n * P * SLOT);
    for (const id of ids) {
      expect(db.lease(id)!.status).to.equal("settled");
      expect(await m.market.state(id)).to.equal(5n);
    }
  });

  it("holds back claims whose gas costs more than they collect, and claims ended leases anyway (claim policy)", async () => {
    const { m, ids, db, chain, log, now } = await setUp();
    const waiting: number[] = [];
    const claims = new LeaseClaims({
      chain,
      db,
      log,
      watch: { call: (_what: string, fn: () => Promise<unknown>) => fn(), now } as LeaseLifecycleComponents["watch"],
      metrics: { inc: () => undefined, set: (_name, v) => void waiting.push(Number(v)) },
      // An ETH worth 10^12 units: one lease's share of a batch (12 500 gas at ≈ 1–2 gwei) costs ≈ 2·10^7 units,
      // far above the 6 000 each lease accrued.
      unitsPerEth: 10n ** 12n,
      withLease: (_id, fn) => fn(),
    });
    const sent = await m.ethers.provider.getTransactionCount(m.provider.address);
    await claims.claimDue(ids.map((id) => ({ id, final: false })));
    expect(await m.ethers.provider.getTransactionCount(m.provider.address), "nothing sent").to.equal(sent);
    expect(waiting).to.deep.equal([3]);
    expect(await m.market.earningsOf(m.provider.address)).to.equal(0n);
    // Ended: the last claim settles the lease and frees its collateral, whatever its gas: all three, one claimMany.
    await claims.claimDue(ids.map((id) => ({ id, final: true })));
    expect(await m.ethers.provider.getTransactionCount(m.provider.address), "one transaction").to.equal(sent + 1);
    expect(waiting).to.deep.equal([3, 0]);
    expect(await m.market.earningsOf(m.provider.address)).to.equal(3n * P * SLOT);
    for (const id of ids) expect(db.lease(id)!.status).to.equal("settled");
    expect(chain.fees.spent.byKind().get("claimMany")! > 0n).to.equal(true);
  });
});
