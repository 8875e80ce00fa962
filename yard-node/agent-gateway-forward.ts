/**
 * The agent gateway's libp2p forwards (agent-gateway.ts answers `POST /dial` with them). Before a forward opens,
 * the yard itself dials the named peer at one of the named addresses with its own libp2p node (a new connection,
 * closed again once it has proven the peer): noise proves the peer id, so a forward only ever reaches a libp2p
 * node holding that id — never an arbitrary service of the host or its network. The forward is a TCP listener on
 * the gateway address, an ephemeral port, which splices every connection from the requesting sidecar's address
 * (and from no other) to the address that authenticated; the yard's own peer id forwards to its own listener.
 *
 * Bounds: `maxPerLease` forwards per lease (the least recently used idle one closes to make room; all busy:
 * refused), `connectionsPerForward` connections each, a forward without connections for `idleMs` closes (swept every
 * 30 s). Each forward's port is let through the host firewall while it is open. Everything of a lease closes at its
 * end (`closeLease`), everything at the yard's stop (`closeAll`).
 *
 * @example
 *   const target = await authenticatePeer(node, peer, addrs, signal);        // throws when it is not that peer
 *   const port = await forwards.open(leaseId, peer, target);
 */
import net from "node:net";
import type { Libp2p } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "../protocol/log.ts";
import type { HostFirewall } from "./firewall.ts";
import { GatewayRefusal } from "./agent-gateway-rpc.ts";

/** Where a forward splices to. */
export interface ForwardTarget {
  host: string;
  port: number;
}

const DIAL_TIMEOUT_MS = 10_000;
const SWEEP_MS = 30_000;

/**
 * Dials `peer` at `addrs` (in order, each with `/p2p/<peer>`) as the yard; the TCP address of the first connection
 * whose noise handshake proved `peer`. The yard's own peer id gives its own TCP listener. Throws GatewayRefusal:
 * 400 for a peer id that does not decode, 502 when no address reached that peer.
 */
export async function authenticatePeer(
  node: Libp2p,
  peer: string,
  addrs: string[],
  signal: AbortSignal,
): Promise<ForwardTarget> {
  let id;
  try {
    id = peerIdFromString(peer);
  } catch {
    throw new GatewayRefusal(400, `${peer} is not a libp2p peer id`);
  }
  if (id.equals(node.peerId)) {
    for (const a of node.getMultiaddrs()) {
      const c = a.getComponents();
      if ((c[0]?.name === "ip4" || c[0]?.name === "ip6") && c[1]?.name === "tcp")
        return { host: c[0].value === "0.0.0.0" ? "127.0.0.1" : c[0].value!, port: Number(c[1].value) };
    }
    throw new GatewayRefusal(502, "this yard has no TCP listener to forward to");
  }
  const why: string[] = [];
  for (const a of addrs) {
    let conn;
    try {
      conn = await node.dial(multiaddr(a.includes("/p2p/") ? a : `${a}/p2p/${peer}`), {
        signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]),
        force: true,
      });
    } catch (e) {
      why.push(`${a}: ${(e as Error).message.slice(0, 160)}`);
      continue;
    }
    try {
      if (!conn.remotePeer.equals(id)) {
        why.push(`${a}: answered as ${conn.remotePeer.toString()}`);
        continue;
      }
      const c = conn.remoteAddr.getComponents();
      if ((c[0]?.name === "ip4" || c[0]?.name === "ip6") && c[1]?.name === "tcp")
        return { host: c[0].value!, port: Number(c[1].value) };
      why.push(`${a}: reached over ${conn.remoteAddr.toString()}, not plain TCP`);
    } finally {
      await conn.close().catch(() => {});
    }
  }
  throw new GatewayRefusal(502, `${peer} could not be reached as itself: ${why.join("; ").slice(0, 600)}`);
}

interface Forward {
  key: string;
  server: net.Server;
  port: number;
  target: ForwardTarget;
  sockets: Set<net.Socket>;
  lastUsed: number;
}

export interface ForwardsOptions {
  /** The gateway address the forwards listen on. */
  gateway: string;
  /** The address of lease `leaseId`'s running sidecar now (undefined: none runs). */
  sidecarIp: (leaseId: string) => string | undefined;
  firewall: () => HostFirewall | undefined;
  maxPerLease: number;
  connectionsPerForward: number;
  idleMs: number;
  /** Forwards open now changed (a gauge). */
  onCount: (open: number) => void;
  /** A connection from another address than the sidecar's was refused. */
  onRefused: () => void;
  log: Logger;
}

export class Forwards {
  readonly #o: ForwardsOptions;
  /** Lease id → forward key (`peer@host:port`) → forward, in order of use (least recent first). */
  readonly #byLease = new Map<string, Map<string, Forward>>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(o: ForwardsOptions) {
    this.#o = o;
    this.#sweeper = setInterval(() => void this.sweep(), Math.min(SWEEP_MS, Math.max(100, o.idleMs / 2)));
    this.#sweeper.unref();
  }

  /** Forwards open now (all leases, or lease `leaseId`'s). */
  count(leaseId?: string): number {
    if (leaseId !== undefined) return this.#byLease.get(leaseId)?.size ?? 0;
    let n = 0;
    for (const m of this.#byLease.values()) n += m.size;
    return n;
  }

  /** The ports of lease `leaseId`'s forwards (tests, /status). */
  ports(leaseId: string): number[] {
    return [...(this.#byLease.get(leaseId)?.values() ?? [])].map((f) => f.port);
  }

  /** The port of a forward of lease `leaseId` to `peer` at `target` (reused when open; opened otherwise). */
  async open(leaseId: string, peer: string, target: ForwardTarget): Promise<number> {
    const key = `${peer}@${target.host}:${target.port}`;
    let mine = this.#byLease.get(leaseId);
    if (!mine) this.#byLease.set(leaseId, (mine = new Map()));
    const existing = mine.get(key);
    if (existing) {
      existing.lastUsed = Date.now();
      mine.delete(key);
      mine.set(key, existing); // most recently used last
      return existing.port;
    }
    if (mine.size >= this.#o.maxPerLease) {
      const idle = [...mine.values()].find((f) => f.sockets.size === 0);
      if (!idle)
        throw new GatewayRefusal(
          429,
          `this lease holds ${mine.size} forwards, all in use (at most ${this.#o.maxPerLease}); close connections first`,
        );
      await this.#close(leaseId, idle);
    }
    const f = await this.#listen(leaseId, key, target);
    // The lease may have ended while the listener opened.
    if (this.#byLease.get(leaseId) !== mine) {
      await this.#close(leaseId, f);
      throw new GatewayRefusal(403, "the lease ended");
    }
    mine.set(key, f);
    this.#o.onCount(this.count());
    return f.port;
  }

  async #listen(leaseId: string, key: string, target: ForwardTarget): Promise<Forward> {
    const server = net.createServer({ allowHalfOpen: true });
    server.maxConnections = this.#o.connectionsPerForward;
    const f: Forward = { key, server, port: 0, target, sockets: new Set(), lastUsed: Date.now() };
    server.on("connection", (c) => this.#accept(leaseId, f, c));
    server.on("error", () => {}); // accept failures (EMFILE) lose one connection, not the yard
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: this.#o.gateway, port: 0 }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    f.port = (server.address() as net.AddressInfo).port;
    try {
      await this.#o.firewall()?.allow({ ip: this.#o.gateway, proto: "tcp", port: f.port });
    } catch (e) {
      server.close();
      throw e;
    }
    return f;
  }

  #accept(leaseId: string, f: Forward, c: net.Socket): void {
    c.on("error", () => {});
    const from = (c.remoteAddress ?? "").replace(/^::ffff:/, "");
    if (from !== this.#o.sidecarIp(leaseId)) {
      // Another container (or the host): the forward is the sidecar's alone.
      this.#o.onRefused();
      c.resetAndDestroy();
      return;
    }
    f.lastUsed = Date.now();
    f.sockets.add(c);
    const up = net.connect({ host: f.target.host, port: f.target.port, allowHalfOpen: true });
    up.on("error", () => {});
    f.sockets.add(up);
    const done = (): void => {
      f.lastUsed = Date.now();
      f.sockets.delete(c);
      f.sockets.delete(up);
    };
    const cut = (): void => {
      if (!c.destroyed) c.destroy();
      if (!up.destroyed) up.destroy();
    };
    c.once("close", () => (done(), cut()));
    up.once("close", () => (done(), cut()));
    // Idle connections go with the forward's idle time (libp2p pings keep a live one busy).
    c.setTimeout(this.#o.idleMs, cut);
    c.pipe(up);
    up.pipe(c);
  }

  /** Closes forwards idle (no connection) for `idleMs`. */
  async sweep(now = Date.now()): Promise<void> {
    for (const [leaseId, mine] of this.#byLease)
      for (const f of [...mine.values()])
        if (f.sockets.size === 0 && now - f.lastUsed >= this.#o.idleMs) await this.#close(leaseId, f);
  }

  async #close(leaseId: string, f: Forward): Promise<void> {
    const mine = this.#byLease.get(leaseId);
    if (mine?.get(f.key) === f) mine.delete(f.key);
    for (const s of f.sockets) s.destroy();
    f.sockets.clear();
    await new Promise<void>((resolve) => f.server.close(() => resolve()));
    await this.#o
      .firewall()
      ?.revoke({ ip: this.#o.gateway, proto: "tcp", port: f.port })
      .catch((e: unknown) =>
        this.#o.log.warn("could not take a forward's port back from the host firewall", { error: e }),
      );
    this.#o.onCount(this.count());
  }

  /** Lease `leaseId` ended: its forwards close, their connections are cut. */
  async closeLease(leaseId: string): Promise<void> {
    const mine = this.#byLease.get(leaseId);
    if (!mine) return;
    this.#byLease.delete(leaseId);
    for (const f of mine.values()) await this.#close(leaseId, f);
  }

  /** Every forward closes (the yard stops). */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const id of [...this.#byLease.keys()]) await this.closeLease(id);
  }
}
