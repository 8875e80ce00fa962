/**
 * Structured logs: one JSON object per line on stderr ({t, level, msg, component?, ...fields}). Bigints print as
 * decimal strings; an Error prints as its message. Keys and signatures are never passed to the logger.
 * One logger serves the yard, its tunnels and the agent: each part logs through `log.child("tunnels")`, which adds
 * `component` to every line (a child of a child joins the names with "."), so one stream can be filtered by part.
 *
 * @example
 *   const log = createLogger({ level: "info", base: { yard: "y1" } });
 *   log.child("tunnels").warn("peer refused", { peer });  // {"t":…,"level":"warn","msg":"peer refused","yard":"y1","component":"tunnels",…}
 */
export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** The same sink and level, every line tagged `component` (joined with "." under a parent's). */
  child(component: string): Logger;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger writing JSON lines to `write` (stderr by default) at `level` and above. */
export function createLogger(
  o: { level?: Level; write?: (line: string) => void; base?: Record<string, unknown> } = {},
): Logger {
  const min = ORDER[o.level ?? "info"];
  const write = o.write ?? ((line: string) => void process.stderr.write(line + "\n"));
  const make = (base: Record<string, unknown>): Logger => {
    const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
      if (ORDER[level] < min) return;
      const rec: Record<string, unknown> = { t: new Date().toISOString(), level, msg, ...base, ...fields };
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
      child: (component) => {
        const parent = typeof base.component === "string" ? `${base.component}.` : "";
        return make({ ...base, component: parent + component });
      },
    };
  };
  return make({ ...o.base });
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
