/**
 * Structured logs: one JSON object per line on stderr ({t, level, msg, ...fields}). Bigints print as decimal
 * strings. Keys and signatures are never passed to the logger.
 */
export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger writing JSON lines to `write` (stderr by default) at `level` and above. */
export function createLogger(
  o: { level?: Level; write?: (line: string) => void; base?: Record<string, unknown> } = {},
): Logger {
  const min = ORDER[o.level ?? "info"];
  const write = o.write ?? ((line: string) => void process.stderr.write(line + "\n"));
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    const rec: Record<string, unknown> = { t: new Date().toISOString(), level, msg, ...o.base, ...fields };
    for (const [k, v] of Object.entries(rec)) {
      if (v instanceof Error) rec[k] = v.message;
    }
    write(JSON.stringify(rec, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
