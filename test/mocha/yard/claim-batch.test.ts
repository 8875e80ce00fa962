/**
 * The yard's claims in one transaction: leases due in the same tick are claimed with one claimMany; a batch the
 * chain refuses for one lease (settled by someone else meanwhile) is sent again without it, so the others are
 * still paid in one transaction; an ended lease whose final claim is not yet buried never pays for a batch (the
 * claim policy's guarantee held in execution); a terminated lease whose pay never covers its gas is settled with
 * dust after the bound. The lease lifecycle runs in this process on the real embedded chain (MarketClient as the provider)
 * and a real database; the leases are past their slot (status "ended"), so nothing reaches Docker or the network,
 * which are stand-ins here.
 */
import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expectedGasPrice } from "../../../protocol/index.ts";
import { silentLogger, type Logger } from "../../../protocol/log.ts";
import { YardDb } from "../../../yard-node/db.ts";
import { LeaseLifecycle, type LeaseLifecycleComponents } from "../../../yard-node/leases.ts";
import { LeaseClaims } from "../../../yard-node/claims.ts";
import type { ContainerInfo } from "../../../yard-node/runtime.ts";
import { network, marketWithApp, marketClient, createApp, makeOffer, openLease, USD } from "../../helpers/market.ts";

const conn = await network.create();
const { time } = conn.networkHelpers;
const P = 100n;
const SLOT = 60n;

describe("yard claims: one claimMany per tick, sent again without a lease the chain refuses", function () {
  this.timeout(60_000);

  /** Three leases of the provider, confirmed and past their slot, recorded by the yard as ended. */
  async function setUp() {
    const { m, account: acct } = await marketWithApp(conn);
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
    const chain = await marketClient(m, m.provider);
    const warnings: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const log: Logger = { ...silentLogger, warn: (msg, fields) => warnings.push({ msg, fields }) };
    // Chain time, as the yard's ChainWatch.now(): the newest block's time advanced by the wall clock.
    const skew = (await time.latest()) - Date.now() / 1000;
    const now = () => Math.floor(Date.now() / 1000 + skew);
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

  it("sends the batch again without the lease the chain refuses: the others paid in one transaction", async () => {
    const { m, ids, db, leases, warnings } = await setUp();
    await m.market.connect(m.stranger).settle(ids[1]!); // anyone may settle an ended lease: the batch now reverts
    const sent = await m.ethers.provider.getTransactionCount(m.provider.address);
    const block = await m.ethers.provider.getBlockNumber();
    await leases.tick();
    expect(warnings.map((w) => w.msg)).to.deep.equal([
      "batch claim refused for one lease; claiming the others without it",
    ]);
    expect(warnings[0]!.fields!.lease).to.equal(ids[1]);
    expect(warnings[0]!.fields!.leases).to.equal(ids.join(","));
    expect(await m.ethers.provider.getTransactionCount(m.provider.address), "one transaction").to.equal(sent + 1);
    const tx = (await m.ethers.provider.getBlock(block + 1, true))!.prefetchedTransactions[0]!;
    const parsed = m.market.interface.parseTransaction(tx)!;
    expect(parsed.name).to.equal("claimMany");
    expect([...(parsed.args[0] as bigint[])]).to.deep.equal([ids[0], ids[2]]);
    expect(await m.market.earningsOf(m.provider.address)).to.equal(3n * P * SLOT);
    for (const id of ids) {
      expect(db.lease(id)!.status).to.equal("settled");
      expect(await m.market.state(id)).to.equal(5n);
    }
  });

  it("an ended lease whose final claim is not yet buried pays for no batch: running leases below a lone claim's gas wait", async () => {
    const { m, ids, db, chain, log } = await setUp();
    const acct = await createApp(m, USD(1_000));
    const t = BigInt(await time.latest());
    const running: bigint[] = [];
    for (let i = 0; i < 2; i++) {
      const offer = await makeOffer(m, acct, { pricePerSecond: P, start: t + 10n, end: t + 10_000n });
      const id = await openLease(m, offer);
      await m.market.connect(m.provider).confirmStart(id);
      db.addLease(id, offer, await m.market.hashOffer(offer), undefined);
      db.update(id, { status: "deployed", confirmed: true });
      running.push(id);
    }
    await time.increase(100);
    const at = await time.latest();
    const accrued = P * (BigInt(at) - (t + 10n)); // each running lease's estimate at `at`
    // Gas priced so one lease's share of a batch (12 500 gas) is 2/3 of what each accrued: a lone claim (40 500 gas)
    // or the two alone (53 000) cost more than they collect; beside a lease that pays the transaction, they would go.
    const feePerGas = expectedGasPrice((await chain.fees.quote("claiming"))!);
    const unitsPerEth = (2n * accrued * 10n ** 18n) / (3n * 12_500n * feePerGas);
    const buriedBlock = await m.ethers.provider.getBlockNumber(); // the final claim below stays shallow
    const waiting: number[] = [];
    const claims = new LeaseClaims({
      chain,
      db,
      log,
      watch: {
        call: (_what: string, fn: () => Promise<unknown>) => fn(),
        now: () => at,
        buried: () => buriedBlock,
      } as LeaseLifecycleComponents["watch"],
      metrics: { inc: () => undefined, set: (_name, v) => void waiting.push(Number(v)) },
      unitsPerEth,
      withLease: (_id, fn) => fn(),
    });
    await claims.claimDue([{ id: ids[0]!, final: true }]); // its final claim: mined, not yet buried
    expect(await m.market.state(ids[0]!)).to.equal(5n);
    expect(db.lease(ids[0]!)!.status, "ended until its claim is buried").to.equal("ended");
    const earned = await m.market.earningsOf(m.provider.address);
    const sent = await m.ethers.provider.getTransactionCount(m.provider.address);
    await claims.claimDue([{ id: ids[0]!, final: true }, ...running.map((id) => ({ id, final: false }))]);
    expect(await m.ethers.provider.getTransactionCount(m.provider.address), "nothing sent").to.equal(sent);
    expect(await m.market.earningsOf(m.provider.address)).to.equal(earned);
    expect(waiting.at(-1)).to.equal(2);
    for (const id of running) expect(db.lease(id)!.lastClaimAt).to.equal(0);
  });

  it("an ended lease the yard believes claimed but the chain still owes on is due again from the chain's claimedUntil", async () => {
    const { m, ids, db, leases } = await setUp();
    db.update(ids[0]!, { lastClaimAt: 2 ** 40 }); // the estimate says nothing is left; the chain never paid it
    await leases.tick(); // ids[1], ids[2] in one claimMany; ids[0] idle: read on chain, due again
    expect(db.lease(ids[0]!)!.status).to.equal("ended");
    expect(db.lease(ids[0]!)!.lastClaimAt).to.equal(Number((await m.market.lease(ids[0]!)).claimedUntil));
    await leases.tick();
    expect(await m.market.earningsOf(m.provider.address)).to.equal(3n * P * SLOT);
    for (const id of ids) expect(db.lease(id)!.status).to.equal("settled");
  });

  it("settles with dust a terminated lease whose pay never covers its gas, after the bound, and says so", async () => {
    const { m, db, chain } = await setUp();
    const acct = await createApp(m, USD(1_000));
    const t = BigInt(await time.latest());
    const offer = await makeOffer(m, acct, { pricePerSecond: P, start: t + 10n, end: t + 10_000n });
    const id = await openLease(m, offer);
    await m.market.connect(m.provider).confirmStart(id);
    await time.increase(30);
    await m.market.connect(m.owner).terminate(id); // collateral released now: the final claim frees nothing
    const stoppedAt = Number((await m.market.lease(id)).stoppedAt);
    db.addLease(id, offer, await m.market.hashOffer(offer), undefined);
    db.update(id, { status: "ended", confirmed: true, stoppedAt });
    const warned: string[] = [];
    const dust: bigint[] = [];
    const make = (dustAfterS: number) =>
      new LeaseClaims({
        chain,
        db,
        log: { ...silentLogger, warn: (msg) => void warned.push(msg) },
        watch: {
          call: (_what: string, fn: () => Promise<unknown>) => fn(),
          now: () => stoppedAt + 10,
        } as LeaseLifecycleComponents["watch"],
        metrics: { inc: (_name, _l, by) => void dust.push(BigInt(by ?? 1)), set: () => undefined },
        unitsPerEth: 10n ** 12n, // one claim costs far more than the lease's ≈ 2 000 units
        dustAfterS,
        withLease: (_id, fn) => fn(),
      });
    const sent = await m.ethers.provider.getTransactionCount(m.provider.address);
    await make(3600).claimDue([{ id, final: true }]);
    expect(db.lease(id)!.status, "waits within the bound").to.equal("ended");
    await make(0).claimDue([{ id, final: true }]);
    expect(await m.ethers.provider.getTransactionCount(m.provider.address), "nothing sent").to.equal(sent);
    expect(db.lease(id)!.status).to.equal("settled");
    expect(db.lease(id)!.note).to.match(/^settled with dust/);
    const owed = P * BigInt(stoppedAt - Number(offer.start));
    expect(dust).to.deep.equal([owed]);
    expect(warned).to.deep.equal([
      "ended lease settled with dust: its pay never covered a claim's gas (anyone's settle() credits it)",
    ]);
    expect(await m.market.claimable(id)).to.equal(owed); // still the operator's on chain
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
    // Ended at the end of their slots: the last claim settles each and frees its collateral, whatever its gas: all
    // three, one claimMany.
    await claims.claimDue(ids.map((id) => ({ id, final: true })));
    expect(await m.ethers.provider.getTransactionCount(m.provider.address), "one transaction").to.equal(sent + 1);
    expect(waiting).to.deep.equal([3, 0]);
    expect(await m.market.earningsOf(m.provider.address)).to.equal(3n * P * SLOT);
    for (const id of ids) expect(db.lease(id)!.status).to.equal("settled");
    expect(chain.fees.spent.byKind().get("claimMany")! > 0n).to.equal(true);
  });
});
