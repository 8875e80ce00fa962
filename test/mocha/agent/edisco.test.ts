/**
 * Path tomography (icon-agent/edisco.ts) against a real DNS server: dnsmasq on loopback serving the routers' PTR
 * names (addresses in 198.18.0.0/15: a PTR query needs no such address to exist) and a transit network's
 * `_edge._tcp` SRV record. A client subnet without any PTR name, whose path runs through the transit network, leads
 * to the transit IEP — found on the path, with the hop that named it — and, on the embedded chain with real libp2p
 * yards, that IEP becomes a candidate of the ICON's observation, marked as found only by tomography.
 *
 * The path itself is what the yard's probe service (`/icon/probe/1.0.0`, built apart) will answer: here a fixed
 * hop list handed to the same seam (`pathProbe`). Bounds hold against a hostile reverse zone: thousands of names
 * and hops, names of 115 labels, hundreds of SRV records under one name, a long CNAME chain (dnsmasq) and a CNAME
 * loop (which dnsmasq refuses to serve, so a small responder named for the fault answers with one).
 */
import { createSocket, type Socket } from "node:dgram";
import { expect } from "chai";
import fc from "fast-check";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Libp2p } from "@libp2p/interface";
import { Wallet } from "ethers";
import {
  MarketClient,
  RejectCode,
  createIconNode,
  createResolver,
  peerIdBytes,
  serveLeases,
  signPeerBinding,
  zoneRecords,
  type DnsResolver,
  type LeaseProvider,
} from "../../../protocol/index.ts";
import { PathTomography, walkUp, type PathHops } from "../../../icon-agent/edisco.ts";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { Observation } from "../../../icon-agent/observation.ts";
import type { AgentEvent } from "../../../icon-agent/state.ts";
import { startDnsmasq, type Dnsmasq } from "../../../scripts/lib/dnsmasq.ts";
import { network, deployMarket, deploymentOf, listing, params, type Market } from "../../helpers/market.ts";

const conn = await network.create();

const ptr = (ip: string, name: string) => `${ip.split(".").reverse().join(".")}.in-addr.arpa. 60 IN PTR ${name}.`;
const newPeer = async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519"));

/** The path from the ICON's cloud yard to the PTR-less client subnet 198.18.50.0/24, as a traceroute sees it. */
const PATH: PathHops = [
  { ttl: 1, address: "198.18.10.1" }, // gw1.cloud.icon.test: the owner's own network
  { ttl: 2, address: "198.18.20.1" }, // r1.core.transit.test
  { ttl: 3, address: "198.18.20.9" }, // r9.edge.transit.test
  { ttl: 4 }, // a router that does not answer
  { ttl: 5, address: "198.18.40.1" }, // gw.ispc.test: the clients' ISP, no IEP
  { ttl: 6, address: "198.18.50.7" }, // the client: no PTR name
];
const CLIENTS = "198.18.50.0/24";

/** The routers' names; the transit network publishes an IEP at its apex, the owner one at icon.test. */
function pathZone(transit: { peer: string; port: number }, cloud?: { peer: string; port: number }): string[] {
  return [
    ptr("198.18.10.1", "gw1.cloud.icon.test"),
    ptr("198.18.20.1", "r1.core.transit.test"),
    ptr("198.18.20.9", "r9.edge.transit.test"),
    ptr("198.18.40.1", "gw.ispc.test"),
    "gw.ispc.test. 60 IN A 198.18.40.1", // the ISP zone exists (NXDOMAIN, not REFUSED, for its SRV name)
    ...zoneRecords({
      domain: "transit.test",
      host: "iep.transit.test",
      port: transit.port,
      peerId: transit.peer,
      addresses: ["127.0.0.1"],
    }),
    ...(cloud
      ? zoneRecords({
          domain: "icon.test",
          host: "cloud.icon.test",
          port: cloud.port,
          peerId: cloud.peer,
          addresses: ["127.0.0.1"],
        })
      : ["cloud.icon.test. 60 IN A 198.18.10.1"]),
  ];
}

/** The real resolver, counting its calls and the most in flight at once (instrumentation, not a fake). */
function counting(resolver: DnsResolver) {
  const n = { ptr: 0, srv: 0, inFlight: 0, maxInFlight: 0, names: 0 };
  const track = async <T>(p: () => Promise<T>): Promise<T> => {
    n.inFlight++;
    n.maxInFlight = Math.max(n.maxInFlight, n.inFlight);
    try {
      return await p();
    } finally {
      n.inFlight--;
    }
  };
  const dns: Pick<DnsResolver, "ptrNames" | "discoverYards"> = {
    ptrNames: (a, o) =>
      track(async () => {
        n.ptr++;
        const names = await resolver.ptrNames(a, o);
        n.names = Math.max(n.names, names.length);
        return names;
      }),
    discoverYards: (d, o) => track(() => (n.srv++, resolver.discoverYards(d, o))),
  };
  return { n, dns };
}

describe("path tomography: the label walk", () => {
  it("walks a router's name up to its parents, most specific first, never above two labels", () => {
    expect(walkUp("r1.core.transit.test", 4)).to.deep.equal(["core.transit.test", "transit.test"]);
    expect(walkUp("gw.ispc.test", 4)).to.deep.equal(["ispc.test"]);
    expect(walkUp("ispc.test", 4)).to.deep.equal([]);
    // Bounded: the nearest parents and the two-label apex, where an operator most often publishes.
    expect(walkUp("r1.a.b.c.d.e.transit.test", 3)).to.deep.equal([
      "a.b.c.d.e.transit.test",
      "b.c.d.e.transit.test",
      "transit.test",
    ]);
    expect(walkUp("r1.a.b.transit.test", 1)).to.deep.equal(["transit.test"]);
    expect(walkUp("r1.a.b.transit.test", 0)).to.deep.equal([]);
  });

  it("holds for any name and bound: proper suffixes on label boundaries, ≥ 2 labels, bounded, the apex kept", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 130 }), fc.integer({ min: 0, max: 10 }), (labels, max) => {
        const name = labels.join(".");
        const out = walkUp(name, max);
        const parents = Math.max(0, labels.length - 2);
        expect(out.length).to.equal(Math.min(max, parents));
        expect(new Set(out).size).to.equal(out.length);
        for (const [i, d] of out.entries()) {
          const n = d.split(".").length;
          expect(n).to.be.at.least(2);
          expect(n).to.be.lessThan(labels.length);
          expect(d).to.equal(labels.slice(labels.length - n).join("."));
          if (i > 0) expect(n).to.be.lessThan(out[i - 1]!.split(".").length);
        }
        if (out.length > 0) expect(out.at(-1)).to.equal(labels.slice(-2).join("."));
        if (out.length > 1) expect(out[0]).to.equal(labels.slice(1).join("."));
      }),
      { numRuns: 500 },
    );
  });
});

describe("path tomography (dnsmasq on loopback)", function () {
  this.timeout(60_000);
  let dns: Dnsmasq;
  let transitPeer: string;

  before(async () => {
    transitPeer = (await newPeer()).toString();
    dns = await startDnsmasq({ records: pathZone({ peer: transitPeer, port: 4001 }) });
  });
  after(async () => {
    await dns?.stop();
  });

  it("finds the transit IEP on the path to a subnet without PTR names, with the hop that named it", async () => {
    const { n, dns: resolver } = counting(createResolver({ servers: [dns.server], timeoutMs: 2000 }));
    const paths = new PathTomography(resolver, { own: ["icon.test"] });
    const t = await paths.trace(CLIENTS, PATH);
    expect(t.hops).to.equal(4); // the silent hop has no address, the client's is in the traced subnet
    expect(t.named.map((h) => h.name)).to.deep.equal([
      "gw.ispc.test",
      "r9.edge.transit.test",
      "r1.core.transit.test",
      "gw1.cloud.icon.test",
    ]);
    // Nearest the clients first; the owner's domain never; at most two under one apex (core.transit.test not).
    expect(t.domains).to.deep.equal(["ispc.test", "edge.transit.test", "transit.test", "cloud.icon.test"]);
    expect(t.found).to.have.length(1);
    const [f] = t.found;
    expect(f!.domain).to.equal("transit.test");
    expect(f!.fresh).to.equal(true);
    expect(f!.hop).to.deep.equal({ ttl: 3, address: "198.18.20.9", name: "r9.edge.transit.test" });
    expect(f!.yards.map((y) => [y.peerId, y.multiaddr])).to.deep.equal([
      [transitPeer, `/ip4/127.0.0.1/tcp/4001/p2p/${transitPeer}`],
    ]);
    expect(paths.domains()).to.deep.equal(["transit.test"]);
    expect(paths.finding("transit.test")!.subnet).to.equal(CLIENTS);
    expect(t.lookups).to.deep.equal({ ptr: 4, srv: 4 });
    expect(t.errors).to.deep.equal([]);
    expect(n.ptr).to.equal(4); // the client's own address (in the traced subnet) is not looked up
  });

  it("asks again only what is due: PTR answers cached (none too), empty domains remembered, found ones kept", async () => {
    const { n, dns: resolver } = counting(createResolver({ servers: [dns.server], timeoutMs: 2000 }));
    const paths = new PathTomography(resolver, {
      own: ["icon.test"],
      negativeTtlMs: 60_000,
      ptrTtlMs: 600_000,
      keepMs: 300_000,
    });
    await paths.trace(CLIENTS, PATH, { now: 0 });
    const again = await paths.trace("198.18.51.0/24", PATH, { now: 30_000 });
    // Only the hop that was the client's own before (198.18.50.7, outside this subnet) is new.
    expect(again.lookups).to.deep.equal({ ptr: 1, srv: 0 });
    expect(again.found.map((f) => [f.domain, f.fresh, f.subnet])).to.deep.equal([
      ["transit.test", false, "198.18.51.0/24"],
    ]);
    // After the negative TTL: the hops without names and the domains without records are asked again.
    const later = await paths.trace(CLIENTS, PATH, { now: 90_000 });
    expect(later.lookups).to.deep.equal({ ptr: 0, srv: 3 });
    expect(n.ptr + n.srv).to.equal(4 + 4 + 1 + 3);
    // A domain no trace found for keepMs is dropped; known domains (learned from clients) are not asked.
    await paths.trace(CLIENTS, [], { now: 400_000 });
    expect(paths.domains()).to.deep.equal([]);
    const known = await paths.trace(CLIENTS, PATH, { now: 400_001, known: ["transit.test", "ispc.test"] });
    expect(known.domains).to.not.include("transit.test");
    expect(known.found).to.deep.equal([]);
  });

  it("traces at most one subnet a round, the busiest due, each at most once per interval, and says when the probe fails", async () => {
    const paths = new PathTomography(createResolver({ servers: [dns.server], timeoutMs: 2000 }), {
      own: ["icon.test"],
      traceEveryMs: 60_000,
    });
    const flows = [
      { subnet: "198.18.50.0/24", rate: 3 },
      { subnet: "198.18.52.0/24", rate: 9, client: "198.18.52.4" },
      { subnet: "198.18.53.0/24", rate: 0.01 }, // idle
    ];
    const asked: Array<{ subnet: string; client?: string }> = [];
    const probe = async (subnet: string, o: { signal: AbortSignal; client?: string }) => {
      asked.push({ subnet, ...(o.client ? { client: o.client } : {}) });
      if (subnet === "198.18.52.0/24") throw new Error("probe refused: rate-limited");
      return PATH;
    };
    const first = paths.due(flows, 0.05, 0)!;
    expect(first.subnet).to.equal("198.18.52.0/24");
    const failed = await paths.round(first, probe, { now: 0 }).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(failed).to.match(/rate-limited/);
    const second = paths.due(flows, 0.05, 1000)!;
    expect(second.subnet).to.equal("198.18.50.0/24");
    expect((await paths.round(second, probe, { now: 1000 })).found.map((f) => f.domain)).to.deep.equal([
      "transit.test",
    ]);
    expect(paths.due(flows, 0.05, 2000)).to.equal(undefined); // both traced within the minute; the idle one never
    expect(paths.due(flows, 0.05, 60_000)!.subnet).to.equal("198.18.52.0/24");
    expect(asked).to.deep.equal([{ subnet: "198.18.52.0/24", client: "198.18.52.4" }, { subnet: "198.18.50.0/24" }]);
  });
});

describe("path tomography against a hostile reverse zone", function () {
  this.timeout(120_000);
  let dns: Dnsmasq;
  let loop: { server: string; queries: () => number; stop(): Promise<void> };
  const HOPS = 2000;
  const WIDE = 300;
  /** A name of 115 labels (up to 246 characters: DNS allows 253), distinct per i. */
  const longName = (i: number) =>
    `r${i}.${Array.from({ length: 112 }, (_, k) => (k === 0 ? `p${i}` : "x")).join(".")}.hostile.test`;

  before(async () => {
    const peer = (await newPeer()).toString();
    const records = [
      // One hop with as many names of 115 labels as a DNS message holds (64 KiB), one with thousands of names.
      ...Array.from({ length: 200 }, (_, i) => ptr("198.19.0.1", longName(i))),
      ...Array.from({ length: 2000 }, (_, i) => ptr("198.19.0.2", `r${i}.hostile.test`)),
      // Thousands of hops, each in its own domain, each domain publishing an IEP.
      ...Array.from({ length: HOPS }, (_, i) => ptr(`198.19.${1 + (i >> 8)}.${i & 255}`, `r.s${i}.many.hostile.test`)),
      ...Array.from(
        { length: HOPS },
        (_, i) => `_edge._tcp.s${i}.many.hostile.test. 60 IN SRV 10 10 4001 iep.hostile.test.`,
      ),
      // A domain with hundreds of SRV records, each target a yard (as many as fit one answer with their addresses).
      ...Array.from(
        { length: WIDE },
        (_, i) => `_edge._tcp.wide.hostile.test. 60 IN SRV 10 ${i % 100} 4001 t${i}.wide.hostile.test.`,
      ),
      ...Array.from({ length: WIDE }, (_, i) => `t${i}.wide.hostile.test. 60 IN TXT "icon-v=1" "icon-peer=${peer}"`),
      ...Array.from({ length: WIDE }, (_, i) => `t${i}.wide.hostile.test. 60 IN A 127.0.0.1`),
      ptr("198.19.30.1", "r1.wide.hostile.test"),
      `iep.hostile.test. 60 IN TXT "icon-v=1" "icon-peer=${peer}"`,
      "iep.hostile.test. 60 IN A 127.0.0.1",
      // A reverse entry that is a CNAME chain of 40 names (RFC 2317 style, stretched), ending without a PTR.
      "1.40.19.198.in-addr.arpa. 60 IN CNAME c1.chain.hostile.test.",
      ...Array.from(
        { length: 39 },
        (_, i) => `c${i + 1}.chain.hostile.test. 60 IN CNAME c${i + 2}.chain.hostile.test.`,
      ),
      "c40.chain.hostile.test. 60 IN CNAME end.chain.hostile.test.",
      "end.chain.hostile.test. 60 IN A 198.19.40.1",
      // A client subnet whose own reverse zone names deep domains of its own (all publishing IEPs), behind a
      // transit router that publishes one at its apex.
      ...["evil1", "evil2"].map((e) => ptr("198.19.60.10", `a.b.c.d.${e}.test`)),
      ptr("198.19.60.1", "gw.a.b.c.evil3.test"),
      ...["evil1", "evil2", "evil3"].flatMap((e) =>
        ["", "d.", "c.d.", "b.c.d."].map((l) => `_edge._tcp.${l}${e}.test. 60 IN SRV 10 10 4001 iep.hostile.test.`),
      ),
      ptr("198.19.61.1", "r1.core.transit2.test"),
      "_edge._tcp.transit2.test. 60 IN SRV 10 10 4001 iep.hostile.test.",
    ];
    dns = await startDnsmasq({ records });
    loop = await cnameLoopServer();
  });
  after(async () => {
    await dns?.stop();
    await loop?.stop();
  });

  it("reads at most two names per hop however many the answer holds, and at most its share of their labels", async () => {
    const { n, dns: resolver } = counting(createResolver({ servers: [dns.server], timeoutMs: 5000 }));
    const paths = new PathTomography(resolver, { domainsPerName: 4, domainsPerPath: 12, srvPerPath: 8 });
    const t = await paths.trace("198.19.200.0/24", [
      { ttl: 7, address: "198.19.0.1" },
      { ttl: 6, address: "198.19.0.2" },
    ]);
    expect(t.errors).to.deep.equal([]);
    expect(n.ptr).to.equal(2);
    expect(n.names).to.equal(2);
    expect(t.named).to.have.length(4);
    const long = t.named.filter((h) => h.address === "198.19.0.1");
    expect(long).to.have.length(2);
    for (const h of long) expect(h.name.split(".")).to.have.length(115);
    // Two domains of a hop however many names and labels: its first name's nearest parent and hostile.test; the
    // short names only hostile.test again.
    expect(t.domains).to.deep.equal([t.named[0]!.name.split(".").slice(1).join("."), "hostile.test"]);
    expect(t.lookups.srv).to.equal(2);
  });

  it("looks at most maxHops hops, asks at most srvPerPath domains, keeps at most maxDomains, within its concurrency", async () => {
    const { n, dns: resolver } = counting(createResolver({ servers: [dns.server], timeoutMs: 5000 }));
    // Every hop here is under hostile.test: the bound per apex (and per subnet) is lifted to see the others.
    const paths = new PathTomography(resolver, {
      maxHops: 30,
      srvPerPath: 8,
      concurrency: 4,
      maxDomains: 10,
      domainsPerApex: 100,
      domainsPerSubnet: 100,
    });
    const hops = Array.from({ length: HOPS }, (_, i) => ({
      ttl: 1 + (i % 30),
      address: `198.19.${1 + (i >> 8)}.${i & 255}`,
    }));
    const started = Date.now();
    const t = await paths.trace("198.19.201.0/24", hops);
    expect(t.errors).to.deep.equal([]);
    expect(t.hops).to.equal(30);
    expect(n.ptr).to.equal(30);
    expect(t.named).to.have.length(30);
    expect(t.domains).to.have.length(12); // domainsPerPath: every hop names its own domain (and hostile.test)
    expect(n.srv).to.equal(8);
    expect(t.found).to.have.length(7); // hostile.test publishes nothing
    expect(n.maxInFlight).to.be.at.most(4);
    // Three more paths through other routers: eight new domains with IEPs each, but only maxDomains are kept.
    for (let k = 0; k < 3; k++) await paths.trace("198.19.201.0/24", hops.slice(1000 + 30 * k, 1030 + 30 * k));
    expect(paths.domains()).to.have.length(10);
    expect(n.srv).to.equal(32);
    expect(Date.now() - started).to.be.below(30_000);
  });

  it("a client subnet's own reverse names do not steer the lookups: the transit IEP on its path is found", async () => {
    const { n, dns: resolver } = counting(createResolver({ servers: [dns.server], timeoutMs: 5000 }));
    const paths = new PathTomography(resolver, { domainsPerName: 4, srvPerPath: 8 });
    const t = await paths.trace("198.19.60.0/24", [
      { ttl: 1, address: "198.19.61.1" },
      { ttl: 2, address: "198.19.60.1" }, // the clients' gateway, in their subnet
      { ttl: 3, address: "198.19.60.10" }, // the latest client, traced towards
    ]);
    expect(t.errors).to.deep.equal([]);
    expect(t.named.map((h) => h.address)).to.deep.equal(["198.19.61.1"]);
    expect(n.ptr).to.equal(1);
    expect(t.domains).to.deep.equal(["core.transit2.test", "transit2.test"]);
    expect(t.found.map((f) => f.domain)).to.deep.equal(["transit2.test"]);
    expect(paths.domains()).to.deep.equal(["transit2.test"]);
  });

  it("keeps at most its share of found domains per subnet: a full table gives way fairly, not to the busiest tracer", async () => {
    const resolver = createResolver({ servers: [dns.server], timeoutMs: 5000 });
    const paths = new PathTomography(resolver, { maxDomains: 4, domainsPerSubnet: 3, domainsPerApex: 100 });
    const hops = (from: number, count: number) =>
      Array.from({ length: count }, (_, k) => ({
        ttl: k + 1,
        address: `198.19.${1 + ((from + k) >> 8)}.${(from + k) & 255}`,
      }));
    const held = () => {
      const by: Record<string, number> = {};
      for (const d of paths.domains()) by[paths.finding(d)!.subnet] = (by[paths.finding(d)!.subnet] ?? 0) + 1;
      return by;
    };
    const A = "198.19.210.0/24";
    const B = "198.19.211.0/24";
    await paths.trace(A, hops(0, 6), { now: 1 });
    expect(held()).to.deep.equal({ [A]: 3 }); // six domains with IEPs on the path, three kept: A's share
    await paths.trace(B, hops(100, 2), { now: 2 });
    expect(held()).to.deep.equal({ [A]: 2, [B]: 2 }); // the table was full: A, holding most, gave up its oldest
    // A traced again and again through new routers: it never takes B's place.
    for (let k = 0; k < 3; k++) await paths.trace(A, hops(200 + 10 * k, 3), { now: 3 + k });
    expect(held()).to.deep.equal({ [A]: 2, [B]: 2 });
  });

  it("checks at most yardsPerDomain of a domain's hundreds of SRV records", async () => {
    const resolver = createResolver({ servers: [dns.server], timeoutMs: 10_000 });
    const paths = new PathTomography(resolver, { yardsPerDomain: 8 });
    const t = await paths.trace("198.19.202.0/24", [{ ttl: 4, address: "198.19.30.1" }]);
    expect(t.errors).to.deep.equal([]);
    const wide = t.found.find((f) => f.domain === "wide.hostile.test")!;
    expect(wide.yards).to.have.length(8);
    // The preferred records (highest weight at one priority) are the ones checked.
    expect(wide.yards.every((y) => y.weight >= 90)).to.equal(true);
    // The bound is what limits it: a larger one checks that many (all 300 at once overrun dnsmasq's UDP queue).
    expect(await resolver.discoverYards("wide.hostile.test", { resolveHosts: true, maxRecords: 40 })).to.have.length(
      40,
    );
  });

  it("gets no name, and no error, from a reverse entry that is a long CNAME chain", async () => {
    const { n, dns: resolver } = counting(createResolver({ servers: [dns.server], timeoutMs: 5000 }));
    const t = await new PathTomography(resolver).trace("198.19.203.0/24", [{ ttl: 2, address: "198.19.40.1" }]);
    expect(t.named).to.deep.equal([]);
    expect(t.errors).to.deep.equal([]);
    expect(n.ptr).to.equal(1);
  });

  it("gets no name from a CNAME loop, in bounded time, and remembers that", async () => {
    const { n, dns: resolver } = counting(createResolver({ servers: [loop.server], timeoutMs: 3000, tries: 1 }));
    const paths = new PathTomography(resolver);
    const hops = Array.from({ length: 50 }, (_, i) => ({ ttl: i + 1, address: `198.19.60.${i}` }));
    const started = Date.now();
    const t = await paths.trace("198.19.204.0/24", hops, { now: 0 });
    expect(Date.now() - started).to.be.below(15_000);
    expect(t.named).to.deep.equal([]);
    expect(t.domains).to.deep.equal([]);
    expect(n.ptr).to.equal(30);
    expect(loop.queries()).to.be.at.least(30);
    const again = await paths.trace("198.19.204.0/24", hops, { now: 1000 });
    expect(again.lookups.ptr).to.equal(0);
  });

  it("stops asking when the DNS server does not answer: only the lookups already in flight fail", async () => {
    const silent = createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
    try {
      const resolver = createResolver({ servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 400, tries: 1 });
      const { n, dns: counted } = counting(resolver);
      const hops = Array.from({ length: 30 }, (_, i) => ({ ttl: i + 1, address: `198.19.61.${i}` }));
      const t = await new PathTomography(counted, { concurrency: 2 }).trace("198.19.205.0/24", hops);
      expect(n.ptr).to.equal(2); // the first two in flight; the rest not asked
      expect(t.errors.length).to.equal(2);
      expect(t.errors[0]).to.match(/could not be reached/);
    } finally {
      silent.close();
    }
  });
});

describe("path tomography in the ICON's observation (embedded chain, libp2p yards, dnsmasq)", function () {
  this.timeout(90_000);
  let m: Market;
  let dns: Dnsmasq;
  const nodes: Libp2p[] = [];
  const stops: (() => Promise<void>)[] = [];
  let transit: Libp2p;
  let cloud: Libp2p;
  let client: MarketClient;

  /** A yard that answers capacity queries only (what discovery asks). */
  const capacityOnly = (operator: Market["provider"], node: Libp2p, registry: string): LeaseProvider => ({
    capacity: async () => ({
      cpuMillisFree: 1000,
      memoryMiBFree: 1024,
      cpuPricePerSecond: 10n,
      memoryPricePerSecond: 5n,
      region: node === transit ? "transit" : "cloud",
      binding: await signPeerBinding(operator, node.peerId, m.chainId, registry),
    }),
    quote: async () => ({ reject: RejectCode.REJECT_UNSPECIFIED, message: "edisco test: no quotes" }),
    accept: async () => ({ reject: RejectCode.REJECT_UNSPECIFIED, message: "edisco test: no leases" }),
  });
  const portOf = (node: Libp2p) => Number(node.getMultiaddrs()[0]!.toString().split("/")[4]);

  before(async () => {
    m = await deployMarket(conn);
    const deployment = await deploymentOf(m);
    client = await MarketClient.connect({ deployment, provider: m.ethers.provider, signer: m.stranger });
    transit = await createIconNode();
    cloud = await createIconNode();
    nodes.push(transit, cloud);
    for (const [op, node, suffix] of [
      [m.provider, cloud, "c1"],
      [m.provider2, transit, "t1"],
    ] as const) {
      await m.registry.connect(op).register({ ...listing(suffix), peerId: peerIdBytes(node.peerId) });
      await m.registry.connect(op).stake(params.minStake * 10n);
      stops.push(await serveLeases(node, capacityOnly(op, node, deployment.registry)));
    }
    dns = await startDnsmasq({
      records: pathZone(
        { peer: transit.peerId.toString(), port: portOf(transit) },
        { peer: cloud.peerId.toString(), port: portOf(cloud) },
      ),
    });
  });
  after(async () => {
    for (const s of stops) await s();
    for (const n of nodes) await n.stop();
    await dns?.stop();
  });

  async function observation(pathProbe?: (s: string, o: { signal: AbortSignal }) => Promise<PathHops>) {
    const node = await createIconNode();
    nodes.push(node);
    const env = agentEnvFrom(
      {
        service: {
          image: "icon/web:1",
          imageDigest: "0x" + "ab".repeat(32),
          ports: [8080],
          cpuMillis: 250,
          memoryMiB: 64,
        },
        discovery: { domains: ["icon.test"], dnsServers: [dns.server] },
      },
      "http://127.0.0.1:1",
      client.deployment,
    );
    const events: AgentEvent[] = [];
    const waiters: Array<() => void> = [];
    const seen = new Observation({
      env,
      seed: { root: 1n },
      node,
      client,
      signer: Wallet.createRandom(),
      tree: { policy: () => undefined },
      emit: (kind, text, data) => {
        events.push({ atMs: Date.now(), icon: "test", kind, text, ...(data ? { data } : {}) } as AgentEvent);
        for (const w of waiters.splice(0)) w();
      },
      ...(pathProbe ? { pathProbe } : {}),
    });
    /** Resolves with the first event `match` accepts, now or later (bounded by the test's timeout). */
    const event = async (match: (e: AgentEvent) => boolean): Promise<AgentEvent> => {
      for (;;) {
        const e = events.find(match);
        if (e) return e;
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    return { seen, events, event };
  }

  const flows = [{ subnet: CLIENTS, rate: 5, latencyMs: 3, requests: 50n }]; // no client address: nothing to learn from

  it("finds the transit IEP on the path to a PTR-less subnet and makes it a candidate, found only by tomography", async () => {
    const traced: string[] = [];
    const { seen, event } = await observation(async (subnet) => (traced.push(subnet), PATH));
    await seen.refreshYards();
    expect(seen.yards.map((y) => y.name)).to.deep.equal(["cloud"]); // the owner's domain alone
    seen.learnInBackground(flows);
    seen.traceInBackground(flows);
    const hop = await event(
      (e) => e.kind === "discovered" && e.data?.viaPath === true && e.data.domain === "transit.test",
    );
    expect(hop.text).to.match(/hop 3 on the path to 198\.18\.50\.0\/24 \(198\.18\.20\.9, r9\.edge\.transit\.test\)/);
    await seen.refreshYards(); // due again now: discovery runs in the background
    const told = await event((e) => e.kind === "discovered" && /found only by path tomography/.test(e.text));
    expect(told.data).to.include({
      viaPath: true,
      peerId: transit.peerId.toString(),
      domain: "transit.test",
      subnet: CLIENTS,
    });
    const byName = new Map(seen.yards.map((y) => [y.name, y]));
    expect(byName.get("transit")!.viaPath).to.equal("transit.test");
    expect(byName.get("cloud")!.viaPath).to.equal(undefined);
    expect(seen.candidates().map((c) => c.location)).to.include(transit.peerId.toString());
    // The next period: the subnet was traced minutes ago, so it is not traced again.
    seen.traceInBackground(flows);
    await seen.settle();
    expect(traced).to.deep.equal([CLIENTS]);
  });

  it("says once that tomography is off when no path probe is wired in", async () => {
    const { seen, events } = await observation();
    seen.traceInBackground(flows);
    seen.traceInBackground(flows);
    await seen.settle();
    expect(events.filter((e) => /path tomography \(eDisco\) is off/.test(e.text))).to.have.length(1);
  });
});

/**
 * A fault: a DNS responder (UDP, loopback) that answers every query with a CNAME loop — the asked name to
 * `loop.hostile.test` and back — which dnsmasq refuses to serve. Counts the queries.
 */
async function cnameLoopServer(): Promise<{ server: string; queries: () => number; stop(): Promise<void> }> {
  const socket: Socket = createSocket("udp4");
  let queries = 0;
  const encode = (name: string) =>
    Buffer.concat([
      ...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0]),
    ]);
  socket.on("message", (q, from) => {
    queries++;
    let end = 12;
    while (end < q.length && q[end] !== 0) end += q[end]! + 1;
    const question = q.subarray(12, end + 5);
    const other = encode("loop.hostile.test");
    const record = (owner: Buffer, target: Buffer) => {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(5, 0); // CNAME
      fixed.writeUInt16BE(1, 2); // IN
      fixed.writeUInt32BE(60, 4);
      fixed.writeUInt16BE(target.length, 8);
      return Buffer.concat([owner, fixed, target]);
    };
    const header = Buffer.alloc(12);
    q.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8580, 2); // response, authoritative, recursion desired and available, NOERROR
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(2, 6);
    const asked = q.subarray(12, end + 1);
    socket.send(Buffer.concat([header, question, record(asked, other), record(other, asked)]), from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries: () => queries,
    stop: () => new Promise<void>((r) => socket.close(() => r())),
  };
}
