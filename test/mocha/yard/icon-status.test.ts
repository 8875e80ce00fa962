/**
 * The ICONs' status at a yard (yard-node/icon-status.ts behind the yard's HTTP surface, yard-node/http.ts): real
 * embedded chain with the market deployed, an application with an ICON's account and a replica's, another tenant's
 * application, the yard's real SQLite store holding their leases, and the yard's HttpSurface serving `GET /icons` on
 * loopback. A signed read grant gets the app's reports and only them; unsigned, expired, too long, tampered, another
 * market's, a stranger's and another tenant's grants get 401/403 with a sentence and no report; a sidecar's pushes
 * are bounded (size, shape, rate) and only the latest is kept.
 */
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { mkdtemp, rm } from "node:fs/promises";
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
import { IconStatusBoard, StatusRefusal } from "../../../yard-node/icon-status.ts";
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
    board = new IconStatusBoard({ yardId: "yard-s", db, chain: reader });
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

  it("serves a controller the reports of the accounts it controls only", async () => {
    const r = await get(await grantOf(replicaKey as unknown as Wallet));
    expect(r.status).to.equal(200);
    expect(r.body.icons!.map((i) => i.leaseId)).to.deep.equal(["12"]);
  });

  it("refuses unsigned, malformed, expired, too long, tampered and other-market grants with 401 and no report", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, RegExp][] = [
      ["no grant", "", /a signed read grant is needed/],
      ["no signature", `app=${app}&reader=${owner.address}&expiry=${now + 60}`, /sig must be/],
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
    cases.push(["tampered app", t1.toString(), /is signed by/], ["tampered expiry", t2.toString(), /is signed by/]);
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

  it("bounds a sidecar's pushes: a flood is refused past the burst, bad shapes and unknown leases too; the latest is kept", () => {
    const fresh = new IconStatusBoard({ yardId: "y", db, chain: reader });
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
    const other = new IconStatusBoard({ yardId: "y", db, chain: reader });
    const big = { ...sampleReport(app), subnets: Array.from({ length: 33 }, () => sampleReport(app).subnets[0]) };
    expect(() => other.push("11", big)).to.throw(StatusRefusal, /subnets must be a list of at most 32/);
    expect(() => other.push("11", { ...sampleReport(app), secret: "x" })).to.throw(/unknown field "secret"/);
    expect(() => other.push("11", { ...sampleReport(app), name: "a".repeat(201) })).to.throw(/at most 200/);
    expect(() => other.push("99", sampleReport(app))).to.throw(/lease 99 is not held at this yard/);
    expect(other.size).to.equal(0);
    expect(other.tooLarge().status).to.equal(413);
    other.push("11", sampleReport(app, 7));
    other.leaseMoved("11", "14");
    expect(other.size).to.equal(1);
    other.leaseEnded("14");
    expect(other.size).to.equal(0);
  });
});
