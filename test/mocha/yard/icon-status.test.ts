/**
 * The ICONs' status at a yard (yard-node/icon-status.ts behind the yard's HTTP surface, yard-node/http.ts): real
 * embedded chain with the market deployed, an application with an ICON's account and a replica's, another tenant's
 * application, the yard's real SQLite store holding their leases, and the yard's HttpSurface serving `GET /icons` on
 * loopback. A signed read grant naming the yard (its operator, as `GET /icons/yard` says) gets the app's reports and
 * only them; a grant for another yard gets 403 before anything is read; unsigned, expired, too long, tampered, another
 * market's, a stranger's and another tenant's grants get 401/403 with a sentence and no report; a sidecar's pushes
 * are bounded (size, shape, rate) and only the latest is kept (and served, under a renewal's id after a move). Reads
 * are bounded per address and in flight with chain reads counted on a spied reader, and a ChainUnreachableFake reader
 * answers 503, not 403.
 */
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { mkdtemp, rm } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  MarketClient,
  STATUS_GRANT_TYPES,
  iconStatusLimits,
  marketDomain,
  statusGrantQuery,
  type IconStatusAnswer,
  type IconStatusReport,
  type Offer,
  type StatusGrant,
} from "../../../protocol/index.ts";
import type { Deployment } from "../../../protocol/chain/deployment.ts";
import { YardDb } from "../../../yard-node/db.ts";
import { HttpSurface, type HttpSurfaceComponents } from "../../../yard-node/http.ts";
import { IconStatusBoard, StatusRefusal, iconReadLimits } from "../../../yard-node/icon-status.ts";
import { ChainError } from "../../../protocol/errors.ts";
import { Metrics } from "../../../yard-node/metrics.ts";
import { YardMetrics } from "../../../yard-node/yard-metrics.ts";
import { deployMarket, devKeys, startDevChain, type DevChain } from "../../../scripts/lib/hardhat.ts";
import { TEST_POLICY, USD } from "../../../scripts/lib/testbed.ts";

/** A report as an ICON's sidecar pushes it. */
export function sampleReport(account: bigint, policyVersion = 1): IconStatusReport {
  return {
    name: `icon-${account}`,
    account: account.toString(),
    instance: 1,
    policyVersion,
    atMs: Date.now(),
    subnets: [{ subnet: "198.18.4.0/24", ratePerS: 12.5, latencyMs: 8.25 }],
    decisions: [
      {
        atMs: Date.now(),
        text: "move to edge-b",
        u: 0.41,
        uBest: 0.73,
        latency: [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: 8.25 }],
      },
    ],
  };
}

describe("ICON status at the yard (signed reads, bounded pushes)", function () {
  this.timeout(120_000);
  let chain: DevChain;
  let deployment: Deployment;
  let dir: string;
  let db: YardDb;
  let board: IconStatusBoard;
  let surface: HttpSurface;
  let reader: MarketClient;
  const [deployerKey, ownerKey, iconKey, otherKey, strangerKey] = devKeys(5) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const [owner, icon, other, stranger] = [ownerKey, iconKey, otherKey, strangerKey].map((k) => new Wallet(k)) as [
    Wallet,
    Wallet,
    Wallet,
    Wallet,
  ];
  let app: bigint;
  let replica: bigint;
  let otherApp: bigint;
  const replicaKey = Wallet.createRandom();
  /** The operator addresses of the yard under test and of another yard. */
  const yardA = Wallet.createRandom().address;
  const yardB = Wallet.createRandom().address;

  const offer = (account: bigint): Offer => ({
    provider: owner.address,
    account,
    token: deployment.token,
    pricePerSecond: 1n,
    cpuMillis: 100,
    memoryMiB: 64,
    start: 0n,
    end: 1n,
    specHash: "0x" + "00".repeat(32),
    nonce: account,
    deadline: 1n,
  });

  before(async () => {
    chain = await startDevChain("127.0.0.1", 0);
    deployment = await deployMarket(chain.url, deployerKey);
    const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const as = (w: Wallet) => MarketClient.connect({ deployment, provider, signer: w });
    const deployer = await as(new Wallet(deployerKey));
    await deployer.mint(owner.address, USD(100));
    await deployer.mint(other.address, USD(100));
    app = await (await as(owner)).createApp(icon.address, TEST_POLICY, USD(10));
    replica = await (await as(icon)).createAccount(app, replicaKey.address);
    otherApp = await (await as(other)).createApp(other.address, TEST_POLICY, USD(10));
    dir = await mkdtemp(path.join(tmpdir(), "icon-status-"));
    db = new YardDb(path.join(dir, "yard.db"));
    for (const [id, account] of [
      [11n, app],
      [12n, replica],
      [13n, otherApp],
    ] as const)
      db.addLease(id, offer(account), `0x${id.toString(16).padStart(64, "0")}`, undefined);
    reader = await MarketClient.connect({ deployment, provider });
    // The tests below read over HTTP from one address more often than a console would: a wide bucket here; the
    // read bounds themselves are tested on boards of their own.
    board = new IconStatusBoard({ yardId: "yard-s", operator: yardA, db, chain: reader, readLimits: { burst: 1000 } });
    const metrics = new YardMetrics(new Metrics());
    // Only what GET /icons reaches: the HTTP listener, the metrics it declares at construction and the board.
    surface = new HttpSurface({
      config: { http: { host: "127.0.0.1", port: 0 }, file: "yard.json" },
      metrics,
      icons: board,
    } as unknown as HttpSurfaceComponents);
    await surface.start();
    board.push("11", sampleReport(app));
    board.push("12", sampleReport(replica));
    board.push("13", sampleReport(otherApp));
  });

  after(async () => {
    await surface?.stop();
    db?.close();
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const grantOf = async (w: Wallet, g: Partial<StatusGrant> = {}, domain = deployment): Promise<string> => {
    const grant: StatusGrant = {
      app,
      yard: yardA,
      reader: w.address,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 600),
      ...g,
    };
    const sig = await w.signTypedData(marketDomain(BigInt(domain.chainId), domain.market), STATUS_GRANT_TYPES, grant);
    return statusGrantQuery(grant, sig);
  };
  const get = async (
    query: string,
  ): Promise<{ status: number; body: Partial<IconStatusAnswer> & { error?: string } }> => {
    const r = await fetch(`${surface.url}/icons?${query}`);
    return { status: r.status, body: (await r.json()) as Partial<IconStatusAnswer> & { error?: string } };
  };

  it("serves the owner every report of the app's leases at this yard, and nothing of another app", async () => {
    const r = await get(await grantOf(owner));
    expect(r.status).to.equal(200);
    expect(r.body.icons!.map((i) => [i.leaseId, i.leaseAccount])).to.deep.equal([
      ["11", app.toString()],
      ["12", replica.toString()],
    ]);
    expect(r.body.icons![0]!.report.decisions[0]!.latency[0]).to.deep.equal({
      subnet: "198.18.4.0/24",
      beforeMs: 31.5,
      afterMs: 8.25,
    });
    expect(r.body.yardId).to.equal("yard-s");
  });

  it("names its operator at /icons/yard, and refuses a grant for another yard with 403, reading nothing", async () => {
    const id = (await (await fetch(`${surface.url}/icons/yard`)).json()) as { yardId: string; operator: string };
    expect(id).to.deep.equal({ yardId: "yard-s", operator: yardA });
    // The owner's own valid grant, for yard B: yard B could replay it here; refused before any chain read.
    const forB = await grantOf(owner, { yard: yardB });
    const r = await get(forB);
    expect(r.status).to.equal(403);
    expect(r.body.error).to.equal(
      `the read grant is for the yard of operator ${yardB}, not this one (operator ${yardA}); sign one naming this yard`,
    );
    expect(r.body.icons).to.equal(undefined);
    const { n, chain: spy } = spied();
    const atA = new IconStatusBoard({ yardId: "a", operator: yardA, db, chain: spy });
    const atB = new IconStatusBoard({ yardId: "b", operator: yardB, db, chain: spy });
    atA.push("11", sampleReport(app));
    atB.push("11", sampleReport(app));
    expect((await atA.serve(new URLSearchParams(forB))).status).to.equal(403);
    expect(n).to.deep.equal({ account: 0, app: 0 });
    // At the yard it names, the same grant is served; the grant altered to name yard A no longer verifies.
    const atOwn = await atB.serve(new URLSearchParams(forB));
    expect(atOwn.status).to.equal(200);
    expect((atOwn.body as IconStatusAnswer).icons.map((i) => i.leaseId)).to.deep.equal(["11"]);
    const altered = new URLSearchParams(forB);
    altered.set("yard", yardA);
    const a = await atA.serve(altered);
    expect(a.status).to.equal(401);
    expect((a.body as { error: string }).error).to.match(/is signed by/);
    // A grant naming no yard (the old type) is refused as malformed.
    const noYard = new URLSearchParams(forB);
    noYard.delete("yard");
    expect((await atB.serve(noYard)).status).to.equal(401);
  });

  it("serves a controller the reports of the accounts it controls only", async () => {
    const r = await get(await grantOf(replicaKey as unknown as Wallet));
    expect(r.status).to.equal(200);
    expect(r.body.icons!.map((i) => i.leaseId)).to.deep.equal(["12"]);
  });

  it("refuses unsigned, malformed, expired, too long, tampered and other-market grants with 401 and no report", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, RegExp][] = [
      ["no grant", "", /a signed read grant is needed/],
      ["no signature", `app=${app}&yard=${yardA}&reader=${owner.address}&expiry=${now + 60}`, /sig must be/],
      ["no yard", `app=${app}&reader=${owner.address}&expiry=${now + 60}`, /yard must be the address/],
      ["expired", await grantOf(owner, { expiry: BigInt(now - 1) }), /expired/],
      ["over an hour", await grantOf(owner, { expiry: BigInt(now + 3700) }), /at most 3600 s/],
      ["another market", await grantOf(owner, {}, { ...deployment, market: other.address }), /is signed by/],
      ["another chain", await grantOf(owner, {}, { ...deployment, chainId: 1 }), /is signed by/],
    ];
    // Tampered: the owner's grant for app 1 with the app changed to the other tenant's, and its expiry pushed on.
    const good = new URLSearchParams(await grantOf(owner));
    const t1 = new URLSearchParams(good);
    t1.set("app", otherApp.toString());
    const t2 = new URLSearchParams(good);
    t2.set("expiry", String(now + 3000));
    const t3 = new URLSearchParams(good);
    t3.set("reader", stranger.address);
    cases.push(
      ["tampered app", t1.toString(), /is signed by/],
      ["tampered expiry", t2.toString(), /is signed by/],
      ["tampered reader", t3.toString(), /is signed by/],
    );
    for (const [what, q, sentence] of cases) {
      const r = await get(q);
      expect(r.status, what).to.equal(401);
      expect(r.body.error, what).to.match(sentence);
      expect(r.body.icons, what).to.equal(undefined);
    }
  });

  it("refuses a stranger and another tenant with 403 and no report", async () => {
    const s = await get(await grantOf(stranger));
    expect(s.status).to.equal(403);
    expect(s.body.error).to.contain(`${stranger.address} is neither the owner of application ${app}`);
    expect(s.body.icons).to.equal(undefined);
    // The other tenant signs a grant for our app (its own signature, valid in itself): refused.
    const o = await get(await grantOf(other));
    expect(o.status).to.equal(403);
    expect(o.body.icons).to.equal(undefined);
    // Its own app: only its own lease.
    const mine = await get(await grantOf(other, { app: otherApp }));
    expect(mine.body.icons!.map((i) => i.leaseId)).to.deep.equal(["13"]);
  });

  it("bounds a sidecar's pushes: a flood is refused past the burst, bad shapes and unknown leases too; the latest is kept", async () => {
    const fresh = new IconStatusBoard({ yardId: "y", operator: yardA, db, chain: reader });
    let kept = 0;
    let limited = 0;
    for (let i = 0; i < 50; i++) {
      try {
        fresh.push("11", sampleReport(app, i + 2));
        kept++;
      } catch (e) {
        expect(e).to.be.instanceOf(StatusRefusal);
        expect((e as StatusRefusal).status).to.equal(429);
        limited++;
      }
    }
    // 50 pushes at once: the burst (and at most one more token refilled meanwhile) kept, the rest refused.
    expect(kept).to.be.within(iconStatusLimits.pushBurst, iconStatusLimits.pushBurst + 1);
    expect(limited).to.equal(50 - kept);
    expect(fresh.size).to.equal(1);
    expect(fresh.refused.rate).to.equal(limited);
    const other = new IconStatusBoard({ yardId: "y", operator: yardA, db, chain: reader });
    const big = { ...sampleReport(app), subnets: Array.from({ length: 33 }, () => sampleReport(app).subnets[0]) };
    expect(() => other.push("11", big)).to.throw(StatusRefusal, /subnets must be a list of at most 32/);
    expect(() => other.push("11", { ...sampleReport(app), secret: "x" })).to.throw(/unknown field "secret"/);
    expect(() => other.push("11", { ...sampleReport(app), name: "a".repeat(201) })).to.throw(/at most 200/);
    expect(() => other.push("99", sampleReport(app))).to.throw(/lease 99 is not held at this yard/);
    expect(other.size).to.equal(0);
    expect(other.tooLarge().status).to.equal(413);
    other.push("11", sampleReport(app, 7));
    other.push("11", sampleReport(app, 8));
    expect(other.size).to.equal(1);
    const served = async () =>
      ((await other.serve(new URLSearchParams(await grantOf(owner)))).body as IconStatusAnswer).icons.map((i) => [
        i.leaseId,
        i.report.policyVersion,
      ]);
    expect(await served()).to.deep.equal([["11", 8]]);
    other.leaseMoved("11", "14");
    expect(other.size).to.equal(1);
    expect(await served()).to.deep.equal([["14", 8]]);
    other.leaseEnded("14");
    expect(other.size).to.equal(0);
  });

  /** The yard's reader with its chain reads counted. */
  const spied = () => {
    const n = { account: 0, app: 0 };
    const chain = {
      domain: () => reader.domain(),
      account: (id: bigint) => (n.account++, reader.account(id)),
      app: (root: bigint) => (n.app++, reader.app(root)),
    };
    return { n, chain };
  };

  it("bounds reads per address and in flight: a flood from one address gets 429s, another is served, chain reads stay few", async () => {
    const { n, chain: spy } = spied();
    const b = new IconStatusBoard({ yardId: "y", operator: yardA, db, chain: spy });
    b.push("11", sampleReport(app));
    b.push("13", sampleReport(otherApp));
    // A stranger's grant for an app nobody created: each read would ask the chain for its owner, uncached.
    const nobody = new URLSearchParams(await grantOf(stranger, { app: 999_999n }));
    const statuses: number[] = [];
    // The flood's own refusal is the one read (a read after the loop could find a token refilled on a slow machine).
    let refused: Awaited<ReturnType<typeof b.serve>> | undefined;
    const t0 = performance.now();
    for (let i = 0; i < 60; i++) {
      const r = await b.serve(nobody, "198.18.0.1");
      statuses.push(r.status);
      if (r.status === 429) refused ??= r;
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const served = statuses.filter((s) => s === 403).length;
    expect(served + statuses.filter((s) => s === 429).length).to.equal(60);
    expect(served).to.be.within(iconReadLimits.burst, iconReadLimits.burst + elapsedS * iconReadLimits.perSecond + 1);
    expect(refused?.status).to.equal(429);
    expect((refused!.body as { error: string }).error).to.match(/over 2 status reads per second \(burst 10\)/);
    // Another address is still served.
    const mine = await b.serve(new URLSearchParams(await grantOf(owner)), "198.18.0.2");
    expect(mine.status).to.equal(200);
    expect((mine.body as IconStatusAnswer).icons.map((i) => i.leaseId)).to.deep.equal(["11"]);
    // Over HTTP the bucket is the remote address's: 127.0.0.1 flooded, 127.0.0.2 still served.
    const viaHttp = new HttpSurface({
      config: { http: { host: "127.0.0.1", port: 0 }, file: "yard.json" },
      metrics: new YardMetrics(new Metrics()),
      icons: new IconStatusBoard({ yardId: "y", operator: yardA, db, chain: reader }),
    } as unknown as HttpSurfaceComponents);
    await viaHttp.start();
    try {
      const port = new URL(viaHttp.url).port;
      const from = (localAddress: string) =>
        new Promise<number>((resolve, reject) =>
          httpGet({ host: "127.0.0.1", port, path: `/icons?${nobody}`, localAddress }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on("error", reject),
        );
      const flood: number[] = [];
      for (let i = 0; i < 30; i++) flood.push(await from("127.0.0.1"));
      expect(flood.filter((s) => s === 429).length, flood.join(",")).to.be.at.least(5);
      expect(await from("127.0.0.2")).to.equal(403);
    } finally {
      await viaHttp.stop();
    }
    // Cached a minute: one read of the absent app's owner, one of each lease's account and its app.
    expect(n.account).to.equal(2);
    expect(n.app).to.be.at.most(3);
    // Many addresses at once: at most iconReadLimits.inFlight reads proceed, the rest are told to ask again.
    const fresh = new IconStatusBoard({ yardId: "y", operator: yardA, db, chain: spied().chain });
    fresh.push("11", sampleReport(app));
    const q = new URLSearchParams(await grantOf(owner));
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => fresh.serve(q, `198.18.1.${i}`)));
    expect(all.filter((r) => r.status === 200).length).to.equal(iconReadLimits.inFlight);
    for (const r of all.filter((r) => r.status !== 200)) {
      expect(r.status).to.equal(429);
      expect((r.body as { error: string }).error).to.contain("status reads already");
    }
  });

  it("answers 503 with a sentence, not 403, when the chain cannot be read", async () => {
    // ChainUnreachableFake: the yard's reader whose RPC is down (what rpc.ts throws once its retries are spent).
    const down = () => Promise.reject(new ChainError("CHAIN_UNREACHABLE", "the chain RPC endpoint cannot be reached"));
    const chainUnreachableFake = { domain: () => reader.domain(), account: down, app: down };
    const b = new IconStatusBoard({ yardId: "y", operator: yardA, db, chain: chainUnreachableFake });
    const q = new URLSearchParams(await grantOf(owner));
    // No report here (only the owner read is asked), then with a report (the account read is asked).
    for (const what of ["no report", "a report"]) {
      const r = await b.serve(q, "198.18.0.3");
      expect(r.status, what).to.equal(503);
      expect((r.body as { error: string }).error, what).to.match(
        /cannot read .* from the chain now \(CHAIN_UNREACHABLE\)/,
      );
      b.push("11", sampleReport(app));
    }
  });
});
