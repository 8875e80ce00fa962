/**
 * The overlay's addresses and DNS (yard-node/overlay/addresses.ts, dns.ts):
 *  - VirtualIps with a fake `ip` (allocation, stability, reverse lookup, reuse order, exhaustion, failures);
 *  - SemanticDns on 127.0.0.1 with dns-packet queries (UDP and TCP), dig, an upstream, and garbage;
 *  - both on a real yard network of the project's Docker engine: a busybox container created with
 *    `dns: [gateway]` resolves a semantic name through Docker's embedded DNS (which forwards to the responder on
 *    the gateway, port 53) and connects to a host listener bound to exactly the virtual address it got.
 * Every address the suite puts on the host is removed in `after` (and checked gone); the network goes with the yard.
 */
import { expect } from "chai";
import { encode, decode, streamEncode, type DecodedPacket, type Packet, RECURSION_DESIRED } from "dns-packet";
import fc from "fast-check";
import { execFile } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { IconError } from "../../../protocol/errors.ts";
import { VirtualIps, overlaps, parseCidr } from "../../../yard-node/overlay/addresses.ts";
import { SemanticDns, parseUpstream } from "../../../yard-node/overlay/dns.ts";
import { formatName, type SemanticName } from "../../../yard-node/overlay/names.ts";
import { serviceKey, type ServiceName } from "../../../yard-node/overlay/types.ts";
import type { ContainerRuntime, NetworkInfo } from "../../../yard-node/runtime.ts";
import { BUSYBOX_IMAGE, useDockerYard, waitFor } from "../../helpers/docker.ts";

const run = promisify(execFile);
const SHOP: ServiceName = { app: "shop", appns: "acme", service: "cart", servicens: "prod" };
const LIMITS = { cpuMillis: 250, memoryMiB: 32, pids: 32 };

/** A fake `ip`: records calls, keeps addresses per device, answers like iproute2. */
class FakeIp {
  calls: string[][] = [];
  addrs = new Map<string, Set<string>>();
  failAdd = false;
  run = async (args: string[]): Promise<string> => {
    this.calls.push(args);
    if (args[0] === "-j") {
      return JSON.stringify(
        [...this.addrs].map(([dev, set]) => ({
          ifname: dev,
          addr_info: [...set].map((a) => ({ family: "inet", local: a, prefixlen: 32 })),
        })),
      );
    }
    const [, op, cidr, , dev] = args;
    const ip = cidr.replace(/\/32$/, "");
    const set = this.addrs.get(dev) ?? new Set<string>();
    this.addrs.set(dev, set);
    if (op === "add") {
      if (this.failAdd)
        throw Object.assign(new Error("ip failed"), { stderr: "RTNETLINK answers: Operation not permitted" });
      if (set.has(ip))
        throw Object.assign(new Error("ip failed"), { stderr: "Error: ipv4: Address already assigned." });
      set.add(ip);
    } else {
      if (!set.delete(ip)) throw Object.assign(new Error("ip failed"), { stderr: "Error: ipv4: Address not found." });
    }
    return "";
  };
  on(dev: string): string[] {
    return [...(this.addrs.get(dev) ?? [])].sort();
  }
}

async function rejectionOf(p: Promise<unknown>): Promise<IconError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(IconError);
    return e as IconError;
  }
  expect.fail("expected a rejection");
}

/** One DNS query over UDP; the decoded answer (or undefined after `timeoutMs`). */
async function udpQuery(
  port: number,
  q: Packet | Buffer,
  o: { address?: string; timeoutMs?: number } = {},
): Promise<DecodedPacket | undefined> {
  const socket = createSocket("udp4");
  try {
    return await new Promise<DecodedPacket | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), o.timeoutMs ?? 2000);
      socket.on("message", (msg) => {
        clearTimeout(timer);
        try {
          resolve(decode(msg));
        } catch (e) {
          reject(e);
        }
      });
      socket.send(Buffer.isBuffer(q) ? q : encode(q), port, o.address ?? "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

function query(name: string, type: "A" | "AAAA" | "TXT" = "A", id = randomInt(65536)): Packet {
  return { type: "query", id, flags: RECURSION_DESIRED, questions: [{ type, name, class: "IN" }] };
}

/** One DNS query over TCP (length-prefixed). */
async function tcpQuery(port: number, q: Packet): Promise<DecodedPacket> {
  const socket = connect(port, "127.0.0.1");
  try {
    return await new Promise<DecodedPacket>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) resolve(decode(buf.subarray(2)));
      });
      socket.write(streamEncode(q));
    });
  } finally {
    socket.destroy();
  }
}

function rcode(p: DecodedPacket | undefined): string | undefined {
  return (p as (DecodedPacket & { rcode?: string }) | undefined)?.rcode;
}

/** IPv4 addresses on the host, per device (`ip -j -4 addr show`). */
async function hostAddrs(): Promise<{ dev: string; ip: string }[]> {
  const { stdout } = await run("ip", ["-j", "-4", "addr", "show"]);
  const links = JSON.parse(stdout) as { ifname: string; addr_info?: { local: string }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => ({ dev: l.ifname, ip: a.local })));
}

function inCidr(ip: string, cidr: string): boolean {
  return overlaps(`${ip}/32`, cidr);
}

/** Listens on ip:0; resolves with the server and its port. */
async function listenOn(ip: string, onConnection: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, ip, () => resolve());
  });
  return server;
}

describe("overlay: virtual addresses (fake ip)", function () {
  it("gives one stable address per (service, policy) and per (service, instance), with reverse lookup", async function () {
    const fake = new FakeIp();
    const ips = new VirtualIps({ device: "br-test", cidr: "10.9.0.0/24", ip: fake.run });
    const rr = await ips.serviceIp(SHOP, "rr");
    const closest = await ips.serviceIp(serviceKey(SHOP), "closest");
    const inst = await ips.instanceIp(SHOP, 42n);
    expect([rr, closest, inst]).to.deep.equal(["10.9.0.1", "10.9.0.2", "10.9.0.3"]);
    expect(await ips.serviceIp(SHOP, "rr")).to.equal(rr);
    expect(await ips.allocate("shop.acme.cart.prod.any.rr.icon.")).to.equal(rr);
    expect(await ips.allocate("SHOP.acme.cart.prod.42.none")).to.equal(inst);
    expect(ips.get("shop.acme.cart.prod.any.closest")).to.equal(closest);
    expect(ips.get("shop.acme.cart.prod.7.none")).to.equal(undefined);
    expect(ips.lookup(rr)).to.deep.equal({ kind: "service", service: SHOP, policy: "rr" });
    expect(ips.lookup(inst)).to.deep.equal({ kind: "instance", service: SHOP, instanceId: 42n });
    expect(ips.lookup("10.9.0.99")).to.equal(undefined);
    expect(ips.lookup("not an ip")).to.equal(undefined);
    expect(ips.size).to.equal(3);
    expect(ips.entries().map((e) => e.ip)).to.deep.equal([rr, closest, inst]);
    expect(fake.on("br-test")).to.deep.equal([rr, closest, inst].sort());
    // Each address was added once, as a /32 on the device.
    expect(fake.calls.filter((c) => c[1] === "add")).to.deep.equal(
      [rr, closest, inst].map((ip) => ["addr", "add", `${ip}/32`, "dev", "br-test"]),
    );
    await ips.close();
    expect(fake.on("br-test")).to.deep.equal([]);
    expect(ips.size).to.equal(0);
    expect((await rejectionOf(ips.serviceIp(SHOP, "rr"))).code).to.equal("VIRTUAL_IPS_CLOSED");
  });

  it("shares one address between concurrent requests for the same name", async function () {
    const fake = new FakeIp();
    const ips = new VirtualIps({ device: "br-test", cidr: "10.9.0.0/24", ip: fake.run });
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => ips.instanceIp(SHOP, BigInt(i % 4))));
    expect(new Set(got).size).to.equal(4);
    expect(fake.calls.filter((c) => c[1] === "add")).to.have.length(4);
    await ips.close();
  });

  it("releases addresses, hands a released one out again only after the rest of the range", async function () {
    const fake = new FakeIp();
    const ips = new VirtualIps({ device: "br-test", cidr: "10.9.0.0/29", ip: fake.run }); // .1 to .6
    const a = await ips.instanceIp(SHOP, 1n);
    expect(await ips.release(a)).to.equal(true);
    expect(await ips.release(a)).to.equal(false);
    expect(fake.on("br-test")).to.deep.equal([]);
    expect(ips.lookup(a)).to.equal(undefined);
    const again = await ips.instanceIp(SHOP, 1n);
    expect(again).to.equal("10.9.0.2");
    expect(await ips.release({ kind: "instance", service: SHOP, instanceId: 1n })).to.equal(true);
    const seen: string[] = [];
    for (let i = 2n; i < 8n; i++) seen.push(await ips.instanceIp(SHOP, i));
    expect(seen).to.deep.equal(["10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6", "10.9.0.1", "10.9.0.2"]);
    const full = await rejectionOf(ips.instanceIp(SHOP, 99n));
    expect(full.code).to.equal("VIRTUAL_IPS_EXHAUSTED");
    expect(full.message).to.include("10.9.0.0/29");
    await ips.close();
  });

  it("skips addresses other interfaces have, adopts its own leftovers, removes stale ones", async function () {
    const fake = new FakeIp();
    fake.addrs.set("other0", new Set(["10.9.0.1", "10.9.0.3"]));
    fake.addrs.set("br-test", new Set(["10.9.0.2", "10.9.0.5"])); // left by a crashed run
    const ips = new VirtualIps({ device: "br-test", cidr: "10.9.0.0/24", ip: fake.run });
    expect(await ips.serviceIp(SHOP, "rr")).to.equal("10.9.0.2"); // already there: adopted, not an error
    expect(await ips.serviceIp(SHOP, "closest")).to.equal("10.9.0.4");
    expect(await ips.removeStale()).to.deep.equal(["10.9.0.5"]);
    expect(fake.on("br-test")).to.deep.equal(["10.9.0.2", "10.9.0.4"]);
    expect(fake.on("other0")).to.deep.equal(["10.9.0.1", "10.9.0.3"]);
    await ips.close();
    expect(fake.on("br-test")).to.deep.equal([]);
  });

  it("reports a failing `ip` with its words and keeps no half-allocated entry", async function () {
    const fake = new FakeIp();
    fake.failAdd = true;
    const ips = new VirtualIps({ device: "br-test", cidr: "10.9.0.0/24", ip: fake.run });
    const e = await rejectionOf(ips.serviceIp(SHOP, "rr"));
    expect(e.code).to.equal("VIRTUAL_IP_FAILED");
    expect(e.message).to.include("ip addr add 10.9.0.1/32 dev br-test");
    expect(e.message).to.include("Operation not permitted");
    expect(ips.size).to.equal(0);
    fake.failAdd = false;
    expect(await ips.serviceIp(SHOP, "rr")).to.equal("10.9.0.2");
    await ips.close();
  });

  it("validates the range, the device and the names", async function () {
    for (const cidr of ["10.9.0.0", "10.9.0.1/24", "10.9.0.0/33", "10.0.0.0/7", "::/64", "x"]) {
      expect(() => new VirtualIps({ device: "br-x", cidr }), cidr).to.throw(IconError, /BAD_VIRTUAL_CIDR|CIDR|range/);
    }
    expect(() => new VirtualIps({ device: "br x; rm -rf /" })).to.throw(IconError, /network interface/);
    expect(parseCidr("10.233.0.0/16")).to.deep.equal({ base: 0x0ae90000, prefix: 16 });
    expect(overlaps("10.233.0.0/16", "10.233.7.0/24")).to.equal(true);
    expect(overlaps("10.233.0.0/16", "172.17.0.0/16")).to.equal(false);
    const ips = new VirtualIps({ device: "br-x", ip: new FakeIp().run });
    expect(ips.cidr).to.equal("10.233.0.0/16");
    expect((await rejectionOf(ips.serviceIp(SHOP, "none"))).code).to.equal("BAD_SEMANTIC_NAME");
    expect((await rejectionOf(ips.serviceIp("shop.acme", "rr"))).code).to.equal("BAD_SERVICE_NAME");
    expect((await rejectionOf(ips.allocate("example.com"))).code).to.equal("BAD_SEMANTIC_NAME");
  });

  it("refuses a range that overlaps the container network", async function () {
    const network: NetworkInfo = { name: "n", bridge: "br-n", subnet: "10.233.0.0/20", gateway: "10.233.0.1" };
    const runtime = { networkInfo: async () => network } as unknown as ContainerRuntime;
    expect((await rejectionOf(VirtualIps.onNetwork(runtime))).code).to.equal("BAD_VIRTUAL_CIDR");
    const { ips } = await VirtualIps.onNetwork(runtime, { cidr: "10.234.0.0/16", ip: new FakeIp().run });
    expect(ips.device).to.equal("br-n");
  });
});

describe("overlay: SemanticDns (127.0.0.1)", function () {
  const known = new Map<string, string>([
    ["shop.acme.cart.prod.any.rr", "10.233.0.1"],
    ["shop.acme.cart.prod.42.none", "10.233.0.2"],
  ]);
  const asked: SemanticName[] = [];
  let dns: SemanticDns;
  let port: number;
  let upstream: ReturnType<typeof createSocket>;
  let upstreamPort: number;
  let forwarding: SemanticDns;
  let forwardingPort: number;

  before(async function () {
    const resolve = async (n: SemanticName) => {
      asked.push(n);
      if (n.kind === "service" && n.policy === "boom") throw new Error("resolver failure");
      if (n.kind === "service" && n.policy === "bad") return "not-an-ip";
      return known.get(formatName(n));
    };
    dns = new SemanticDns({ resolve });
    ({ port } = await dns.listen({ address: "127.0.0.1", port: 0 }));
    // A fake upstream: answers example.test A 192.0.2.7, everything else NXDOMAIN; ignores "silent.test".
    upstream = createSocket("udp4");
    upstream.on("message", (msg, rinfo) => {
      const q = decode(msg);
      const name = q.questions?.[0]?.name;
      if (name === "silent.test") return;
      const answers = name === "example.test" ? [{ type: "A" as const, name, ttl: 60, data: "192.0.2.7" }] : [];
      const flags = name === "example.test" ? 0 : 3;
      upstream.send(
        encode({ id: q.id, type: "response", flags, questions: q.questions, answers }),
        rinfo.port,
        rinfo.address,
      );
    });
    await new Promise<void>((r) => upstream.bind(0, "127.0.0.1", () => r()));
    upstreamPort = upstream.address().port;
    forwarding = new SemanticDns({ resolve, upstream: `127.0.0.1:${upstreamPort}`, upstreamTimeoutMs: 300 });
    ({ port: forwardingPort } = await forwarding.listen({ address: "127.0.0.1", port: 0 }));
  });

  after(async function () {
    await dns?.close();
    await forwarding?.close();
    upstream?.close();
  });

  it("answers A for semantic names (with or without .icon) with resolve()'s address, TTL 5 s, authoritative", async function () {
    for (const name of [
      "shop.acme.cart.prod.any.rr",
      "shop.acme.cart.prod.any.rr.icon",
      "Shop.Acme.Cart.Prod.Any.RR",
    ]) {
      const q = query(name);
      const r = await udpQuery(port, q);
      expect(r, name).to.not.equal(undefined);
      expect(r!.id).to.equal(q.id);
      expect(rcode(r)).to.equal("NOERROR");
      expect(r!.flag_aa).to.equal(true);
      expect(r!.flag_rd).to.equal(true);
      expect(r!.questions).to.deep.equal(q.questions);
      expect(r!.answers).to.have.length(1);
      expect(r!.answers![0]).to.deep.include({ type: "A", name, ttl: 5, data: "10.233.0.1" });
    }
    expect(asked.at(-1)).to.deep.equal({ kind: "service", service: SHOP, policy: "rr" });
    const inst = await udpQuery(port, query("shop.acme.cart.prod.42.none.icon"));
    expect(inst!.answers![0]).to.deep.include({ data: "10.233.0.2" });
  });

  it("answers NXDOMAIN for unknown semantic names and names under .icon that are not semantic", async function () {
    for (const name of [
      "shop.acme.cart.prod.any.closest",
      "shop.acme.cart.prod.7.none.icon",
      "foo.icon",
      "a.b.any.none.icon",
    ]) {
      const r = await udpQuery(port, query(name));
      expect(rcode(r), name).to.equal("NXDOMAIN");
      expect(r!.answers).to.deep.equal([]);
    }
  });

  it("answers AAAA (and other types) of semantic names with an empty NOERROR", async function () {
    const before = asked.length;
    for (const type of ["AAAA", "TXT"] as const) {
      const r = await udpQuery(port, query("shop.acme.cart.prod.any.rr", type));
      expect(rcode(r)).to.equal("NOERROR");
      expect(r!.answers).to.deep.equal([]);
    }
    expect(asked.length).to.equal(before); // no allocation for types that carry no address
  });

  it("refuses other names without an upstream; SERVFAIL when resolve() fails", async function () {
    expect(rcode(await udpQuery(port, query("example.test")))).to.equal("REFUSED");
    expect(rcode(await udpQuery(port, query("shop.acme.cart.prod.any.boom")))).to.equal("SERVFAIL");
    expect(rcode(await udpQuery(port, query("shop.acme.cart.prod.any.bad")))).to.equal("SERVFAIL");
  });

  it("forwards other names to the upstream and relays its answer; SERVFAIL when it stays silent", async function () {
    const ok = await udpQuery(forwardingPort, query("example.test"));
    expect(rcode(ok)).to.equal("NOERROR");
    expect(ok!.answers![0]).to.deep.include({ type: "A", data: "192.0.2.7", ttl: 60 });
    expect(rcode(await udpQuery(forwardingPort, query("nothing.test")))).to.equal("NXDOMAIN");
    expect(rcode(await udpQuery(forwardingPort, query("silent.test")))).to.equal("SERVFAIL");
    // Semantic names are still answered locally.
    const own = await udpQuery(forwardingPort, query("shop.acme.cart.prod.any.rr"));
    expect(own!.answers![0]).to.deep.include({ data: "10.233.0.1" });
    expect(own!.flag_ra).to.equal(true);
    expect(forwarding.stats.forwarded).to.equal(2);
  });

  it("answers over TCP, several queries on one connection", async function () {
    const r = await tcpQuery(port, query("shop.acme.cart.prod.any.rr"));
    expect(r.answers![0]).to.deep.include({ type: "A", data: "10.233.0.1" });
    const socket = connect(port, "127.0.0.1");
    const answers: DecodedPacket[] = [];
    await new Promise<void>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          answers.push(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (answers.length === 2) resolve();
      });
      // Both queries in one write, the second cut in two writes.
      const a = streamEncode(query("shop.acme.cart.prod.any.rr", "A", 1));
      const b = streamEncode(query("shop.acme.cart.prod.42.none", "A", 2));
      socket.write(Buffer.concat([a, b.subarray(0, 5)]));
      setTimeout(() => socket.write(b.subarray(5)), 20);
    });
    socket.destroy();
    expect(answers.map((p) => [p.id, (p.answers![0] as { data: string }).data]).sort()).to.deep.equal([
      [1, "10.233.0.1"],
      [2, "10.233.0.2"],
    ]);
  });

  it("answers dig over UDP and TCP", async function () {
    const short = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(port),
      "+short",
      "+time=2",
      "+tries=1",
      "shop.acme.cart.prod.any.rr.icon",
      "A",
    ]);
    expect(short.stdout.trim()).to.equal("10.233.0.1");
    const tcp = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(port),
      "+tcp",
      "+short",
      "+time=2",
      "+tries=1",
      "shop.acme.cart.prod.42.none",
      "A",
    ]);
    expect(tcp.stdout.trim()).to.equal("10.233.0.2");
    const nx = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(port),
      "+time=2",
      "+tries=1",
      "shop.acme.cart.prod.9.none.icon",
    ]);
    expect(nx.stdout).to.match(/status: NXDOMAIN/);
    expect(nx.stdout).to.match(/flags: qr aa rd;/);
    const refused = await run("dig", ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", "example.test"]);
    expect(refused.stdout).to.match(/status: REFUSED/);
    const aaaa = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(port),
      "+time=2",
      "+tries=1",
      "shop.acme.cart.prod.any.rr",
      "AAAA",
    ]);
    expect(aaaa.stdout).to.match(/status: NOERROR/);
    expect(aaaa.stdout).to.match(/ANSWER: 0,/);
  });

  it("survives garbage: counts it, never answers a response, keeps answering", async function () {
    const before = dns.stats.garbage;
    const sender = createSocket("udp4");
    const replies: Buffer[] = [];
    sender.on("message", (m) => replies.push(m));
    await new Promise<void>((r) => sender.bind(0, "127.0.0.1", () => r()));
    const send = (b: Buffer) => new Promise<void>((r) => sender.send(b, port, "127.0.0.1", () => r()));
    const response = encode({
      type: "response",
      id: 7,
      questions: [{ type: "A", name: "shop.acme.cart.prod.any.rr" }],
    });
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([1, 2, 3]),
      response,
      randomBytes(12).fill(0, 2, 3), // header only, QR=0, counts that lie
      Buffer.concat([encode(query("shop.acme.cart.prod.any.rr")).subarray(0, 20)]), // cut off
      ...Array.from({ length: 200 }, () => randomBytes(randomInt(1, 600))),
    ];
    // Paced: a flood on loopback only overflows the socket's receive buffer (dropped datagrams, nothing to test).
    for (const [i, g] of garbage.entries()) {
      await send(g);
      if (i % 20 === 0) await sleep(5);
    }
    // Replies to garbage are at most FORMERR headers (never answers, never to responses).
    await waitFor("the garbage to be counted", () => dns.stats.garbage - before > 150, 5000);
    const ok = await udpQuery(port, query("shop.acme.cart.prod.any.rr"));
    expect(ok!.answers![0]).to.deep.include({ data: "10.233.0.1" });
    await new Promise((r) => setTimeout(r, 100));
    sender.close();
    for (const reply of replies) {
      const p = decode(reply);
      expect(p.type).to.equal("response");
      expect(p.answers ?? []).to.deep.equal([]);
    }
    // TCP garbage: the connection is dropped, the server stays.
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve) => {
      socket.on("close", () => resolve());
      socket.on("error", () => undefined);
      socket.write(Buffer.concat([Buffer.from([0, 3]), Buffer.from([1, 2, 3])]));
    });
    const tcpOk = await tcpQuery(port, query("shop.acme.cart.prod.any.rr"));
    expect(tcpOk.answers).to.have.length(1);
  });

  it("property: answer() never throws and never answers a response, whatever the bytes", async function () {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 700 }), async (bytes) => {
        const buf = Buffer.from(bytes);
        const reply = await dns.answer(buf);
        if (buf.length < 12 || (buf.readUInt16BE(2) & 0x8000) !== 0) expect(reply).to.equal(undefined);
        if (reply) expect(() => decode(reply)).to.not.throw();
      }),
      { numRuns: 2000 },
    );
    const r = await udpQuery(port, query("shop.acme.cart.prod.any.rr"));
    expect(r!.answers).to.have.length(1);
  });

  it("parses upstream addresses", function () {
    expect(parseUpstream("192.0.2.1")).to.deep.equal({ address: "192.0.2.1", port: 53 });
    expect(parseUpstream("192.0.2.1:5353")).to.deep.equal({ address: "192.0.2.1", port: 5353 });
    expect(parseUpstream("[::1]:53")).to.deep.equal({ address: "::1", port: 53 });
    expect(parseUpstream("::1")).to.deep.equal({ address: "::1", port: 53 });
    for (const bad of ["", "dns.google", "1.2.3.4:0", "1.2.3.4:70000", "[::1"]) {
      expect(() => parseUpstream(bad), bad).to.throw(IconError, /upstream/);
    }
  });
});

describe("overlay: virtual addresses and DNS on a real yard network", function () {
  this.timeout(120_000);
  const cidr = `10.233.${randomInt(1, 255)}.0/24`;
  let network: NetworkInfo;
  let ips: VirtualIps | undefined;
  let dns: SemanticDns | undefined;
  const servers: Server[] = [];

  // Registered before useDockerYard's hook, so it runs before the network is removed.
  after(async function () {
    for (const s of servers) await new Promise((r) => s.close(r));
    await dns?.close();
    await ips?.close();
    // Whatever happened, no address of the test range stays on the host.
    for (const a of await hostAddrs()) {
      if (inCidr(a.ip, cidr)) await run("ip", ["addr", "del", `${a.ip}/32`, "dev", a.dev]).catch(() => undefined);
    }
    expect((await hostAddrs()).filter((a) => inCidr(a.ip, cidr))).to.deep.equal([]);
  });

  const yards = useDockerYard("ovl");

  before(async function () {
    const { runtime } = yards.get();
    network = await runtime.networkInfo();
    ({ ips } = await VirtualIps.onNetwork(runtime, { cidr }));
    const serving = new Set([serviceKey(SHOP)]);
    dns = new SemanticDns({
      // Served: policy rr and any instance of SHOP.
      resolve: async (n) =>
        serving.has(serviceKey(n.service)) && (n.kind === "instance" || n.policy === "rr")
          ? ips!.allocate(n)
          : undefined,
    });
    await dns.listen({ address: network.gateway, port: 53 });
  });

  it("finds the network's bridge, subnet and gateway (the host's address on the bridge)", async function () {
    const { runtime, docker } = yards.get();
    expect(network.name).to.equal(runtime.network);
    const raw = await docker.getNetwork(runtime.network).inspect();
    expect(network.bridge).to.equal(`br-${(raw.Id as string).slice(0, 12)}`);
    expect(network.subnet).to.match(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    expect(inCidr(network.gateway, network.subnet)).to.equal(true);
    expect(await hostAddrs()).to.deep.include({ dev: network.bridge, ip: network.gateway });
    // Asking again gives the same answer (the network exists now).
    expect(await runtime.networkInfo()).to.deep.equal(network);
  });

  it("a container resolves a semantic name through the yard's DNS and reaches a listener bound to the virtual address", async function () {
    const { runtime } = yards.get();
    const vip = await ips!.serviceIp(SHOP, "rr");
    expect(inCidr(vip, cidr)).to.equal(true);
    expect(await hostAddrs()).to.deep.include({ dev: network.bridge, ip: vip });
    const seen: { remote?: string; local?: string }[] = [];
    const server = await listenOn(vip, (c) => {
      seen.push({ remote: c.remoteAddress, local: c.localAddress });
      c.end(`hello from ${c.localAddress}\n`);
    });
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    const name = "shop.acme.cart.prod.any.rr.icon";
    const script = [
      "cat /etc/resolv.conf",
      // Through Docker's embedded DNS (127.0.0.11), which forwards to HostConfig.Dns = the gateway.
      `ip=$(nslookup -type=a ${name} | awk '/^Address: /{print $2}' | tail -1)`,
      'echo "embedded=$ip"',
      `direct=$(nslookup -type=a ${name} ${network.gateway} | awk '/^Address: /{print $2}' | tail -1)`,
      'echo "direct=$direct"',
      `nslookup shop.acme.cart.prod.any.closest.icon >/dev/null 2>&1; echo "unknown-policy-rc=$?"`,
      `nslookup other.ns.cart.prod.any.rr.icon >/dev/null 2>&1; echo "unknown-service-rc=$?"`,
      `echo "reply=$(nc -w 3 $ip ${port} </dev/null)"`,
      // The listener is bound to the virtual address only: the gateway address on the same port refuses.
      `nc -w 2 ${network.gateway} ${port} </dev/null >/dev/null 2>&1; echo "gateway-rc=$?"`,
    ].join("; ");
    const c = await runtime.create({
      leaseId: 1n,
      image: BUSYBOX_IMAGE,
      command: ["sh", "-c", script],
      ports: [],
      limits: LIMITS,
      stopTimeoutS: 1,
      dns: [network.gateway],
    });
    const started = await runtime.start(c.id);
    const raw = await yards.get().docker.getContainer(c.id).inspect();
    expect(raw.HostConfig.Dns).to.deep.equal([network.gateway]);
    await waitFor(
      "the probe container to exit",
      async () => {
        const info = await runtime.inspect(c.id);
        return info && !info.running && info.status === "exited" ? info : undefined;
      },
      30_000,
    );
    const logs = await runtime.logs(c.id);
    expect(logs, logs).to.match(/nameserver 127\.0\.0\.11/);
    expect(logs, logs).to.include(`embedded=${vip}\n`);
    expect(logs, logs).to.include(`direct=${vip}\n`);
    expect(logs, logs).to.include("unknown-policy-rc=1\n");
    expect(logs, logs).to.include("unknown-service-rc=1\n");
    expect(logs, logs).to.include(`reply=hello from ${vip}\n`);
    expect(logs, logs).to.include("gateway-rc=1\n");
    expect(seen).to.deep.equal([{ remote: started.ip, local: vip }]);
    expect(dns!.stats.answered).to.be.greaterThan(0);
    expect(dns!.stats.nxdomain).to.be.greaterThan(0);
    await runtime.remove(c.id);
  });

  it("release removes the address from the bridge: nothing can listen on it any more", async function () {
    const vip = await ips!.instanceIp(SHOP, 7n);
    expect(await hostAddrs()).to.deep.include({ dev: network.bridge, ip: vip });
    const s = await listenOn(vip, (c) => c.end());
    await new Promise((r) => s.close(r));
    expect(await ips!.release(vip)).to.equal(true);
    expect((await hostAddrs()).map((a) => a.ip)).to.not.include(vip);
    const e = await listenOn(vip, (c) => c.end()).then(
      (srv) => {
        servers.push(srv);
        return undefined;
      },
      (err: NodeJS.ErrnoException) => err,
    );
    expect(e?.code).to.equal("EADDRNOTAVAIL");
    expect(ips!.lookup(vip)).to.equal(undefined);
  });

  it("the responder on the gateway survives garbage and keeps answering", async function () {
    const sender = createSocket("udp4");
    await new Promise<void>((r) => sender.bind(0, "0.0.0.0", () => r()));
    const before = dns!.stats.garbage;
    for (let i = 0; i < 100; i++) {
      await new Promise<void>((r) => sender.send(randomBytes(randomInt(1, 512)), 53, network.gateway, () => r()));
      if (i % 20 === 0) await sleep(5);
    }
    sender.close();
    await waitFor("the garbage to be counted", () => dns!.stats.garbage - before > 50, 5000);
    const r = await udpQuery(53, query("shop.acme.cart.prod.any.rr"), { address: network.gateway });
    expect(r!.answers![0]).to.deep.include({ data: ips!.get("shop.acme.cart.prod.any.rr") });
  });
});
