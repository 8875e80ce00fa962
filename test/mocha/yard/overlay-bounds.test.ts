/**
 * What strangers and tenants can make the overlay hold, bounded (issue 15, item 5), on real libp2p nodes over
 * loopback and, for addresses, on a real yard network of the project's Docker engine:
 *  - a made-up service name is asked of the other yards once per miss TTL, however often it is looked up; one
 *    source's lookups of ever new names ask at most its query budget; nothing is kept per yard for an empty answer;
 *  - interest registrations are kept for active yards only, bounded per peer, and freed when they expire;
 *  - virtual addresses: one source holds at most its share; an address nobody uses is released (listener, firewall
 *    entry and address on the bridge) and can be had again;
 *  - a client that resets its connection to a semantic listener while the route is still being picked costs
 *    nothing but that connection.
 */
import { expect } from "chai";
import { decode, encode, RECURSION_DESIRED, type DecodedPacket } from "dns-packet";
import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { promisify } from "node:util";
import type { Libp2p } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { createIconNode } from "../../../protocol/net/node.ts";
import {
  ROUTES_PROTOCOL,
  decodeOverlayFrame,
  encodeOverlayFrame,
  overlayRequest,
  type RouteInstance,
} from "../../../protocol/index.ts";
import type { LeaseRow } from "../../../yard-node/db.ts";
import { silentLogger } from "../../../protocol/log.ts";
import { Overlay } from "../../../yard-node/overlay/overlay.ts";
import { overlayOn } from "../../helpers/overlay.ts";
import { ServiceAddressing } from "../../../yard-node/overlay/semantic.ts";
import { TunnelManager } from "../../../yard-node/overlay/tunnel.ts";
import { useDockerYard } from "../../helpers/docker.ts";

const run = promisify(execFile);

/** A yard-like peer that answers every route query with `instances(service)` and counts the queries. */
async function answeringPeer(instances: (service: string) => RouteInstance[] = () => []): Promise<{
  node: Libp2p;
  queries: string[];
}> {
  const node = await createIconNode();
  const queries: string[] = [];
  await node.handle(ROUTES_PROTOCOL, async (stream) => {
    const lp = lpStream(stream);
    const m = decodeOverlayFrame((await lp.read()).subarray());
    if (m.type !== "routeQuery") return stream.abort(new Error("unexpected"));
    queries.push(m.service);
    await lp.write(encodeOverlayFrame({ type: "routeAnswer", instances: instances(m.service), ttlS: 60 }));
    await stream.close();
  });
  return { node, queries };
}

describe("overlay: what peers and tenants can make it hold is bounded", function () {
  this.timeout(60_000);
  const nodes: Libp2p[] = [];
  const overlays: Overlay[] = [];
  after(async () => {
    for (const o of overlays) await o.stop();
    for (const n of nodes) await n.stop();
  });
  const node = async (): Promise<Libp2p> => {
    const n = await createIconNode();
    nodes.push(n);
    return n;
  };

  it("asks the other yards about a made-up service once per miss TTL, and keeps nothing per yard for it", async () => {
    const me = await node();
    const peers = await Promise.all([answeringPeer(), answeringPeer(), answeringPeer()]);
    nodes.push(...peers.map((p) => p.node));
    for (const p of peers) await me.dial(p.node.getMultiaddrs()[0]!);
    const overlay = overlayOn(me);
    overlays.push(overlay);
    for (let i = 0; i < 50; i++) expect(await overlay.instances("shop.acme.gone.prod")).to.deep.equal([]);
    for (const p of peers) expect(p.queries).to.deep.equal(["shop.acme.gone.prod"]);
    expect(overlay.tableSizes()).to.include({ routes: 0, missing: 1 });
  });

  it("one source's lookups of ever new names ask the other yards at most its query budget", async () => {
    const me = await node();
    const peer = await answeringPeer();
    nodes.push(peer.node);
    await me.dial(peer.node.getMultiaddrs()[0]!);
    const overlay = overlayOn(me, { queryBudget: { burst: 5, refillPerS: 0.001 } });
    overlays.push(overlay);
    for (let i = 0; i < 40; i++) await overlay.instances(`shop.acme.made${i}.up`, { source: "10.0.0.9" });
    expect(peer.queries).to.have.length(5);
    expect(overlay.queriesThrottled).to.equal(35);
    // Another source has a budget of its own; a lookup with no source (a connection's) is not throttled.
    await overlay.instances("shop.acme.other.up", { source: "10.0.0.10" });
    await overlay.instances("shop.acme.third.up");
    expect(peer.queries).to.have.length(7);
    expect(overlay.tableSizes().routes).to.equal(0);
  });

  it("keeps interest registrations of active yards only, at most 1024 per peer, and frees them when they expire", async () => {
    const me = await node();
    const yard = await node();
    const stranger = await node();
    const active = new Set([yard.peerId.toString()]);
    const overlay = overlayOn(me, { ttlS: 1, vouch: async (p) => active.has(p) });
    overlays.push(overlay);
    await overlay.start();
    const ask = (from: Libp2p, service: string) =>
      overlayRequest(from, me.getMultiaddrs()[0]!, ROUTES_PROTOCOL, { type: "routeQuery", service, interest: true });
    for (let i = 0; i < 20; i++) expect((await ask(stranger, `s.a.x${i}.y`)).type).to.equal("routeAnswer");
    expect(overlay.tableSizes().interests).to.equal(0);
    // 1100 services from one active yard, ten at a time: 1024 kept.
    for (let i = 0; i < 1100; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, j) => ask(yard, `s.a.x${i + j}.y`)));
    expect(overlay.tableSizes().interests).to.equal(1024);
    await new Promise((r) => setTimeout(r, 1100));
    overlay.sweep();
    expect(overlay.tableSizes().interests).to.equal(0);
    // Room again once they expired.
    await ask(yard, "s.a.again.y");
    expect(overlay.tableSizes().interests).to.equal(1);
  });
});

/** One DNS A query over UDP to `address:53`; the decoded answer (undefined after 3 s). */
async function resolveA(address: string, name: string): Promise<DecodedPacket | undefined> {
  const socket = createSocket("udp4");
  try {
    return await new Promise<DecodedPacket | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 3000);
      socket.on("message", (msg) => {
        clearTimeout(timer);
        resolve(decode(msg));
      });
      socket.send(
        encode({
          type: "query",
          id: randomInt(65536),
          flags: RECURSION_DESIRED,
          questions: [{ type: "A", name, class: "IN" }],
        }),
        53,
        address,
      );
    });
  } finally {
    socket.close();
  }
}

const addressOf = (p: DecodedPacket | undefined): string | undefined =>
  (p?.answers?.[0] as { data?: string } | undefined)?.data;

async function hostAddrs(): Promise<string[]> {
  const { stdout } = await run("ip", ["-j", "-4", "addr", "show"]);
  const links = JSON.parse(stdout) as { addr_info?: { local: string }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
}

describe("overlay: virtual addresses are shared fairly and released when idle (real yard network)", function () {
  this.timeout(120_000);
  const yards = useDockerYard("ovlb");
  let me: Libp2p;
  let blackhole: Server;
  let addressing: ServiceAddressing | undefined;
  let overlay: Overlay;
  const revoked: string[] = [];
  const SERVICES = Array.from({ length: 8 }, (_, i) => `shop.acme.s${i}.prod`);

  before(async () => {
    me = await createIconNode();
    // A "yard" that accepts TCP and never speaks: a tunnel to it hangs until its deadline.
    blackhole = createServer(() => {});
    await new Promise<void>((r) => blackhole.listen(0, "127.0.0.1", () => r()));
    const port = (blackhole.address() as { port: number }).port;
    const far = await createIconNode();
    const farId = far.peerId.toString();
    await far.stop();
    overlay = new Overlay({
      node: me,
      log: silentLogger,
      authorize: async (a) => ({ id: a.leaseId }) as LeaseRow,
      tunnels: new TunnelManager(me, { resolve: async () => ({ error: "none here" }), timeoutMs: 3000 }),
      // Each service has one instance here; "shop.acme.far.prod" one at the silent yard.
      local: () => SERVICES.map((service, i) => ({ leaseId: BigInt(i + 1), service, ports: [80], ip: "127.0.0.1" })),
    });
    // The silent yard's instance, as if it had answered a route query.
    const far1: RouteInstance = {
      service: "shop.acme.far.prod",
      instanceId: 99n,
      yard: farId,
      addrs: [`/ip4/127.0.0.1/tcp/${port}/p2p/${farId}`],
      ports: [80],
    };
    (overlay as unknown as { instances: Overlay["instances"] }).instances = (async (service: string) =>
      service === far1.service
        ? [{ ...far1, latencyMs: 1, updatedAt: Date.now() }]
        : Overlay.prototype.instances.call(overlay, service)) as Overlay["instances"];
    addressing = new ServiceAddressing({
      runtime: yards.get().runtime,
      overlay,
      log: silentLogger,
      cidr: "10.251.77.0/24",
      sourceOf: () => ({ leaseId: 1n, service: "shop.acme.client.prod" }),
      rulesOf: () => [],
      revoke: async (a) => void revoked.push(`${a.proto} ${a.ip}:${a.port}`),
      maxAddressesPerSource: 3,
      addressIdleMs: 60_000,
    });
    await addressing.start();
  });
  after(async () => {
    await addressing?.stop();
    await me?.stop();
    blackhole?.close();
  });

  it("one source holds at most its share of addresses; an idle one is released (bridge, listener, firewall) and can be had again", async () => {
    const gateway = addressing!.dnsServers()[0]!;
    const got: (string | undefined)[] = [];
    for (const s of SERVICES.slice(0, 5)) got.push(addressOf(await resolveA(gateway, `${s}.any.rr.icon`)));
    expect(got.slice(0, 3).every((ip) => ip?.startsWith("10.251.77."))).to.equal(true);
    expect(got.slice(3)).to.deep.equal([undefined, undefined]);
    expect(addressing!.overQuota).to.equal(2);
    // Asking again for a name it holds costs nothing.
    expect(addressOf(await resolveA(gateway, `${SERVICES[0]}.any.rr.icon`))).to.equal(got[0]);
    expect(addressing!.addressCount()).to.equal(3);

    // Idle: nothing resolved or connected for the idle time.
    const released = await addressing!.releaseIdle(Date.now() + 61_000);
    expect(released.sort()).to.deep.equal((got.slice(0, 3) as string[]).sort());
    const onHost = await hostAddrs();
    for (const ip of released) expect(onHost).to.not.include(ip);
    expect(revoked).to.include(`tcp ${got[0]}:80`);
    expect(addressing!.addressCount()).to.equal(0);
    // The share is free again.
    const again = addressOf(await resolveA(gateway, `${SERVICES[4]}.any.rr.icon`));
    expect(again).to.match(/^10\.251\.77\./);
  });

  it("an address with an open connection is not released however long it is idle", async () => {
    const gateway = addressing!.dnsServers()[0]!;
    const ip = addressOf(await resolveA(gateway, "shop.acme.far.prod.any.rr.icon"))!;
    expect(ip).to.match(/^10\.251\.77\./);
    const c = connect(80, ip);
    c.on("error", () => {});
    await new Promise((r) => c.once("connect", r));
    await new Promise((r) => setTimeout(r, 200));
    expect(await addressing!.releaseIdle(Date.now() + 3_600_000)).to.not.include(ip);
    c.destroy();
  });

  it("a client that resets while the route is being picked costs nothing but its own connection", async () => {
    const gateway = addressing!.dnsServers()[0]!;
    const ip = addressOf(await resolveA(gateway, "shop.acme.far.prod.any.rr.icon"))!;
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on("uncaughtException", onUncaught);
    try {
      for (let i = 0; i < 20; i++) {
        const c = connect(80, ip);
        c.on("error", () => {});
        await new Promise((r) => c.once("connect", r));
        c.write("GET / HTTP/1.0\r\n\r\n");
        c.resetAndDestroy();
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(uncaught).to.deep.equal([]);
    // Still answering.
    expect(addressOf(await resolveA(gateway, `${SERVICES[1]}.any.rr.icon`))).to.match(/^10\.251\.77\./);
  });
});
