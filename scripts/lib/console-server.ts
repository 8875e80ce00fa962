/**
 * The owner console's server (`icon console`, the console test, `npm run demo --console`): builds console/ with
 * Vite when its sources changed since the last completed build (a stamp in console/dist/), then serves console/dist/ and the deployment the page acts
 * on (/deployment.json: addresses, chain id, the RPC URL the page reads from) with a strict Content-Security-Policy:
 * only the page's own files, no inline script or style, no eval, and connections only to itself and the chain's
 * RPC endpoint. What one server holds is bounded ({@link consoleServerLimits}): connections, idle and slow requests,
 * the request head; bodies are refused. `GET /yards` tells the page each yard its operator named (`yardHttp`,
 * `icon console --yard-http`) with the operator address the yard gives for itself; `GET /icons?grant=…&grant=…`
 * fetches the ICONs' status from those yards for the page — the page's CSP stays `connect-src 'self'` plus the RPC —
 * passing each yard only the owner's signed read grant bound to that yard's URL and naming the operator it names
 * now (each yard checks it; this server holds no secret).
 */
import { createReadStream } from "node:fs";
import { createHash, type Hash } from "node:crypto";
import { readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ConfigError } from "../../protocol/errors.ts";
import type { Deployment } from "../../protocol/chain/deployment-schema.ts";
import {
  parseIconStatusReport,
  parseStatusGrantsQuery,
  statusGrantQuery,
  type ServedIconStatus,
} from "../../protocol/yard/icon-status.ts";

// Two levels above scripts/lib/, three above the built copy in .build/scripts/lib/ (scripts/build-js.ts).
const here = import.meta.dirname;
const root = path.resolve(here, path.basename(path.resolve(here, "../..")) === ".build" ? "../../.." : "../..");
/** The console's sources and the built page. */
export const CONSOLE_DIR = path.join(root, "console");
export const CONSOLE_DIST = path.join(CONSOLE_DIR, "dist");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

/** Every file under `p` (but node_modules/ and dist/), as "relative path" → content, in a stable order. */
async function addFiles(hash: Hash, p: string, rel: string): Promise<void> {
  const s = await stat(p).catch(() => undefined);
  if (!s) return;
  if (!s.isDirectory()) {
    hash.update(`${rel}\0${s.size}\0`).update(await readFile(p));
    return;
  }
  for (const e of (await readdir(p)).sort())
    if (e !== "node_modules" && e !== "dist") await addFiles(hash, path.join(p, e), `${rel}/${e}`);
}

/** The fingerprint of what the page is built from: console/, protocol/ (the page imports it) and package-lock.json
 * (the versions of Vite, ethers, Vega), by content. */
export async function consoleSourcesFingerprint(): Promise<string> {
  const hash = createHash("sha256");
  await addFiles(hash, CONSOLE_DIR, "console");
  await addFiles(hash, path.join(root, "protocol"), "protocol");
  await addFiles(hash, path.join(root, "package-lock.json"), "package-lock.json");
  return hash.digest("hex");
}

/** Written into console/dist/ only once a build completed; a build cut short (Ctrl-C, a crash) leaves none. */
export const CONSOLE_STAMP = path.join(CONSOLE_DIST, ".build-stamp");

/**
 * Builds console/dist/ unless its completion stamp names the sources it is built from as they are now (see
 * {@link consoleSourcesFingerprint}); the stamp is removed before and written after a build, so an interrupted build
 * is built again. Returns whether it built and how long it took.
 */
export async function ensureConsoleBuilt(force = false): Promise<{ built: boolean; ms: number }> {
  return buildUnlessStamped(CONSOLE_STAMP, await consoleSourcesFingerprint(), force, async () => {
    const { build } = await import("vite");
    await build({ configFile: path.join(CONSOLE_DIR, "vite.config.ts"), root: CONSOLE_DIR, logLevel: "warn" });
  });
}

/** Runs `build` unless the completion stamp at `stamp` holds `fingerprint`; removes the stamp first and writes it
 * only after `build` completed (a build that throws or is cut short leaves no stamp). */
export async function buildUnlessStamped(
  stamp: string,
  fingerprint: string,
  force: boolean,
  build: () => Promise<void>,
): Promise<{ built: boolean; ms: number }> {
  const t0 = performance.now();
  const found = await readFile(stamp, "utf8").catch(() => "");
  if (!force && found.trim() === fingerprint) return { built: false, ms: performance.now() - t0 };
  await rm(stamp, { force: true });
  await build();
  await writeFile(stamp, fingerprint + "\n");
  return { built: true, ms: performance.now() - t0 };
}

/** The Content-Security-Policy of every answer: the page's own origin, and `rpcUrl`'s for its chain reads. */
export function consoleCsp(rpcUrl: string): string {
  const rpc = new URL(rpcUrl);
  const rpcSource = `${rpc.protocol}//${rpc.host}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    // wallets announce their icon as a data: URI (EIP-6963)
    "img-src 'self' data:",
    `connect-src 'self' ${rpcSource}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * What the console's server holds at most. It serves one owner's browser (which opens about six connections to an
 * origin), so anything beyond these is a flood or a malformed client: connections over the cap are closed as they
 * arrive, a silent connection is closed after `idleMs`, headers that trickle in (slowloris) after `headersMs`, and a
 * request that carries a body (the server takes none) is answered 413 and its connection closed unread.
 */
export const consoleServerLimits = {
  /** Open connections at once (Node: `server.maxConnections`); more are closed on arrival. */
  maxConnections: 64,
  /** A connection that sends nothing for this long is closed (a held-open socket frees its slot). */
  idleMs: 10_000,
  /** A request's headers must have arrived this long after its first byte (Node's default is a minute). */
  headersMs: 10_000,
  /** The whole request within this (no body is taken, so only headers count). */
  requestMs: 15_000,
  /** The largest request head (Node's default, 16 KiB; larger is answered 431). */
  maxHeaderBytes: 16 * 1024,
} as const;

export interface ConsoleServerInit {
  deployment: Deployment;
  /** The chain's JSON-RPC endpoint as the browser reaches it (the page reads from it; a wallet may add it). */
  rpcUrl: string;
  host?: string;
  port?: number;
  /** The yards' HTTP surfaces (`http://host:port`) `GET /icons` asks for the ICONs' status (none: the page says so);
   * a function is asked at each request (the demo's yards start after the console). */
  yardHttp?: string[] | (() => string[]);
}

/** Bounds of `GET /icons` and `GET /yards`: the yards asked, the time and bytes each gets, the reads under way, how
 * long a yard's operator as it named itself is kept. */
export const ICONS_PROXY_LIMITS = {
  maxYards: 16,
  timeoutMs: 4000,
  maxBytes: 256 * 1024,
  concurrent: 4,
  operatorCacheMs: 60_000,
} as const;

/** One yard's answer to `GET /icons` as the console server read it (`dropped`: its items that failed the checks). */
interface YardRead {
  yard: string;
  /** Its operator as it names itself (the address its grant must name). */
  operator?: string;
  status: number;
  body?: { icons?: ServedIconStatus[]; error?: string };
  dropped?: number;
}

const decimalId = (v: unknown): v is string => typeof v === "string" && /^[0-9]{1,19}$/.test(v);

/** A yard's item as the page may show it: its report passes the protocol's parser (the one the yard applies to a
 * sidecar's push), its lease and account are decimal ids, and its `yardId` is the yard the server asked (a yard
 * cannot speak for another), or undefined (the item is dropped, the other items of the yard kept). */
function servedItem(v: unknown, yard: string): ServedIconStatus | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const report = parseIconStatusReport(o.report);
  if (typeof report === "string" || !decimalId(o.leaseId) || !decimalId(o.leaseAccount)) return undefined;
  if (typeof o.receivedAtMs !== "number" || !Number.isFinite(o.receivedAtMs)) return undefined;
  return { leaseId: o.leaseId, yardId: yard, leaseAccount: o.leaseAccount, receivedAtMs: o.receivedAtMs, report };
}

/** GETs `url` within the proxy's time and size bounds: its status and decoded JSON, or status 0 and a sentence. */
async function getJson(url: string, maxBytes: number): Promise<{ status: number; raw: unknown } | { error: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ICONS_PROXY_LIMITS.timeoutMs), redirect: "error" });
    const reader = res.body?.getReader();
    const parts: Uint8Array[] = [];
    let n = 0;
    for (;;) {
      const r = await reader?.read();
      if (!r || r.done) break;
      n += r.value.length;
      if (n > maxBytes) {
        await reader?.cancel();
        return { error: `answered more than ${maxBytes} bytes` };
      }
      parts.push(r.value);
    }
    return { status: res.status, raw: JSON.parse(Buffer.concat(parts).toString("utf8")) as unknown };
  } catch (e) {
    return { error: (e as Error).name === "TimeoutError" ? "no answer in time" : "unreachable or not JSON" };
  }
}

/** Reads `${yard}/icons?${query}` within the time and size bounds; a yard that fails is status 0 and a sentence. */
async function readYard(yard: string, query: string, operator: string): Promise<YardRead> {
  const got = await getJson(`${yard}/icons?${query}`, ICONS_PROXY_LIMITS.maxBytes);
  if ("error" in got) return { yard, operator, status: 0, body: { error: got.error } };
  const raw = got.raw as { icons?: unknown; error?: unknown } | null;
  const body = typeof raw === "object" && raw !== null ? raw : {};
  const items: unknown[] = Array.isArray(body.icons) ? body.icons : [];
  const icons = items.map((i) => servedItem(i, yard)).filter((i) => i !== undefined);
  const error = typeof body.error === "string" ? body.error.slice(0, 500) : undefined;
  const dropped = items.length - icons.length;
  return { yard, operator, status: got.status, body: { icons, error }, ...(dropped ? { dropped } : {}) };
}

/** What a yard says its operator is (`GET /icons/yard`), or the sentence why it says nothing usable. Not trusted: a
 * yard that names a false operator gets grants naming that operator, which only that operator's yard serves (two
 * named yards naming one operator are shown none; protocol/PROTOCOL.md "ICON status" says what remains). */
async function yardOperator(yard: string): Promise<{ operator: string } | { error: string }> {
  const got = await getJson(`${yard}/icons/yard`, 4096);
  if ("error" in got) return got;
  const op = (got.raw as { operator?: unknown } | null)?.operator;
  if (got.status !== 200 || typeof op !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(op))
    return { error: `does not name its operator at /icons/yard (answered ${got.status})` };
  return { operator: op };
}

export interface ConsoleServer {
  url: string;
  /** How many connections the server holds now (at most consoleServerLimits.maxConnections). */
  connections(): Promise<number>;
  close(): Promise<void>;
}

/** A short name for the chain, shown on the page and given to a wallet that adds it. */
export function chainName(chainId: number): string {
  return chainId === 31337 ? "ICON dev chain" : `chain ${chainId}`;
}

/** Serves console/dist/ and /deployment.json (it must be built: {@link ensureConsoleBuilt}). */
export async function startConsoleServer(o: ConsoleServerInit): Promise<ConsoleServer> {
  let csp: string;
  try {
    csp = consoleCsp(o.rpcUrl);
  } catch {
    throw new ConfigError("BAD_OPTION", `the RPC URL "${o.rpcUrl}" is not a URL the page can reach`);
  }
  const yardsNow = (): string[] =>
    (typeof o.yardHttp === "function" ? o.yardHttp() : (o.yardHttp ?? [])).slice(0, ICONS_PROXY_LIMITS.maxYards);
  const served = JSON.stringify({
    deployment: o.deployment,
    rpcUrl: o.rpcUrl,
    chainName: chainName(o.deployment.chainId),
  });
  const headers = {
    "Content-Security-Policy": csp,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
  };
  let iconReads = 0;
  /** Each yard's operator as it last named itself (kept operatorCacheMs; a yard that failed to say is asked again). */
  const operators = new Map<string, { operator: string; until: number }>();
  const operatorOf = async (yard: string, fresh: boolean): Promise<{ operator: string } | { error: string }> => {
    const hit = operators.get(yard);
    if (!fresh && hit && hit.until > Date.now()) return hit;
    const r = await yardOperator(yard);
    if ("operator" in r)
      operators.set(yard, { operator: r.operator, until: Date.now() + ICONS_PROXY_LIMITS.operatorCacheMs });
    else operators.delete(yard);
    if (operators.size > ICONS_PROXY_LIMITS.maxYards * 4) operators.delete(operators.keys().next().value!);
    return r;
  };
  const json = { ...headers, "Content-Type": TYPES[".json"], "Cache-Control": "no-store" };
  /** Runs `read` unless ICONS_PROXY_LIMITS.concurrent reads of the yards are under way (then 429). */
  const bounded = async (res: ServerResponse, read: () => Promise<void>): Promise<void> => {
    if (iconReads >= ICONS_PROXY_LIMITS.concurrent) {
      res.writeHead(429, json).end(JSON.stringify({ error: "the console is reading the yards already; ask again" }));
      return;
    }
    iconReads++;
    try {
      await read();
    } finally {
      iconReads--;
    }
  };
  /** Each named yard's operator as it names itself; two yards naming the same operator get a sentence instead (one
   * of them speaks for the other, which would let it replay the other's grant there: neither is given one). */
  const identities = async (fresh: boolean): Promise<{ yard: string; operator?: string; error?: string }[]> => {
    const list = await Promise.all(yardsNow().map(async (yard) => ({ yard, id: await operatorOf(yard, fresh) })));
    return list.map(({ yard, id }) => {
      if ("error" in id) return { yard, error: id.error };
      const op = id.operator.toLowerCase();
      const twin = list.find((o) => o.yard !== yard && "operator" in o.id && o.id.operator.toLowerCase() === op);
      return twin
        ? {
            yard,
            error: `names operator ${id.operator}, as ${twin.yard} does: one of them is not what it says, so neither is shown a grant`,
          }
        : { yard, operator: id.operator };
    });
  };
  /** `GET /yards`: each named yard's operator as it names itself now, which the page's grant for it names. */
  const yards = (res: ServerResponse): Promise<void> =>
    bounded(res, async () => {
      res.writeHead(200, json).end(JSON.stringify({ yards: await identities(true) }));
    });
  /** `GET /icons?grant=…&grant=…`: each named yard's answer to the owner's grant signed for it (a yard is passed only
   * the grant bound to its URL that names the operator it names now, so none sees a grant it could replay elsewhere);
   * the ICONs of those that served it, and per yard its operator and status (a refusal's sentence, a failure, no
   * grant for it yet) for the page to say. */
  const icons = async (query: string, res: ServerResponse): Promise<void> => {
    // Only well-formed grants go on, each re-encoded (nothing else of the page's query reaches a yard).
    const grants = parseStatusGrantsQuery(new URLSearchParams(query), ICONS_PROXY_LIMITS.maxYards);
    if (typeof grants === "string") {
      res.writeHead(401, json).end(JSON.stringify({ error: `a signed read grant is needed: ${grants}` }));
      return;
    }
    await bounded(res, async () => {
      const reads = await Promise.all(
        (await identities(false)).map(async (id): Promise<YardRead> => {
          const { yard, operator } = id;
          if (operator === undefined) return { yard, status: 0, body: { error: id.error } };
          // Only the grant signed for this very URL, and only while the yard there names the operator it names
          // (a yard that takes over another's operator, the other silent or gone, is not handed the other's grant).
          const own = grants.find((g) => g.url === yard && g.grant.yard.toLowerCase() === operator.toLowerCase());
          if (!own)
            return {
              yard,
              operator,
              status: 401,
              body: { error: `no read grant names this yard (operator ${operator}); sign one for it` },
            };
          return readYard(yard, statusGrantQuery(own.grant, own.signature), operator);
        }),
      );
      const served = reads.filter((r) => r.status === 200);
      // Every yard refused the grant alike: its status and sentence (an expired grant is expired everywhere).
      const refusal = served.length === 0 ? reads.find((r) => r.status === 401 || r.status === 403) : undefined;
      const body = {
        icons: served.flatMap((r) => r.body?.icons ?? []),
        yards: reads.map((r) => ({
          yard: r.yard,
          operator: r.operator,
          status: r.status,
          error: r.body?.error,
          dropped: r.dropped,
        })),
        ...(refusal ? { error: refusal.body?.error ?? "refused" } : {}),
      };
      res.writeHead(refusal?.status ?? 200, json).end(JSON.stringify(body));
    });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.headers["transfer-encoding"] !== undefined || (req.headers["content-length"] ?? "0") !== "0") {
      // Nothing here takes a body: refuse it unread, and close the connection so it is not drained either.
      res.on("finish", () => req.socket.destroy());
      res.writeHead(413, { ...headers, Connection: "close" }).end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...headers, Allow: "GET, HEAD" }).end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://console");
    if (url.pathname === "/icons") return icons(url.search.slice(1), res);
    if (url.pathname === "/yards") return yards(res);
    if (url.pathname === "/deployment.json") {
      res.writeHead(200, { ...headers, "Content-Type": TYPES[".json"], "Cache-Control": "no-store" }).end(served);
      return;
    }
    const rel = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname).replace(/^\/+/, "");
    const file = path.resolve(CONSOLE_DIST, rel);
    const type = TYPES[path.extname(file)];
    const s = await stat(file).catch(() => undefined);
    if (!file.startsWith(CONSOLE_DIST + path.sep) || !type || !s?.isFile()) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    const cache = rel.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache";
    res.writeHead(200, { ...headers, "Content-Type": type, "Content-Length": s.size, "Cache-Control": cache });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  };
  const limits = consoleServerLimits;
  const server = createServer(
    {
      headersTimeout: limits.headersMs,
      requestTimeout: limits.requestMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node looks for requests past headersMs or requestMs (its default, 30 s, would let one live 40 s).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, headers);
        res.end();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  // A silent socket is destroyed after idleMs (no 'timeout' listener on the server: Node destroys it).
  server.setTimeout(limits.idleMs);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          "HTTP_LISTEN",
          `the console cannot listen on ${o.host ?? "127.0.0.1"}:${o.port ?? 0}: ${e.code ?? e.message}`,
        ),
      ),
    );
    server.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}/`,
    connections: () => new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n)))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
