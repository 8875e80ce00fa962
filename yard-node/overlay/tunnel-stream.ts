/**
 * One tunnel's bytes (yard-node/overlay/tunnel.ts opens and accepts tunnels; the wire format is
 * protocol/overlay/tunnel-wire.ts): a libp2p stream as a Node Duplex, and the pump that splices it to a TCP socket.
 *
 * Backpressure is end to end: a libp2p `send()` that returns false holds the Node writable until `drain`; a Node
 * readable that is full pauses the libp2p stream, which withholds yamux window updates, so the remote yard stops
 * sending. Per tunnel at most one yamux window (≤ 16 MiB by default) plus the Node stream buffers are held.
 */
import net from "node:net";
import { Duplex } from "node:stream";
import type { PeerId, Stream } from "@libp2p/interface";
import { Uint8ArrayList } from "uint8arraylist";
import { TunnelError, readTunnelFrameLength, tunnelLimits } from "../../protocol/index.ts";

/** Optional log sink (the yard's structured logger fits). */
export interface TunnelLog {
  debug(m: string, f?: object): void;
  warn(m: string, f?: object): void;
}

/** Upper bound of the data a paused yamux stream can still receive: the window granted before the pause. */
const DEFAULT_MAX_STREAM_WINDOW = 16 * 1024 * 1024;
/** Byte counters shared by a manager's tunnels. */
export interface TunnelCounters {
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
  readonly #counters: TunnelCounters;
  #framing = true;
  readonly #pending = new Uint8ArrayList();
  readonly #frame = Promise.withResolvers<Uint8Array>();
  #paused = false;
  #readEnded = false;

  constructor(stream: Stream, remotePeer: PeerId, counters: TunnelCounters) {
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
    const v = readTunnelFrameLength(this.#pending);
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

/** Resolves when `p` does, rejects with TUNNEL_TIMEOUT when `signal` aborts first. */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new TunnelError("TUNNEL_TIMEOUT", `${what} timed out`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new TunnelError("TUNNEL_TIMEOUT", `${what} timed out`));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Connects a TCP socket (half-open allowed, no Nagle) or rejects with the socket error / a timeout. */
export function connectTcp(host: string, port: number, signal: AbortSignal): Promise<net.Socket> {
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
export function pump(socket: net.Socket, tunnel: Duplex, log: TunnelLog | undefined): Promise<void> {
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
