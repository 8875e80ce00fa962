/**
 * Yard-to-yard tunnels of the overlay proxy: one libp2p stream (`/icon/tunnel/1.0.0`, wire format in
 * protocol/overlay/tunnel-wire.ts) per proxied TCP connection, multiplexed (yamux) over the one noise-encrypted,
 * peer-authenticated connection per yard pair. This room opens and accepts tunnels and keeps the yard connections
 * they run on; one tunnel's bytes (the Duplex, backpressure, the pump) are tunnel-stream.ts.
 *
 * The acceptor validates the header strictly (unknown fields, bad types, non-canonical names are refused with a
 * sentence), asks `resolve` for the local target, connects a TCP socket and only then answers `ok`.
 *
 * Connections: the manager keeps at most `maxPeers` yard connections (least recently used idle connection closed
 * first) and closes connections that stayed idle for `idleMs`. "Idle" means the connection carries no stream at
 * all, so a tunnel sweep never cuts a lease negotiation or DHT query that shares the connection.
 *
 * As a libp2p service: `tunnels(init)` is the factory of the node's components (js-libp2p's shape), started and
 * stopped with the node.
 *
 * @example
 *   const tunnels = new TunnelManager(node, { resolve: async (h) => ({ host: "127.0.0.1", port: 8080 }) });
 *   await tunnels.start();
 *   net.createServer({ allowHalfOpen: true }, (s) => void tunnels.splice(s, yard, addrs, header).catch(log));
 */
import type net from "node:net";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { CODE_P2P, type Multiaddr } from "@multiformats/multiaddr";
import {
  TUNNEL_PROTOCOL,
  TunnelError,
  decodeTunnelAnswer,
  decodeTunnelHeader,
  encodeTunnelAnswer,
  encodeTunnelHeader,
  tunnelLimits,
  type HandlerRegistrar,
  type IconServiceComponents,
  type TunnelHeader,
} from "../../protocol/index.ts";
import { TunnelStream, connectTcp, pump, raceSignal, type TunnelCounters, type TunnelLog } from "./tunnel-stream.ts";

/** The acceptor's local target for a header, or a sentence refusing it. */
export type TunnelTarget = { host: string; port: number } | { error: string };

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

/** What the manager uses of a libp2p node: its handlers, its connections, its dials. */
export type TunnelNode = HandlerRegistrar & Pick<Libp2p, "getConnections" | "dial">;

/**
 * The tunnels as a libp2p service in the js-libp2p shape: a factory of the node's components (the registrar the
 * handler goes to, the connection manager it dials with) whose product is started and stopped with the node.
 */
export function tunnels(init: TunnelManagerOptions): (components: IconServiceComponents) => TunnelManager {
  return ({ registrar, connectionManager }) =>
    new TunnelManager(
      {
        handle: (protocol, handler, options) => registrar.handle(protocol, handler, options),
        unhandle: (protocol) => registrar.unhandle(protocol),
        getConnections: (peer) => connectionManager.getConnections(peer),
        // As Libp2p.dial: a dial of the daemon's own goes first in the queue.
        dial: (peer, options = {}) => connectionManager.openConnection(peer, { priority: 75, ...options }),
      },
      init,
    );
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

/** "instance 7 of app.appns.service.servicens", or "instance 7" when the header names no service. */
function targetOf(h: TunnelHeader): string {
  return h.service === undefined ? `instance ${h.instanceId}` : `instance ${h.instanceId} of ${h.service}`;
}

interface PeerEntry {
  peer: PeerId;
  /** performance.now() of the last tunnel opened or closed over this peer's connection. */
  lastUsed: number;
}

/**
 * Opens and accepts tunnels, and keeps the set of yard connections they run on bounded (LRU + idle sweep).
 */
export class TunnelManager {
  readonly #node: TunnelNode;
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
  readonly #counters: TunnelCounters = { bytesIn: 0, bytesOut: 0 };
  #opened = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #started = false;

  constructor(node: TunnelNode, o: TunnelManagerOptions) {
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
    const header = encodeTunnelHeader(h);
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
      const answer = decodeTunnelAnswer(await t.readFrame(AbortSignal.timeout(2 * this.#timeoutMs)));
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
      h = decodeTunnelHeader(await t.readFrame(AbortSignal.timeout(this.#timeoutMs)));
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
      t.sendFrame(encodeTunnelAnswer({ ok: true }));
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
      t.sendFrame(encodeTunnelAnswer({ ok: false, error: sentence }));
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
