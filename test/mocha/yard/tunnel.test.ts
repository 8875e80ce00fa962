/**
 * Yard-to-yard tunnels (yard-node/overlay/tunnel.ts) between three real libp2p nodes on loopback, with real TCP
 * servers behind them: exact bytes, half-close, refusals, 200 concurrent tunnels over one connection, LRU and
 * idle closing of yard connections, noise on the wire, and bounded buffering under backpressure.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Libp2p, PeerId } from "@libp2p/interface";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { createIconNode } from "../../../protocol/net/node.ts";
import { tcpServer } from "../../helpers/net.ts";
import { TUNNEL_PROTOCOL, TunnelError, type TunnelHeader } from "../../../protocol/index.ts";
import { TunnelManager, type TunnelManagerOptions, type TunnelTarget } from "../../../yard-node/overlay/tunnel.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function header(service: string, port = 80): TunnelHeader {
  return { service, instanceId: 7n, port, client: "203.0.113.9", from: "shop.r1.frontend.web", fromInstance: 3n };
}

/** A port on loopback where nothing listens. */
async function deadPort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Writes `data` into `d` (in 64 KiB chunks, respecting backpressure), ends it, and collects what comes back. */
async function roundTrip(d: NodeJS.ReadWriteStream & Readable, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const c of d) chunks.push(c as Buffer);
  })();
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 65536) parts.push(data.subarray(i, i + 65536));
  await pipeline(Readable.from(parts), d as unknown as NodeJS.WritableStream);
  await reading;
  return Buffer.concat(chunks);
}

describe("overlay tunnels", function () {
  this.timeout(60_000);
  let a: Libp2p, b: Libp2p, c: Libp2p;
  const managers: TunnelManager[] = [];
  const servers: { close: () => Promise<void> }[] = [];
  let echo: Awaited<ReturnType<typeof tcpServer>>;
  let reply: Awaited<ReturnType<typeof tcpServer>>;
  let sink: Awaited<ReturnType<typeof tcpServer>>;
  let dead: number;
  /** More targets a test adds (service's first label → port). */
  const extraTargets = new Map<string, number>();

  /**
   * The acceptors' resolver: service → local server; `refuse.*` → a sentence; `dead.*` → nothing listening; no
   * service (an instance addressed by lease id alone) → instance 42 is the echo server.
   */
  const resolve = async (h: TunnelHeader): Promise<TunnelTarget> => {
    if (h.service === undefined)
      return h.instanceId === 42n
        ? { host: "127.0.0.1", port: echo.port }
        : { error: `instance ${h.instanceId} does not run at this yard` };
    const svc = h.service.split(".")[0];
    if (svc === "echo") return { host: "127.0.0.1", port: echo.port };
    if (svc === "reply") return { host: "127.0.0.1", port: reply.port };
    if (svc === "sink") return { host: "127.0.0.1", port: sink.port };
    if (svc === "dead") return { host: "127.0.0.1", port: dead };
    const extra = extraTargets.get(svc!);
    if (extra) return { host: "127.0.0.1", port: extra };
    return { error: `service ${h.service} has no instance ${h.instanceId} at this yard` };
  };

  async function manager(node: Libp2p, o: Partial<TunnelManagerOptions> = {}): Promise<TunnelManager> {
    const m = new TunnelManager(node, { resolve, ...o });
    await m.start();
    managers.push(m);
    return m;
  }
  const addrs = (n: Libp2p): Multiaddr[] => n.getMultiaddrs();

  beforeEach(async () => {
    [a, b, c] = await Promise.all([createIconNode(), createIconNode(), createIconNode()]);
    echo = await tcpServer((s) => s.pipe(s));
    reply = await tcpServer((s) => {
      const got: Buffer[] = [];
      s.on("data", (d: Buffer) => got.push(d));
      s.on("end", () => {
        const body = Buffer.concat(got);
        s.end(`got ${body.length} bytes: ${body.toString()}`);
      });
    });
    sink = await tcpServer((s) => s.resume());
    dead = await deadPort();
    servers.push(echo, reply, sink);
  });

  afterEach(async () => {
    extraTargets.clear();
    await Promise.all(managers.splice(0).map((m) => m.stop()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all([a, b, c].map((n) => n.stop()));
  });

  it("carries 10 MiB each way exactly (sha256) and counts the bytes", async () => {
    const ma = await manager(a);
    const mb = await manager(b);
    const data = randomBytes(10 * 1024 * 1024);
    const t = await ma.open(b.peerId, addrs(b), header("echo.t.svc.ns"));
    const back = await roundTrip(t, data);
    expect(back.length).to.equal(data.length);
    expect(sha256(back)).to.equal(sha256(data));
    await until(() => ma.stats().streams === 0 && mb.stats().streams === 0, 5_000);
    const sa = ma.stats();
    expect(sa).to.include({ peers: 1, streams: 0, opened: 1, bytesIn: data.length, bytesOut: data.length });
    expect(mb.stats()).to.include({ streams: 0, opened: 1, bytesIn: data.length, bytesOut: data.length });
  });

  it("half-closes: the client ends, the server sees the end, replies, and the client gets the reply", async () => {
    const ma = await manager(a);
    await manager(b);
    const front = await tcpServer((s) => void ma.splice(s, b.peerId, addrs(b), header("reply.t.svc.ns")));
    servers.push(front);
    const client = net.connect({ port: front.port, host: "127.0.0.1", allowHalfOpen: true });
    await once(client, "connect");
    const got: Buffer[] = [];
    client.on("data", (d: Buffer) => got.push(d));
    client.end("hello");
    await once(client, "end");
    expect(Buffer.concat(got).toString()).to.equal("got 5 bytes: hello");
    await once(client, "close");
    expect(await until(() => ma.stats().streams === 0, 5_000)).to.equal(true);
  });

  it("aborts both ends when one side fails: a target's TCP reset reaches the client as a reset", async () => {
    const ma = await manager(a);
    const mb = await manager(b);
    const resetting = await tcpServer((s) => s.once("data", () => s.resetAndDestroy()));
    servers.push(resetting);
    extraTargets.set("resetting", resetting.port);
    const front = await tcpServer((s) => void ma.splice(s, b.peerId, addrs(b), header("resetting.t.svc.ns")));
    servers.push(front);
    const client = net.connect({ port: front.port, host: "127.0.0.1", allowHalfOpen: true });
    await once(client, "connect");
    let ended = false;
    client.on("end", () => (ended = true));
    const failed = once(client, "error");
    client.write("boom");
    const [e] = (await failed) as [NodeJS.ErrnoException];
    expect(e.code).to.equal("ECONNRESET");
    expect(ended).to.equal(false);
    expect(await until(() => ma.stats().streams === 0 && mb.stats().streams === 0, 5_000)).to.equal(true);
  });

  it("rejects open() with the remote's sentence when resolve refuses, and connects nothing", async () => {
    const ma = await manager(a);
    const mb = await manager(b);
    const err = await ma.open(b.peerId, addrs(b), header("refuse.t.svc.ns")).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TunnelError);
    expect((err as TunnelError).code).to.equal("TUNNEL_REFUSED");
    expect((err as TunnelError).message).to.equal("service refuse.t.svc.ns has no instance 7 at this yard");
    expect(echo.connections() + reply.connections() + sink.connections()).to.equal(0);
    expect(await until(() => ma.stats().streams === 0 && mb.stats().streams === 0, 5_000)).to.equal(true);
    expect(mb.stats().opened).to.equal(0);
    // splice() resets the client's socket on a refusal.
    const front = await tcpServer(
      (s) => void ma.splice(s, b.peerId, addrs(b), header("refuse.t.svc.ns")).catch(() => {}),
    );
    servers.push(front);
    const client = net.connect({ port: front.port, host: "127.0.0.1" });
    const closed = await Promise.race([
      once(client, "error").then(([e]) => (e as NodeJS.ErrnoException).code),
      once(client, "end").then(() => "end"),
    ]);
    expect(closed).to.be.oneOf(["ECONNRESET", "end"]);
  });

  it("answers a sentence when the target does not accept the connection", async () => {
    const ma = await manager(a);
    await manager(b);
    const err = await ma.open(b.peerId, addrs(b), header("dead.t.svc.ns", 8080)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TunnelError);
    expect((err as TunnelError).code).to.equal("TUNNEL_REFUSED");
    expect((err as Error).message).to.equal(
      "instance 7 of dead.t.svc.ns did not accept a connection on port 8080 (ECONNREFUSED)",
    );
  });

  it("refuses malformed headers with a sentence, and reports yards it cannot reach", async () => {
    await manager(b);
    const ma = await manager(a);
    await a.dial(addrs(b));
    const ask = async (frame: unknown): Promise<unknown> => {
      const s = await a.dialProtocol(b.peerId, TUNNEL_PROTOCOL);
      const lp = lpStream(s);
      await lp.write(Buffer.from(typeof frame === "string" ? frame : JSON.stringify(frame)));
      const answer = JSON.parse(Buffer.from((await lp.read()).subarray()).toString());
      s.abort(new Error("done"));
      return answer;
    };
    const good = { v: 1, service: "echo.t.svc.ns", instanceId: "7", port: 80, client: "10.0.0.1" };
    expect(await ask("{not json")).to.deep.equal({ ok: false, error: "the tunnel header is not JSON" });
    expect(await ask({ ...good, extra: 1 })).to.deep.equal({
      ok: false,
      error: 'the tunnel header has an unknown field "extra"',
    });
    expect(await ask({ ...good, v: 2 })).to.deep.include({ ok: false });
    expect(await ask({ ...good, service: "Echo.t.svc.ns" })).to.deep.include({ ok: false });
    expect(await ask({ ...good, instanceId: "007" })).to.deep.include({ ok: false });
    expect(await ask({ ...good, port: 70000 })).to.deep.include({ ok: false });
    expect(await ask({ ...good, client: "somewhere" })).to.deep.include({ ok: false });
    expect(await ask({ ...good, from: "a.b", fromInstance: "3" })).to.deep.include({ ok: false });
    // A source service comes with its lease, and a lease only with a source service.
    expect(await ask({ ...good, from: "shop.r1.x.y" })).to.deep.equal({
      ok: false,
      error: "the tunnel header must name the source service (from) and its lease (fromInstance) together",
    });
    expect(await ask({ ...good, fromInstance: "3" })).to.deep.include({ ok: false });
    expect(await ask({ ...good, from: "shop.r1.x.y", fromInstance: "03" })).to.deep.equal({
      ok: false,
      error: "the tunnel header's fromInstance is not a decimal lease id",
    });
    expect(await ask({ ...good, from: "shop.r1.x.y", fromInstance: "3" })).to.deep.equal({ ok: true });
    expect(await ask("x".repeat(5000))).to.deep.equal({ ok: false, error: "the tunnel frame is larger than 4 KiB" });
    expect(await ask(good)).to.deep.equal({ ok: true });
    // The opener checks its own header before dialling.
    const bad = await ma.open(b.peerId, addrs(b), { ...header("echo.t.svc.ns"), port: 0 }).catch((e: unknown) => e);
    expect((bad as TunnelError).code).to.equal("TUNNEL_BAD_HEADER");
    // A yard that is down.
    const gone: PeerId = c.peerId;
    const goneAddrs = addrs(c);
    await c.stop();
    const err = await ma.open(gone, goneAddrs, header("echo.t.svc.ns")).catch((e: unknown) => e);
    expect((err as TunnelError).code).to.equal("TUNNEL_UNREACHABLE");
  });

  it("addresses an instance by lease id alone (no service); a source service without a target one is refused", async () => {
    const ma = await manager(a);
    await manager(b);
    const byId: TunnelHeader = { instanceId: 42n, port: 80, client: "203.0.113.9" };
    const data = randomBytes(256 * 1024);
    const back = await roundTrip(await ma.open(b.peerId, addrs(b), byId), data);
    expect(sha256(back)).to.equal(sha256(data));
    const refused = await ma.open(b.peerId, addrs(b), { ...byId, instanceId: 9n }).catch((e: unknown) => e);
    expect((refused as TunnelError).code).to.equal("TUNNEL_REFUSED");
    expect((refused as Error).message).to.equal("instance 9 does not run at this yard");
    // The opener refuses `from` without `service` before dialling; so does the acceptor, with a sentence.
    const bad = await ma
      .open(b.peerId, addrs(b), { ...byId, from: "shop.r1.frontend.web", fromInstance: 3n })
      .catch((e: unknown) => e);
    expect((bad as TunnelError).code).to.equal("TUNNEL_BAD_HEADER");
    const s = await a.dialProtocol(b.peerId, TUNNEL_PROTOCOL);
    const lp = lpStream(s);
    await lp.write(
      Buffer.from(
        JSON.stringify({
          v: 1,
          instanceId: "42",
          port: 80,
          client: "10.0.0.1",
          from: "shop.r1.x.y",
          fromInstance: "3",
        }),
      ),
    );
    expect(JSON.parse(Buffer.from((await lp.read()).subarray()).toString())).to.deep.equal({
      ok: false,
      error: "the tunnel header names a source service (from) but no target service",
    });
    s.abort(new Error("done"));
  });

  it("runs 200 concurrent tunnels over one yard connection", async () => {
    const ma = await manager(a);
    const mb = await manager(b);
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const t = await ma.open(b.peerId, addrs(b), header("echo.t.svc.ns"));
        const msg = Buffer.from(`tunnel ${i} `.repeat(100));
        return (await roundTrip(t, msg)).equals(msg);
      }),
    );
    expect(results.every(Boolean)).to.equal(true);
    expect(a.getConnections(b.peerId).length).to.equal(1);
    expect(mb.stats().opened).to.equal(200);
    expect(ma.stats().opened).to.equal(200);
    expect(echo.connections()).to.equal(200);
  });

  it("closes the least recently used idle yard connection when maxPeers is reached", async () => {
    const ma = await manager(a, { maxPeers: 1 });
    await manager(b);
    await manager(c);
    const t1 = await ma.open(b.peerId, addrs(b), header("echo.t.svc.ns"));
    expect((await roundTrip(t1, Buffer.from("one"))).toString()).to.equal("one");
    expect(await until(() => a.getConnections(b.peerId).every((x) => x.streams.length === 0), 5_000)).to.equal(true);
    const t2 = await ma.open(c.peerId, addrs(c), header("echo.t.svc.ns"));
    expect(await until(() => a.getConnections(b.peerId).length === 0, 5_000)).to.equal(true);
    expect((await roundTrip(t2, Buffer.from("two"))).toString()).to.equal("two");
    expect(a.getConnections(c.peerId).length).to.equal(1);
    expect(ma.stats().peers).to.equal(1);
  });

  it("keeps a busy connection over maxPeers rather than cutting its tunnels", async () => {
    const ma = await manager(a, { maxPeers: 1 });
    await manager(b);
    await manager(c);
    const t1 = await ma.open(b.peerId, addrs(b), header("echo.t.svc.ns"));
    const t2 = await ma.open(c.peerId, addrs(c), header("echo.t.svc.ns"));
    expect(a.getConnections(b.peerId).length).to.equal(1);
    expect((await roundTrip(t1, Buffer.from("still here"))).toString()).to.equal("still here");
    expect((await roundTrip(t2, Buffer.from("two"))).toString()).to.equal("two");
  });

  it("closes a yard connection that stayed idle for idleMs", async () => {
    const ma = await manager(a, { idleMs: 200 });
    await manager(b);
    const t = await ma.open(b.peerId, addrs(b), header("echo.t.svc.ns"));
    await sleep(400); // busy (an open tunnel) for longer than idleMs: kept
    expect(a.getConnections(b.peerId).length).to.equal(1);
    expect((await roundTrip(t, Buffer.from("ping"))).toString()).to.equal("ping");
    expect(await until(() => a.getConnections(b.peerId).length === 0, 3_000)).to.equal(true);
    expect(ma.stats().peers).to.equal(0);
  });

  it("runs over noise: the connection says /noise + yamux and the payload never shows on the wire", async () => {
    const ma = await manager(a);
    await manager(b);
    // A TCP relay in front of B records every byte between the yards.
    const bPort = Number(
      addrs(b)[0]!
        .getComponents()
        .find((x) => x.name === "tcp")!.value,
    );
    const wire: Buffer[] = [];
    const relay = await tcpServer((s) => {
      const up = net.connect({ port: bPort, host: "127.0.0.1" });
      up.on("error", () => s.destroy());
      s.on("data", (d: Buffer) => wire.push(d));
      up.on("data", (d: Buffer) => wire.push(d));
      s.pipe(up).pipe(s);
    });
    servers.push(relay);
    const via = multiaddr(`/ip4/127.0.0.1/tcp/${relay.port}`);
    const marker = Buffer.from("ICON-PLAINTEXT-MARKER-".repeat(1000));
    const t = await ma.open(b.peerId, [via], header("echo.t.svc.ns"));
    expect((await roundTrip(t, marker)).equals(marker)).to.equal(true);
    const conn = a.getConnections(b.peerId)[0]!;
    expect(conn.encryption).to.equal("/noise");
    expect(conn.multiplexer).to.equal("/yamux/1.0.0");
    const seen = Buffer.concat(wire);
    expect(seen.length).to.be.greaterThan(marker.length * 2);
    expect(seen.includes("ICON-PLAINTEXT-MARKER")).to.equal(false);
  });

  it("holds a bounded amount when the target stops reading, then delivers everything", async () => {
    const ma = await manager(a);
    const mb = await manager(b);
    let stalled: net.Socket | undefined;
    let received = 0;
    const slow = await tcpServer((s) => {
      stalled = s;
      s.pause();
      s.on("data", (d: Buffer) => (received += d.length));
    });
    servers.push(slow);
    extraTargets.set("slow", slow.port);
    const u = await ma.open(b.peerId, addrs(b), header("slow.t.svc.ns"));
    const chunk = randomBytes(256 * 1024);
    let accepted = 0;
    const base = process.memoryUsage();
    for (;;) {
      if (accepted >= 512 * 1024 * 1024) break;
      accepted += chunk.length;
      if (!u.write(chunk)) {
        const drained = await Promise.race([once(u, "drain").then(() => true), sleep(1_000).then(() => false)]);
        if (!drained) break; // nobody reads: the writer is held
      }
    }
    const held = process.memoryUsage();
    // Socket buffers + one yamux window (≤ 16 MiB) + Node stream buffers; not the 512 MiB we tried to push.
    expect(accepted).to.be.lessThan(64 * 1024 * 1024);
    expect(held.arrayBuffers - base.arrayBuffers).to.be.lessThan(96 * 1024 * 1024);
    stalled!.resume();
    u.end();
    expect(await until(() => received === accepted, 20_000)).to.equal(true);
    expect(mb.stats().bytesIn).to.equal(accepted);
  });

  it("moves 256 MiB source → tunnel → sink with bounded memory", async () => {
    const ma = await manager(a);
    await manager(b);
    const total = 256 * 1024 * 1024;
    let received = 0;
    const counted = await tcpServer((s) => s.on("data", (d: Buffer) => (received += d.length)));
    servers.push(counted);
    extraTargets.set("counted", counted.port);
    const t = await ma.open(b.peerId, addrs(b), header("counted.t.svc.ns"));
    t.resume();
    const chunk = randomBytes(1024 * 1024);
    global.gc?.();
    const base = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
    }, 20);
    const started = performance.now();
    await pipeline(
      Readable.from(
        (function* () {
          // Fresh buffers: unbounded buffering anywhere would show as ~256 MiB more memory.
          for (let sent = 0; sent < total; sent += chunk.length) yield Buffer.from(chunk);
        })(),
      ),
      t,
    );
    expect(await until(() => received === total, 30_000)).to.equal(true);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    console.log(
      `      256 MiB through the tunnel in ${seconds.toFixed(2)} s (${((total * 8) / seconds / 1e9).toFixed(2)} Gbit/s), peak +${(peak / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(peak).to.be.lessThan(192 * 1024 * 1024);
  });
});
