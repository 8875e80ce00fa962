/**
 * Versioned routes and durable routing rules of the overlay (yard-node/overlay/overlay.ts, db.ts), on real libp2p
 * nodes over loopback, without Docker or a chain:
 *  - the RouteVersion codec: round trip, absent stays absent, zero parts refused;
 *  - a receiving yard keeps per (service, origin yard) the highest version: an older push or answer that arrives
 *    late is ignored and the table is unchanged; newer ones (a later snapshot, the origin's next run) apply;
 *  - a real origin's answers and pushes carry growing versions within its stored epoch, which never goes back;
 *  - routing rules set over /icon/routing/1.0.0 are in the database before the ack, come back in a new Overlay on
 *    the same database (a restart), and a stub whose grace has ended is dropped from the database.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Libp2p } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { createIconNode } from "../../../protocol/net/node.ts";
import {
  OverlayError,
  OverlayErrorCode,
  ROUTES_PROTOCOL,
  compareRouteVersions,
  decodeOverlayFrame,
  encodeOverlayFrame,
  overlayRequest,
  setRouting,
  type LeaseAccess,
  type OverlayMessage,
  type RouteInstance,
  type RouteVersion,
} from "../../../protocol/index.ts";
import { OverlayEnvelope } from "../../../protocol/schema/generated/overlay.js";
import { YardDb, type LeaseRow } from "../../../yard-node/db.ts";
import { silentLogger } from "../../../protocol/log.ts";
import { Overlay } from "../../../yard-node/overlay/overlay.ts";
import type { LocalInstance } from "../../../yard-node/overlay/types.ts";
import { overlayOn } from "../../helpers/overlay.ts";

const SERVICE = "shop.acme.cart.prod";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const v = (epochMs: bigint, seq: bigint): RouteVersion => ({ epochMs, seq });

/** An instance of SERVICE at `yard` (what that yard says about itself). */
const inst = (yard: Libp2p, id: bigint): RouteInstance => ({
  service: SERVICE,
  instanceId: id,
  yard: yard.peerId.toString(),
  addrs: yard.getMultiaddrs().map(String).slice(0, 1),
  ports: [8080],
});

/** The instance ids of SERVICE at `origin` in `overlay`'s table. */
async function idsFrom(overlay: Overlay, origin: Libp2p): Promise<bigint[]> {
  const all = await overlay.instances(SERVICE);
  return all.filter((i) => i.yard === origin.peerId.toString()).map((i) => i.instanceId);
}

describe("route versions: codec", () => {
  it("round-trips answers and pushes with a version; an absent version stays absent; zero parts are refused", () => {
    const push: OverlayMessage = { type: "routePush", service: SERVICE, instances: [], version: v(1_700_000n, 42n) };
    expect(decodeOverlayFrame(encodeOverlayFrame(push))).to.deep.equal(push);
    const answer: OverlayMessage = { type: "routeAnswer", instances: [], ttlS: 60, version: v(2n ** 63n, 1n) };
    expect(decodeOverlayFrame(encodeOverlayFrame(answer))).to.deep.equal(answer);
    const old = decodeOverlayFrame(encodeOverlayFrame({ type: "routePush", service: SERVICE, instances: [] }));
    expect(old).to.deep.equal({ type: "routePush", service: SERVICE, instances: [] });
    expect("version" in old).to.equal(false);
    for (const bad of [v(0n, 1n), v(5n, 0n)]) {
      for (const frame of [
        OverlayEnvelope.encode({ routePush: { service: SERVICE, instances: [], version: bad } }),
        OverlayEnvelope.encode({ routeAnswer: { instances: [], ttlS: 60, version: bad } }),
      ]) {
        let err: unknown;
        try {
          decodeOverlayFrame(frame);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(OverlayError);
        expect((err as OverlayError).overlayCode).to.equal(OverlayErrorCode.OVERLAY_BAD_FRAME);
        expect((err as Error).message).to.match(/version/);
      }
    }
  });

  it("carries an instance's UDP ports; none stays absent; a port out of range is refused", () => {
    const yard = "12D3KooWGzh8BPw3BNmkGvFhz4U1uTH8VZ9WNvXEbHkyq3pXK3fV";
    const udp = {
      service: SERVICE,
      instanceId: 7n,
      yard,
      addrs: ["/ip4/127.0.0.1/tcp/1"],
      ports: [],
      udpPorts: [5353],
    };
    const tcp = { service: SERVICE, instanceId: 8n, yard, addrs: [], ports: [8080] };
    const push: OverlayMessage = { type: "routePush", service: SERVICE, instances: [udp, tcp], version: v(1n, 1n) };
    const back = decodeOverlayFrame(encodeOverlayFrame(push));
    expect(back).to.deep.equal(push);
    expect(back.type === "routePush" && "udpPorts" in back.instances[1]!).to.equal(false);
    let err: unknown;
    try {
      decodeOverlayFrame(
        OverlayEnvelope.encode({ routePush: { service: SERVICE, instances: [{ ...udp, udpPorts: [70000] }] } }),
      );
    } catch (e) {
      err = e;
    }
    expect((err as OverlayError).overlayCode).to.equal(OverlayErrorCode.OVERLAY_BAD_FRAME);
    expect((err as Error).message).to.match(/udpPorts must be 1\.\.65535/);
  });

  it("orders versions by epoch, then sequence", () => {
    expect(compareRouteVersions(v(5n, 9n), v(6n, 1n))).to.be.lessThan(0);
    expect(compareRouteVersions(v(6n, 1n), v(5n, 9n))).to.be.greaterThan(0);
    expect(compareRouteVersions(v(6n, 2n), v(6n, 10n))).to.be.lessThan(0);
    expect(compareRouteVersions(v(6n, 10n), v(6n, 10n))).to.equal(0);
  });
});

describe("route versions: a receiving yard ignores older snapshots (real libp2p)", function () {
  this.timeout(30_000);
  let receiver: Libp2p;
  let origin: Libp2p;
  let other: Libp2p;
  let table: Overlay;
  /** What `origin` answers to route queries (served by hand, so the test chooses the versions). */
  let answer: { instances: RouteInstance[]; version?: RouteVersion } = { instances: [] };
  let queries = 0;

  before(async () => {
    [receiver, origin, other] = await Promise.all([createIconNode(), createIconNode(), createIconNode()]);
    await origin.handle(ROUTES_PROTOCOL, async (stream) => {
      const lp = lpStream(stream);
      const q = decodeOverlayFrame((await lp.read()).subarray());
      if (q.type !== "routeQuery") throw new Error(`unexpected ${q.type}`);
      queries++;
      await lp.write(encodeOverlayFrame({ type: "routeAnswer", ttlS: 60, ...answer }));
      await stream.close();
    });
    table = overlayOn(receiver);
    await table.start();
  });
  after(async () => {
    await table?.stop();
    await Promise.all([receiver, origin, other].map((n) => n?.stop()));
  });

  const push = async (from: Libp2p, ids: bigint[], version: RouteVersion | undefined): Promise<void> => {
    const r = await overlayRequest(from, receiver.getMultiaddrs(), ROUTES_PROTOCOL, {
      type: "routePush",
      service: SERVICE,
      instances: ids.map((id) => inst(from, id)),
      ...(version ? { version } : {}),
    });
    expect(r.type).to.equal("routingAck");
  };

  it("a newer push then an older one: the older is ignored, the table unchanged; a later update still applies", async () => {
    const E = 1_700_000_000_000n;
    await push(origin, [1n, 2n], v(E, 5n));
    expect(await idsFrom(table, origin)).to.deep.equal([1n, 2n]);
    const stale0 = table.staleRoutes;
    // A push the origin sent before the one above (it ended instance 2, then started 3: the late one says 1, 3).
    await push(origin, [1n, 3n], v(E, 4n));
    expect(await idsFrom(table, origin), "the late, older push changed the table").to.deep.equal([1n, 2n]);
    expect(table.staleRoutes - stale0).to.equal(1);
    // The same snapshot again applies (idempotent), a newer one replaces the set.
    await push(origin, [1n, 2n], v(E, 5n));
    expect(await idsFrom(table, origin)).to.deep.equal([1n, 2n]);
    await push(origin, [2n], v(E, 6n));
    expect(await idsFrom(table, origin)).to.deep.equal([2n]);
    // The origin's next run: a later epoch wins even with a lower sequence number; then the old run is stale.
    await push(origin, [7n], v(E + 1n, 1n));
    expect(await idsFrom(table, origin)).to.deep.equal([7n]);
    await push(origin, [2n, 8n], v(E, 99n));
    expect(await idsFrom(table, origin)).to.deep.equal([7n]);
    // Without a version (a yard that predates them) nothing overrides a versioned entry in force.
    await push(origin, [9n], undefined);
    expect(await idsFrom(table, origin)).to.deep.equal([7n]);
    expect(table.staleRoutes - stale0).to.equal(3);
    // Versions are per origin yard: another yard's push with a lower version applies to its own entry.
    await push(other, [100n], v(1n, 1n));
    expect(await idsFrom(table, other)).to.deep.equal([100n]);
    expect(await idsFrom(table, origin)).to.deep.equal([7n]);
    expect(queries, "the table was fresh: nothing was asked").to.equal(0);
  });

  it("an answer older than a push already applied is ignored; a newer answer applies", async () => {
    const E = 1_800_000_000_000n;
    await push(origin, [20n, 21n], v(E, 10n));
    expect(await idsFrom(table, origin)).to.deep.equal([20n, 21n]);
    // The answer to a query is slower than the push that followed it: it says 20 only, at version 9.
    answer = { instances: [inst(origin, 20n)], version: v(E, 9n) };
    await table.instances(SERVICE, { force: true });
    expect(queries).to.be.at.least(1);
    expect(await idsFrom(table, origin)).to.deep.equal([20n, 21n]);
    answer = { instances: [inst(origin, 22n)], version: v(E, 11n) };
    await table.instances(SERVICE, { force: true });
    expect(await idsFrom(table, origin)).to.deep.equal([22n]);
  });
});

describe("route versions: an origin yard's answers and pushes (two overlays)", function () {
  this.timeout(30_000);
  let a: Libp2p;
  let b: Libp2p;
  let origin: Overlay;
  let table: Overlay;
  let local: LocalInstance[] = [];
  const EPOCH = 1_750_000_000_000n;

  before(async () => {
    [a, b] = await Promise.all([createIconNode(), createIconNode()]);
    origin = overlayOn(a, { local: () => local, epoch: EPOCH });
    table = overlayOn(b);
    await Promise.all([origin.start(), table.start()]);
    await b.dial(a.getMultiaddrs()[0]!);
  });
  after(async () => {
    await Promise.all([origin?.stop(), table?.stop()]);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("answers carry growing versions of the origin's epoch; its pushes update interested yards", async () => {
    local = [{ leaseId: 1n, service: SERVICE, ports: [8080], ip: "172.30.0.2" }];
    const q = async () => {
      const r = await overlayRequest(b, a.peerId, ROUTES_PROTOCOL, {
        type: "routeQuery",
        service: SERVICE,
        interest: false,
      });
      if (r.type !== "routeAnswer") throw new Error(r.type);
      return r;
    };
    const r1 = await q();
    const r2 = await q();
    expect(r1.instances.map((i) => i.instanceId)).to.deep.equal([1n]);
    expect(r1.version?.epochMs).to.equal(EPOCH);
    expect(r2.version?.epochMs).to.equal(EPOCH);
    expect(compareRouteVersions(r2.version!, r1.version!)).to.be.greaterThan(0);
    // B asks (registering interest), then the origin's instances change and it pushes.
    expect(await idsFrom(table, a)).to.deep.equal([1n]);
    local = [
      { leaseId: 1n, service: SERVICE, ports: [8080], ip: "172.30.0.2" },
      { leaseId: 2n, service: SERVICE, ports: [8080], ip: "172.30.0.3" },
    ];
    origin.localChanged(SERVICE);
    for (let i = 0; i < 100 && (await idsFrom(table, a)).length < 2; i++) await sleep(20);
    expect(await idsFrom(table, a)).to.deep.equal([1n, 2n]);
    local = [{ leaseId: 2n, service: SERVICE, ports: [8080], ip: "172.30.0.3" }];
    origin.localChanged(SERVICE);
    for (let i = 0; i < 100 && (await idsFrom(table, a)).length > 1; i++) await sleep(20);
    expect(await idsFrom(table, a)).to.deep.equal([2n]);
    expect(table.staleRoutes).to.equal(0);
  });
});

describe("route TTLs: answers expire, are renewed before they do; interest registrations lapse (real libp2p)", function () {
  this.timeout(30_000);
  const TTL_S = 2;
  let a: Libp2p;
  let b: Libp2p;
  let c: Libp2p;
  let origin: Overlay;
  let table: Overlay;
  let answers = 0;
  let pushesToC = 0;
  let local: LocalInstance[] = [{ leaseId: 1n, service: SERVICE, ports: [8080], ip: "172.30.0.2" }];

  before(async () => {
    [a, b, c] = await Promise.all([createIconNode(), createIconNode(), createIconNode()]);
    // local() runs once per answer or push the origin sends (nothing else calls it here).
    origin = overlayOn(a, {
      local: () => {
        answers++;
        return local;
      },
      ttlS: TTL_S,
    });
    table = overlayOn(b, { ttlS: TTL_S });
    await Promise.all([origin.start(), table.start()]);
    await c.handle(ROUTES_PROTOCOL, async (stream) => {
      const lp = lpStream(stream);
      const m = decodeOverlayFrame((await lp.read()).subarray());
      if (m.type === "routePush") pushesToC++;
      await lp.write(encodeOverlayFrame({ type: "routingAck" }));
      await stream.close();
    });
    await b.dial(a.getMultiaddrs()[0]!);
  });
  after(async () => {
    await Promise.all([origin?.stop(), table?.stop()]);
    await Promise.all([a, b, c].map((n) => n?.stop()));
  });

  it("a fresh answer is used as is; in its last third it is renewed in the background; an origin gone quiet drops out after the TTL", async () => {
    expect(await idsFrom(table, a)).to.deep.equal([1n]);
    expect(answers).to.equal(1);
    expect(await idsFrom(table, a)).to.deep.equal([1n]);
    expect(answers, "fresh: nothing asked").to.equal(1);
    await sleep(TTL_S * 1000 * 0.75);
    expect(await idsFrom(table, a), "still fresh: served from the table").to.deep.equal([1n]);
    for (let i = 0; i < 100 && answers < 2; i++) await sleep(20);
    expect(answers, "renewed in the background").to.equal(2);
    // Renewed: past the first answer's expiry the entry is still in force, without asking again.
    await sleep(TTL_S * 1000 * 0.4);
    const n = answers;
    expect(await idsFrom(table, a)).to.deep.equal([1n]);
    expect(answers).to.equal(n);
    // The origin goes away without a word: once the renewed answer's TTL ends, its instance is gone.
    await origin.stop();
    await a.stop();
    await sleep(TTL_S * 1000 + 100);
    expect(await table.instances(SERVICE)).to.deep.equal([]);
  });

  it("a registered interest gets pushes until its TTL, then none", async () => {
    a = await createIconNode();
    origin = overlayOn(a, { local: () => local, ttlS: TTL_S });
    await origin.start();
    const r = await overlayRequest(c, a.getMultiaddrs(), ROUTES_PROTOCOL, {
      type: "routeQuery",
      service: SERVICE,
      interest: true,
    });
    expect(r.type).to.equal("routeAnswer");
    local = [{ leaseId: 2n, service: SERVICE, ports: [8080], ip: "172.30.0.3" }];
    origin.localChanged(SERVICE);
    for (let i = 0; i < 100 && pushesToC < 1; i++) await sleep(20);
    expect(pushesToC).to.equal(1);
    await sleep(TTL_S * 1000 + 100);
    origin.localChanged(SERVICE);
    await sleep(300);
    expect(pushesToC, "the interest lapsed: no push").to.equal(1);
  });
});

describe("routes are taken from vouched-for yards only (real libp2p)", function () {
  this.timeout(30_000);
  let receiver: Libp2p;
  let yard: Libp2p;
  let impostor: Libp2p;
  let origin: Overlay;
  let fake: Overlay;
  let table: Overlay;

  before(async () => {
    [receiver, yard, impostor] = await Promise.all([createIconNode(), createIconNode(), createIconNode()]);
    // Both answer route queries with instances of SERVICE; only `yard` is an active yard (the vouch the yard gets
    // from ActiveYards, tested on a real chain in active-yards.test).
    origin = overlayOn(yard, { local: () => [{ leaseId: 1n, service: SERVICE, ports: [8080], ip: "172.30.0.2" }] });
    fake = overlayOn(impostor, { local: () => [{ leaseId: 1n, service: SERVICE, ports: [8080], ip: "172.30.0.9" }] });
    table = overlayOn(receiver, { vouch: async (p) => p === yard.peerId.toString() });
    await Promise.all([origin.start(), fake.start(), table.start()]);
    await receiver.dial(yard.getMultiaddrs()[0]!);
    await receiver.dial(impostor.getMultiaddrs()[0]!);
  });
  after(async () => {
    await Promise.all([origin?.stop(), fake?.stop(), table?.stop()]);
    await Promise.all([receiver, yard, impostor].map((n) => n?.stop()));
  });

  it("a peer that is not an active yard gets nothing into the table: its answers are dropped, its pushes refused", async () => {
    const all = await table.instances(SERVICE);
    expect(all.map((i) => [i.yard, i.instanceId])).to.deep.equal([[yard.peerId.toString(), 1n]]);
    expect(table.untrustedRoutes).to.equal(1);
    // Every policy picks the real instance, the pinned name too (the impostor claims the same lease id).
    for (const [policy, ctx] of [
      ["rr", {}],
      ["closest", {}],
      ["none", { instanceId: 1n }],
    ] as const)
      expect((await table.pick(SERVICE, policy, ctx))?.yard).to.equal(yard.peerId.toString());
    let refused: unknown;
    await overlayRequest(impostor, receiver.peerId, ROUTES_PROTOCOL, {
      type: "routePush",
      service: SERVICE,
      instances: [inst(impostor, 5n)],
      version: v(1n, 1n),
    }).catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(OverlayError);
    expect((refused as OverlayError).overlayCode).to.equal(OverlayErrorCode.OVERLAY_DENIED);
    expect((refused as Error).message).to.match(/active yards only/);
    expect(table.untrustedRoutes).to.equal(2);
    const after = await table.instances(SERVICE, { force: true });
    expect(after.map((i) => i.yard)).to.deep.equal([yard.peerId.toString()]);
    // The active yard's push applies.
    const r = await overlayRequest(yard, receiver.peerId, ROUTES_PROTOCOL, {
      type: "routePush",
      service: SERVICE,
      instances: [inst(yard, 1n), inst(yard, 2n)],
      version: v(BigInt(Date.now()) + 10_000n, 1n),
    });
    expect(r.type).to.equal("routingAck");
    expect(await idsFrom(table, yard)).to.deep.equal([1n, 2n]);
  });
});

describe("route epochs and routing rules in the yard's database", function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "icon-routes-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("the route epoch is the clock, and above the previous run's when the clock went back (stored)", () => {
    const file = path.join(dir, "epoch.db");
    let db = new YardDb(file);
    expect(db.nextRouteEpoch(1_000_000)).to.equal(1_000_000n);
    expect(db.nextRouteEpoch(2_000_000)).to.equal(2_000_000n);
    db.close();
    db = new YardDb(file);
    expect(db.nextRouteEpoch(1_500_000), "clock behind the stored epoch").to.equal(2_000_001n);
    expect(db.nextRouteEpoch(2_000_001)).to.equal(2_000_002n);
    db.close();
  });

  it("rules set over /icon/routing are stored before the ack, restored on a new Overlay, expired stubs dropped", async () => {
    const file = path.join(dir, "rules.db");
    const [yard, holder, target] = await Promise.all([createIconNode(), createIconNode(), createIconNode()]);
    let db = new YardDb(file);
    let overlay = overlayOn(yard, { db });
    await overlay.start();
    try {
      const access = (leaseId: bigint): LeaseAccess => ({
        leaseId,
        expires: BigInt(Math.floor(Date.now() / 1000) + 600),
        signature: "0x" + "11".repeat(65),
      });
      const stub = (graceS: number) => ({
        yard: target.peerId.toString(),
        addrs: target.getMultiaddrs().map(String).slice(0, 1),
        instanceId: 77n,
        endpoint: "198.51.100.7:31000",
        graceS,
      });
      const redirects = [{ subnet: "10.1.0.0/24", location: "http://edge-b.example:8080" }];
      await setRouting(holder, yard.getMultiaddrs(), { access: access(5n), redirects, stub: stub(3600) });
      await setRouting(holder, yard.getMultiaddrs(), { access: access(6n), stub: stub(1) });
      await setRouting(holder, yard.getMultiaddrs(), { access: access(8n), redirects });
      await setRouting(holder, yard.getMultiaddrs(), { access: access(9n), stub: stub(1) });
      // A rules update without a stub keeps the lease's stub (and its expiry).
      const until5 = overlay.stub(5n)!.until;
      await setRouting(holder, yard.getMultiaddrs(), { access: access(5n), redirects: [] });
      expect(overlay.stub(5n)?.until).to.equal(until5);
      const stored = db.routingRules();
      expect(stored.map((r) => r.leaseId)).to.deep.equal([5n, 6n, 8n, 9n]);
      expect(stored[0]!.stub).to.deep.include({ instanceId: 77n, endpoint: "198.51.100.7:31000", until: until5 });
      expect(stored[0]!.redirects).to.deep.equal([]);
      expect(stored[2]!.redirects).to.deep.equal(redirects);

      // One-second graces end. Lease 9's stub is looked at while the yard runs: dropped, from the db too.
      await sleep(1100);
      expect(overlay.stub(9n)).to.equal(undefined);
      expect(db.routingRules().map((r) => r.leaseId)).to.deep.equal([5n, 6n, 8n]);
      // A restart: the same database, a new Overlay; lease 6's stub expired while it was down.
      await overlay.stop();
      db.close();
      db = new YardDb(file);
      overlay = overlayOn(yard, { db });
      const live = overlay.restore();
      expect(live).to.deep.equal([{ leaseId: 5n, until: until5 }]);
      expect(overlay.stub(5n)).to.deep.include({ yard: target.peerId.toString(), instanceId: 77n, graceS: 3600 });
      expect(overlay.stub(6n)).to.equal(undefined);
      expect(overlay.redirects(8n)).to.deep.equal(redirects);
      expect(
        db.routingRules().map((r) => r.leaseId),
        "the expired stub is gone from the db",
      ).to.deep.equal([5n, 8n]);
      // forget() (the stub's grace over, or the lease ended without one) removes the rules from the db too.
      overlay.forget(5n);
      expect(db.routingRules().map((r) => r.leaseId)).to.deep.equal([8n]);
    } finally {
      await overlay.stop();
      db.close();
      await Promise.all([yard.stop(), holder.stop(), target.stop()]);
    }
  });
});

describe("routes from the yards that announce a service in the DHT (real libp2p, no connection beforehand)", function () {
  this.timeout(60_000);
  const nodes: Libp2p[] = [];
  const overlays: Overlay[] = [];
  after(async () => {
    for (const o of overlays) await o.stop();
    for (const n of nodes) await n.stop();
  });

  it("finds an instance at a yard it has never been connected to, and only with the DHT turned on", async () => {
    const dhtPeer = await createIconNode({ dht: true, dhtPrivateAddresses: true });
    nodes.push(dhtPeer);
    const boot = [dhtPeer.getMultiaddrs()[0]!.toString()];
    const serving = await createIconNode({ dht: true, dhtPrivateAddresses: true, bootstrap: boot });
    const asking = await createIconNode({ dht: true, dhtPrivateAddresses: true, bootstrap: boot });
    nodes.push(serving, asking);
    const local = (): LocalInstance[] => [{ leaseId: 7n, service: SERVICE, ports: [8080], ip: "10.9.0.7" }];
    const origin = new Overlay({
      node: serving,
      log: silentLogger,
      authorize: async (a) => ({ id: a.leaseId }) as LeaseRow,
      local,
      dht: true,
    });
    const withDht = new Overlay({
      node: asking,
      log: silentLogger,
      authorize: async (a) => ({ id: a.leaseId }) as LeaseRow,
      local: () => [],
      dht: true,
    });
    overlays.push(origin, withDht);
    for (const n of [serving, asking]) {
      const t = Date.now();
      while (n.getConnections(dhtPeer.peerId).length === 0 && Date.now() - t < 15_000) await sleep(100);
    }
    await withDht.start();
    await origin.start(); // announces SERVICE, which it runs
    // Without the DHT the asking yard knows no one who runs it (it is connected to the DHT peer only).
    const blind = new Overlay({
      node: asking,
      log: silentLogger,
      authorize: async (a) => ({ id: a.leaseId }) as LeaseRow,
      local: () => [],
    });
    // (The DHT's own upkeep may connect the two yards at any time: hang up first, so that only a lookup finds it.)
    await asking.hangUp(serving.peerId);
    expect(await blind.instances(SERVICE, { force: true })).to.deep.equal([]);
    let found: bigint[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000) {
      origin.localChanged(SERVICE); // (re)announces at most once a minute
      await asking.hangUp(serving.peerId);
      found = (await withDht.instances(SERVICE, { force: true }))
        .filter((i) => i.yard === serving.peerId.toString())
        .map((i) => i.instanceId);
      if (found.length > 0) break;
      await sleep(500);
    }
    expect(found).to.deep.equal([7n]);
  });
});
