/**
 * Reads that survive the host's network changing. Chromium fails every request in flight with
 * `net::ERR_NETWORK_CHANGED` when the host's interfaces or addresses change (Wi-Fi roaming, a VPN coming up, Docker
 * starting) — also a request to 127.0.0.1. The page's reads are idempotent, so a read that failed at the network
 * (fetch's TypeError) is tried again: at most READ_TRIES times, after READ_BACKOFF_MS (≈ 2.3 s in all), then its
 * failure is the caller's usual sentence. An answer — an HTTP status, a JSON-RPC error, a revert — is never retried,
 * and nothing that sends is retried: transactions and signatures go through the wallet, never through this module.
 */

/** Tries of one read, and the waits between them. */
export const READ_TRIES = 4;
export const READ_BACKOFF_MS = [200, 600, 1500] as const;

/** What the page's reads met, for the owner's support and the tests (`window.__consoleNet`). */
export const netStats = {
  /** Tries repeated after a network failure. */
  retried: 0,
  /** Reads that failed at the network and then succeeded. */
  recovered: 0,
  /** Reads that failed at the network READ_TRIES times (then the page says so). */
  gaveUp: 0,
};
(globalThis as { __consoleNet?: typeof netStats }).__consoleNet = netStats;

/** Whether `e` is a failure to reach the server (fetch rejects with a TypeError then), not an answer. */
export function isNetworkFailure(e: unknown): boolean {
  return e instanceof TypeError;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the idempotent read `read`, again after a network failure (bounded as above). `read(n)` gets the try's
 * number, from 0. */
export async function retryRead<T>(read: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await read(attempt);
      if (attempt > 0) netStats.recovered++;
      return out;
    } catch (e) {
      if (!isNetworkFailure(e)) throw e;
      if (attempt + 1 >= READ_TRIES) {
        netStats.gaveUp++;
        throw e;
      }
      netStats.retried++;
      await pause(READ_BACKOFF_MS[attempt] ?? READ_BACKOFF_MS.at(-1)!);
    }
  }
}

/** `fetch` of a GET the page makes (`/deployment.json`, `/yards`, `/icons`), tried again after a network failure. */
export function fetchRead(url: string, init: RequestInit = {}): Promise<Response> {
  return retryRead(() => fetch(url, { ...init, method: "GET" }));
}

/** Imports of a chunk under a query so far: every retry's URL is new to the module map, across calls too. */
let chunkTry = 0;
/** Per lazily imported module (the caller's key): its chunk's URL once a failure named it, the URL that loaded. */
const chunks = new Map<string, { url?: string; loaded?: string }>();

/**
 * A lazily imported module, loaded again after a network failure. Chromium keeps a failed dynamic import in its
 * module map: a second `import()` of the same URL fails at once without a request (checked in Chromium 150). So a
 * retry imports the chunk's URL, which the failure names, with a query (`?retry=n`, n counted over the page's life:
 * a later call after READ_TRIES failures fetches anew too), and the URL that loaded is imported directly from then
 * on (the module map's entry, no request).
 */
export function importRetrying<T>(key: string, load: () => Promise<T>): Promise<T> {
  let chunk = chunks.get(key);
  if (chunk === undefined) chunks.set(key, (chunk = {}));
  const c = chunk;
  if (c.loaded !== undefined) return import(/* @vite-ignore */ c.loaded) as Promise<T>;
  return retryRead(async () => {
    if (c.url === undefined) {
      try {
        return await load();
      } catch (e) {
        c.url = e instanceof TypeError ? /(https?:\/\/[^\s'"]+?\.js)\b/.exec(e.message)?.[1] : undefined;
        throw e;
      }
    }
    const url = `${c.url}?retry=${++chunkTry}`;
    const module = (await import(/* @vite-ignore */ url)) as T;
    c.loaded = url;
    return module;
  });
}
