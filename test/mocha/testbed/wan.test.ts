/**
 * The testbed's WAN emulator on real loopback sockets: delay per chunk in both directions, client source
 * addresses inside the subnet's /24, integrity and backpressure on a bulk transfer, half-close, live delay
 * changes, resets, the matching ALTO maps and configuration errors.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { AltoMap, ConfigError, fetchAltoMap, serveAlto } from "../../../protocol/index.ts";
import { WanEmulator, type WanOptions } from "../../../scripts/lib/wan.ts";

const YARDS = { cloud: "127.0.1.1", "edge-a": "127.0.1.2", "edge-b": "127.0.1.3" };
const SUBNETS = { A: "127.10.1.0/24", B: "127.10.2.0/24", C: "127.10.3.0/24" };

function delays(ms: number): WanOptions["delayMs"] {
  const row = { cloud: ms, "edge-a": ms, "edge-b": ms };
  return { A: { ...row }, B: { ...row }, C: { ...row } };
}

/** Reads a socket into a buffer; `take(n)` waits until n bytes came and returns them. */
class Reader {
  #buf = Buffer.alloc(0);
  #wait: (() => void) | undefined;
  ended = false;
  constructor(s: net.Socket) {
    s.on("data", (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wait?.();
    });
    s.on("end", () => {
      this.ended = true;
      this.#wait?.();
    });
  }
  async take(n: number): Promise<Buffer> {
    while (this.#buf.length < n) {
      if (this.ended) throw new Error(`ended after ${this.#buf.length} of ${n} bytes`);
      await new Promise<void>((r) => (this.#wait = r));
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
  async rest(): Promise<Buffer> {
    while (!this.ended) await new Promise<void>((r) => (this.#wait = r));
    return this.#buf;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("testbed WAN emulator (loopback relays with delay)", function () {
  this.timeout(30_000);
  let wan: WanEmulator | undefined;
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  const errors = new WeakMap<net.Socket, Error>();

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await wan?.close();
    wan = undefined;
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  /** A TCP server on `host`; returns its "host:port". */
  async function listen(host: string, onConnection: (s: net.Socket) => void): Promise<string> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
      sockets.push(s);
      s.on("error", () => {});
      onConnection(s);
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, host, () => resolve());
    });
    return `${host}:${(server.address() as net.AddressInfo).port}`;
  }

  const echo = (s: net.Socket): void => void s.pipe(s);

  async function dial(relay: string): Promise<net.Socket> {
    const [host, port] = relay.split(":");
    const s = net.connect({ host, port: Number(port), allowHalfOpen: true, noDelay: true });
    sockets.push(s);
    s.on("error", (e) => errors.set(s, e));
    await new Promise<void>((resolve, reject) => {
      s.once("connect", resolve);
      s.once("error", reject);
    });
    return s;
  }

  /** The error `s` closed with (undefined: closed without one), once it has closed. */
  async function closedWith(s: net.Socket): Promise<NodeJS.ErrnoException | undefined> {
    if (!s.closed) await new Promise((r) => s.once("close", r));
    return errors.get(s);
  }

  /** RTTs of `n` ping-pongs of a few bytes on an echoing connection. */
  async function pingPong(s: net.Socket, r: Reader, n: number): Promise<number[]> {
    const rtts: number[] = [];
    for (let i = 0; i < n; i++) {
      const msg = Buffer.from(`ping-${i}`);
      const t0 = performance.now();
      s.write(msg);
      expect((await r.take(msg.length)).toString()).to.equal(msg.toString());
      rtts.push(performance.now() - t0);
    }
    return rtts;
  }

  it("adds the one-way delay to each direction: a tiny echo takes ≥ 2×delay and < 2×delay + 40 ms", async () => {
    wan = await WanEmulator.start({
      subnets: SUBNETS,
      yards: YARDS,
      delayMs: { ...delays(5), A: { cloud: 25, "edge-a": 5, "edge-b": 5 } },
    });
    const target = await listen(YARDS.cloud, echo);
    const relay = await wan.via("A", target);
    expect(relay).to.match(/^127\.0\.0\.1:\d+$/);
    expect(await wan.via("A", target)).to.equal(relay); // cached
    const s = await dial(relay);
    const rtts = await pingPong(s, new Reader(s), 8);
    for (const rtt of rtts) expect(rtt).to.be.at.least(50);
    expect(median(rtts)).to.be.below(90);
    expect(wan.rttMs("A", "cloud")).to.equal(50);
    // Another subnet to the same yard has its own relay and delay.
    const relayB = await wan.via("B", target);
    expect(relayB).to.not.equal(relay);
    const sb = await dial(relayB);
    const rttsB = await pingPong(sb, new Reader(sb), 5);
    for (const rtt of rttsB) expect(rtt).to.be.at.least(10);
    expect(median(rttsB)).to.be.below(40);
  });

  it("dials the yard from addresses inside the client subnet's /24, several of them", async () => {
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(1) });
    const seen: string[] = [];
    const target = await listen(YARDS["edge-a"], (s) => {
      seen.push(s.remoteAddress ?? "");
      s.end("bye");
    });
    for (const [subnet, n] of [
      ["A", 5],
      ["C", 3],
    ] as const) {
      const relay = await wan.via(subnet, target);
      for (let i = 0; i < n; i++) {
        const s = await dial(relay);
        const r = new Reader(s);
        expect((await r.rest()).toString()).to.equal("bye");
      }
    }
    expect(seen).to.have.length(8);
    const inA = seen.slice(0, 5).map((a) => /^127\.10\.1\.(\d+)$/.exec(a));
    const inC = seen.slice(5).map((a) => /^127\.10\.3\.(\d+)$/.exec(a));
    for (const m of [...inA, ...inC]) {
      expect(m, `source addresses ${seen.join(" ")}`).to.not.equal(null);
      expect(Number(m![1])).to.be.within(2, 250);
    }
    expect(new Set(seen.slice(0, 5)).size).to.be.at.least(2);
    const stats = wan.stats();
    expect(stats.map((p) => [p.subnet, p.yard, p.target, p.connections])).to.deep.equal([
      ["A", "edge-a", target, 5],
      ["C", "edge-a", target, 3],
    ]);
    expect(stats[0]!.bytesDown).to.equal(5 * 3);
    expect(stats[0]!.bytesUp).to.equal(0);
  });

  it("echoes 4 MiB of random bytes unchanged and in order, within its queue window", async () => {
    const queueBytes = 256 * 1024;
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(5), queueBytes });
    const target = await listen(YARDS["edge-b"], echo);
    const s = await dial(await wan.via("B", target));
    const data = randomBytes(4 * 1024 * 1024);
    const r = new Reader(s);
    s.end(data);
    const back = await r.rest();
    expect(back.length).to.equal(data.length);
    expect(back.equals(data)).to.equal(true);
    const [pair] = wan.stats();
    expect(pair!.bytesUp).to.equal(data.length);
    expect(pair!.bytesDown).to.equal(data.length);
    // Loopback delivers 4 MiB within the 5 ms delay: without pausing its source the queue would hold it all.
    expect(pair!.peakBufferedBytes).to.be.above(0);
    expect(pair!.peakBufferedBytes).to.be.at.most(queueBytes + 256 * 1024);
  });

  it("stops reading from the client while the yard does not read (backpressure through the relay)", async () => {
    const queueBytes = 256 * 1024;
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(5), queueBytes });
    let yardSide: net.Socket | undefined;
    const target = await listen(YARDS.cloud, (s) => {
      s.pause(); // a yard that does not read yet
      yardSide = s;
    });
    const client = await dial(await wan.via("A", target));
    client.end(Buffer.alloc(16 * 1024 * 1024, 7));
    // The kernel's socket buffers on loopback take a few MiB; the rest must wait in the client, not in the relay.
    await new Promise((r) => setTimeout(r, 700));
    const stalled = wan.stats()[0]!;
    expect(stalled.bytesUp).to.be.below(16 * 1024 * 1024);
    expect(stalled.peakBufferedBytes).to.be.at.most(queueBytes + 256 * 1024);
    let received = 0;
    await new Promise<void>((resolve) => {
      yardSide!.on("data", (d: Buffer) => (received += d.length));
      yardSide!.on("end", resolve);
      yardSide!.resume();
    });
    expect(received).to.equal(16 * 1024 * 1024);
    expect(wan.stats()[0]!.bytesUp).to.equal(16 * 1024 * 1024);
  });

  it("delays every chunk from its own arrival, not from the chunk before", async () => {
    // 100 ms delay, chunks 60 ms apart. Delayed from its own arrival, every chunk takes 100 ms. Delayed from the
    // chunk before, chunk i would take 100 + 40·i ms (100, 140, 180, 220). The bound sits between the two with room
    // for a busy machine's timer slop; TCP may merge chunks, so each is timed by the read that holds its last byte.
    const delayMs = 100;
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(delayMs) });
    const reads: [string, number][] = [];
    const target = await listen(YARDS["edge-a"], (s) =>
      s.setEncoding("utf8").on("data", (d: string) => reads.push([d, performance.now()])),
    );
    const s = await dial(await wan.via("A", target));
    const chunks = ["one", "two", "three", "four"];
    const sent: number[] = [];
    for (const chunk of chunks) {
      sent.push(performance.now());
      s.write(chunk);
      await new Promise((r) => setTimeout(r, 60));
    }
    const total = chunks.join("").length;
    const deadline = Date.now() + 3000;
    while (reads.reduce((n, [d]) => n + d.length, 0) < total && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(reads.map(([d]) => d).join("")).to.equal(chunks.join(""));
    let end = 0;
    chunks.forEach((chunk, i) => {
      end += chunk.length;
      let read = 0;
      const at = reads.find(([d]) => (read += d.length) >= end)![1];
      expect(at - sent[i]!, `chunk ${i}`).to.be.at.least(delayMs);
      expect(at - sent[i]!, `chunk ${i}`).to.be.below(delayMs + 70);
    });
  });

  it("propagates a half-close after the delayed data and still carries the reply", async () => {
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(30) });
    let serverEndAt = 0;
    let serverGot = "";
    const target = await listen(YARDS.cloud, (s) => {
      s.setEncoding("utf8").on("data", (d: string) => (serverGot += d));
      s.on("end", () => {
        serverEndAt = performance.now();
        setTimeout(() => s.end(`reply to ${serverGot}`), 20); // the yard answers after the client's FIN
      });
    });
    const s = await dial(await wan.via("A", target));
    const r = new Reader(s);
    s.write("hello");
    const endAt = performance.now();
    s.end();
    const reply = await r.rest();
    const replyAt = performance.now();
    expect(reply.toString()).to.equal("reply to hello");
    expect(serverGot).to.equal("hello");
    expect(serverEndAt - endAt).to.be.at.least(30);
    expect(replyAt - endAt).to.be.at.least(30 + 20 + 30);
    expect(await closedWith(s)).to.equal(undefined);
    const deadline = Date.now() + 2000;
    while (wan.stats()[0]!.open !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(wan.stats()[0]!.open).to.equal(0);
    expect(wan.stats()[0]!.resets).to.equal(0);
  });

  it("applies setDelay to the next chunks of open connections and keeps the order when the delay drops", async () => {
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(10) });
    const target = await listen(YARDS["edge-a"], echo);
    const s = await dial(await wan.via("C", target));
    const r = new Reader(s);
    expect(median(await pingPong(s, r, 3))).to.be.within(20, 60);
    wan.setDelay("C", "edge-a", 60);
    expect(wan.rttMs("C", "edge-a")).to.equal(120);
    expect(wan.delay("C", "cloud")).to.equal(10);
    for (const rtt of await pingPong(s, r, 3)) expect(rtt).to.be.at.least(120);
    // A chunk sent at 100 ms; once the relay holds it, the delay drops to 0: the next chunk waits for it.
    wan.setDelay("C", "edge-a", 100);
    const t0 = performance.now();
    s.write("first,");
    await new Promise((r) => setTimeout(r, 30));
    wan.setDelay("C", "edge-a", 0);
    s.write("second");
    expect((await r.take(12)).toString()).to.equal("first,second");
    expect(performance.now() - t0).to.be.at.least(100);
    expect(median(await pingPong(s, r, 3))).to.be.below(30);
  });

  it("resets the client when the yard refuses or resets, and close() ends relays and connections", async () => {
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(5) });
    // Nothing listens on this port any more: the dial to the yard is refused.
    const gone = await listen(YARDS.cloud, () => {});
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const refused = await dial(await wan.via("A", gone));
    expect((await closedWith(refused))?.code).to.equal("ECONNRESET");

    const resetting = await listen(YARDS.cloud, (s) => s.once("data", () => s.resetAndDestroy()));
    const s = await dial(await wan.via("A", resetting));
    s.write("x");
    expect((await closedWith(s))?.code).to.equal("ECONNRESET");
    expect(wan.stats().map((p) => p.resets)).to.deep.equal([1, 1]);

    const target = await listen(YARDS["edge-b"], echo);
    const relay = await wan.via("B", target);
    const live = await dial(relay);
    await pingPong(live, new Reader(live), 1);
    expect(wan.stats()[2]!.open).to.equal(1);
    await wan.close();
    expect((await closedWith(live))?.code).to.equal("ECONNRESET");
    const err3 = await rejection(dial(relay));
    expect((err3 as NodeJS.ErrnoException).code).to.equal("ECONNREFUSED");
    expect((await rejection(wan.via("B", target))).message).to.match(/closed/);
  });

  it("publishes ALTO maps whose costs are the configured one-way delays", async () => {
    wan = await WanEmulator.start({
      subnets: SUBNETS,
      yards: YARDS,
      delayMs: {
        A: { cloud: 40, "edge-a": 5, "edge-b": 60 },
        B: { cloud: 40, "edge-a": 60, "edge-b": 5 },
        C: { cloud: 20, "edge-a": 70, "edge-b": 70 },
      },
    });
    const { network, costs } = wan.altoMaps();
    const map = new AltoMap(network, costs);
    expect(costs.meta["cost-type"]).to.deep.equal({ "cost-mode": "numerical", "cost-metric": "delay-ow" });
    expect(costs.meta["dependent-vtags"][0]).to.deep.equal(network.meta.vtag);
    expect(map.pidOf("127.10.2.77")).to.equal("subnet-B");
    expect(map.pidOf("127.0.1.3")).to.equal("yard-edge-b");
    expect(map.pidOf("127.0.1.4")).to.equal(undefined);
    for (const [subnet, prefix] of Object.entries(SUBNETS)) {
      const client = prefix.replace(/0\/24$/, "123");
      for (const [yard, host] of Object.entries(YARDS)) {
        expect(map.cost(client, host), `${subnet} → ${yard}`).to.equal(wan.delay(subnet, yard));
        expect(map.cost(host, client), `${yard} → ${subnet}`).to.equal(wan.delay(subnet, yard));
      }
    }
    expect(map.cost("127.10.1.9", YARDS["edge-a"])).to.equal(5);
    // Served as the ALTO server does, following live changes.
    const alto = await serveAlto(() => {
      const m = wan!.altoMaps();
      return new AltoMap(m.network, m.costs);
    });
    try {
      wan.setDelay("A", "edge-a", 45);
      const fetched = await fetchAltoMap(alto.url);
      expect(fetched.cost("127.10.1.200", YARDS["edge-a"])).to.equal(45);
      expect(fetched.cost("127.10.3.2", YARDS.cloud)).to.equal(20);
      expect(fetched.network.meta.vtag.tag).to.equal(network.meta.vtag.tag); // the network map did not change
    } finally {
      await alto.close();
    }
  });

  it("rejects bad configurations and targets with the field at fault", async () => {
    const start = (o: Partial<WanOptions>): Promise<Error> =>
      rejection(WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(5), ...o }));
    const cases: [Partial<WanOptions>, RegExp][] = [
      [{ subnets: {} }, /^subnets: give at least one/],
      [{ subnets: { ...SUBNETS, A: "10.1.0.0/24" } }, /^subnets\.A: "10\.1\.0\.0\/24" is not a loopback \/24/],
      [{ subnets: { ...SUBNETS, A: "127.10.1.0/16" } }, /^subnets\.A: .* is not a loopback \/24/],
      [{ subnets: { ...SUBNETS, A: "127.10.1.5/24" } }, /^subnets\.A: .* is not a loopback \/24/],
      [{ subnets: { ...SUBNETS, A: SUBNETS.B } }, /^subnets\.B: 127\.10\.2\.0\/24 is already the prefix of subnet A/],
      [{ subnets: { "A B": "127.10.9.0/24" } }, /^subnets\.A B: names use letters/],
      [{ yards: { ...YARDS, cloud: "192.168.1.1" } }, /^yards\.cloud: "192\.168\.1\.1" is not a loopback/],
      [{ yards: { ...YARDS, cloud: "127.10.1.9" } }, /^yards\.cloud: 127\.10\.1\.9 is inside client subnet A/],
      [
        { yards: { ...YARDS, cloud: YARDS["edge-b"] } },
        /^yards\.edge-b: 127\.0\.1\.3 is already the host of yard cloud/,
      ],
      [{ delayMs: { ...delays(5), D: { cloud: 1 } } }, /^delayMs\.D: unknown subnet; the subnets are A, B, C/],
      [
        { delayMs: { ...delays(5), A: { mars: 1 } } },
        /^delayMs\.A\.mars: unknown yard; the yards are cloud, edge-a, edge-b/,
      ],
      [
        { delayMs: { ...delays(5), B: { cloud: -5, "edge-a": 1, "edge-b": 1 } } },
        /^delayMs\.B\.cloud: -5 is not a one-way delay/,
      ],
      [{ delayMs: { ...delays(5), B: { cloud: NaN, "edge-a": 1, "edge-b": 1 } } }, /^delayMs\.B\.cloud: NaN/],
      [
        { delayMs: { ...delays(5), C: { cloud: 1, "edge-a": 1 } } },
        /^delayMs\.C\.edge-b: missing: give the one-way delay/,
      ],
      [{ queueBytes: 10 }, /^queueBytes: 10 is not a byte count/],
    ];
    for (const [o, re] of cases) {
      const e = await start(o);
      expect(e, String(re)).to.be.instanceOf(ConfigError);
      expect((e as ConfigError).code).to.equal("BAD_WAN_CONFIG");
      expect(e.message).to.match(re);
    }

    wan = await WanEmulator.start({ subnets: SUBNETS, yards: YARDS, delayMs: delays(5) });
    const unknownHost = await rejection(wan.via("A", "127.0.9.9:8080"));
    expect((unknownHost as ConfigError).code).to.equal("UNKNOWN_YARD_HOST");
    expect(unknownHost.message).to.match(
      /^127\.0\.9\.9 \(of target 127\.0\.9\.9:8080\) is the public host of no yard; .*cloud \(127\.0\.1\.1\)/,
    );
    const unknownSubnet = await rejection(wan.via("Z", "127.0.1.1:8080"));
    expect((unknownSubnet as ConfigError).code).to.equal("UNKNOWN_SUBNET");
    expect(unknownSubnet.message).to.match(/subnet "Z" is unknown; the subnets are A, B, C/);
    expect((await rejection(wan.via("A", "127.0.1.1"))).message).to.match(/^target: "127\.0\.1\.1" is not "host:port"/);
    expect((await rejection(wan.via("A", "127.0.1.1:99999"))).message).to.match(/^target: /);
    expect(() => wan!.setDelay("A", "cloud", -1)).to.throw(
      ConfigError,
      /^delayMs\.A\.cloud: -1 is not a one-way delay/,
    );
    expect(() => wan!.setDelay("A", "moon", 1)).to.throw(ConfigError, /unknown yard "moon"/);
    expect(() => wan!.setDelay("Q", "cloud", 1)).to.throw(ConfigError, /subnet "Q" is unknown/);
    expect(wan.delay("A", "cloud")).to.equal(5);
    expect(wan.stats()).to.deep.equal([]);
  });
});
