/**
 * bench:proxy's settings, shared by the bench and its child processes: the load, the rounds, the upstream and sink
 * images and their ports, the leases, and the bench's stderr line and median.
 */
import { appServiceName } from "../../../protocol/index.ts";

export const ROUNDS = 3;
export const LOAD = { threads: 1, connections: 64, seconds: 10 };
export const LATENCY_BLOCKS = 5;
export const LATENCY_SECONDS = 1;
export const WARMUP_SECONDS = 2;
export const BULK_BYTES = 1024 ** 3;
/** Warm-up transfer through each bulk path (a fresh path is slower at first: JIT, the yamux window still growing). */
export const BULK_WARMUP_BYTES = 256 * 1024 ** 2;
/** Bulk transfers per round on each crypto (alternating). */
export const BULK_PAIRS = 2;
/** A service key as the yards name them: the bench's tunnels need no chain, so application 1's namespace (r1). */
export const SERVICE = appServiceName({ app: "web", service: "proxy", servicens: "bench" }, 1n);
export const BULK_PORT = 9;
export const BODY = "hello from the upstream\n";
/** The upstream image (scripts/images.sh) and its port. */
export const IMAGE = "icon/http-return:1";
/** The sink of the bulk path through real yards: icon/echo:1 discarding what it reads (scripts/images/echo.c). */
export const SINK_IMAGE = "icon/echo:1";
export const SINK_PORT = 9000;
export const UPSTREAM_PORT = 8080;
/** The upstream's lease at yard B (one core: HAProxy runs one thread) and yard A's idle lease. */
export const UPSTREAM_LEASE = { slotSeconds: 3600, cpuMillis: 1000, memoryMiB: 128 };
export const IDLE_LEASE = { slotSeconds: 3600, cpuMillis: 100, memoryMiB: 32 };

export const say = (line: string): void => void process.stderr.write(`${line}\n`);
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
