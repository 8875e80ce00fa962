/**
 * The agent gateway's libp2p forwards (agent-gateway.ts answers `POST /dial` with them). Before a forward opens,
 * the yard itself dials the named peer at one of the named addresses with its own libp2p node (a new connection,
 * closed again once it has proven the peer): noise proves the peer id, so a forward only ever reaches a libp2p
 * node holding that id — never an arbitrary service of the host or its network. The forward is a TCP listener on
 * the gateway address, an ephemeral port, which splices every connection from the requesting sidecar's address
 * (and from no other) to the address that authenticated; the yard's own peer id forwards to its own listener.
 *
 * The yard dials only what a sidecar may make it dial ({@link undialable}: no loopback unless the yard says so, no
 * link-local, unspecified or multicast address), gives each address {@link AUTH_TIMEOUT_MS}, and answers one
 * sentence whatever failed ({@link UNREACHED}), so /dial tells nothing about the host's or the LAN's ports.
 *
 * Bounds: `maxPerLease` forwards per lease (the least recently used idle one closes to make room; all busy:
 * refused), `connectionsPerForward` connections each, a forward without connections for `idleMs` closes (swept every
 * 30 s). Concurrent openings of one target share one; the bound and the lease's state are checked again once a
 * listener is up. Each forward's port is let through the host firewall while it is open. Everything of a lease
 * closes at its sidecar's end (`closeLease`; an opening under way then fails), moves to its renewal when the
 * sidecar is carried over (`move`), and everything closes at the yard's stop (`closeAll`; nothing opens after).
 *
 * @example
 *   const target = await authenticatePeer(node, peer, addrs, signal);        // throws when it is not that peer
 *   const port = await forwards.open(leaseId, peer, target);
 */
import net from "node:net";
import type { Libp2p, PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "../protocol/log.ts";
import type { HostFirewall } from "./firewall.ts";
import { GatewayRefusal } from "./agent-gateway-rpc.ts";

/** Where a forward splices to. */
export interface ForwardTarget {
  host: string;
  port: number;
}

/** Time the yard gives one address of a /dial to prove the peer (a TCP connect and the noise handshake). */
export const AUTH_TIMEOUT_MS = 3_000;
const SWEEP_MS = 30_000;
/** The one answer of a /dial that reached no one: which address failed, and how, is not told (no port scanner). */
export const UNREACHED = "the peer could not be reached as itself at any of the given addresses";

/**
 * Why the yard does not dial `host` for a sidecar, or undefined when it may: never an unspecified, link-local or
 * multicast address (the cloud's metadata service, the LAN's neighbours by their link-local names), and loopback
 * only when `dialLoopback` (one-machine test beds where every yard listens on 127.0.0.1). Private ranges are
 * dialed: yards on one LAN reach each other there.
 */
export function undialable(host: string, dialLoopback: boolean): string | undefined {
  let ip = host.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) ip = mapped[1]!;
  if (net.isIPv4(ip)) {
    const [a, b] = ip.split(".").map(Number) as [number, number];
    if (a === 0) return "an unspecified address";
    if (a === 169 && b === 254) return "a link-local address";
    if (a >= 224) return "a multicast or reserved address";
    if (a === 127 && !dialLoopback) return "a loopback address";
    return undefined;
  }
  if (net.isIPv6(ip)) {
    if (ip === "::") return "an unspecified address";
    if (/^fe[89ab]/.test(ip)) return "a link-local address";
    if (ip.startsWith("ff")) return "a multicast address";
    if (ip === "::1" && !dialLoopback) return "a loopback address";
    return undefined;
  }
  return "not an IP address (names are not dialed: the forward needs the address that authenticated)";
}

/** The ip/tcp address of `a`, or undefined when it is another kind. */
function ipTcp(a: Multiaddr): ForwardTarget | undefined {
  const c = a.getComponents();
  if ((c[0]?.name === "ip4" || c[0]?.name === "ip6") && c[1]?.name === "tcp" && c.length <= 3)
    if (c.length === 2 || c[2]?.name === "p2p") return { host: c[0].value!, port: Number(c[1].value) };
  return undefined;
}

/**
 * What `node` listens on (its transports' listeners). libp2p's public API gives the announced addresses only, which
 * may be a public name, another port (NAT), ws or a relay: the node's components are read where the libp2p in use
 * has them, else the announced addresses serve.
 */
function listenAddrs(node: Libp2p): Multiaddr[] {
  const tm = (node as unknown as { components?: { transportManager?: { getAddrs?: () => Multiaddr[] } } }).components
    ?.transportManager;
  return tm?.getAddrs?.() ?? node.getMultiaddrs();
}

/** Per node, the proofs under way per peer id: how many, and whether the peer was known before the first. */
const proving = new WeakMap<Libp2p, Map<string, { n: number; known: Promise<boolean> }>>();

/** Per node, peer ids to drop from its peer store again when libp2p writes them there soon after (→ expiry time). */
const forgetting = new WeakMap<Libp2p, Map<string, number>>();
const FORGET_MS = 30_000;
const FORGET_MAX = 4096;

/**
 * Drops `id` from `node`'s peer store now and, after a failed proof (`failed`), when libp2p writes it there within
 * FORGET_MS: a dial given up on its signal returns at once, and libp2p records that dial's failure in the store
 * afterwards. A proven peer is not watched: the yard may meet it for its own reasons.
 */
async function forget(node: Libp2p, id: PeerId, failed: boolean): Promise<void> {
  let m = forgetting.get(node);
  if (!m) {
    const mine = (m = new Map());
    forgetting.set(node, mine);
    node.addEventListener("peer:update", (e) => {
      const peer = e.detail.peer.id;
      const until = mine.get(peer.toString());
      if (until === undefined) return;
      if (Date.now() > until || node.getConnections(peer).length > 0) mine.delete(peer.toString());
      else void node.peerStore.delete(peer).catch(() => {});
    });
  }
  const now = Date.now();
  for (const [k, until] of m) if (now > until) m.delete(k);
  if (failed && m.size < FORGET_MAX) m.set(id.toString(), now + FORGET_MS);
  await node.peerStore.delete(id).catch(() => {});
}

/**
 * Dials `peer` at `addrs` (in order, each with `/p2p/<peer>`) as the yard; the TCP address of the first connection
 * whose noise handshake proved `peer`. The yard's own peer id gives its own TCP listen address (not an announced
 * one). Throws GatewayRefusal: 400 for a peer id that does not decode or an address the yard does not dial
 * ({@link undialable}: nothing is dialed then), 502 with one sentence ({@link UNREACHED}) when no address reached
 * that peer. Each address has {@link AUTH_TIMEOUT_MS}. A peer the yard did not know before is dropped from its
 * peer store again (made-up peer ids do not pile up there).
 */
export async function authenticatePeer(
  node: Libp2p,
  peer: string,
  addrs: string[],
  signal: AbortSignal,
  dialLoopback = false,
): Promise<ForwardTarget> {
  let id;
  try {
    id = peerIdFromString(peer);
  } catch {
    throw new GatewayRefusal(400, `${peer} is not a libp2p peer id`);
  }
  if (id.equals(node.peerId)) {
    // Its own TCP listener (what it listens on; an announced address may be a public name, ws or a relay).
    for (const a of listenAddrs(node)) {
      const t = ipTcp(a);
      if (!t) continue;
      if (t.host === "0.0.0.0") return { host: "127.0.0.1", port: t.port };
      if (t.host === "::") return { host: "::1", port: t.port };
      return t;
    }
    throw new GatewayRefusal(502, "this yard has no TCP listener to forward to");
  }
  const targets = addrs.map((a) => multiaddr(a.includes("/p2p/") ? a : `${a}/p2p/${peer}`));
  for (const a of targets) {
    const t = ipTcp(a);
    const why = t ? undialable(t.host, dialLoopback) : "not an ip4/ip6 TCP address";
    if (why) throw new GatewayRefusal(400, `${a.toString().slice(0, 120)}: the yard does not dial ${why}`);
  }
  // Proofs of one peer under way at once share the word on whether the yard knew it before (a second proof would
  // find it in the store, put there by the first); the last one done drops it when it was not known.
  let under = proving.get(node);
  if (!under) proving.set(node, (under = new Map()));
  let p = under.get(peer);
  if (!p) under.set(peer, (p = { n: 0, known: node.peerStore.has(id).catch(() => true) }));
  p.n++;
  const proof = p;
  let proven = false;
  try {
    for (const a of targets) {
      let conn;
      try {
        conn = await node.dial(a, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(AUTH_TIMEOUT_MS)]),
          force: true,
        });
      } catch {
        continue;
      }
      try {
        if (!conn.remotePeer.equals(id)) continue;
        const t = ipTcp(conn.remoteAddr);
        if (t) {
          proven = true;
          return t;
        }
      } finally {
        await conn.close().catch(() => {});
      }
    }
  } finally {
    if (--proof.n === 0) {
      under.delete(peer);
      if (!(await proof.known) && node.getConnections(id).length === 0) await forget(node, id, !proven);
    }
  }
  throw new GatewayRefusal(502, UNREACHED);
}

interface Forward {
  key: string;
  /** The lease it serves (a renewal that carries the sidecar over takes it over). */
  lease: string;
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
  /** `lease key` → the opening under way of that forward: concurrent /dials of one target share it. */
  readonly #opening = new Map<string, Promise<number>>();
  /** Lease id → how often its forwards were closed or moved away: an opening begun before does not stay. */
  readonly #epoch = new Map<string, number>();
  #closed = false;
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

  /**
   * The port of a forward of lease `leaseId` to `peer` at `target` (reused when open; opened otherwise). Concurrent
   * calls for one target share one opening; the bound and the lease's state are checked again once the listener is
   * up (a listener that may not stay is closed before the refusal).
   */
  async open(leaseId: string, peer: string, target: ForwardTarget): Promise<number> {
    const key = `${peer}@${target.host}:${target.port}`;
    const existing = this.#byLease.get(leaseId)?.get(key);
    if (existing) return this.#touch(existing);
    const k = `${leaseId} ${key}`;
    let opening = this.#opening.get(k);
    if (!opening) {
      opening = this.#open(leaseId, key, target).finally(() => this.#opening.delete(k));
      this.#opening.set(k, opening);
    }
    return opening;
  }

  #touch(f: Forward): number {
    const mine = this.#byLease.get(f.lease);
    f.lastUsed = Date.now();
    mine?.delete(f.key);
    mine?.set(f.key, f); // most recently used last
    return f.port;
  }

  async #open(leaseId: string, key: string, target: ForwardTarget): Promise<number> {
    if (this.#closed) throw new GatewayRefusal(503, "the yard is stopping");
    const epoch = this.#epoch.get(leaseId) ?? 0;
    const f = await this.#listen(leaseId, key, target);
    // Everything may have changed while the listener opened: the lease ended or moved, the yard stops, the bound
    // filled up. Nothing awaits between these checks and the forward's entry.
    let refusal: GatewayRefusal | undefined;
    let evict: Forward | undefined;
    let mine = this.#byLease.get(leaseId);
    const there = mine?.get(key); // a renewal took over a forward to the same target meanwhile
    if (this.#closed) refusal = new GatewayRefusal(503, "the yard is stopping");
    else if ((this.#epoch.get(leaseId) ?? 0) !== epoch || this.#o.sidecarIp(leaseId) === undefined)
      refusal = new GatewayRefusal(403, "the lease's sidecar ended");
    else if (!there && mine && mine.size >= this.#o.maxPerLease) {
      evict = [...mine.values()].find((x) => x.sockets.size === 0);
      if (!evict)
        refusal = new GatewayRefusal(
          429,
          `this lease holds ${mine.size} forwards, all in use (at most ${this.#o.maxPerLease}); close connections first`,
        );
    }
    if (refusal || there) {
      await this.#shut(f);
      if (refusal) throw refusal;
      return this.#touch(there!);
    }
    if (!mine) this.#byLease.set(leaseId, (mine = new Map()));
    mine.set(key, f);
    const closing = evict ? this.#close(evict) : undefined;
    this.#o.onCount(this.count());
    await closing;
    return f.port;
  }

  async #listen(leaseId: string, key: string, target: ForwardTarget): Promise<Forward> {
    const server = net.createServer({ allowHalfOpen: true });
    server.maxConnections = this.#o.connectionsPerForward;
    const f: Forward = { key, lease: leaseId, server, port: 0, target, sockets: new Set(), lastUsed: Date.now() };
    server.on("connection", (c) => this.#accept(f, c));
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

  #accept(f: Forward, c: net.Socket): void {
    c.on("error", () => {});
    const from = (c.remoteAddress ?? "").replace(/^::ffff:/, "");
    if (from !== this.#o.sidecarIp(f.lease)) {
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
    for (const mine of this.#byLease.values())
      for (const f of [...mine.values()])
        if (f.sockets.size === 0 && now - f.lastUsed >= this.#o.idleMs) await this.#close(f);
  }

  /** Takes forward `f` out of its lease's map and shuts it. */
  async #close(f: Forward): Promise<void> {
    const mine = this.#byLease.get(f.lease);
    if (mine?.get(f.key) === f) mine.delete(f.key);
    if (mine?.size === 0) this.#byLease.delete(f.lease);
    await this.#shut(f);
    this.#o.onCount(this.count());
  }

  /** Cuts `f`'s connections, closes its listener and takes its port back from the host firewall. */
  async #shut(f: Forward): Promise<void> {
    for (const s of f.sockets) s.destroy();
    f.sockets.clear();
    await new Promise<void>((resolve) => f.server.close(() => resolve()));
    await this.#o
      .firewall()
      ?.revoke({ ip: this.#o.gateway, proto: "tcp", port: f.port })
      .catch((e: unknown) =>
        this.#o.log.warn("could not take a forward's port back from the host firewall", { error: e }),
      );
  }

  /** Lease `leaseId`'s sidecar ended: its forwards close, their connections are cut, openings under way fail. */
  async closeLease(leaseId: string): Promise<void> {
    this.#epoch.set(leaseId, (this.#epoch.get(leaseId) ?? 0) + 1);
    const mine = this.#byLease.get(leaseId);
    this.#byLease.delete(leaseId);
    for (const f of mine?.values() ?? []) await this.#shut(f);
    this.#o.onCount(this.count());
  }

  /**
   * Lease `from`'s sidecar goes on running for its renewal `to`: its forwards (and their connections) serve `to`
   * from now on; openings under way for `from` fail.
   */
  move(from: string, to: string): void {
    this.#epoch.set(from, (this.#epoch.get(from) ?? 0) + 1);
    const mine = this.#byLease.get(from);
    this.#byLease.delete(from);
    if (!mine) return;
    const theirs = this.#byLease.get(to) ?? new Map<string, Forward>();
    for (const f of mine.values()) {
      f.lease = to;
      theirs.set(f.key, f);
    }
    this.#byLease.set(to, theirs);
  }

  /** Every forward closes (the yard stops); no forward opens after. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const id of [...this.#byLease.keys()]) await this.closeLease(id);
  }
}
