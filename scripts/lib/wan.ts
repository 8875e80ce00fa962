/**
 * A WAN emulator in user space, without netem (the demo runs on the packet-level testbed, netbed.ts; this stays for
 * quick tests on loopback that need no root): client subnets and yards are loopback addresses, and every
 * (client subnet, yard ingress) pair gets a TCP relay on 127.0.0.1 that adds the configured one-way delay to each
 * chunk in both directions. The relay dials the yard FROM an address inside the client's /24 (rotating over
 * .2–.250), so the yard sees the clients of that subnet as it would behind a real WAN.
 *
 *  - Each direction is an ordered delay queue: a chunk is written at its arrival time + the delay read at that
 *    moment (so `setDelay` acts on new chunks at once), never before an earlier chunk; timers aim at each chunk's
 *    due time, so delays do not add up over a stream.
 *  - Backpressure: the source is paused while the queue holds `queueBytes` or more (a window, like TCP's), and the
 *    queue stops draining while the destination's write buffer is full.
 *  - A half-close (FIN) travels as the last item of its queue: the far side is ended after the delayed data.
 *    Errors and resets are not delayed: both sides are reset at once.
 *  - A fresh connection costs one RTT before its first answer, not two: the relay accepts the client's handshake
 *    locally, and the dial to the yard overlaps the delay of the first chunk.
 *  - `altoMaps()` publishes the same delays as ALTO (RFC 7285) network and cost maps (metric `delay-ow`, ms) for
 *    `serveAlto` in protocol/netinfo/alto.ts.
 *
 * Errors: ConfigError BAD_WAN_CONFIG (the message names the field), UNKNOWN_SUBNET, UNKNOWN_YARD_HOST, WAN_CLOSED.
 *
 * @example
 *   const wan = await WanEmulator.start({
 *     subnets: { A: "127.10.1.0/24", B: "127.10.2.0/24" },
 *     yards: { cloud: "127.0.1.1", "edge-a": "127.0.1.2" },
 *     delayMs: { A: { cloud: 40, "edge-a": 5 }, B: { cloud: 40, "edge-a": 60 } },
 *   });
 *   const relay = await wan.via("A", "127.0.1.2:8080"); // "127.0.0.1:<port>": dial it instead of the yard
 *   const alto = await serveAlto(() => { const m = wan.altoMaps(); return new AltoMap(m.network, m.costs); });
 *   ...
 *   await wan.close();
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { ConfigError } from "../../protocol/errors.ts";
import type { CostMap, NetworkMap } from "../../protocol/netinfo/alto.ts";

/** Options of {@link WanEmulator.start}. */
export interface WanOptions {
  /** Client subnet name → a loopback /24, e.g. `{ A: "127.10.1.0/24" }`. */
  subnets: Record<string, string>;
  /** Yard name → its public host, a loopback address, e.g. `{ cloud: "127.0.1.1" }`. */
  yards: Record<string, string>;
  /** Subnet name → yard name → one-way delay in ms; every pair must be given. */
  delayMs: Record<string, Record<string, number>>;
  /** Bytes a direction of a relayed connection may hold in its delay queue before the source is paused; 2 MiB. */
  queueBytes?: number;
}

/** Traffic of one relay, i.e. one (subnet, yard ingress) pair. */
export interface WanPairStats {
  subnet: string;
  yard: string;
  /** The yard ingress "host:port" the relay dials. */
  target: string;
  /** The relay's listener, "127.0.0.1:<port>". */
  relay: string;
  /** Connections accepted so far. */
  connections: number;
  /** Connections still open. */
  open: number;
  /** Bytes delivered client → yard and yard → client. */
  bytesUp: number;
  bytesDown: number;
  /** Connections ended by an error or a reset (including a refused dial to the yard). */
  resets: number;
  /** Most bytes one direction of one connection held at once (delay queue + the destination's write buffer). */
  peakBufferedBytes: number;
}

const NAME_RE = /^[A-Za-z0-9\-:@_.]{1,56}$/; // becomes part of an ALTO PID ("subnet-"/"yard-" + name, ≤ 64)
const DEFAULT_QUEUE_BYTES = 2 * 1024 * 1024;
const MAX_DELAY_MS = 60_000;
const FIRST_HOST = 2;
const LAST_HOST = 250;

function bad(field: string, fix: string): ConfigError {
  return new ConfigError("BAD_WAN_CONFIG", `${field}: ${fix}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function octets(ip: string): number[] | undefined {
  if (!net.isIPv4(ip)) return undefined;
  return ip.split(".").map(Number);
}

function checkDelay(field: string, ms: unknown): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || ms > MAX_DELAY_MS)
    throw bad(field, `${String(ms)} is not a one-way delay in ms (a number from 0 to ${MAX_DELAY_MS})`);
  return ms;
}

/** "host:port" → parts; throws naming `what`. */
function splitTarget(target: string, what: string): { host: string; port: number } {
  const m = /^([^:[\]\s]+):(\d{1,5})$/.exec(target);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw bad(what, `"${target}" is not "host:port" (e.g. "127.0.1.1:8080")`);
  return { host: m[1]!, port };
}

interface Queued {
  due: number;
  /** null: the source's FIN. */
  chunk: Buffer | null;
}

/**
 * One direction of a relayed connection: chunks read from `src` are written to `dst` at arrival + delay, in order,
 * with the source paused while the queue is full and draining stopped while `dst` cannot take more.
 */
class DelayLine {
  readonly #src: net.Socket;
  readonly #dst: net.Socket;
  readonly #delay: () => number;
  readonly #cap: number;
  readonly #delivered: (bytes: number) => void;
  readonly #peak: (bytes: number) => void;
  readonly #q: Queued[] = [];
  #head = 0;
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;
  #blocked = false;
  #paused = false;
  #stopped = false;
  /** The source's FIN was read. */
  srcEnded = false;

  constructor(
    src: net.Socket,
    dst: net.Socket,
    delay: () => number,
    cap: number,
    delivered: (bytes: number) => void,
    peak: (bytes: number) => void,
  ) {
    this.#src = src;
    this.#dst = dst;
    this.#delay = delay;
    this.#cap = cap;
    this.#delivered = delivered;
    this.#peak = peak;
    src.on("data", (chunk: Buffer) => this.#push(chunk));
    src.on("end", () => {
      this.srcEnded = true;
      this.#push(null);
    });
    dst.on("drain", () => {
      if (!this.#blocked) return;
      this.#blocked = false;
      this.#flush();
    });
  }

  /** Drops what is queued and stops (the connection is being torn down). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#q.length = 0;
    this.#head = 0;
    this.#queued = 0;
  }

  #push(chunk: Buffer | null): void {
    if (this.#stopped) return;
    this.#q.push({ due: performance.now() + this.#delay(), chunk });
    if (chunk) {
      this.#queued += chunk.length;
      this.#peak(this.#queued + this.#dst.writableLength);
      if (this.#queued >= this.#cap && !this.#paused) {
        this.#paused = true;
        this.#src.pause();
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped || this.#timer || this.#blocked || this.#head >= this.#q.length) return;
    const wait = this.#q[this.#head]!.due - performance.now();
    if (wait <= 0) {
      this.#flush();
      return;
    }
    // Timers may fire up to a millisecond early against performance.now(): #flush checks and re-arms.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, Math.ceil(wait));
  }

  #flush(): void {
    if (this.#stopped) return;
    const now = performance.now();
    while (this.#head < this.#q.length && !this.#blocked) {
      const item = this.#q[this.#head]!;
      if (item.due > now) break;
      this.#head++;
      if (this.#dst.destroyed) continue;
      if (item.chunk === null) {
        this.#dst.end();
        continue;
      }
      this.#queued -= item.chunk.length;
      this.#delivered(item.chunk.length);
      if (!this.#dst.write(item.chunk)) {
        this.#blocked = true;
        this.#peak(this.#queued + this.#dst.writableLength);
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#q.length) {
      this.#q.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#paused && !this.#blocked && this.#queued < this.#cap / 2) {
      this.#paused = false;
      this.#src.resume();
    }
    this.#schedule();
  }
}

interface Relay {
  server: net.Server;
  stats: WanPairStats;
  /** Resets of the open connections. */
  open: Set<() => void>;
}

/** Loopback WAN: delayed relays per (client subnet, yard ingress) and the matching ALTO maps. */
export class WanEmulator {
  readonly #subnets: Map<string, { prefix: string; base: string; next: number }>;
  readonly #yards: Map<string, string>;
  readonly #delay: Map<string, Map<string, number>>;
  readonly #queueBytes: number;
  readonly #relays = new Map<string, Promise<Relay>>();
  readonly #live: Relay[] = [];
  #closed = false;

  private constructor(o: {
    subnets: Map<string, { prefix: string; base: string; next: number }>;
    yards: Map<string, string>;
    delay: Map<string, Map<string, number>>;
    queueBytes: number;
  }) {
    this.#subnets = o.subnets;
    this.#yards = o.yards;
    this.#delay = o.delay;
    this.#queueBytes = o.queueBytes;
  }

  /** Checks the configuration (ConfigError BAD_WAN_CONFIG naming the field) and returns an emulator. */
  static async start(o: WanOptions): Promise<WanEmulator> {
    if (!isRecord(o)) throw bad("options", "give { subnets, yards, delayMs }");
    if (!isRecord(o.subnets) || Object.keys(o.subnets).length === 0)
      throw bad("subnets", 'give at least one client subnet, e.g. { A: "127.10.1.0/24" }');
    if (!isRecord(o.yards) || Object.keys(o.yards).length === 0)
      throw bad("yards", 'give at least one yard and its public host, e.g. { cloud: "127.0.1.1" }');
    if (!isRecord(o.delayMs)) throw bad("delayMs", "give subnet → yard → one-way delay in ms");

    const subnets = new Map<string, { prefix: string; base: string; next: number }>();
    for (const [name, prefix] of Object.entries(o.subnets)) {
      const field = `subnets.${name}`;
      if (!NAME_RE.test(name)) throw bad(field, "names use letters, digits and -:@_. (at most 56)");
      const [ip, len] = typeof prefix === "string" ? prefix.split("/") : [];
      const o4 = ip ? octets(ip) : undefined;
      if (!o4 || len !== "24" || o4[0] !== 127 || o4[3] !== 0)
        throw bad(field, `${JSON.stringify(prefix)} is not a loopback /24 like "127.10.1.0/24" (127.x.y.0/24)`);
      const base = `${o4[0]}.${o4[1]}.${o4[2]}.`;
      for (const [other, s] of subnets)
        if (s.base === base) throw bad(field, `${prefix} is already the prefix of subnet ${other}`);
      subnets.set(name, { prefix: `${base}0/24`, base, next: 0 });
    }

    const yards = new Map<string, string>();
    for (const [name, host] of Object.entries(o.yards)) {
      const field = `yards.${name}`;
      if (!NAME_RE.test(name)) throw bad(field, "names use letters, digits and -:@_. (at most 56)");
      const o4 = typeof host === "string" ? octets(host) : undefined;
      if (!o4 || o4[0] !== 127)
        throw bad(field, `${JSON.stringify(host)} is not a loopback IPv4 address like "127.0.1.1" (127/8)`);
      for (const [other, h] of yards) if (h === host) throw bad(field, `${host} is already the host of yard ${other}`);
      for (const [sn, s] of subnets)
        if (host.startsWith(s.base))
          throw bad(field, `${host} is inside client subnet ${sn} (${s.prefix}): give yards addresses outside them`);
      yards.set(name, host);
    }

    const delay = new Map<string, Map<string, number>>();
    for (const [sn, row] of Object.entries(o.delayMs)) {
      if (!subnets.has(sn))
        throw bad(`delayMs.${sn}`, `unknown subnet; the subnets are ${[...subnets.keys()].join(", ")}`);
      if (!isRecord(row)) throw bad(`delayMs.${sn}`, "give yard name → one-way delay in ms");
      for (const [yn, ms] of Object.entries(row)) {
        if (!yards.has(yn))
          throw bad(`delayMs.${sn}.${yn}`, `unknown yard; the yards are ${[...yards.keys()].join(", ")}`);
        checkDelay(`delayMs.${sn}.${yn}`, ms);
      }
    }
    for (const sn of subnets.keys()) {
      const row = new Map<string, number>();
      for (const yn of yards.keys()) {
        const ms = (o.delayMs[sn] as Record<string, number> | undefined)?.[yn];
        if (ms === undefined)
          throw bad(`delayMs.${sn}.${yn}`, `missing: give the one-way delay in ms from subnet ${sn} to yard ${yn}`);
        row.set(yn, ms);
      }
      delay.set(sn, row);
    }

    const queueBytes = o.queueBytes ?? DEFAULT_QUEUE_BYTES;
    if (!Number.isSafeInteger(queueBytes) || queueBytes < 1024)
      throw bad("queueBytes", `${String(o.queueBytes)} is not a byte count ≥ 1024`);
    return new WanEmulator({ subnets, yards, delay, queueBytes });
  }

  /** Names of the client subnets. */
  subnetNames(): string[] {
    return [...this.#subnets.keys()];
  }

  /** Names of the yards. */
  yardNames(): string[] {
    return [...this.#yards.keys()];
  }

  /** The /24 of a client subnet, e.g. "127.10.1.0/24". */
  prefixOf(subnet: string): string {
    return this.#subnet(subnet).prefix;
  }

  /** The yard whose public host is `hostOrTarget` ("127.0.1.1" or "127.0.1.1:8080"), if any. */
  yardOf(hostOrTarget: string): string | undefined {
    const host = /^[^:]+:\d+$/.test(hostOrTarget) ? hostOrTarget.slice(0, hostOrTarget.lastIndexOf(":")) : hostOrTarget;
    for (const [name, h] of this.#yards) if (h === host) return name;
    return undefined;
  }

  /** The one-way delay in ms from `subnet` to `yard`. */
  delay(subnet: string, yard: string): number {
    this.#subnet(subnet);
    const ms = this.#delay.get(subnet)!.get(yard);
    if (ms === undefined) throw bad("yard", `unknown yard "${yard}"; the yards are ${this.yardNames().join(", ")}`);
    return ms;
  }

  /** Round-trip time in ms from `subnet` to `yard`: twice the one-way delay. */
  rttMs(subnet: string, yard: string): number {
    return 2 * this.delay(subnet, yard);
  }

  /** Changes the one-way delay of a pair; chunks that arrive from now on get the new delay (both directions). */
  setDelay(subnet: string, yard: string, ms: number): void {
    this.delay(subnet, yard); // checks both names
    this.#delay.get(subnet)!.set(yard, checkDelay(`delayMs.${subnet}.${yard}`, ms));
  }

  /**
   * "127.0.0.1:<port>" of the relay that carries `subnet`'s clients to `target` ("host:port" of a yard ingress,
   * the host being a yard's public host); created at the first call, then the same.
   */
  async via(subnet: string, target: string): Promise<string> {
    if (this.#closed) throw new ConfigError("WAN_CLOSED", "the WAN emulator is closed");
    this.#subnet(subnet);
    const { host, port } = splitTarget(target, "target");
    const yard = this.yardOf(host);
    if (!yard)
      throw new ConfigError(
        "UNKNOWN_YARD_HOST",
        `${host} (of target ${target}) is the public host of no yard; the yards are ${[...this.#yards]
          .map(([n, h]) => `${n} (${h})`)
          .join(", ")}`,
      );
    const key = `${subnet}|${host}:${port}`;
    let relay = this.#relays.get(key);
    if (!relay) {
      relay = this.#listen(subnet, yard, host, port);
      this.#relays.set(key, relay);
      relay.catch(() => this.#relays.delete(key));
    }
    return (await relay).stats.relay;
  }

  /** An open connection from `subnet` to `target` through its relay (loadgen.ts's ClientNetwork). */
  async connect(subnet: string, target: string, _client: number, signal: AbortSignal): Promise<net.Socket> {
    const relay = await this.via(subnet, target);
    const i = relay.lastIndexOf(":");
    const sock = net.connect({ host: relay.slice(0, i), port: Number(relay.slice(i + 1)) });
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        sock.destroy();
        reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      sock.once("error", (e) => (signal.removeEventListener("abort", onAbort), reject(e)));
      sock.once("connect", () => (signal.removeEventListener("abort", onAbort), resolve(sock)));
    });
  }

  /** Traffic per relay (one entry per (subnet, yard ingress) pair that `via` was asked for). */
  stats(): WanPairStats[] {
    return this.#live.map((r) => ({ ...r.stats }));
  }

  /**
   * ALTO maps of the current delays: a PID `subnet-<name>` per client subnet (its /24) and `yard-<name>` per yard
   * (its public host /32); the cost map (numerical, `delay-ow` in ms) gives subnet → yard and yard → subnet.
   */
  altoMaps(): { network: NetworkMap; costs: CostMap } {
    const map: NetworkMap["network-map"] = {};
    for (const [name, s] of this.#subnets) map[`subnet-${name}`] = { ipv4: [s.prefix] };
    for (const [name, host] of this.#yards) map[`yard-${name}`] = { ipv4: [`${host}/32`] };
    const tag = createHash("sha256").update(JSON.stringify(map)).digest("hex").slice(0, 16);
    const vtag = { "resource-id": "icon-networkmap", tag };
    const cost: CostMap["cost-map"] = {};
    for (const [sn, row] of this.#delay) {
      for (const [yn, ms] of row) {
        (cost[`subnet-${sn}`] ??= {})[`yard-${yn}`] = ms;
        (cost[`yard-${yn}`] ??= {})[`subnet-${sn}`] = ms;
      }
    }
    return {
      network: { meta: { vtag }, "network-map": map },
      costs: {
        meta: {
          "dependent-vtags": [{ ...vtag }],
          "cost-type": { "cost-mode": "numerical", "cost-metric": "delay-ow" },
        },
        "cost-map": cost,
      },
    };
  }

  /** Closes every relay listener and resets every relayed connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const relays = await Promise.allSettled([...this.#relays.values()]);
    this.#relays.clear();
    await Promise.all(
      relays.map(async (r) => {
        if (r.status !== "fulfilled") return;
        const { server, open } = r.value;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const reset of open) reset();
        await closed;
      }),
    );
  }

  #subnet(name: string): { prefix: string; base: string; next: number } {
    const s = this.#subnets.get(name);
    if (!s)
      throw new ConfigError(
        "UNKNOWN_SUBNET",
        `subnet "${name}" is unknown; the subnets are ${this.subnetNames().join(", ")}`,
      );
    return s;
  }

  /** The next client address of a subnet: .2 … .250, round and round. */
  #nextAddress(subnet: string): string {
    const s = this.#subnet(subnet);
    const host = FIRST_HOST + (s.next++ % (LAST_HOST - FIRST_HOST + 1));
    return s.base + host;
  }

  async #listen(subnet: string, yard: string, host: string, port: number): Promise<Relay> {
    const open = new Set<() => void>();
    const stats: WanPairStats = {
      subnet,
      yard,
      target: `${host}:${port}`,
      relay: "",
      connections: 0,
      open: 0,
      bytesUp: 0,
      bytesDown: 0,
      resets: 0,
      peakBufferedBytes: 0,
    };
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      if (this.#closed) {
        client.destroy();
        return;
      }
      stats.connections++;
      stats.open++;
      let closedSockets = 0;
      const upstream = net.connect({
        host,
        port,
        localAddress: this.#nextAddress(subnet),
        allowHalfOpen: true,
        noDelay: true,
      });
      const delay = (): number => this.#delay.get(subnet)!.get(yard)!;
      const peak = (n: number): void => {
        if (n > stats.peakBufferedBytes) stats.peakBufferedBytes = n;
      };
      const up = new DelayLine(client, upstream, delay, this.#queueBytes, (n) => (stats.bytesUp += n), peak);
      const down = new DelayLine(upstream, client, delay, this.#queueBytes, (n) => (stats.bytesDown += n), peak);
      let reset = false;
      const tearDown = (): void => {
        if (reset) return;
        reset = true;
        if (!this.#closed) stats.resets++;
        open.delete(tearDown);
        up.stop();
        down.stop();
        for (const s of [client, upstream]) {
          if (s.destroyed) continue;
          if (s.connecting || s.readyState === "closed") s.destroy();
          else s.resetAndDestroy();
        }
      };
      open.add(tearDown);
      for (const [s, line] of [
        [client, up],
        [upstream, down],
      ] as const) {
        s.on("error", tearDown);
        s.on("close", () => {
          if (++closedSockets === 2) {
            stats.open--;
            open.delete(tearDown);
          }
          // A socket closed before its FIN was read was destroyed (error, reset, close()): so is its peer.
          // One closed after its FIN leaves its peer to the delay queue, which ends it after the data.
          if (!line.srcEnded) tearDown();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    stats.relay = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const relay = { server, stats, open };
    this.#live.push(relay);
    return relay;
  }
}
