/**
 * The yard's DNS responder for semantic names (see names.ts), on UDP and TCP. The yard runs it on its bridge's
 * gateway address, port 53, and creates containers with `dns: [gateway]`. On a user-defined Docker network the
 * container's resolver is Docker's embedded DNS (127.0.0.11), which forwards every name it does not know itself
 * (container names) to the servers of HostConfig.Dns — from the container's own network namespace, so the
 * responder sees the container's address as the source.
 *
 * Answers, per question (exactly one question per query):
 *  - a semantic name (with or without `.icon`), class IN, type A: the IPv4 address `resolve(name)` gives, TTL 5 s
 *    (authoritative); NXDOMAIN when `resolve` gives undefined; SERVFAIL when it throws or gives no IPv4;
 *  - a semantic name, any other type (AAAA, …): an empty NOERROR answer (the name has no such record);
 *  - a name under `.icon` that is not a valid semantic name: NXDOMAIN;
 *  - anything else: forwarded as it is to `upstream` (UDP) and the answer relayed (SERVFAIL when the upstream does
 *    not answer in time), or REFUSED without an upstream;
 *  - an opcode other than QUERY: NOTIMP; no question or several: FORMERR.
 * Garbage (undecodable packets, responses sent to it) is counted in `stats.garbage` and never answered, except a
 * FORMERR when the 12-byte header is readable and says "query". Nothing a client sends makes it throw.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIPv4, isIPv6, type Server, type Socket } from "node:net";
import { decode, encode, AUTHORITATIVE_ANSWER, RECURSION_AVAILABLE, type Answer, type Question } from "dns-packet";
import { ConfigError, IconError } from "../../protocol/errors.ts";
import { SEMANTIC_SUFFIX, tryParseName, type SemanticName } from "./names.ts";

export const SEMANTIC_TTL_S = 5;
const QR = 0x8000;
const RD = 0x0100;
const OPCODE_QUERY = 0;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;
const MAX_FORWARDS = 256;
const MAX_TCP_CONNECTIONS = 128;
const TCP_IDLE_MS = 10_000;
const UDP_RECV_BUFFER = 1 << 20;

export interface SemanticDnsOptions {
  /**
   * The IPv4 address of a semantic name (allocating it when needed), or undefined when the name is unknown.
   * `source` is the address the query came from (a container's, through Docker's embedded DNS).
   */
  resolve: (name: SemanticName, query: string, source: string | undefined) => Promise<string | undefined>;
  /** Where to forward other names: `ip` or `ip:port` (`[ipv6]:port`); without it they are REFUSED. */
  upstream?: string;
  /** How long to wait for the upstream, ms (default 2000). */
  upstreamTimeoutMs?: number;
}

/** Counters since start. */
export interface SemanticDnsStats {
  queries: number;
  answered: number;
  nxdomain: number;
  refused: number;
  forwarded: number;
  servfail: number;
  /** Packets that were not a DNS query (undecodable, responses, cut-off TCP frames). */
  garbage: number;
  /** Failures of `resolve`, of the upstream or of the sockets. */
  errors: number;
}

export class SemanticDns {
  readonly stats: SemanticDnsStats = {
    queries: 0,
    answered: 0,
    nxdomain: 0,
    refused: 0,
    forwarded: 0,
    servfail: 0,
    garbage: 0,
    errors: 0,
  };
  readonly #resolve: SemanticDnsOptions["resolve"];
  readonly #upstream: { address: string; port: number } | undefined;
  readonly #upstreamTimeoutMs: number;
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  readonly #connections = new Set<Socket>();
  #forwards = 0;

  constructor(o: SemanticDnsOptions) {
    if (typeof o.resolve !== "function") throw new ConfigError("BAD_DNS_OPTIONS", "SemanticDns needs resolve()");
    this.#resolve = o.resolve;
    this.#upstream = o.upstream === undefined ? undefined : parseUpstream(o.upstream);
    this.#upstreamTimeoutMs = o.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  }

  /**
   * Listens on `address:port` over UDP and (unless `tcp: false`) TCP on the same port; port 0 picks a free one.
   * Returns the address and port in use.
   */
  async listen(o: { address: string; port: number; tcp?: boolean }): Promise<{ address: string; port: number }> {
    if (this.#udp) throw new IconError("DNS_LISTENING", "the DNS responder is already listening");
    for (let attempt = 0; ; attempt++) {
      // A larger receive buffer than the default: a burst of queries waits instead of being dropped.
      const udp = createSocket({ type: isIPv6(o.address) ? "udp6" : "udp4", recvBufferSize: UDP_RECV_BUFFER });
      udp.on("message", (msg, rinfo) => this.#onUdp(udp, msg, rinfo));
      udp.on("error", () => this.stats.errors++);
      const port = await bindUdp(udp, o.address, o.port);
      if (o.tcp === false) {
        this.#udp = udp;
        return { address: o.address, port };
      }
      try {
        this.#tcp = await listenTcp((c) => this.#onTcp(c), o.address, port);
        this.#udp = udp;
        return { address: o.address, port };
      } catch (e) {
        udp.close();
        // A free UDP port picked by the system may be taken on TCP: try another one.
        if (o.port !== 0 || attempt >= 10 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") {
          throw new IconError("DNS_LISTEN_FAILED", `cannot listen on TCP ${o.address}:${port}: ${String(e)}`, {
            cause: e,
          });
        }
      }
    }
  }

  /** Stops listening and drops TCP connections. */
  async close(): Promise<void> {
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = undefined;
    this.#tcp = undefined;
    for (const c of this.#connections) c.destroy();
    this.#connections.clear();
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  /** The answer to one query message from `source` (undefined: send nothing). Never throws. */
  async answer(query: Buffer, source?: string): Promise<Buffer | undefined> {
    try {
      return await this.#answer(query, source);
    } catch {
      this.stats.errors++;
      return undefined;
    }
  }

  async #answer(query: Buffer, source: string | undefined): Promise<Buffer | undefined> {
    if (query.length < 12 || (query.readUInt16BE(2) & QR) !== 0) {
      this.stats.garbage++; // too short for a header, or a response: never answer (no loops)
      return undefined;
    }
    const flags = query.readUInt16BE(2);
    const opcode = (flags >> 11) & 0xf;
    const id = query.readUInt16BE(0);
    let packet: ReturnType<typeof decode>;
    try {
      packet = decode(query);
    } catch {
      this.stats.garbage++;
      return this.#error(id, flags, RCODE.FORMERR, []);
    }
    this.stats.queries++;
    if (opcode !== OPCODE_QUERY) return this.#error(id, flags, RCODE.NOTIMP, []);
    const questions = packet.questions ?? [];
    if (questions.length !== 1) return this.#error(id, flags, RCODE.FORMERR, []);
    const q = questions[0];
    const text = q.name.replace(/[A-Z]+/g, (m) => m.toLowerCase()).replace(/\.$/, "");
    const name = tryParseName(text);
    if (!name) {
      if (text === SEMANTIC_SUFFIX || text.endsWith(`.${SEMANTIC_SUFFIX}`)) {
        return this.#error(id, flags, RCODE.NXDOMAIN, questions);
      }
      if (this.#upstream) return this.#forward(query, id, flags, questions);
      return this.#error(id, flags, RCODE.REFUSED, questions);
    }
    if ((q.class ?? "IN") !== "IN") return this.#error(id, flags, RCODE.REFUSED, questions);
    if (q.type !== "A") return this.#reply(id, flags, RCODE.NOERROR, questions, []);
    let ip: string | undefined;
    try {
      ip = await this.#resolve(name, text, source);
    } catch {
      this.stats.errors++;
      return this.#error(id, flags, RCODE.SERVFAIL, questions);
    }
    if (ip === undefined) return this.#error(id, flags, RCODE.NXDOMAIN, questions);
    if (typeof ip !== "string" || !isIPv4(ip)) {
      this.stats.errors++;
      return this.#error(id, flags, RCODE.SERVFAIL, questions);
    }
    return this.#reply(id, flags, RCODE.NOERROR, questions, [
      { type: "A", class: "IN", name: q.name, ttl: SEMANTIC_TTL_S, data: ip },
    ]);
  }

  #reply(id: number, queryFlags: number, rcode: number, questions: Question[], answers: Answer[]): Buffer {
    if (rcode === RCODE.NOERROR) this.stats.answered++;
    const flags =
      (queryFlags & 0x7800) | // opcode
      (queryFlags & RD) |
      (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN ? AUTHORITATIVE_ANSWER : 0) |
      (this.#upstream ? RECURSION_AVAILABLE : 0) |
      rcode;
    return encode({ id, type: "response", flags, questions, answers });
  }

  #error(id: number, queryFlags: number, rcode: number, questions: Question[]): Buffer {
    if (rcode === RCODE.NXDOMAIN) this.stats.nxdomain++;
    else if (rcode === RCODE.REFUSED) this.stats.refused++;
    else if (rcode === RCODE.SERVFAIL) this.stats.servfail++;
    return this.#reply(id, queryFlags, rcode, questions, []);
  }

  /** Sends the query as it is to the upstream and returns its answer; SERVFAIL when none comes in time. */
  async #forward(query: Buffer, id: number, flags: number, questions: Question[]): Promise<Buffer> {
    const upstream = this.#upstream!;
    if (this.#forwards >= MAX_FORWARDS) return this.#error(id, flags, RCODE.SERVFAIL, questions);
    this.#forwards++;
    const socket = createSocket(isIPv6(upstream.address) ? "udp6" : "udp4");
    try {
      const answer = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), this.#upstreamTimeoutMs);
        socket.on("error", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
        socket.on("message", (msg, rinfo) => {
          // Only the upstream's answer to this query (same id, a response).
          if (rinfo.port !== upstream.port || msg.length < 12 || msg.readUInt16BE(0) !== id) return;
          if ((msg.readUInt16BE(2) & QR) === 0) return;
          clearTimeout(timer);
          resolve(msg);
        });
        socket.send(query, upstream.port, upstream.address, (e) => {
          if (e) {
            clearTimeout(timer);
            resolve(undefined);
          }
        });
      });
      if (!answer) {
        this.stats.errors++;
        return this.#error(id, flags, RCODE.SERVFAIL, questions);
      }
      this.stats.forwarded++;
      return answer;
    } finally {
      this.#forwards--;
      socket.close();
    }
  }

  #onUdp(udp: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    void this.answer(msg, rinfo.address).then((reply) => {
      if (!reply || this.#udp !== udp) return;
      udp.send(reply, rinfo.port, rinfo.address, (e) => {
        if (e) this.stats.errors++;
      });
    });
  }

  /** DNS over TCP: each message is preceded by its length (2 bytes, big-endian); several per connection. */
  #onTcp(c: Socket): void {
    if (this.#connections.size >= MAX_TCP_CONNECTIONS) {
      c.destroy();
      return;
    }
    this.#connections.add(c);
    let pending = Buffer.alloc(0);
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    c.on("error", () => this.stats.errors++);
    c.on("close", () => this.#connections.delete(c));
    c.on("end", () => {
      if (pending.length > 0) this.stats.garbage++; // a cut-off message
      c.end();
    });
    c.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const size = pending.readUInt16BE(0);
        if (pending.length < 2 + size) break;
        const msg = pending.subarray(2, 2 + size);
        pending = pending.subarray(2 + size);
        void this.answer(Buffer.from(msg), c.remoteAddress).then((reply) => {
          if (!reply) {
            c.destroy(); // garbage: a TCP peer gets no second chance
            return;
          }
          if (c.destroyed || !c.writable) return;
          const header = Buffer.alloc(2);
          header.writeUInt16BE(reply.length);
          c.write(Buffer.concat([header, reply]));
        });
      }
    });
  }
}

/** `ip`, `ip:port` or `[ipv6]:port` (port 53 by default); throws ConfigError BAD_DNS_UPSTREAM. */
export function parseUpstream(s: string): { address: string; port: number } {
  const bad = () =>
    new ConfigError(
      "BAD_DNS_UPSTREAM",
      `DNS upstream ${JSON.stringify(s)} must be an IP address, ip:port or [ipv6]:port`,
      { details: { upstream: s } },
    );
  if (typeof s !== "string") throw bad();
  let address = s;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const v4 = /^([^:]+):(\d+)$/.exec(s);
  if (v6) {
    address = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (v4) {
    address = v4[1];
    port = Number(v4[2]);
  }
  if (!(isIPv4(address) || isIPv6(address)) || !Number.isInteger(port) || port < 1 || port > 65535) throw bad();
  return { address, port };
}

function bindUdp(udp: UdpSocket, address: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const fail = (e: Error) => {
      udp.close();
      reject(
        new IconError("DNS_LISTEN_FAILED", `cannot listen on UDP ${address}:${port}: ${e.message}`, {
          details: { address, port },
          cause: e,
        }),
      );
    };
    udp.once("error", fail);
    udp.bind(port, address, () => {
      udp.removeListener("error", fail);
      resolve(udp.address().port);
    });
  });
}

function listenTcp(onConnection: (c: Socket) => void, address: string, port: number): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const server = createServer(onConnection);
    server.once("error", reject);
    server.listen(port, address, () => {
      server.removeListener("error", reject);
      server.on("error", () => undefined);
      resolve(server);
    });
  });
}
