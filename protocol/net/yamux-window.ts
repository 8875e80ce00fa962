/**
 * Yamux with window updates at half the window (`streamMuxers: [halfWindowYamux()]` in node.ts), instead of one
 * after every data frame.
 *
 * Why: @libp2p/yamux 8 answers every data frame it receives with a window update frame as soon as the stream's
 * receive window is below its full size, i.e. always. On a tunnel carrying requests and responses that doubles the
 * frames: per request each yard encrypts, writes, reads and decrypts a noise message for the other yard's window
 * update as well as one for the data. Here a stream sends its update once the remote has used up half the window
 * (the rule of hashicorp/yamux, the reference implementation: update when the unacknowledged bytes reach half the
 * window), so a stream carrying small messages sends one update per 128 KiB instead of one per message. Measured on
 * the tunnel's requests/s path (two libp2p nodes, `wrk -c64` through a TunnelManager stream, side by side):
 * ≈ 64–81 → 39–58 µs of CPU per request per yard; see BENCHMARKS.md (bench:proxy) for the figures of record.
 *
 * The bytes on the wire stay yamux: a peer on stock @libp2p/yamux (or any other yamux) interoperates, it merely
 * gets fewer window updates, and it never waits for one while it still holds at least half a window of credit.
 * Flow control is unchanged otherwise: a paused stream (backpressure) still sends none, a resumed one sends its
 * update when the credit it granted has fallen below half, the flags of a stream's first frame (SYN/ACK) go out
 * at once, and the library's window auto-tuning (doubling up to `maxStreamWindowSize`) runs when an update does.
 *
 * The library offers no option for this, so the wrapper changes each stream's `sendWindowUpdate` (a private method
 * of YamuxStream) on the stream object as the muxer creates it. It checks the fields it reads on every stream; a
 * version of the library without them keeps its own behaviour, and `active` in {@link YamuxWindowStats} says so
 * (test/mocha/protocol/yamux-window.test.ts fails then rather than letting the saving go silently). Because of
 * this, package.json pins @libp2p/yamux exactly (no caret): a new version comes in by hand, with that test.
 */
import { yamux, type YamuxMuxerInit } from "@libp2p/yamux";
import type { Stream, StreamMuxerFactory } from "@libp2p/interface";

/** YamuxStream's `StreamState.Established`: data may flow and no SYN/ACK flag is due. */
const ESTABLISHED = 3;

/** What the wrapper reads and replaces on a YamuxStream (private in the library's types). */
interface YamuxStreamInternals {
  state: number;
  recvWindow: number;
  recvWindowCapacity: number;
  sendWindowUpdate(): void;
}

/** Counters of one {@link halfWindowYamux} factory, over all its connections. */
export interface YamuxWindowStats {
  /** Streams whose window updates this wrapper paces. */
  paced: number;
  /** Streams (or, when the muxer itself lacks the hooks, muxers) left to the library's own pacing: its internals
   * were not as expected. */
  unpaced: number;
  /** Window updates the library would have sent and this wrapper held back (the remote still had half a window). */
  deferred: number;
  /** True while every stream seen so far is paced. */
  readonly active: boolean;
}

function isInternals(s: unknown): s is YamuxStreamInternals {
  const o = s as Partial<YamuxStreamInternals>;
  return (
    typeof o.state === "number" &&
    typeof o.recvWindow === "number" &&
    typeof o.recvWindowCapacity === "number" &&
    typeof o.sendWindowUpdate === "function"
  );
}

/**
 * Makes stream `s` send its window update only when the remote's credit is below half the window or a flag is due;
 * counts it in `stats` (paced, or unpaced when `s` lacks the YamuxStream fields this relies on).
 */
export function paceWindowUpdates(s: object, stats: Pick<YamuxWindowStats, "paced" | "unpaced" | "deferred">): void {
  if (!isInternals(s)) {
    stats.unpaced++;
    return;
  }
  const own = s.sendWindowUpdate;
  s.sendWindowUpdate = function (this: YamuxStreamInternals): void {
    if (this.state === ESTABLISHED && this.recvWindowCapacity * 2 >= this.recvWindow) {
      stats.deferred++;
      return;
    }
    own.call(this);
  };
  stats.paced++;
}

/**
 * `yamux(init)` whose streams send a window update only when the remote's credit is below half the window (or a
 * flag is due). `stats` counts over every muxer the factory creates.
 */
export function halfWindowYamux(init?: YamuxMuxerInit): {
  (): StreamMuxerFactory;
  stats: YamuxWindowStats;
} {
  const inner = yamux(init);
  const stats: YamuxWindowStats = {
    paced: 0,
    unpaced: 0,
    deferred: 0,
    get active() {
      return this.unpaced === 0;
    },
  };
  const pace = (s: Stream): void => paceWindowUpdates(s, stats);
  const factory = (): StreamMuxerFactory => {
    const f = inner();
    // The library's factory with createStreamMuxer wrapped (its protocol, capabilities and tag kept).
    const wrapped: StreamMuxerFactory = Object.create(f) as StreamMuxerFactory;
    wrapped.createStreamMuxer = (maConn) => {
      const muxer = f.createStreamMuxer(maConn);
      const m = muxer as unknown as {
        onCreateStream?: (...a: unknown[]) => Stream;
        onRemoteStream?: (s: Stream) => void;
      };
      const create = m.onCreateStream;
      const remote = m.onRemoteStream;
      if (typeof create !== "function" || typeof remote !== "function") {
        stats.unpaced++;
        return muxer;
      }
      m.onCreateStream = function (this: unknown, ...a: unknown[]): Stream {
        const s = create.apply(this, a);
        pace(s);
        return s;
      };
      m.onRemoteStream = function (this: unknown, s: Stream): void {
        pace(s);
        remote.call(this, s);
      };
      return muxer;
    };
    return wrapped;
  };
  return Object.assign(factory, { stats });
}
