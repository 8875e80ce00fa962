/**
 * The last line of defence of a long-running daemon (`icon yard start`, `icon agent run`) against an error nobody
 * handled. Every stream and socket has its own error path; this catches what slips through anyway, so that a peer
 * who resets a connection at an unlucky moment cannot end the process that serves everyone else.
 *
 *   const uninstall = installLastResort({ log, what: "yard" });
 *
 * What it keeps the process up for, and why that is safe:
 * - a promise rejection nobody awaited: the operation it belonged to has already failed and been left behind by
 *   its caller; nothing else waits on it. Logged as an error, counted.
 * - an uncaught exception that is peer I/O — a reset or aborted libp2p stream or connection, a TCP reset or broken
 *   pipe, a premature close (see {@link isPeerIoError}, which walks the error's `cause` chain): such an error is
 *   raised when the remote goes away, after the local side's own state changes, and ends only that exchange.
 *   Logged as a warning, counted.
 * What it does not keep up for: any other uncaught exception (a TypeError, an assertion) means code is in a state
 * nobody planned; the error is logged with its stack and the process exits with code 70 (EX_SOFTWARE). A yard is
 * crash-safe (its next start reconciles containers, leases and claims with the chain) and an agent resumes from
 * its state directory, so a supervisor's restart is the safe way back.
 */

/** Where the handler reports (the daemons' structured logger fits). */
export interface LastResortLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What the last-resort handler has caught so far in this process. */
export interface LastResortStats {
  /** Promise rejections nobody handled (kept running). */
  rejections: number;
  /** Uncaught peer I/O errors (kept running). */
  peerIo: number;
}

/** Error codes of sockets and Node streams that a remote causes by going away. */
const PEER_IO_CODES = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_STREAM_ALREADY_FINISHED",
  "ERR_SOCKET_CLOSED",
]);

/** Names of libp2p's errors for streams and connections that were reset, aborted or closed. */
const PEER_IO_NAMES = new Set([
  "StreamResetError",
  "StreamAbortedError",
  "StreamStateError",
  "StreamClosedError",
  "StreamBufferError",
  "ConnectionClosedError",
  "ConnectionClosingError",
  "MuxerClosedError",
  "UnexpectedEOFError",
  "InvalidFrameError",
]);

/** Error codes of this project's own stream errors (tunnels) that mean the remote went away. */
const PEER_IO_ICON_CODES = new Set(["TUNNEL_CLOSED", "TUNNEL_TIMEOUT"]);

/** True when `e`, or an error in its `cause` chain, is a remote's reset, abort or close of a stream or socket. */
export function isPeerIoError(e: unknown): boolean {
  const seen = new Set<unknown>();
  for (let cur = e; cur instanceof Error && !seen.has(cur); cur = cur.cause) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && (PEER_IO_CODES.has(code) || PEER_IO_ICON_CODES.has(code))) return true;
    if (PEER_IO_NAMES.has(cur.name)) return true;
  }
  return false;
}

let stats: LastResortStats = { rejections: 0, peerIo: 0 };
let uninstallCurrent: (() => void) | undefined;
/** Counts of what the handler caught in this process (exported in a daemon's metrics). */
export function lastResortStats(): LastResortStats {
  return { ...stats };
}

/**
 * Installs the handlers for `process` (once per process; a second call replaces the first). Returns a function
 * that removes them. `exit` is for tests.
 */
export function installLastResort(o: {
  log: LastResortLog;
  /** "yard", "agent": named in the log lines. */
  what: string;
  exit?: (code: number) => void;
}): () => void {
  uninstallCurrent?.();
  stats = { rejections: 0, peerIo: 0 };
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const describe = (e: unknown): Record<string, unknown> =>
    e instanceof Error
      ? { error: `${e.name}: ${e.message}`, code: (e as { code?: unknown }).code, stack: e.stack }
      : { error: String(e) };
  const onRejection = (reason: unknown): void => {
    stats.rejections++;
    o.log.error(`${o.what}: a promise rejection nobody handled (kept running)`, describe(reason));
  };
  const onException = (e: unknown): void => {
    if (isPeerIoError(e)) {
      stats.peerIo++;
      o.log.warn(`${o.what}: a peer's reset or close reached no handler (kept running)`, describe(e));
      return;
    }
    o.log.error(`${o.what}: uncaught exception; exiting with code 70 so that a restart reconciles`, describe(e));
    exit(70);
  };
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  const uninstall = (): void => {
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onException);
    if (uninstallCurrent === uninstall) uninstallCurrent = undefined;
  };
  uninstallCurrent = uninstall;
  return uninstall;
}
