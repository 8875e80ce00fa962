/**
 * HTTP client load for the testbed: `clients` loops in one client subnet of a {@link ClientNetwork}, each sending a
 * GET over a fresh TCP connection from that subnet to its current yard ingress, waiting `intervalMs`, and again.
 * The network is the packet-level testbed (netbed-clients.ts: connections leave from the subnet's namespace, so a
 * fresh connection costs the path's round trip for the handshake and another for the request).
 *
 *  - A client starts at `entry` (the origin ingress). A 307/308 with `Location: http://host:port[/…]` makes that
 *    host:port the client's `current` (it remembers where it was sent) and the request is re-issued there at once,
 *    at most 5 times: the whole chain is one request, its latency includes the redirects.
 *  - A 200 is a sample: when the request started (`atMs`, epoch ms like every time here), its end-to-end latency
 *    and the host:port that answered. An error, a timeout (of the whole chain) or another status is a failure with its reason, and the
 *    client starts again from `entry`.
 *  - `setSubnet` moves the clients (the next requests leave from the new subnet; `current` is kept).
 *  - Clients start spread over the first `intervalMs`, so they do not fire in lockstep.
 *
 * @example
 *   const network = new NetbedClients(bed, { cloud: bed.address("cloud"), "edge-a": bed.address("edge-a") });
 *   const load = await startClients({ network, subnet: "A", entry: `${bed.address("cloud")}:8080`, clients: 4, intervalMs: 200 });
 *   await sleep(5000);
 *   load.setSubnet("B");
 *   const movedAt = Date.now();
 *   await sleep(5000);
 *   await load.stop();
 *   console.log(load.p50(undefined, movedAt), load.p50(movedAt), load.series(1000));
 */
import http from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { ConfigError } from "../../protocol/errors.ts";

/** Where clients live: named subnets, the yards' public hosts, and connections from a subnet to a target. */
export interface ClientNetwork {
  subnetNames(): string[];
  /** The yard whose public host `hostOrTarget` ("host" or "host:port") is; undefined for any other. */
  yardOf(hostOrTarget: string): string | undefined;
  /**
   * An open TCP connection from client `client` of `subnet` to `target` ("host:port"), paused (the caller resumes
   * it once it listens); rejects on failure.
   */
  connect(subnet: string, target: string, client: number, signal: AbortSignal): Promise<Socket>;
}

/** Options of {@link startClients}. */
export interface ClientLoadOptions {
  network: ClientNetwork;
  /** Client subnet name in `network`. */
  subnet: string;
  /** "host:port" of the origin ingress, a yard's public host. */
  entry: string;
  /** Number of concurrent client loops (≥ 1). */
  clients: number;
  /** Pause between the end of one request and the start of the next, per client (ms). */
  intervalMs: number;
  /** Deadline of one request including its redirects (ms); 5000. */
  timeoutMs?: number;
  /** Request path; "/". */
  path?: string;
}

/** A request answered 200. */
export interface LoadSample {
  client: number;
  subnet: string;
  /** When the request started (epoch ms, Date.now()). */
  atMs: number;
  /** From the start of the first dial to the end of the 200's body, redirects included. */
  latencyMs: number;
  /** The "host:port" that answered 200. */
  servedBy: string;
  /** The yard whose public host that is. */
  yard: string | undefined;
  /** Redirects followed. */
  redirects: number;
}

/** A request that failed. */
export interface LoadFailure {
  client: number;
  subnet: string;
  /** When the request started (epoch ms). */
  atMs: number;
  /** The "host:port" that was dialled when it failed. */
  target: string;
  /** An error code or message, "timeout after N ms", "HTTP <status>", "more than 5 redirects", … */
  reason: string;
}

/** Running client load. */
export interface ClientLoad {
  /** When the load started (epoch ms); `series` buckets start here. */
  readonly startedAtMs: number;
  /** The subnet the next requests leave from. */
  readonly subnet: string;
  /** Moves the clients to another subnet of the network (requests in flight finish where they are). */
  setSubnet(name: string): void;
  /** Stops the loops (requests in flight are aborted and not recorded); resolves when all have ended. */
  stop(): Promise<void>;
  samples(): LoadSample[];
  failures(): LoadFailure[];
  /** Median latency (ms) of the samples that started in [fromMs, toMs) (epoch ms); NaN when there are none. */
  p50(fromMs?: number, toMs?: number): number;
  /** Number of samples that started in [fromMs, toMs). */
  count(fromMs?: number, toMs?: number): number;
  /**
   * The samples in buckets of `bucketMs` from the start to now (or the stop), for plotting: bucket start `tMs`
   * (epoch ms), median latency (NaN in a bucket without samples) and count.
   */
  series(bucketMs: number): { tMs: number; p50: number; n: number }[];
}

const MAX_REDIRECTS = 5;

function bad(field: string, fix: string): ConfigError {
  return new ConfigError("BAD_LOAD_CONFIG", `${field}: ${fix}`);
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** "http://host:port[/…]" → "host:port" (port 80 when absent), or undefined. */
function locationTarget(location: string | undefined): string | undefined {
  if (!location) return undefined;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" || !url.hostname) return undefined;
  return `${url.hostname}:${url.port || "80"}`;
}

class Failed extends Error {
  readonly target: string;
  constructor(reason: string, target: string) {
    super(reason);
    this.target = target;
  }
}

/** One GET over the open connection `socket` with Host `target`; resolves with the status and Location once the body has ended. */
function get(
  socket: Socket,
  target: string,
  path: string,
  signal: AbortSignal,
): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        // No agent: with one (even `agent: false`'s own) Node dials by itself and ignores createConnection.
        createConnection: () => socket,
        path,
        method: "GET",
        headers: { host: target, connection: "close" },
        signal,
      },
      (res) => {
        res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
        res.on("error", reject);
        res.on("close", () => {
          if (!res.complete) reject(new Error("response cut short"));
        });
        res.resume();
      },
    );
    req.on("error", reject);
    // A ClientNetwork hands its connection over paused (nothing it read is lost): it flows once HTTP listens to it.
    req.once("socket", (s) => s.resume());
    req.end();
  });
}

/**
 * Starts `clients` request loops in `subnet` of `network` (see the module comment). Throws ConfigError
 * BAD_LOAD_CONFIG naming the option at fault.
 */
export async function startClients(o: ClientLoadOptions): Promise<ClientLoad> {
  const { network, entry } = o;
  const path = o.path ?? "/";
  const timeoutMs = o.timeoutMs ?? 5000;
  if (!Number.isSafeInteger(o.clients) || o.clients < 1) throw bad("clients", `${o.clients} is not a count ≥ 1`);
  if (!Number.isFinite(o.intervalMs) || o.intervalMs < 0) throw bad("intervalMs", `${o.intervalMs} is not ms ≥ 0`);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw bad("timeoutMs", `${timeoutMs} is not ms > 0`);
  if (!path.startsWith("/")) throw bad("path", `"${path}" must start with "/"`);
  const checkSubnet = (name: string): string => {
    if (!network.subnetNames().includes(name))
      throw bad("subnet", `"${name}" is not a subnet of the network (${network.subnetNames().join(", ")})`);
    return name;
  };
  let subnet = checkSubnet(o.subnet);
  if (!/^[^:]+:\d+$/.test(entry) || !network.yardOf(entry))
    throw bad("entry", `"${entry}" is not "host:port" with the public host of a yard of the network`);

  const startedAtMs = Date.now();
  let stoppedAtMs: number | undefined;
  const samples: LoadSample[] = [];
  const failures: LoadFailure[] = [];
  const inFlight = new Set<AbortController>();
  const stopping = new AbortController();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopping.signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        stopping.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopping.signal.addEventListener("abort", done);
    });

  /** One request from `start`, following redirects; the final target and redirect count, or throws Failed. */
  const request = async (
    client: number,
    from: string,
    start: string,
  ): Promise<{ servedBy: string; redirects: number }> => {
    const ac = new AbortController();
    inFlight.add(ac);
    const timer = setTimeout(() => ac.abort(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    let target = start;
    try {
      for (let redirects = 0; ; redirects++) {
        const socket = await network.connect(from, target, client, ac.signal);
        const { status, location } = await get(socket, target, path, ac.signal);
        if (status === 200) return { servedBy: target, redirects };
        if (status !== 307 && status !== 308) throw new Failed(`HTTP ${status}`, target);
        const next = locationTarget(location);
        if (!next) throw new Failed(`HTTP ${status} with an unusable Location ${JSON.stringify(location)}`, target);
        if (redirects === MAX_REDIRECTS) throw new Failed(`more than ${MAX_REDIRECTS} redirects`, target);
        target = next;
      }
    } catch (e) {
      if (e instanceof Failed) throw e;
      const reason = ac.signal.aborted ? ac.signal.reason : e;
      const err = reason as NodeJS.ErrnoException;
      const text = err?.message ?? String(reason);
      throw new Failed(err?.code && !text.includes(err.code) ? `${err.code}: ${text}` : text, target);
    } finally {
      clearTimeout(timer);
      inFlight.delete(ac);
    }
  };

  const loop = async (client: number): Promise<void> => {
    await sleep((client * o.intervalMs) / o.clients);
    let current = entry;
    while (!stopping.signal.aborted) {
      const from = subnet;
      const atMs = Date.now();
      const t0 = performance.now();
      try {
        const r = await request(client, from, current);
        if (stopping.signal.aborted) break;
        current = r.servedBy;
        samples.push({
          client,
          subnet: from,
          atMs,
          latencyMs: performance.now() - t0,
          servedBy: r.servedBy,
          yard: network.yardOf(r.servedBy),
          redirects: r.redirects,
        });
      } catch (e) {
        if (stopping.signal.aborted) break;
        const f = e as Failed;
        failures.push({ client, subnet: from, atMs, target: f.target, reason: f.message });
        current = entry;
      }
      await sleep(o.intervalMs);
    }
  };

  const loops = Promise.all(Array.from({ length: o.clients }, (_, i) => loop(i)));
  const inWindow = (fromMs = -Infinity, toMs = Infinity): LoadSample[] =>
    samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);

  return {
    startedAtMs,
    get subnet() {
      return subnet;
    },
    setSubnet(name: string) {
      subnet = checkSubnet(name);
    },
    async stop() {
      if (!stopping.signal.aborted) {
        stoppedAtMs = Date.now();
        stopping.abort();
        for (const ac of inFlight) ac.abort(new Error("stopped"));
      }
      await loops;
    },
    samples: () => [...samples],
    failures: () => [...failures],
    p50: (fromMs, toMs) => median(inWindow(fromMs, toMs).map((s) => s.latencyMs)),
    count: (fromMs, toMs) => inWindow(fromMs, toMs).length,
    series(bucketMs: number) {
      if (!Number.isFinite(bucketMs) || bucketMs <= 0) throw bad("bucketMs", `${bucketMs} is not ms > 0`);
      const end = (stoppedAtMs ?? Date.now()) - startedAtMs;
      const buckets = Array.from({ length: Math.floor(end / bucketMs) + 1 }, () => [] as number[]);
      for (const s of samples) buckets[Math.floor((s.atMs - startedAtMs) / bucketMs)]?.push(s.latencyMs);
      return buckets.map((xs, i) => ({ tMs: startedAtMs + i * bucketMs, p50: median(xs), n: xs.length }));
    },
  };
}
