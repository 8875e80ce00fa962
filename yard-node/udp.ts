/**
 * UDP services. The yard's ingress receives datagrams on its public host for each UDP port a lease exposes and
 * keeps one session per client address: datagrams go to the container's address (a connected UDP socket per
 * session, so replies find their way back) or — after a migration, through the redirection stub — to another
 * yard as datagrams over an encrypted tunnel stream: each framed as a 2-byte big-endian length and the payload.
 * On the receiving yard a datagram bridge turns such a stream back into datagrams to the container.
 *
 * Bounded (see {@link UdpIngressOptions}): sessions per client address and port, per port and in all; when a cap
 * is full the idlest session in its scope makes room for the new source. A session with no datagram either way
 * for `idleMs` (30 s) is closed. Datagrams are dropped, never queued without bound, when a tunnel stream lags.
 */
import dgram from "node:dgram";
import net from "node:net";
import type { Duplex } from "node:stream";
import { DatagramDeframer, frameDatagram } from "../protocol/index.ts";

/** Where a UDP client's datagrams go. */
export type UdpUpstream =
  { kind: "local"; host: string; port: number } | { kind: "remote"; connect(): Promise<Duplex> };

export interface UdpRoute {
  upstream(client: string): UdpUpstream | undefined;
  observe?(client: string): void;
}

const MAX_DATAGRAM = 65_507;

/** Bounds of a {@link UdpIngress}: how many sessions (each an upstream socket or tunnel stream) it keeps. */
export interface UdpIngressOptions {
  /** A session with no datagram either way for this long is closed (checked every min(idleMs, 5 s)). */
  idleMs?: number;
  /** Sessions of one client address (IPv6: one /64) on one port; over it, that client's idlest is recycled. */
  sessionsPerClient?: number;
  /** Sessions of one port; over it, the port's idlest session is closed for the new one. */
  sessionsPerPort?: number;
  /** Sessions of all ports; over it, the idlest session of the port that holds the most is closed. */
  sessions?: number;
}

/**
 * Defaults, each with its reason. When a cap is reached the new source is admitted and the idlest session in the
 * narrowest full scope (the client's own, then the port's, then the fullest port's) is closed: refusing new
 * sources instead would let ~1000 forged datagrams per idle period lock every new client out of a port, whereas
 * eviction never refuses a new client and takes an active session out only under a flood of cap ÷ its quiet gap.
 */
export const defaultUdpIngressOptions: Required<UdpIngressOptions> = {
  /** Conntrack's UDP timeout (30 s): long enough for a request/answer protocol; streams talk more often. */
  idleMs: 30_000,
  /** A NAT gateway's users talking at once to one service; a client that opens more recycles only its own. */
  sessionsPerClient: 64,
  /** One descriptor per session: a port cannot take more than an eighth of the yard's total. */
  sessionsPerPort: 1024,
  /** Descriptors for sessions in all, far below a daemon's usual limit (Node raises the soft limit to the hard). */
  sessions: 8192,
};

/** Bytes queued on a tunnel stream beyond which datagrams are dropped (UDP may drop; memory must not grow). */
const MAX_QUEUED_BYTES = 1 << 20;

interface Session {
  send(d: Buffer): void;
  close(): void;
  /** Time of the last datagram (either way). */
  last: number;
  /** When the session was last (re)placed at the back of its port's and its client's eviction order. */
  portQueued: number;
  clientQueued: number;
  /** Its key in the listener's map (address:port) and its client's key. */
  key: string;
  client: string;
}

interface Listener {
  socket: dgram.Socket;
  /** What new sessions follow: replaced when a renewal takes the socket over. */
  route: UdpRoute;
  /** In eviction order (CLOCK: a session active since it was queued gets a second chance at the back). */
  sessions: Map<string, Session>;
  /** Per client key, its sessions on this port in eviction order. */
  clients: Map<string, Map<string, Session>>;
  sweep?: NodeJS.Timeout;
  closed: boolean;
}

/** The key a client's sessions are counted under: its IPv4 address, or the /64 of an IPv6 one. */
export function clientKey(address: string): string {
  if (!address.includes(":")) return address;
  if (address.startsWith("::ffff:") && address.includes(".")) return address.slice(7);
  const halves = address.split("::");
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
  const groups =
    halves.length > 1 ? [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail] : head;
  return (
    groups
      .slice(0, 4)
      .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
      .join(":") + "::/64"
  );
}

/**
 * Picks the session to close in `order` (a map in eviction order) by CLOCK: the first one not active since it
 * was queued; active ones move to the back. Amortised O(1), and nothing is done per datagram but `last = now`.
 */
function pickIdlest(order: Map<string, Session>, stamp: "portQueued" | "clientQueued"): Session | undefined {
  const now = Date.now();
  for (let n = order.size; n > 0; n--) {
    const first = order.entries().next();
    if (first.done) return undefined;
    const [k, s] = first.value;
    if (s.last <= s[stamp]) return s;
    order.delete(k);
    s[stamp] = now;
    order.set(k, s);
  }
  // Every session was active within this millisecond: the front one is as idle as any.
  return order.values().next().value;
}

export class UdpIngress {
  readonly host: string;
  readonly idleMs: number;
  readonly options: Required<UdpIngressOptions>;
  readonly #listeners = new Map<string, Listener>();
  datagrams = 0;
  /** Datagrams dropped because a tunnel stream's queue was full. */
  dropped = 0;
  #sessions = 0;
  readonly #evicted = { client: 0, port: 0, total: 0 };

  constructor(host: string, options: UdpIngressOptions = {}) {
    this.host = host;
    this.options = { ...defaultUdpIngressOptions, ...options };
    this.idleMs = this.options.idleMs;
  }

  /** Sessions open now, on all ports. */
  get sessions(): number {
    return this.#sessions;
  }

  /** Sessions closed to make room for new sources, by the cap that was full (client, port or total). */
  stats(): { sessions: number; dropped: number; evicted: { client: number; port: number; total: number } } {
    return { sessions: this.#sessions, dropped: this.dropped, evicted: { ...this.#evicted } };
  }

  /** Binds a UDP socket for lease `leaseId`'s container port (on `preferred` when free); returns the port. */
  async open(leaseId: bigint, containerPort: number, route: UdpRoute, preferred = 0): Promise<number> {
    const key = `${leaseId}/${containerPort}`;
    const existing = this.#listeners.get(key);
    if (existing) {
      existing.route = route;
      return existing.socket.address().port;
    }
    const family = net.isIPv6(this.host) ? "udp6" : "udp4";
    const bind = (port: number): Promise<dgram.Socket> =>
      new Promise((resolve, reject) => {
        const s = dgram.createSocket(family);
        s.once("error", reject);
        s.bind(port, this.host, () => {
          s.off("error", reject);
          resolve(s);
        });
      });
    let socket: dgram.Socket;
    try {
      socket = await bind(preferred);
    } catch (e) {
      if (preferred === 0) throw e;
      socket = await bind(0);
    }
    socket.on("error", () => {});
    const l: Listener = { socket, route, sessions: new Map(), clients: new Map(), closed: false };
    const { sessions } = l;
    socket.on("message", (msg, rinfo) => {
      const k = `${rinfo.address}:${rinfo.port}`;
      let s = sessions.get(k);
      if (!s) {
        const up = l.route.upstream(rinfo.address);
        if (!up) return;
        const client = clientKey(rinfo.address);
        this.#makeRoom(l, client);
        let made: Session | undefined = undefined;
        const reply = (d: Buffer): void => {
          if (l.closed) return;
          if (made) made.last = Date.now();
          socket.send(d, rinfo.port, rinfo.address);
        };
        made = up.kind === "local" ? this.#local(up, reply) : this.#remote(up, reply, () => this.#remove(l, made!));
        made.key = k;
        made.client = client;
        this.#add(l, made);
        s = made;
      }
      s.last = Date.now();
      this.datagrams++;
      l.route.observe?.(rinfo.address);
      s.send(msg);
    });
    l.sweep = setInterval(
      () => {
        const cutoff = Date.now() - this.idleMs;
        for (const s of sessions.values()) if (s.last < cutoff) this.#remove(l, s);
      },
      Math.min(this.idleMs, 5000),
    );
    l.sweep.unref();
    this.#listeners.set(key, l);
    return socket.address().port;
  }

  /**
   * Lease `to` (a renewal) takes lease `from`'s socket for `containerPort` over, with its port and its sessions,
   * which carry on; new sessions follow `route`. False when `from` has no such socket.
   */
  move(from: bigint, to: bigint, containerPort: number, route: UdpRoute): boolean {
    const l = this.#listeners.get(`${from}/${containerPort}`);
    const key = `${to}/${containerPort}`;
    if (!l || this.#listeners.has(key)) return false;
    this.#listeners.delete(`${from}/${containerPort}`);
    l.route = route;
    this.#listeners.set(key, l);
    return true;
  }

  async close(leaseId: bigint): Promise<void> {
    for (const [k, l] of this.#listeners) if (k.startsWith(`${leaseId}/`)) this.#closeOne(k, l);
  }

  async closeAll(): Promise<void> {
    for (const [k, l] of this.#listeners) this.#closeOne(k, l);
  }

  #closeOne(key: string, l: Listener): void {
    this.#listeners.delete(key);
    clearInterval(l.sweep);
    for (const s of l.sessions.values()) this.#remove(l, s);
    l.closed = true;
    l.socket.close();
  }

  #add(l: Listener, s: Session): void {
    s.portQueued = s.clientQueued = s.last;
    l.sessions.set(s.key, s);
    let mine = l.clients.get(s.client);
    if (!mine) l.clients.set(s.client, (mine = new Map()));
    mine.set(s.key, s);
    this.#sessions++;
  }

  /** Closes `s` and forgets it (once: a stream that closes after the session was replaced leaves the new one). */
  #remove(l: Listener, s: Session): void {
    if (l.sessions.get(s.key) !== s) return;
    l.sessions.delete(s.key);
    const mine = l.clients.get(s.client);
    mine?.delete(s.key);
    if (mine?.size === 0) l.clients.delete(s.client);
    this.#sessions--;
    s.close();
  }

  /** Before a session of `client` is added to `l`: closes the idlest session of each cap that is full. */
  #makeRoom(l: Listener, client: string): void {
    const o = this.options;
    const mine = l.clients.get(client);
    if (mine && mine.size >= o.sessionsPerClient) {
      const s = pickIdlest(mine, "clientQueued");
      if (s) {
        this.#evicted.client++;
        this.#remove(l, s);
      }
    } else if (l.sessions.size >= o.sessionsPerPort) {
      const s = pickIdlest(l.sessions, "portQueued");
      if (s) {
        this.#evicted.port++;
        this.#remove(l, s);
      }
    }
    if (this.#sessions >= o.sessions) {
      let fullest: Listener | undefined;
      for (const x of this.#listeners.values()) if (!fullest || x.sessions.size > fullest.sessions.size) fullest = x;
      const s = fullest && pickIdlest(fullest.sessions, "portQueued");
      if (s) {
        this.#evicted.total++;
        this.#remove(fullest!, s);
      }
    }
  }

  #local(up: { host: string; port: number }, reply: (d: Buffer) => void): Session {
    const s = dgram.createSocket(net.isIPv6(up.host) ? "udp6" : "udp4");
    s.on("error", () => {});
    s.on("message", (d) => reply(d));
    const queue: Buffer[] = [];
    let connected = false;
    let closed = false;
    s.connect(up.port, up.host);
    s.once("connect", () => {
      if (closed) return;
      connected = true;
      for (const d of queue.splice(0)) s.send(d);
    });
    return {
      last: Date.now(),
      portQueued: 0,
      clientQueued: 0,
      key: "",
      client: "",
      send: (d) => {
        if (closed) return;
        if (connected) s.send(d);
        else if (queue.length < 64) queue.push(d);
      },
      close: () => {
        if (closed) return;
        closed = true;
        s.close();
      },
    };
  }

  #remote(up: { connect(): Promise<Duplex> }, reply: (d: Buffer) => void, gone: () => void): Session {
    const queue: Buffer[] = [];
    let stream: Duplex | undefined;
    let closed = false;
    const deframer = new DatagramDeframer();
    up.connect().then(
      (d) => {
        d.on("error", () => {});
        if (closed) {
          d.destroy();
          return;
        }
        stream = d;
        d.on("data", (chunk: Buffer) => deframer.push(chunk, reply));
        d.on("close", () => {
          closed = true;
          gone();
        });
        for (const q of queue.splice(0)) d.write(frameDatagram(q));
      },
      () => {
        closed = true;
        gone();
      },
    );
    return {
      last: Date.now(),
      portQueued: 0,
      clientQueued: 0,
      key: "",
      client: "",
      send: (d) => {
        if (closed || d.length > MAX_DATAGRAM) return;
        if (stream) {
          // A tunnel slower than the client: drop rather than buffer without bound.
          if (stream.writableLength > MAX_QUEUED_BYTES) this.dropped++;
          else stream.write(frameDatagram(d));
        } else if (queue.length < 64) queue.push(Buffer.from(d));
      },
      close: () => {
        closed = true;
        stream?.destroy();
      },
    };
  }
}

/**
 * The receiving end of UDP tunnels: a TCP listener on loopback per container UDP target; each connection (one
 * tunnel stream) becomes a connected UDP socket to the target, frames in, datagrams out and back.
 */
export class DatagramBridge {
  readonly #servers = new Map<string, net.Server>();

  /** A loopback TCP port that bridges framed datagrams to `host:port` (UDP). */
  async for(host: string, port: number): Promise<number> {
    const key = `${host}:${port}`;
    const existing = this.#servers.get(key);
    if (existing) return (existing.address() as net.AddressInfo).port;
    const server = net.createServer((conn) => {
      const s = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
      const deframer = new DatagramDeframer();
      const pending: Buffer[] = [];
      let ready = false;
      let closed = false;
      const done = (): void => {
        if (closed) return;
        closed = true;
        s.close();
        conn.destroy();
      };
      conn.on("error", done).on("close", done);
      s.on("error", done);
      s.connect(port, host);
      s.once("connect", () => {
        if (closed) return;
        ready = true;
        for (const d of pending.splice(0)) s.send(d);
      });
      s.on("message", (d) => {
        // A tunnel slower than the container: drop rather than buffer without bound (UDP may drop).
        if (closed || conn.writableLength > MAX_QUEUED_BYTES) return;
        conn.write(frameDatagram(d));
      });
      conn.on("data", (chunk: Buffer) =>
        deframer.push(chunk, (d) => {
          if (closed) return;
          if (ready) s.send(Buffer.from(d));
          else if (pending.length < 64) pending.push(Buffer.from(d));
        }),
      );
    });
    // Out of descriptors (EMFILE) or another accept failure: that connection is lost, the bridge stays.
    server.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#servers.set(key, server);
    return (server.address() as net.AddressInfo).port;
  }

  close(): void {
    for (const s of this.#servers.values()) s.close();
    this.#servers.clear();
  }
}
