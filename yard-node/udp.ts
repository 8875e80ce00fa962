/**
 * UDP services. The yard's ingress receives datagrams on its public host for each UDP port a lease exposes and
 * keeps one session per client address: datagrams go to the container's address (a connected UDP socket per
 * session, so replies find their way back) or — after a migration, through the redirection stub — to another
 * yard as datagrams over an encrypted tunnel stream: each framed as a 2-byte big-endian length and the payload.
 * On the receiving yard a datagram bridge turns such a stream back into datagrams to the container.
 * Sessions idle for `idleMs` (30 s) are closed.
 */
import dgram from "node:dgram";
import net from "node:net";
import type { Duplex } from "node:stream";

/** Where a UDP client's datagrams go. */
export type UdpUpstream =
  { kind: "local"; host: string; port: number } | { kind: "remote"; connect(): Promise<Duplex> };

export interface UdpRoute {
  upstream(client: string): UdpUpstream | undefined;
  observe?(client: string): void;
}

const MAX_DATAGRAM = 65_507;

/** Frames one datagram for a stream. */
export function frameDatagram(payload: Uint8Array): Buffer {
  if (payload.length > 0xffff) throw new RangeError("datagram larger than 65535 bytes");
  const b = Buffer.allocUnsafe(2 + payload.length);
  b.writeUInt16BE(payload.length, 0);
  b.set(payload, 2);
  return b;
}

/** Splits a byte stream back into datagrams. */
export class Deframer {
  #buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, on: (d: Buffer) => void): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 2) {
      const n = this.#buf.readUInt16BE(0);
      if (this.#buf.length < 2 + n) break;
      on(this.#buf.subarray(2, 2 + n));
      this.#buf = this.#buf.subarray(2 + n);
    }
  }
}

interface Session {
  send(d: Buffer): void;
  close(): void;
  last: number;
}

interface Listener {
  socket: dgram.Socket;
  sessions: Map<string, Session>;
  sweep: NodeJS.Timeout;
}

export class UdpIngress {
  readonly host: string;
  readonly idleMs: number;
  readonly #listeners = new Map<string, Listener>();
  datagrams = 0;

  constructor(host: string, idleMs = 30_000) {
    this.host = host;
    this.idleMs = idleMs;
  }

  /** Binds a UDP socket for lease `leaseId`'s container port (on `preferred` when free); returns the port. */
  async open(leaseId: bigint, containerPort: number, route: UdpRoute, preferred = 0): Promise<number> {
    const key = `${leaseId}/${containerPort}`;
    const existing = this.#listeners.get(key);
    if (existing) return existing.socket.address().port;
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
    const sessions = new Map<string, Session>();
    socket.on("error", () => {});
    socket.on("message", (msg, rinfo) => {
      const k = `${rinfo.address}:${rinfo.port}`;
      let s = sessions.get(k);
      if (!s) {
        const up = route.upstream(rinfo.address);
        if (!up) return;
        const reply = (d: Buffer): void => socket.send(d, rinfo.port, rinfo.address);
        s = up.kind === "local" ? this.#local(up, reply) : this.#remote(up, reply, () => sessions.delete(k));
        sessions.set(k, s);
      }
      s.last = Date.now();
      this.datagrams++;
      route.observe?.(rinfo.address);
      s.send(msg);
    });
    const sweep = setInterval(
      () => {
        const cutoff = Date.now() - this.idleMs;
        for (const [k, s] of sessions)
          if (s.last < cutoff) {
            s.close();
            sessions.delete(k);
          }
      },
      Math.min(this.idleMs, 5000),
    );
    sweep.unref();
    this.#listeners.set(key, { socket, sessions, sweep });
    return socket.address().port;
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
    for (const s of l.sessions.values()) s.close();
    l.socket.close();
  }

  #local(up: { host: string; port: number }, reply: (d: Buffer) => void): Session {
    const s = dgram.createSocket(net.isIPv6(up.host) ? "udp6" : "udp4");
    s.on("error", () => {});
    s.on("message", (d) => reply(d));
    s.connect(up.port, up.host);
    const queue: Buffer[] = [];
    let connected = false;
    s.once("connect", () => {
      connected = true;
      for (const d of queue.splice(0)) s.send(d);
    });
    return {
      last: Date.now(),
      send: (d) => (connected ? s.send(d) : queue.length < 64 && queue.push(d)),
      close: () => s.close(),
    };
  }

  #remote(up: { connect(): Promise<Duplex> }, reply: (d: Buffer) => void, gone: () => void): Session {
    const queue: Buffer[] = [];
    let stream: Duplex | undefined;
    let closed = false;
    const deframer = new Deframer();
    up.connect().then(
      (d) => {
        if (closed) {
          d.destroy();
          return;
        }
        stream = d;
        d.on("data", (chunk: Buffer) => deframer.push(chunk, reply));
        d.on("error", () => {});
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
      send: (d) => {
        if (d.length > MAX_DATAGRAM) return;
        if (stream) stream.write(frameDatagram(d));
        else if (queue.length < 64) queue.push(Buffer.from(d));
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
      const deframer = new Deframer();
      const pending: Buffer[] = [];
      let ready = false;
      s.on("error", () => conn.destroy());
      s.connect(port, host, () => {
        ready = true;
        for (const d of pending.splice(0)) s.send(d);
      });
      s.on("message", (d) => conn.write(frameDatagram(d)));
      conn.on("data", (chunk: Buffer) =>
        deframer.push(chunk, (d) =>
          ready ? s.send(Buffer.from(d)) : pending.length < 64 && pending.push(Buffer.from(d)),
        ),
      );
      const done = (): void => {
        try {
          s.close();
        } catch {
          /* already closed */
        }
        conn.destroy();
      };
      conn.on("error", done).on("close", done);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.#servers.set(key, server);
    return (server.address() as net.AddressInfo).port;
  }

  close(): void {
    for (const s of this.#servers.values()) s.close();
    this.#servers.clear();
  }
}
