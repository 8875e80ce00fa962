/**
 * The owner console's server (`icon console`, the console test, `npm run demo --console`): builds console/ with
 * Vite when its sources changed since the last build, then serves console/dist/ and the deployment the page acts
 * on (/deployment.json: addresses, chain id, the RPC URL the page reads from) with a strict Content-Security-Policy:
 * only the page's own files, no inline script or style, no eval, and connections only to itself and the chain's
 * RPC endpoint.
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ConfigError } from "../../protocol/errors.ts";
import type { Deployment } from "../../protocol/chain/deployment-schema.ts";

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

async function newest(p: string): Promise<number> {
  const s = await stat(p).catch(() => undefined);
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let max = 0;
  for (const e of await readdir(p))
    if (e !== "node_modules" && e !== "dist") max = Math.max(max, await newest(path.join(p, e)));
  return max;
}

/**
 * Builds console/dist/ unless it is newer than every source it is built from (console/ and protocol/, which the
 * page imports); returns whether it built and how long it took.
 */
export async function ensureConsoleBuilt(force = false): Promise<{ built: boolean; ms: number }> {
  const t0 = performance.now();
  const built = await stat(path.join(CONSOLE_DIST, "index.html")).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(await newest(CONSOLE_DIR), await newest(path.join(root, "protocol")));
  if (!force && built > sources) return { built: false, ms: performance.now() - t0 };
  const { build } = await import("vite");
  await build({ configFile: path.join(CONSOLE_DIR, "vite.config.ts"), root: CONSOLE_DIR, logLevel: "warn" });
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

export interface ConsoleServerInit {
  deployment: Deployment;
  /** The chain's JSON-RPC endpoint as the browser reaches it (the page reads from it; a wallet may add it). */
  rpcUrl: string;
  host?: string;
  port?: number;
}

export interface ConsoleServer {
  url: string;
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
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...headers, Allow: "GET, HEAD" }).end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://console");
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
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, headers);
      res.end();
    });
  });
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
