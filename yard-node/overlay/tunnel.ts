/**
 * Yard-to-yard tunnels of the overlay proxy: one libp2p stream (`/icon/tunnel/1.0.0`) per proxied TCP
 * connection, multiplexed (yamux) over the one noise-encrypted, peer-authenticated connection per yard pair.
 *
 * Wire format of one tunnel stream:
 *
 *   opener → acceptor   one frame: varint length + JSON (≤ 4 KiB)
 *                       { v: 1, service?, instanceId: "<decimal>", port, client: "<ip>", from?: "<service key>",
 *                         fromInstance?: "<decimal>" }
 *                       (without `service` the header addresses the instance by its lease id alone — a
 *                       redirection stub of a lease that names no service; `from` then is refused; `from` and
 *                       `fromInstance`, the source container's lease, come together or not at all)
 *   acceptor → opener   one frame: { ok: true } or { ok: false, error: "<sentence>" }
 *   both ways           raw bytes until each side closes its write side (half-close = stream close(), i.e. a
 *                       yamux FIN); an error on either side aborts the stream (yamux RST) and both TCP ends.
 *
 * The acceptor validates the header strictly (unknown fields, bad types, non-canonical names are refused with a
 * sentence), asks `resolve` for the local target, connects a TCP socket and only then answers `ok`.
 *
 * Backpressure is end to end: a libp2p `send()` that returns false holds the Node writable until `drain`; a Node
 * readable that is full pauses the libp2p stream, which withholds yamux window updates, so the remote yard stops
 * sending. Per tunnel at most one yamux window (≤ 16 MiB by default) plus the Node stream buffers are held.
 *
 * Connections: the manager keeps at most `maxPeers` yard connections (least recently used idle connection closed
 * first) and closes connections that stayed idle for `idleMs`. "Idle" means the connection carries no stream at
 * all, so a tunnel sweep never cuts a lease negotiation or DHT query that shares the connection.
 *
 * @example
 *   const tunnels = new TunnelManager(node, { resolve: async (h) => ({ host: "127.0.0.1", port: 8080 }) });
 *   await tunnels.start();
 *   net.createServer({ allowHalfOpen: true }, (s) => void tunnels.splice(s, yard, addrs, header).catch(log));
 */
import net from "node:net";
import { Duplex } from "node:stream";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { CODE_P2P, type Multiaddr } from "@multiformats/multiaddr";
import { Uint8ArrayList } from "uint8arraylist";
import { IconError } from "../../protocol/errors.ts";
import { parseServiceKey } from "./names.ts";
import { serviceKey } from "./types.ts";

/** The libp2p protocol id of tunnels. */
export const TUNNEL_PROTOCOL = "/icon/tunnel/1.0.0";

/** Limits of the tunnel protocol. */
export const tunnelLimits = {
  /** Largest header or answer frame (JSON bytes, without the length prefix). */
  maxFrameBytes: 4096,
  /** Longest error sentence an acceptor sends (longer ones are clipped). */
  maxErrorBytes: 1024,
  /** Tunnel streams per yard connection and direction (libp2p's default of 32/64 is far too few). */
  maxStreamsPerConnection: 1024,
} as const;

/** What the opener asks for: one instance's port, plus who is asking (for flow observation and namespaces). */
export interface TunnelHeader {
  /**
   * `app.appns.service.servicens` (canonical: lower case); absent when the instance is addressed by its lease id
   * alone (a redirection stub of a lease that names no service).
   */
  service?: string;
  /** The instance (lease id). */
  instanceId: bigint;
  /** The container port of the instance. */
  port: number;
  /** The original client's IP address. */
  client: string;
  /** The source service key, when the client is an ICON container (namespace rules). */
  from?: string;
  /**
   * The source container's lease (with `from`, always): the acceptor checks on chain that it is a lease of `from`'s
   * application hosted by the opener yard, so an opener names only sources it runs.
   */
  fromInstance?: bigint;
  /** "udp": the stream carries datagrams, each framed as a 2-byte big-endian length and the payload. */
  transport?: "udp";
}

/** The acceptor's local target for a header, or a sentence refusing it. */
export type TunnelTarget = { host: string; port: number } | { error: string };

/** Optional log sink (the yard's structured logger fits). */
export interface TunnelLog {
  debug(m: string, f?: object): void;
  warn(m: string, f?: object): void;
}

/** Options of {@link TunnelManager}. */
export interface TunnelManagerOptions {
  /**
   * Maps an inbound header to a local TCP target, or refuses it with a sentence the opener gets verbatim. `remote`
   * is the opener (authenticated by noise), `remoteAddr` the address its connection comes from.
   */
  resolve: (h: TunnelHeader, remote: PeerId, remoteAddr: Multiaddr) => Promise<TunnelTarget>;
  /** Yard connections kept open by this manager (default 64). */
  maxPeers?: number;
  /** Close a yard connection that carried no stream for this long (default 60 000 ms). */
  idleMs?: number;
  log?: TunnelLog;
  /** Each step's deadline: dial, header read, resolve + target connect (default 10 000 ms; the opener waits
   * twice this long for the answer). */
  timeoutMs?: number;
}

/** Counters of {@link TunnelManager.stats}. */
export interface TunnelStats {
  /** Yard connections this manager keeps (opened or reused for outbound tunnels). */
  peers: number;
  /** Tunnel streams open now (both directions). */
  streams: number;
  /** Tunnels established since construction (both directions). */
  opened: number;
  /** Payload bytes received from tunnels. */
  bytesIn: number;
  /** Payload bytes sent into tunnels. */
  bytesOut: number;
}

/** A tunnel failed: refused by the remote yard (its sentence), unreachable yard, malformed answer, timeout. */
export class TunnelError extends IconError {
  override name = "TunnelError" as const;
}

// ---------------------------------------------------------------------------------------------------------------
// Frames: unsigned varint length + UTF-8 JSON.

const INSTANCE_ID = /^(?:0|[1-9][0-9]{0,77})$/;
const HEADER_KEYS = new Set(["v", "service", "instanceId", "port", "client", "from", "fromInstance", "transport"]);

function encodeFrame(value: object): Uint8Array {
  const body = Buffer.from(JSON.stringify(value));
  if (body.byteLength > tunnelLimits.maxFrameBytes) {
    throw new TunnelError("TUNNEL_BAD_HEADER", `a tunnel frame is ${body.byteLength} bytes, more than 4 KiB`);
  }
  const prefix: number[] = [];
  let n = body.byteLength;
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  prefix.push(n);
  return Buffer.concat([Buffer.from(prefix), body]);
}

/** Checks `h` and returns its wire form; throws TUNNEL_BAD_HEADER naming the bad field. */
export function encodeHeader(h: TunnelHeader): Uint8Array {
  const wire: Record<string, unknown> = {
    v: 1,
    instanceId: typeof h.instanceId === "bigint" ? h.instanceId.toString() : h.instanceId,
    port: h.port,
    client: h.client,
  };
  if (h.service !== undefined) wire.service = h.service;
  if (h.from !== undefined) wire.from = h.from;
  if (h.fromInstance !== undefined)
    wire.fromInstance = typeof h.fromInstance === "bigint" ? h.fromInstance.toString() : h.fromInstance;
  if (h.transport !== undefined) wire.transport = h.transport;
  const problem = checkHeader(wire);
  if (problem) throw new TunnelError("TUNNEL_BAD_HEADER", `cannot open a tunnel: ${problem}`);
  return encodeFrame(wire);
}

/** Parses and validates a header frame's JSON bytes; throws TUNNEL_BAD_HEADER with a sentence. */
export function decodeHeader(body: Uint8Array): TunnelHeader {
  let wire: unknown;
  try {
    wire = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw new TunnelError("TUNNEL_BAD_HEADER", "the tunnel header is not JSON");
  }
  const problem = checkHeader(wire);
  if (problem) throw new TunnelError("TUNNEL_BAD_HEADER", problem);
  const w = wire as { service?: string; instanceId: string; port: number; client: string; from?: string };
  const h: TunnelHeader = { instanceId: BigInt(w.instanceId), port: w.port, client: w.client };
  if (w.service !== undefined) h.service = w.service;
  if (w.from !== undefined) h.from = w.from;
  const fromInstance = (wire as { fromInstance?: string }).fromInstance;
  if (fromInstance !== undefined) h.fromInstance = BigInt(fromInstance);
  if ((wire as { transport?: string }).transport === "udp") h.transport = "udp";
  return h;
}

/** A sentence naming what is wrong with a wire header, or undefined when it is valid. */
function checkHeader(wire: unknown): string | undefined {
  if (typeof wire !== "object" || wire === null || Array.isArray(wire)) return "the tunnel header is not an object";
  const w = wire as Record<string, unknown>;
  for (const k of Object.keys(w)) {
    if (!HEADER_KEYS.has(k)) return `the tunnel header has an unknown field ${JSON.stringify(k.slice(0, 64))}`;
  }
  if (w.v !== 1) return "the tunnel header's version is not 1";
  const keyProblem = (field: string, v: unknown): string | undefined => {
    if (typeof v !== "string") return `the tunnel header's ${field} is not a string`;
    try {
      if (serviceKey(parseServiceKey(v)) === v) return undefined;
    } catch {
      // fall through
    }
    return `the tunnel header's ${field} is not a service key app.appns.service.servicens (lower case DNS labels)`;
  };
  const s = w.service === undefined ? undefined : keyProblem("service", w.service);
  if (s) return s;
  if (typeof w.instanceId !== "string" || !INSTANCE_ID.test(w.instanceId)) {
    return "the tunnel header's instanceId is not a decimal lease id";
  }
  if (typeof w.port !== "number" || !Number.isInteger(w.port) || w.port < 1 || w.port > 65535) {
    return "the tunnel header's port is not an integer from 1 to 65535";
  }
  if (typeof w.client !== "string" || net.isIP(w.client) === 0)
    return "the tunnel header's client is not an IP address";
  if (w.transport !== undefined && w.transport !== "udp") return 'the tunnel header\'s transport is not "udp"';
  if ((w.from === undefined) !== (w.fromInstance === undefined))
    return "the tunnel header must name the source service (from) and its lease (fromInstance) together";
  if (w.from !== undefined) {
    // Namespace rules are a service's: a source service means nothing to an instance addressed by lease id.
    if (w.service === undefined) return "the tunnel header names a source service (from) but no target service";
    if (typeof w.fromInstance !== "string" || !INSTANCE_ID.test(w.fromInstance))
      return "the tunnel header's fromInstance is not a decimal lease id";
    return keyProblem("from", w.from);
  }
  return undefined;
}

/** "instance 7 of app.appns.service.servicens", or "instance 7" when the header names no service. */
function targetOf(h: TunnelHeader): string {
  return h.service === undefined ? `instance ${h.instanceId}` : `instance ${h.instanceId} of ${h.service}`;
}

type Answer = { ok: true } | { ok: false; error: string };

function decodeAnswer(body: Uint8Array): Answer {
  let a: unknown;
  try {
    a = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw new TunnelError("TUNNEL_PROTOCOL", "the remote yard's tunnel answer is not JSON");
  }
  if (typeof a === "object" && a !== null && !Array.isArray(a)) {
    const keys = Object.keys(a).sort().join(",");
    const r = a as Record<string, unknown>;
    if (keys === "ok" && r.ok === true) return { ok: true };
    if (keys === "error,ok" && r.ok === false && typeof r.error === "string" && r.error.length > 0) {
      return { ok: false, error: clip(r.error) };
    }
  }
  throw new TunnelError("TUNNEL_PROTOCOL", "the remote yard's tunnel answer is neither {ok:true} nor {ok:false,error}");
}

/** Clips a sentence to `maxErrorBytes` on a character boundary. */
function clip(s: string): string {
  let out = s;
  while (Buffer.byteLength(out) > tunnelLimits.maxErrorBytes) out = out.slice(0, -1);
  return out.isWellFormed() ? out : out.slice(0, -1);
}

/** Decodes the varint at the start of `buf`: [value, prefix length], or undefined when incomplete. */
function readVarint(buf: Uint8ArrayList): [number, number] | undefined {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    if (i >= buf.byteLength) return undefined;
    const b = buf.get(i);
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return [Number.MAX_SAFE_INTEGER, 3]; // longer than any allowed frame
}

// ---------------------------------------------------------------------------------------------------------------
// A libp2p stream as a Node Duplex.

/** Upper bound of the data a paused yamux stream can still receive: the window granted before the pause. */
const DEFAULT_MAX_STREAM_WINDOW = 16 * 1024 * 1024;

interface Counters {
  bytesIn: number;
  bytesOut: number;
}

/**
 * One tunnel as a Node Duplex (what {@link TunnelManager.open} returns). The first frame the remote sends is
 * delivered by {@link readFrame}; the bytes after it are the Duplex's readable side.
 */
export class TunnelStream extends Duplex {
  readonly stream: Stream;
  readonly remotePeer: PeerId;
  readonly #counters: Counters;
  #framing = true;
  readonly #pending = new Uint8ArrayList();
  readonly #frame = Promise.withResolvers<Uint8Array>();
  #paused = false;
  #readEnded = false;

  constructor(stream: Stream, remotePeer: PeerId, counters: Counters) {
    super({ allowHalfOpen: true });
    this.stream = stream;
    this.remotePeer = remotePeer;
    this.#counters = counters;
    this.#frame.promise.catch(() => {});
    // While paused the remote may still send what its yamux window allows; the read buffer must hold that much
    // rather than reset the stream (libp2p's default is 4 MiB, yamux's largest window 16 MiB).
    const window = (stream as { maxStreamWindowSize?: number }).maxStreamWindowSize ?? DEFAULT_MAX_STREAM_WINDOW;
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, window + 256 * 1024);
    stream.addEventListener("message", this.#onMessage);
    stream.addEventListener("end", this.#checkEnd);
    stream.addEventListener("remoteCloseWrite", this.#checkEnd);
    stream.addEventListener("close", this.#onClose);
    // The remote may have closed before we listened (buffered data is dispatched in a microtask first).
    queueMicrotask(() => {
      const status = this.stream.status;
      if (status === "aborted" || status === "reset") {
        this.#onClose({ error: new TunnelError("TUNNEL_CLOSED", `the tunnel to yard ${remotePeer} was reset`) });
      } else if (status === "closed") this.#onClose({});
      else this.#checkEnd();
    });
  }

  /** The first frame from the remote (header or answer), or a TunnelError when it is malformed, late or absent. */
  async readFrame(signal: AbortSignal): Promise<Uint8Array> {
    if (signal.aborted) throw this.#timeout();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(this.#timeout());
      signal.addEventListener("abort", onAbort, { once: true });
      this.#frame.promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  #timeout(): TunnelError {
    return new TunnelError("TUNNEL_TIMEOUT", `yard ${this.remotePeer} did not complete the tunnel handshake in time`);
  }

  /** Sends one frame (header or answer). */
  sendFrame(frame: Uint8Array): void {
    this.stream.send(frame);
  }

  readonly #onMessage = (evt: { data: Uint8Array | Uint8ArrayList }): void => {
    if (this.#framing) this.#readFrameBytes(evt.data);
    else this.#deliver(evt.data);
    // The read buffer was handed over whole: if the remote has closed, nothing more will come.
    this.#checkEnd();
  };

  #readFrameBytes(data: Uint8Array | Uint8ArrayList): void {
    this.#pending.append(data);
    const v = readVarint(this.#pending);
    if (v === undefined) return;
    const [length, prefix] = v;
    if (length > tunnelLimits.maxFrameBytes) {
      this.#framing = false;
      this.#frame.reject(new TunnelError("TUNNEL_BAD_HEADER", "the tunnel frame is larger than 4 KiB"));
      return;
    }
    if (this.#pending.byteLength < prefix + length) return;
    this.#framing = false;
    const frame = this.#pending.subarray(prefix, prefix + length);
    const rest = this.#pending.sublist(prefix + length);
    this.#pending.consume(this.#pending.byteLength);
    this.#frame.resolve(frame);
    if (rest.byteLength > 0) this.#deliver(rest);
  }

  #deliver(data: Uint8Array | Uint8ArrayList): void {
    if (this.#readEnded || this.destroyed) return;
    this.#counters.bytesIn += data.byteLength;
    let more = true;
    const chunks = data instanceof Uint8Array ? [data] : data;
    for (const c of chunks) more = this.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    if (!more && this.stream.readStatus === "readable") {
      this.#paused = true;
      this.stream.pause();
    }
  }

  readonly #checkEnd = (): void => {
    const s = this.stream;
    if (this.#readEnded || s.status === "aborted" || s.status === "reset") return;
    if (s.remoteWriteStatus !== "closed" || s.readBufferLength > 0) return;
    this.#readEnded = true;
    if (this.#framing) {
      this.#framing = false;
      this.#frame.reject(
        new TunnelError("TUNNEL_PROTOCOL", `yard ${this.remotePeer} closed the tunnel before answering`),
      );
    }
    this.push(null);
  };

  readonly #onClose = (evt: { error?: Error }): void => {
    if (evt.error) {
      this.#frame.reject(
        new TunnelError("TUNNEL_CLOSED", `the tunnel to yard ${this.remotePeer} was reset: ${evt.error.message}`, {
          cause: evt.error,
        }),
      );
      this.destroy(evt.error);
      return;
    }
    this.#checkEnd();
    // The transport went away while we still had bytes to write: that is a failure, not an end.
    if (!this.writableEnded && !this.destroyed) {
      this.destroy(new TunnelError("TUNNEL_CLOSED", `the connection to yard ${this.remotePeer} closed`));
    }
  };

  override _read(): void {
    if (this.#paused) {
      this.#paused = false;
      if (this.stream.readStatus === "paused") this.stream.resume();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.#send([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.#send(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  #send(chunks: Buffer[], cb: (e?: Error | null) => void): void {
    let more = true;
    try {
      for (const c of chunks) {
        more = this.stream.send(c);
        this.#counters.bytesOut += c.byteLength;
      }
    } catch (e) {
      cb(e as Error);
      return;
    }
    if (more) {
      cb();
      return;
    }
    // Not stream.onDrain(): in @libp2p/utils 7.4 its promise stays resolved after the first drain.
    const s = this.stream;
    const done = (e?: Error): void => {
      s.removeEventListener("drain", onDrain);
      s.removeEventListener("close", onClose);
      cb(e);
    };
    const onDrain = (): void => done();
    const onClose = (evt: { error?: Error }): void =>
      done(evt.error ?? new TunnelError("TUNNEL_CLOSED", `the tunnel to yard ${this.remotePeer} closed`));
    s.addEventListener("drain", onDrain);
    s.addEventListener("close", onClose);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.stream.close().then(
      () => cb(),
      (e: Error) => cb(e),
    );
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const s = this.stream;
    s.removeEventListener("message", this.#onMessage);
    s.removeEventListener("end", this.#checkEnd);
    s.removeEventListener("remoteCloseWrite", this.#checkEnd);
    s.removeEventListener("close", this.#onClose);
    this.#frame.reject(err ?? new TunnelError("TUNNEL_CLOSED", "the tunnel was closed"));
    if (s.status === "open" || s.status === "closing") {
      s.abort(err ?? new TunnelError("TUNNEL_CLOSED", "the tunnel was closed before both directions ended"));
    }
    cb(err);
  }
}

// ---------------------------------------------------------------------------------------------------------------

interface PeerEntry {
  peer: PeerId;
  /** performance.now() of the last tunnel opened or closed over this peer's connection. */
  lastUsed: number;
}

/** Resolves when `p` does, rejects with TUNNEL_TIMEOUT when `signal` aborts first. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new TunnelError("TUNNEL_TIMEOUT", `${what} timed out`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new TunnelError("TUNNEL_TIMEOUT", `${what} timed out`));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Connects a TCP socket (half-open allowed, no Nagle) or rejects with the socket error / a timeout. */
function connectTcp(host: string, port: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true, noDelay: true, keepAlive: true });
    const cleanup = (): void => {
      s.off("connect", onConnect);
      s.off("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(s);
    };
    const onError = (e: Error): void => {
      cleanup();
      s.destroy();
      reject(e);
    };
    const onAbort = (): void => onError(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
    s.once("connect", onConnect);
    s.once("error", onError);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Pipes `socket` ⇄ `tunnel` with half-close in both directions; an error on either side destroys both (the
 * socket with a TCP RST). Resolves when both are closed.
 */
function pump(socket: net.Socket, tunnel: Duplex, log: TunnelLog | undefined): Promise<void> {
  return new Promise((resolve) => {
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      log?.debug("tunnel torn down", { error: e.message });
      tunnel.destroy(e);
      if (!socket.destroyed) {
        if (typeof socket.resetAndDestroy === "function" && socket.readyState !== "closed") socket.resetAndDestroy();
        else socket.destroy();
      }
    };
    socket.on("error", fail);
    tunnel.on("error", fail);
    let closed = 0;
    // One side closed without an error before both its directions ended (destroyed by its owner): tear down.
    const onClose = (side: Duplex, what: string) => (): void => {
      if (!side.readableEnded || !side.writableFinished) {
        fail(new TunnelError("TUNNEL_CLOSED", `the ${what} closed before both directions ended`));
      }
      if (++closed === 2) resolve();
    };
    socket.once("close", onClose(socket, "TCP connection"));
    tunnel.once("close", onClose(tunnel, "tunnel"));
    socket.pipe(tunnel);
    tunnel.pipe(socket);
  });
}

/**
 * Opens and accepts tunnels, and keeps the set of yard connections they run on bounded (LRU + idle sweep).
 */
export class TunnelManager {
  readonly #node: Libp2p;
  readonly #resolve: TunnelManagerOptions["resolve"];
  readonly #maxPeers: number;
  readonly #idleMs: number;
  readonly #timeoutMs: number;
  readonly #log: TunnelLog | undefined;
  /** Tracked yard connections by peer id; Map order is LRU order (least recently used first). */
  readonly #peers = new Map<string, PeerEntry>();
  readonly #dialing = new Map<string, Promise<Connection>>();
  /** Per connection: settles once the first tunnel stream on it was negotiated (true) or failed (false). */
  readonly #ready = new WeakMap<Connection, Promise<boolean>>();
  readonly #open = new Set<TunnelStream>();
  readonly #counters: Counters = { bytesIn: 0, bytesOut: 0 };
  #opened = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #started = false;

  constructor(node: Libp2p, o: TunnelManagerOptions) {
    this.#node = node;
    this.#resolve = o.resolve;
    this.#maxPeers = o.maxPeers ?? 64;
    this.#idleMs = o.idleMs ?? 60_000;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#log = o.log;
    if (!(this.#maxPeers >= 1)) throw new TunnelError("TUNNEL_CONFIG", "maxPeers must be at least 1");
  }

  /** Registers the tunnel protocol handler and starts the idle sweep. */
  async start(): Promise<void> {
    if (this.#started) return;
    await this.#node.handle(TUNNEL_PROTOCOL, (stream, connection) => this.#accept(stream, connection), {
      maxInboundStreams: tunnelLimits.maxStreamsPerConnection,
      maxOutboundStreams: tunnelLimits.maxStreamsPerConnection,
    });
    this.#started = true;
    const every = Math.min(Math.max(Math.floor(this.#idleMs / 4), 25), 15_000);
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  /** Unregisters the handler, stops the sweep and aborts the tunnels still open. */
  async stop(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    if (this.#started) await this.#node.unhandle(TUNNEL_PROTOCOL).catch(() => {});
    this.#started = false;
    for (const t of [...this.#open]) t.destroy();
    this.#peers.clear();
  }

  stats(): TunnelStats {
    return {
      peers: this.#peers.size,
      streams: this.#open.size,
      opened: this.#opened,
      bytesIn: this.#counters.bytesIn,
      bytesOut: this.#counters.bytesOut,
    };
  }

  /**
   * Opens a tunnel to `h`'s instance at yard `peer` (dialled at `addrs` unless already connected). Resolves once
   * the remote yard has connected its target; rejects with a TunnelError: TUNNEL_REFUSED (the remote's sentence),
   * TUNNEL_UNREACHABLE, TUNNEL_TIMEOUT, TUNNEL_PROTOCOL or TUNNEL_BAD_HEADER.
   */
  async open(peer: PeerId, addrs: Multiaddr[], h: TunnelHeader): Promise<TunnelStream> {
    const header = encodeHeader(h);
    const key = peer.toString();
    const dialSignal = AbortSignal.timeout(this.#timeoutMs);
    const conn = await this.#connection(peer, addrs, dialSignal);
    let stream: Stream;
    try {
      stream = await this.#newStream(conn, dialSignal);
    } catch (e) {
      throw new TunnelError("TUNNEL_UNREACHABLE", `yard ${key} does not accept tunnels: ${(e as Error).message}`, {
        cause: e,
        details: { peer: key },
      });
    }
    const t = this.#track(stream, peer);
    try {
      t.sendFrame(header);
      const answer = decodeAnswer(await t.readFrame(AbortSignal.timeout(2 * this.#timeoutMs)));
      if (!answer.ok) {
        throw new TunnelError("TUNNEL_REFUSED", answer.error, {
          details: { peer: key, service: h.service, instanceId: h.instanceId.toString(), port: h.port },
        });
      }
    } catch (e) {
      t.destroy();
      throw e instanceof TunnelError
        ? e
        : new TunnelError("TUNNEL_CLOSED", `the tunnel to yard ${key} failed: ${(e as Error).message}`, { cause: e });
    }
    this.#opened++;
    this.#log?.debug("tunnel opened", { peer: key, service: h.service, instanceId: h.instanceId, port: h.port });
    return t;
  }

  /**
   * Proxies `socket` (a client's TCP connection; its server should allow half-open sockets) through a tunnel to
   * `h`'s instance. Rejects, after resetting `socket`, when the tunnel cannot be opened; otherwise resolves once
   * both sides are closed (an error mid-way tears both down and is logged at debug level).
   */
  async splice(socket: net.Socket, peer: PeerId, addrs: Multiaddr[], h: TunnelHeader): Promise<void> {
    let early: Error | undefined;
    const onEarly = (e: Error): void => {
      early ??= e;
    };
    socket.on("error", onEarly);
    let t: TunnelStream;
    try {
      t = await this.open(peer, addrs, h);
    } catch (e) {
      socket.off("error", onEarly);
      socket.on("error", () => {});
      if (!socket.destroyed) socket.resetAndDestroy();
      throw e;
    }
    socket.off("error", onEarly);
    if (early || socket.destroyed) {
      t.destroy(early ?? new TunnelError("TUNNEL_CLOSED", "the client closed before the tunnel opened"));
      return;
    }
    socket.setNoDelay(true);
    await pump(socket, t, this.#log);
  }

  // -- inbound ----------------------------------------------------------------------------------------------------

  #accept(stream: Stream, connection: Connection): void {
    const t = this.#track(stream, connection.remotePeer);
    void this.#serve(t, connection.remotePeer, connection.remoteAddr).catch((e: unknown) => {
      this.#log?.warn("tunnel handler failed", { peer: connection.remotePeer.toString(), error: String(e) });
      t.destroy(e as Error);
    });
  }

  async #serve(t: TunnelStream, remote: PeerId, remoteAddr: Multiaddr): Promise<void> {
    let h: TunnelHeader;
    try {
      h = decodeHeader(await t.readFrame(AbortSignal.timeout(this.#timeoutMs)));
    } catch (e) {
      const sentence = e instanceof TunnelError && e.code === "TUNNEL_BAD_HEADER" ? e.message : undefined;
      this.#log?.debug("tunnel header refused", { peer: remote.toString(), error: (e as Error).message });
      if (sentence) this.#refuse(t, sentence);
      else t.destroy();
      return;
    }
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let target: TunnelTarget;
    try {
      target = await raceSignal(this.#resolve(h, remote, remoteAddr), signal, "resolving the tunnel target");
    } catch (e) {
      this.#log?.warn("tunnel resolve failed", { peer: remote.toString(), service: h.service, error: String(e) });
      this.#refuse(t, `yard cannot route to ${targetOf(h)} right now`);
      return;
    }
    if ("error" in target) {
      this.#refuse(t, target.error);
      return;
    }
    let socket: net.Socket;
    try {
      socket = await connectTcp(target.host, target.port, signal);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "error";
      this.#refuse(t, `${targetOf(h)} did not accept a connection on port ${h.port} (${code})`);
      return;
    }
    try {
      if (t.destroyed) throw new TunnelError("TUNNEL_CLOSED", "the opener went away while the target was connected");
      t.sendFrame(encodeFrame({ ok: true }));
    } catch (e) {
      socket.destroy();
      throw e;
    }
    this.#opened++;
    this.#log?.debug("tunnel accepted", { peer: remote.toString(), service: h.service, client: h.client });
    await pump(socket, t, this.#log);
  }

  /** Answers `{ ok: false, error }`, ends our side and drops whatever the opener still sends. */
  #refuse(t: TunnelStream, sentence: string): void {
    t.on("error", () => {});
    try {
      t.sendFrame(encodeFrame({ ok: false, error: clip(sentence) }));
    } catch {
      t.destroy();
      return;
    }
    t.end();
    t.resume();
    setTimeout(() => t.destroy(), this.#timeoutMs).unref();
  }

  // -- bookkeeping --------------------------------------------------------------------------------------------------

  #track(stream: Stream, peer: PeerId): TunnelStream {
    const t = new TunnelStream(stream, peer, this.#counters);
    // A reset by the remote (or a lost connection) destroys the Duplex with an error at any moment — while a
    // header is read, a target resolved or connected, or before a caller of open() listens. An EventEmitter's
    // 'error' without a listener ends the process, so every tunnel has this one from birth; whoever pumps the
    // tunnel adds its own and tears down both sides.
    t.on("error", (e: Error) => this.#log?.debug("tunnel reset", { peer: peer.toString(), error: e.message }));
    this.#open.add(t);
    const key = peer.toString();
    t.once("close", () => {
      this.#open.delete(t);
      const e = this.#peers.get(key);
      if (e) e.lastUsed = performance.now();
    });
    return t;
  }

  /** An open connection to `peer` (reused, or dialled once however many tunnels wait for it). */
  async #connection(peer: PeerId, addrs: Multiaddr[], signal: AbortSignal): Promise<Connection> {
    const key = peer.toString();
    let conn = this.#node.getConnections(peer).find((c) => c.status === "open");
    if (!conn) {
      let dial = this.#dialing.get(key);
      if (!dial) {
        this.#makeRoom(key);
        dial = this.#node.dial(this.#targets(peer, addrs), { signal });
        this.#dialing.set(key, dial);
        void dial.catch(() => {}).finally(() => this.#dialing.delete(key));
      }
      try {
        conn = await raceSignal(dial, signal, `dialling yard ${key}`);
      } catch (e) {
        throw new TunnelError("TUNNEL_UNREACHABLE", `yard ${key} cannot be reached: ${(e as Error).message}`, {
          cause: e,
          details: { peer: key },
        });
      }
      if (!conn.remotePeer.equals(peer)) {
        throw new TunnelError("TUNNEL_UNREACHABLE", `the yard at ${addrs.join(", ")} is not ${key}`, {
          details: { peer: key },
        });
      }
    }
    if (!this.#peers.has(key)) this.#makeRoom(key);
    this.#peers.delete(key);
    this.#peers.set(key, { peer, lastUsed: performance.now() });
    return conn;
  }

  /**
   * A tunnel stream on `conn`. The first one on a connection goes alone: until the remote has handled one stream
   * its muxer may not listen yet, and yamux aborts the whole connection when more than 10 streams arrive before
   * it does (MaxEarlyStreamsError), which a burst of new tunnels on a fresh connection would trigger.
   */
  async #newStream(conn: Connection, signal: AbortSignal): Promise<Stream> {
    const options = { signal, maxOutboundStreams: tunnelLimits.maxStreamsPerConnection };
    const gate = this.#ready.get(conn);
    if (gate) {
      await raceSignal(gate, signal, "waiting for the yard connection");
      if (this.#ready.get(conn) !== gate) return this.#newStream(conn, signal);
      return conn.newStream(TUNNEL_PROTOCOL, options);
    }
    const first = conn.newStream(TUNNEL_PROTOCOL, options);
    const settled = first.then(
      () => true,
      () => false,
    );
    this.#ready.set(conn, settled);
    // When the first stream fails, the next caller goes first again.
    void settled.then((ok) => {
      if (!ok && this.#ready.get(conn) === settled) this.#ready.delete(conn);
    });
    return first;
  }

  /** `addrs` with `/p2p/<peer>` (so noise checks the remote's identity), or the peer id alone when none. */
  #targets(peer: PeerId, addrs: Multiaddr[]): PeerId | Multiaddr[] {
    const key = peer.toString();
    const out: Multiaddr[] = [];
    for (const a of addrs) {
      const id = a.getComponents().find((c) => c.code === CODE_P2P)?.value;
      if (id === undefined) out.push(a.encapsulate(`/p2p/${key}`));
      else if (id === key) out.push(a);
    }
    return out.length > 0 ? out : peer;
  }

  /** True when none of `peer`'s connections carries a stream (tunnel or other). */
  #idle(peer: PeerId): boolean {
    return this.#node.getConnections(peer).every((c) => c.streams.length === 0);
  }

  #closeConnections(entry: PeerEntry, why: string): void {
    const key = entry.peer.toString();
    this.#peers.delete(key);
    this.#log?.debug("closing yard connection", { peer: key, why });
    for (const c of this.#node.getConnections(entry.peer)) {
      void c.close().catch((e: Error) => c.abort(e));
    }
  }

  /** Forgets peers whose connections are gone, then closes LRU idle connections until `newKey` fits. */
  #makeRoom(newKey: string): void {
    for (const [k, e] of this.#peers) if (this.#node.getConnections(e.peer).length === 0) this.#peers.delete(k);
    while (this.#peers.size >= this.#maxPeers) {
      const victim = [...this.#peers.values()].find((e) => e.peer.toString() !== newKey && this.#idle(e.peer));
      if (!victim) {
        this.#log?.warn("more yard connections than maxPeers: every one carries tunnels", {
          peers: this.#peers.size,
          maxPeers: this.#maxPeers,
        });
        return;
      }
      this.#closeConnections(victim, "least recently used");
    }
  }

  #sweep(): void {
    const now = performance.now();
    for (const [k, e] of this.#peers) {
      if (this.#node.getConnections(e.peer).length === 0) this.#peers.delete(k);
      else if (now - e.lastUsed >= this.#idleMs && this.#idle(e.peer)) this.#closeConnections(e, "idle");
    }
    // Over the cap (all busy at the time): close LRU idle ones now that some may have finished.
    while (this.#peers.size > this.#maxPeers) {
      const victim = [...this.#peers.values()].find((e) => this.#idle(e.peer));
      if (!victim) break;
      this.#closeConnections(victim, "least recently used");
    }
  }
}
