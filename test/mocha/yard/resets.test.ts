/**
 * A reset at every step of every protocol, against a yard and an agent each running as its own process (`icon
 * yard start`, `icon app deploy` → `icon agent run`), as a stranger on libp2p would send them.
 *
 * For each protocol an honest client runs its exchange once while a recorder notes the size of every write and the
 * number of messages that came back; then the exchange is run again and again, each time cut at one point: before
 * the first byte, after one byte, half, all but one byte and all of each write, and right after each message
 * received — cut either by resetting the stream or by aborting the whole connection. After each protocol the
 * process must still be running and answer a ping; at the end it still does its job (the yard leases and serves,
 * the agent keeps its placement and writes its status). Every protocol the process advertises (identify) gets a
 * raw pass too (a frame that claims more than it sends, then the cuts), so a protocol added later is covered.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Ping } from "@libp2p/ping";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import {
  LEASE_PROTOCOL,
  IMAGE_PROTOCOL,
  LOGS_PROTOCOL,
  PROBE_PROTOCOL,
  ROUTES_PROTOCOL,
  ROUTING_PROTOCOL,
  TELEMETRY_PROTOCOL,
  TREE_PROTOCOL,
  createIconNode,
  loadOrCreatePeerKey,
  overlayRequest,
  probePath,
  pushImage,
  readLogs,
  readTelemetry,
  setRouting,
  signLeaseAccess,
  signTreeMember,
  treeDomain,
  treeRequest,
} from "../../../protocol/index.ts";
import { TUNNEL_PROTOCOL, encodeTunnelHeader as encodeHeader } from "../../../protocol/index.ts";
import {
  Tenant,
  USD,
  httpGet,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type TestMarket,
  type YardProcess,
} from "../../../scripts/lib/testbed.ts";
import { WEB_IMAGE, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { alive, deployWebApp } from "../../helpers/app.ts";

interface Cut {
  /** Cut once this many bytes were written (the write that crosses it is truncated to it). */
  sendBytes?: number;
  /** Cut right after this many messages were received. */
  afterRecv?: number;
  how: "reset" | "connection";
}

/**
 * Wraps every stream the attacker's node opens: records an honest run's writes and reads, or cuts a run at one
 * point. (A wrapper around the real stream: the node, the transport and the remote are real.)
 */
class StreamCutter {
  cut: Cut | undefined;
  sends: number[] = [];
  recvs = 0;
  fired = 0;
  readonly #patched = new WeakSet<Connection>();

  constructor(...nodes: Libp2p[]) {
    for (const node of nodes) {
      node.addEventListener("connection:open", (e) => this.#patch(e.detail));
      for (const c of node.getConnections()) this.#patch(c);
    }
  }

  record(): void {
    this.cut = undefined;
    this.sends = [];
    this.recvs = 0;
  }

  #patch(conn: Connection): void {
    if (this.#patched.has(conn)) return;
    this.#patched.add(conn);
    const newStream = conn.newStream.bind(conn);
    conn.newStream = (async (protocols: string | string[], options?: object) =>
      this.#wrap(await newStream(protocols, options), conn)) as Connection["newStream"];
  }

  #wrap(stream: Stream, conn: Connection): Stream {
    const cut = this.cut;
    let sent = 0;
    let received = 0;
    let fired = false;
    const fire = (): void => {
      if (fired) return;
      fired = true;
      this.fired++;
      if (cut!.how === "reset") stream.abort(new Error("stream reset by the test"));
      else conn.abort(new Error("connection cut by the test"));
    };
    stream.addEventListener("message", () => {
      received++;
      if (!cut) this.recvs++;
      else if (cut.afterRecv === received) fire();
    });
    if (cut?.sendBytes === 0) queueMicrotask(fire);
    return new Proxy(stream, {
      get: (t, k) => {
        if (k === "send") {
          return (data: Uint8Array | { byteLength: number; subarray(a: number, b: number): Uint8Array }) => {
            const n = data.byteLength;
            if (!cut) {
              this.sends.push(n);
              return t.send(data as Uint8Array);
            }
            if (fired) return false;
            if (cut.sendBytes === undefined || sent + n < cut.sendBytes) {
              sent += n;
              return t.send(data as Uint8Array);
            }
            const part = cut.sendBytes - sent;
            sent = cut.sendBytes;
            if (part > 0) t.send(data.subarray(0, part));
            fire();
            return false;
          };
        }
        const v = Reflect.get(t, k, t) as unknown;
        // Methods of the stream's class run on the real stream (private fields); own function-valued
        // properties (its logger) are returned as they are.
        if (typeof v !== "function" || Object.hasOwn(t, k)) return v;
        return (v as (...a: unknown[]) => unknown).bind(t);
      },
      set: (t, k, v) => Reflect.set(t, k, v, t),
    });
  }
}

/** Every cut of an exchange whose honest run wrote `sends` and received `recvs` messages. */
function cutsOf(sends: number[], recvs: number): Cut[] {
  const points = new Set<number>([0]);
  let at = 0;
  for (const n of sends) {
    for (const d of [1, Math.floor(n / 2), n - 1, n]) if (d > 0 && d <= n) points.add(at + d);
    at += n;
  }
  const cuts: Cut[] = [];
  for (const how of ["reset", "connection"] as const) {
    for (const p of [...points].sort((a, b) => a - b)) cuts.push({ sendBytes: p, how });
    for (let r = 1; r <= recvs; r++) cuts.push({ afterRecv: r, how });
  }
  return cuts;
}

/** A process the test attacks: its address and how to tell it is still there. */
interface Target {
  name: string;
  addr: Multiaddr;
  exitCode(): number | null;
  output(): string;
}

describe("a reset at every step of every protocol (yard and agent as their own processes)", function () {
  this.timeout(600_000);
  after(async () => {
    agentPid && alive(agentPid) && process.kill(agentPid, "SIGKILL");
    yard?.child.kill("SIGKILL");
    await attacker?.stop();
    await tenant?.stop();
    await m?.close();
  });
  const docker = useDockerYard("resets");
  let m: TestMarket;
  let tenant: Tenant;
  let yard: YardProcess | undefined;
  let attacker: Libp2p;
  let cutter: StreamCutter;
  let agentPid: number | undefined;
  let digest: string;

  before(async () => {
    m = await startMarket();
    tenant = await Tenant.create(m, 2, 3, USD(200));
    await m.admin.mint(new Wallet(m.keys[1]!).address, USD(1000));
    // Every cut negotiation leaves its quote's hold until the quote expires: room for all of them from one tenant.
    const file = await writeYardConfig(
      m,
      yardConfig(m, docker.get().yardId, { holds: { perPeer: 256, perAccount: 256 } }),
    );
    yard = await startYardProcess(file, m.keys[1]!);
    digest = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice(7);
    attacker = await createIconNode();
    cutter = new StreamCutter(attacker, tenant.node);
  });

  /** Runs `exchange` honestly once, then cut at every point; the target must survive each protocol. */
  async function attack(target: Target, protocol: string, exchange: () => Promise<unknown>): Promise<number> {
    cutter.record();
    await bounded(exchange());
    const cuts = cutsOf(cutter.sends, cutter.recvs);
    expect(cutter.sends.length, `the honest ${protocol} exchange wrote nothing`).to.be.greaterThan(0);
    for (const cut of cuts) {
      cutter.cut = cut;
      const t0 = Date.now();
      await bounded(exchange(), cutter);
      if (process.env.DBG) console.error(protocol, JSON.stringify(cut), Date.now() - t0, "ms");
      cutter.cut = undefined;
    }
    await survives(target, protocol);
    return cuts.length;
  }

  /** The target's process is still running and answers a ping on a fresh connection. */
  async function survives(target: Target, after: string): Promise<void> {
    // A crash comes a moment after the reset that caused it: a ping round trip later, the process is gone or up.
    await waitFor(
      `${target.name} to answer a ping after the ${after} cuts`,
      async () => {
        if (target.exitCode() !== null) return true;
        await attacker.hangUp(target.addr).catch(() => {});
        return (await pingOf(attacker).ping(target.addr, { signal: AbortSignal.timeout(3000) })) >= 0;
      },
      30_000,
    ).catch(() => undefined);
    expect(
      target.exitCode(),
      `${target.name} exited after the ${after} cuts; it said:\n${target.output().slice(-4000)}`,
    ).to.equal(null);
  }

  /** Every protocol `target` advertises, each with a raw exchange: a frame that claims 100 bytes and has 50. */
  async function rawPass(target: Target): Promise<string[]> {
    const conn = await attacker.dial(target.addr);
    const peer = conn.remotePeer;
    const protocols = await waitFor(
      `${target.name}'s protocols (identify)`,
      async () => {
        const p = (await attacker.peerStore.get(peer)).protocols;
        return p.length > 0 ? p : undefined;
      },
      10_000,
    );
    for (const p of protocols) {
      await attack(target, `raw ${p}`, async () => {
        const c = await attacker.dial(target.addr);
        const s = await c.newStream(p, { signal: AbortSignal.timeout(5000) });
        s.send(Uint8Array.from([100]));
        s.send(randomBytes(50));
        await firstMessage(s, 300);
        s.abort(new Error("done"));
      });
    }
    return protocols;
  }

  it("the yard: lease, tunnel, image, logs, probe, telemetry, routing, routes, ping, identify — and everything it advertises", async () => {
    const target: Target = {
      name: "the yard",
      addr: multiaddr(yard!.addr),
      exitCode: () => yard!.child.exitCode,
      output: () => yard!.err.join("") + yard!.out.join(""),
    };
    // A running lease, so that the tunnel, logs, telemetry and routing exchanges go past their checks.
    const served = await tenant.lease(target.addr, digest, { cpuMillis: 50, slotSeconds: 300 });
    const access = await signLeaseAccess(tenant.icon, tenant.owner.domain(), served.leaseId, attacker.peerId);
    const dir = await mkdtemp(path.join(tmpdir(), "icon-resets-"));
    const tarball = path.join(dir, "image.tar");
    await writeFile(tarball, randomBytes(3 * 64 * 1024 + 100)); // a few chunks; not an image: refused at the end

    let cuts = 0;
    // RFQ → Quote → Accept → Opened → Deploy → Running, cut at every point (an opened lease is paid and ends).
    cuts += await attack(target, LEASE_PROTOCOL, () =>
      tenant.lease(target.addr, digest, { cpuMillis: 50, slotSeconds: 60 }),
    );
    // The tunnel's opener side by hand (header frame, answer, then bytes both ways), so that the attacker does not
    // share the yard's own tunnel code.
    const header = encodeHeader({ instanceId: served.leaseId, port: 8080, client: "127.0.0.1" });
    cuts += await attack(target, TUNNEL_PROTOCOL, async () => {
      const c = await attacker.dial(target.addr);
      const s = await c.newStream(TUNNEL_PROTOCOL, { signal: AbortSignal.timeout(5000) });
      s.send(header);
      await firstMessage(s, 5000);
      s.send(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      await s.close();
      await firstMessage(s, 5000);
    });
    cuts += await attack(target, IMAGE_PROTOCOL, () =>
      pushImage(attacker, target.addr, { access, imageId: "0x" + "ab".repeat(32), tarball }),
    );
    cuts += await attack(target, LOGS_PROTOCOL, () => readLogs(attacker, target.addr, { access, tail: 10 }));
    // The probe's request and its refusal (no client subnet recorded in this process: NOT_A_CLIENT, nothing sent).
    cuts += await attack(target, PROBE_PROTOCOL, () =>
      probePath(attacker, target.addr, { leaseId: served.leaseId, access, target: "198.19.9.10" }),
    );
    cuts += await attack(target, TELEMETRY_PROTOCOL, () => readTelemetry(attacker, target.addr, { access }));
    cuts += await attack(target, ROUTING_PROTOCOL, () => setRouting(attacker, target.addr, { access, redirects: [] }));
    cuts += await attack(target, ROUTES_PROTOCOL, () =>
      overlayRequest(attacker, target.addr, ROUTES_PROTOCOL, {
        type: "routeQuery",
        service: "shop.acme.web.default",
        interest: true,
      }),
    );
    cuts += await attack(target, "ping", () =>
      pingOf(attacker).ping(target.addr, { signal: AbortSignal.timeout(5000) }),
    );
    const advertised = await rawPass(target);
    expect(advertised).to.include.members([
      LEASE_PROTOCOL,
      TUNNEL_PROTOCOL,
      IMAGE_PROTOCOL,
      LOGS_PROTOCOL,
      PROBE_PROTOCOL,
      TELEMETRY_PROTOCOL,
      ROUTING_PROTOCOL,
      ROUTES_PROTOCOL,
    ]);
    expect(cuts).to.be.greaterThan(100);
    expect(cutter.fired).to.be.greaterThan(100);

    // Still doing its job: the lease it served all along, a new lease, its status page.
    expect(await httpGet(served.endpoint)).to.include("icon-web-ok");
    const fresh = await tenant.lease(target.addr, digest, { cpuMillis: 50, slotSeconds: 60 });
    expect(
      await waitFor("the new lease served", () => httpGet(fresh.endpoint).catch(() => undefined), 20_000),
    ).to.include("icon-web-ok");
    expect((await fetch(`${yard!.http}/status`)).status).to.equal(200);
    expect(target.exitCode()).to.equal(null);
  });

  it("the agent: tree, ping, identify — and everything it advertises", async () => {
    await m.admin.mint(new Wallet(m.keys[10]!).address, USD(10));
    const dep = await deployWebApp(m, {
      digest,
      cpuMillis: 50,
      initialRegion: "test-1",
      waitS: 90,
      tmpPrefix: "icon-resets-agent-",
    });
    const { state } = dep;
    agentPid = Number(/origin ICON started \(pid (\d+), log /.exec(dep.stdout)![1]!);
    const root = BigInt(/application (\d+) created with 3 iUSD/.exec(dep.stdout)![1]!);
    const peer = peerIdFromPrivateKey(await loadOrCreatePeerKey(path.join(state, "peer.key")));
    const port = Number(await readFile(path.join(state, "port"), "utf8"));
    const log = path.join(state, "agent.log");
    const target: Target = {
      name: "the agent",
      addr: multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peer}`),
      exitCode: () => (alive(agentPid!) ? null : 1),
      output: () => "(see its log " + log + ")",
    };
    // A stranger's report: signed by a key that controls no account of this app (refused with an error frame).
    const stranger = Wallet.createRandom();
    const proof = await signTreeMember(stranger, treeDomain(31337n, m.deployment.market), root, attacker.peerId);
    let cuts = await attack(target, TREE_PROTOCOL, () =>
      treeRequest(attacker, target.addr, {
        type: "report",
        proof,
        subnets: [],
        endpoint: "127.0.0.1:1",
        location: "nowhere",
        epoch: 0n,
        descendants: 0,
      }),
    );
    cuts += await attack(target, "ping", () =>
      pingOf(attacker).ping(target.addr, { signal: AbortSignal.timeout(5000) }),
    );
    expect(await rawPass(target)).to.include(TREE_PROTOCOL);
    expect(cuts).to.be.greaterThan(10);

    // Still doing its job: it writes its status every period, and its lease is where it was.
    const status = path.join(state, "status.json");
    const before = (await stat(status)).mtimeMs;
    await waitFor("the agent to write its status again", async () => (await stat(status)).mtimeMs > before, 20_000);
    expect(await readFile(log, "utf8")).to.not.match(/uncaught|unhandled/i);
    process.kill(agentPid, "SIGTERM");
    await waitFor("the agent to stop", () => !alive(agentPid!), 20_000);
    agentPid = undefined;
  });
});

/** The node's ping service (createIconNode always has one). */
function pingOf(node: Libp2p): Ping {
  return (node.services as { ping: Ping }).ping;
}

/** The first message on `s`, or undefined after `ms` or when it closes. */
function firstMessage(s: Stream, ms: number): Promise<unknown> {
  return new Promise((resolve) => {
    const done = (v?: unknown): void => {
      clearTimeout(timer);
      s.removeEventListener("message", onMessage);
      s.removeEventListener("close", onClose);
      resolve(v);
    };
    const onMessage = (e: { data: unknown }): void => done(e.data);
    const onClose = (): void => done();
    const timer = setTimeout(done, ms);
    s.addEventListener("message", onMessage);
    s.addEventListener("close", onClose);
    if (s.status !== "open") done();
  });
}

/**
 * Waits for `p`, whose outcome does not matter (a cut exchange fails): at most 20 s, and 200 ms once the cut
 * fired (some clients retry on a new stream or wait for their own deadline; what is under test is the remote).
 */
async function bounded(p: Promise<unknown>, cutter?: StreamCutter): Promise<void> {
  const firedBefore = cutter?.fired ?? 0;
  let ticker: NodeJS.Timeout | undefined;
  const deadline = Date.now() + 20_000;
  let graceUntil = Infinity;
  await Promise.race([
    p.catch(() => {}),
    new Promise<void>((resolve) => {
      ticker = setInterval(() => {
        if (cutter && cutter.fired > firedBefore && graceUntil === Infinity) graceUntil = Date.now() + 200;
        if (Date.now() > Math.min(deadline, graceUntil)) resolve();
      }, 50);
    }),
  ]);
  clearInterval(ticker);
}
