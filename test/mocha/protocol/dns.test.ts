/**
 * DNS SRV discovery against a real DNS server: dnsmasq started on loopback by the test, serving the records
 * zoneRecords prints for operators. `dig` reads the same records; a libp2p yard found through DNS is dialled.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { promisify } from "node:util";
import { multiaddr } from "@multiformats/multiaddr";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import {
  createResolver,
  domainsOf,
  reverseName,
  zoneRecords,
  type SrvTarget,
  type ZoneRecordOptions,
} from "../../../protocol/discovery/dns.ts";
import { ConfigError, IconError } from "../../../protocol/errors.ts";
import { createIconNode } from "../../../protocol/net/node.ts";
import { peerIdBytes } from "../../../protocol/lease/binding.ts";
import { dnsmasqRecordOptions, freeUdpPort, startDnsmasq, type Dnsmasq } from "../../../scripts/lib/dnsmasq.ts";

const run = promisify(execFile);
const DOMAIN = "edge.icon.test";
const BROKEN = "broken.icon.test";

async function newPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
}

async function dig(server: Dnsmasq, type: string, name: string): Promise<string[]> {
  const { stdout } = await run("dig", [`@127.0.0.1`, "-p", String(server.port), type, name, "+short"]);
  return stdout.split("\n").filter((l) => l.trim() !== "");
}

/** Rejection of `p`, or a failure when it resolves. */
async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  expect.fail("expected the promise to reject");
}

describe("DNS SRV discovery (dnsmasq on loopback)", function () {
  this.timeout(30_000);
  let dns: Dnsmasq;
  let peers: PeerId[];
  let yards: ZoneRecordOptions[];

  before(async () => {
    peers = await Promise.all([newPeer(), newPeer(), newPeer(), newPeer()]);
    // a: priority 10 weight 5; b: priority 5; c: priority 10 weight 50 → b, c, a
    yards = [
      { domain: DOMAIN, host: `yard-a.${DOMAIN}`, port: 4101, peerId: peers[0], priority: 10, weight: 5 },
      { domain: DOMAIN, host: `yard-b.${DOMAIN}`, port: 4102, peerId: peers[1], priority: 5, weight: 10 },
      { domain: DOMAIN, host: `yard-c.${DOMAIN}`, port: 4103, peerId: peers[2], priority: 10, weight: 50 },
    ].map((y, i) => ({ ...y, addresses: [`127.0.0.${i + 1}`] }));
    const srv = (host: string, port: number) => `_edge._tcp.${BROKEN}. 60 IN SRV 10 10 ${port} ${host}.${BROKEN}.`;
    const records = [
      ...yards.flatMap((y) => zoneRecords(y)),
      // broken.icon.test: one good yard and four that must be skipped, each for its own reason
      ...zoneRecords({ domain: BROKEN, host: `good.${BROKEN}`, port: 4200, peerId: peers[3], priority: 1 }),
      srv("garbled", 4201),
      `garbled.${BROKEN}. 60 IN TXT "icon-v=1" "icon-peer=not-a-peer-id"`,
      srv("bare", 4202),
      `bare.${BROKEN}. 60 IN A 127.0.0.9`,
      srv("twice", 4203),
      `twice.${BROKEN}. 60 IN TXT "icon-peer=${peers[0]}"`,
      `twice.${BROKEN}. 60 IN TXT "icon-peer=${peers[1]}"`,
      srv("future", 4204),
      `future.${BROKEN}. 60 IN TXT "icon-v=2" "icon-peer=${peers[2]}"`,
      srv("spf", 4205),
      `spf.${BROKEN}. 60 IN TXT "v=spf1 -all"`,
      // a name that exists (TXT only) but has no SRV records
      `_edge._tcp.txt-only.icon.test. 60 IN TXT "hello"`,
      // a client of the IEP's own network, with a PTR name in its zone (127.20.1.8 has none)
      `7.1.20.127.in-addr.arpa. 60 IN PTR host-7.lab.${DOMAIN}.`,
    ];
    dns = await startDnsmasq({ records });
  });

  after(async () => {
    await dns?.stop();
  });

  const expected = (i: number, addr = `/dns4/yard-${"abc"[i]}.${DOMAIN}`) => ({
    peerId: peers[i].toString(),
    peerIdBytes: peerIdBytes(peers[i]),
    host: yards[i].host,
    port: yards[i].port,
    priority: yards[i].priority,
    weight: yards[i].weight,
    multiaddr: `${addr}/tcp/${yards[i].port}/p2p/${peers[i]}`,
    multiaddrs: [`${addr}/tcp/${yards[i].port}/p2p/${peers[i]}`],
  });

  it("turns a domain into the published yards as /dns4 multiaddrs, lowest priority first, then highest weight", async () => {
    const found = await createResolver({ servers: [dns.server], timeoutMs: 2000 }).discoverYards(DOMAIN);
    expect(found).to.deep.equal([expected(1), expected(2), expected(0)]);
    expect(found.map((y) => y.multiaddr)).to.deep.equal([
      `/dns4/yard-b.${DOMAIN}/tcp/4102/p2p/${peers[1]}`,
      `/dns4/yard-c.${DOMAIN}/tcp/4103/p2p/${peers[2]}`,
      `/dns4/yard-a.${DOMAIN}/tcp/4101/p2p/${peers[0]}`,
    ]);
    for (const y of found) expect(multiaddr(y.multiaddr).getComponents().at(-1)?.value).to.equal(y.peerId);
  });

  it("with resolveHosts, dials the targets' A records from the same server as /ip4 multiaddrs", async () => {
    const found = await createResolver({ servers: [dns.server] }).discoverYards(`${DOMAIN}.`, { resolveHosts: true });
    expect(found).to.deep.equal([
      expected(1, "/ip4/127.0.0.2"),
      expected(2, "/ip4/127.0.0.3"),
      expected(0, "/ip4/127.0.0.1"),
    ]);
  });

  it("serves dig the same SRV and TXT data the resolver returns", async () => {
    const found = await createResolver({ servers: [dns.server] }).discoverYards(DOMAIN);
    const srv = await dig(dns, "SRV", `_edge._tcp.${DOMAIN}`);
    expect([...srv].sort()).to.deep.equal(found.map((y) => `${y.priority} ${y.weight} ${y.port} ${y.host}.`).sort());
    for (const y of found) {
      expect(await dig(dns, "TXT", y.host)).to.deep.equal([`"icon-v=1" "icon-peer=${y.peerId}"`]);
    }
  });

  it("learns from a client's PTR name the domains it points into, most specific first, where its IEP is found", async () => {
    const resolver = createResolver({ servers: [dns.server], timeoutMs: 2000 });
    const domains = await resolver.clientDomains("127.20.1.7");
    expect(domains).to.deep.equal([`lab.${DOMAIN}`, DOMAIN, "icon.test"]);
    const found = await Promise.all(domains.map((d) => resolver.discoverYards(d)));
    expect(found.map((f) => f.map((y) => y.host))).to.deep.equal([
      [],
      [yards[1].host, yards[2].host, yards[0].host],
      [],
    ]);
    expect(await dig(dns, "-x", "127.20.1.7")).to.deep.equal([`host-7.lab.${DOMAIN}.`]);
    expect(await resolver.ptrNames("127.20.1.7")).to.deep.equal([`host-7.lab.${DOMAIN}`]);
    expect(await resolver.ptrNames("127.20.1.7", { max: 0 })).to.deep.equal([]);
    // No PTR record: nothing learned, no error.
    expect(await resolver.clientDomains("127.20.1.8")).to.deep.equal([]);
    expect(await resolver.ptrNames("127.20.1.8")).to.deep.equal([]);
    const bad = await rejectionOf(resolver.clientDomains("host-7"));
    expect(bad).to.be.instanceOf(ConfigError);
    expect((bad as ConfigError).code).to.equal("BAD_ADDRESS");
  });

  it("names the reverse zone entry of IPv4, IPv6 (full, compressed) and IPv4-mapped addresses", () => {
    expect(reverseName("192.0.2.7")).to.equal("7.2.0.192.in-addr.arpa");
    expect(reverseName("::ffff:192.0.2.7")).to.equal("7.2.0.192.in-addr.arpa");
    const v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
    expect(reverseName("2001:db8::1")).to.equal(v6);
    expect(reverseName("2001:0db8:0000:0000:0000:0000:0000:0001")).to.equal(v6);
    expect(reverseName("fe80::1%eth0")).to.equal(
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa",
    );
    expect(() => reverseName("host-7")).to.throw(ConfigError, /not an IP address/);
  });

  it("derives the parent domains of PTR names: at least two labels, each once, the host's own name never", () => {
    expect(domainsOf(["c7.lab.isp.example."])).to.deep.equal(["lab.isp.example", "isp.example"]);
    expect(domainsOf(["C7.ISP.example", "c8.isp.example"])).to.deep.equal(["isp.example"]);
    expect(domainsOf(["isp.example", "localhost", "bad..name.example"])).to.deep.equal([]);
    // Bounded, whatever the answer holds: the first two names, three parents each.
    expect(domainsOf(["h.a.b.c.d.e.example", "x.y.example", "z.w.example"])).to.deep.equal([
      "a.b.c.d.e.example",
      "b.c.d.e.example",
      "c.d.e.example",
      "y.example",
    ]);
  });

  it("returns an empty list for a domain without records (NXDOMAIN) and for a name without SRV records", async () => {
    const resolver = createResolver({ servers: [dns.server], timeoutMs: 2000 });
    expect(await resolver.discoverYards("nothing-here.icon.test")).to.deep.equal([]);
    expect(await resolver.discoverYards("txt-only.icon.test")).to.deep.equal([]);
    expect(await dig(dns, "SRV", "_edge._tcp.nothing-here.icon.test")).to.deep.equal([]);
  });

  it("skips targets with a malformed, missing, ambiguous or unsupported TXT and says why for each", async () => {
    const skipped: Array<{ reason: string; record: SrvTarget }> = [];
    const found = await createResolver({ servers: [dns.server] }).discoverYards(BROKEN, {
      onSkip: (reason, record) => skipped.push({ reason, record }),
    });
    expect(found.map((y) => [y.host, y.peerId])).to.deep.equal([[`good.${BROKEN}`, peers[3].toString()]]);
    const why = Object.fromEntries(skipped.map((s) => [s.record.host.split(".")[0], s.reason]));
    expect(Object.keys(why).sort()).to.deep.equal(["bare", "future", "garbled", "spf", "twice"]);
    expect(why.garbled).to.match(/icon-peer="not-a-peer-id" at garbled\.broken\.icon\.test is not a libp2p peer id/);
    expect(why.bare).to.match(/bare\.broken\.icon\.test has no TXT record; publish .*icon-peer=<peer id>/);
    expect(why.twice).to.match(/names 2 peer ids .*a target name must belong to one yard/);
    expect(why.future).to.match(/icon-v=2, this code reads icon-v=1/);
    expect(why.spf).to.match(/none with "icon-peer=<peer id>"/);
    expect(skipped.every((s) => s.reason.startsWith(`_edge._tcp.${BROKEN} → ${s.record.host}:${s.record.port}: `))).to
      .be.true;
  });

  it("round-trips zoneRecords → dnsmasq options → resolver to the same host, port, priority, weight and peer id", async () => {
    const peer = await newPeer();
    const input = {
      domain: "Round.Trip.Test.",
      host: "y1.round.trip.test",
      port: 9,
      peerId: peer,
      priority: 3,
      weight: 7,
      ttl: 60,
      addresses: ["127.0.0.7", "::1"],
    };
    const lines = zoneRecords(input);
    expect(dnsmasqRecordOptions(lines).options).to.deep.equal([
      "srv-host=_edge._tcp.round.trip.test,y1.round.trip.test,9,3,7",
      `txt-record=y1.round.trip.test,"icon-v=1","icon-peer=${peer}"`,
      "host-record=y1.round.trip.test,127.0.0.7,::1",
    ]);
    const own = await startDnsmasq({ records: lines });
    try {
      const found = await createResolver({ servers: [own.server] }).discoverYards(input.domain, { resolveHosts: true });
      expect(found).to.deep.equal([
        {
          host: input.host,
          port: 9,
          priority: 3,
          weight: 7,
          peerId: peer.toString(),
          peerIdBytes: peerIdBytes(peer),
          multiaddr: `/ip4/127.0.0.7/tcp/9/p2p/${peer}`,
          multiaddrs: [`/ip4/127.0.0.7/tcp/9/p2p/${peer}`, `/ip6/::1/tcp/9/p2p/${peer}`],
        },
      ]);
      expect(await dig(own, "AAAA", input.host)).to.deep.equal(["::1"]);
    } finally {
      await own.stop();
    }
  });

  it("fails with DNS_UNREACHABLE naming the server when nothing listens on its port, well within the timeout", async () => {
    const port = await freeUdpPort();
    const resolver = createResolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 1500, tries: 2 });
    const t0 = Date.now();
    const e = await rejectionOf(resolver.discoverYards(DOMAIN));
    expect(Date.now() - t0).to.be.below(1500);
    expect(e).to.be.instanceOf(IconError);
    expect((e as IconError).code).to.equal("DNS_UNREACHABLE");
    expect(e.message).to.include(`127.0.0.1:${port}`).and.include(`SRV _edge._tcp.${DOMAIN}`);
  });

  describe("against a server that never answers", () => {
    let silent: Socket;
    let server: string;
    before(async () => {
      silent = createSocket("udp4");
      await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", () => resolve()));
      server = `127.0.0.1:${silent.address().port}`;
    });
    after(() => silent.close());

    it("fails with DNS_UNREACHABLE after the timeout, not before and not much later", async () => {
      const t0 = Date.now();
      const e = await rejectionOf(
        createResolver({ servers: [server], timeoutMs: 600, tries: 2 }).discoverYards(DOMAIN),
      );
      const elapsed = Date.now() - t0;
      expect((e as IconError).code).to.equal("DNS_UNREACHABLE");
      expect(e.message).to.match(new RegExp(`DNS server ${server} could not be reached .*no answer within 600 ms`));
      expect(elapsed).to.be.within(500, 1200);
    });

    it("rejects with the signal's reason as soon as the signal aborts", async () => {
      const controller = new AbortController();
      const resolver = createResolver({ servers: [server], timeoutMs: 10_000 });
      const t0 = Date.now();
      setTimeout(() => controller.abort(), 50);
      const e = await rejectionOf(resolver.discoverYards(DOMAIN, { signal: controller.signal }));
      expect(e.name).to.equal("AbortError");
      expect(Date.now() - t0).to.be.below(1000);
      const already = await rejectionOf(resolver.discoverYards(DOMAIN, { signal: AbortSignal.abort() }));
      expect(already.name).to.equal("AbortError");
    });
  });

  it("fails with DNS_FAILED when the server refuses a zone it does not serve", async () => {
    const e = await rejectionOf(createResolver({ servers: [dns.server] }).discoverYards("example.org"));
    expect((e as IconError).code).to.equal("DNS_FAILED");
    expect(e.message).to.include(dns.server).and.include("REFUSED");
  });

  it("prints BIND lines for one yard: SRV on the service name, TXT and A/AAAA on the target", async () => {
    const peer = await newPeer();
    expect(
      zoneRecords({
        domain: "edge.example.com",
        host: "Yard1.Edge.Example.com.",
        port: 4001,
        peerId: peer,
        addresses: ["203.0.113.7", "2001:db8::7"],
      }),
    ).to.deep.equal([
      "_edge._tcp.edge.example.com. 300 IN SRV 10 10 4001 yard1.edge.example.com.",
      `yard1.edge.example.com. 300 IN TXT "icon-v=1" "icon-peer=${peer}"`,
      "yard1.edge.example.com. 300 IN A 203.0.113.7",
      "yard1.edge.example.com. 300 IN AAAA 2001:db8::7",
    ]);
    // the registry's form of the peer id (multihash bytes as hex) and the string form give the same records
    const base = { domain: "edge.example.com", host: "yard1.edge.example.com", port: 4001 };
    expect(zoneRecords({ ...base, peerId: peerIdBytes(peer) })).to.deep.equal(
      zoneRecords({ ...base, peerId: peer.toString() }),
    );
  });

  it("refuses invalid zone inputs with a ConfigError naming the field and the fix", async () => {
    const peerId = await newPeer();
    const base = { domain: "edge.example.com", host: "yard1.edge.example.com", port: 4001, peerId };
    const cases: Array<[Partial<ZoneRecordOptions>, string, RegExp]> = [
      [{ domain: "edge..example.com" }, "BAD_DOMAIN", /^domain "edge\.\.example\.com" has an empty label.*such as/],
      [{ domain: "bad_name.example.com" }, "BAD_DOMAIN", /^domain .*use only letters, digits and '-'/],
      [{ host: "localhost" }, "BAD_DOMAIN", /^host "localhost" is a single label; give a fully qualified host name/],
      [
        { host: "203.0.113.7" },
        "BAD_DOMAIN",
        /^host "203\.0\.113\.7" is an IP address.*addresses: \["203\.0\.113\.7"\]/,
      ],
      [{ port: 0 }, "BAD_PORT", /^port is 0 but must be an integer from 1 to 65535/],
      [{ port: 70000 }, "BAD_PORT", /^port is 70000/],
      [{ priority: -1 }, "BAD_SRV_FIELD", /^priority is -1 but must be an integer from 0 to 65535/],
      [{ peerId: "12D3KooWnot" }, "BAD_PEER_ID", /^peerId "12D3KooWnot" is not a libp2p peer id/],
      [{ addresses: ["yard1"] }, "BAD_ADDRESS", /^addresses\[0\] "yard1" is not an IPv4 or IPv6 address/],
    ];
    for (const [patch, code, message] of cases) {
      let error: unknown;
      try {
        zoneRecords({ ...base, ...patch });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(patch)).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).code, JSON.stringify(patch)).to.equal(code);
      expect((error as ConfigError).message).to.match(message);
    }
  });

  it("refuses DNS servers given as host names or empty lists, and accepts ip, ip:port and [ipv6]:port", () => {
    expect(() => createResolver({ servers: ["dns.example.com:53"] })).to.throw(
      ConfigError,
      /^servers\[0\] "dns\.example\.com:53" is not an IP address .*e\.g\. "127\.0\.0\.1:5353"/,
    );
    expect(() => createResolver({ servers: [] })).to.throw(ConfigError, /^servers is empty/);
    expect(() => createResolver({ timeoutMs: 0 })).to.throw(ConfigError, /^timeoutMs is 0/);
    expect(createResolver({ servers: ["127.0.0.1:5353", "[::1]:53", "10.0.0.2"] }).servers).to.have.length(3);
  });

  it("finds a live libp2p yard through DNS and the dialled peer proves the TXT peer id", async () => {
    const yard = await createIconNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    const agent = await createIconNode();
    let live: Dnsmasq | undefined;
    try {
      const port = Number(
        yard
          .getMultiaddrs()[0]
          .getComponents()
          .find((c) => c.name === "tcp")?.value,
      );
      live = await startDnsmasq({
        records: zoneRecords({
          domain: "live.icon.test",
          host: "yard.live.icon.test",
          port,
          peerId: yard.peerId,
          addresses: ["127.0.0.1"],
        }),
      });
      const [found] = await createResolver({ servers: [live.server] }).discoverYards("live.icon.test", {
        resolveHosts: true,
      });
      expect(found.multiaddr).to.equal(`/ip4/127.0.0.1/tcp/${port}/p2p/${yard.peerId}`);
      const connection = await agent.dial(multiaddr(found.multiaddr));
      expect(connection.remotePeer.toString()).to.equal(found.peerId);
      expect(connection.remotePeer.equals(yard.peerId)).to.be.true;
    } finally {
      await live?.stop();
      await agent.stop();
      await yard.stop();
    }
  });
});
