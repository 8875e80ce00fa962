/**
 * PublicRpcProxyFake: an HTTP JSON-RPC proxy in front of the embedded chain that behaves like a public RPC endpoint,
 * for what the real chain cannot do on demand (a fault injector, named so): it
 *  - caps eth_getLogs ranges (`maxLogRange`), refusing wider ones with the text public RPCs use
 *    ("query exceeds max block range 2000", code -32005);
 *  - answers HTTP 429 with Retry-After, per client (`rateLimit`: a window per remote address) or every n-th request
 *    (`every429`: the occasional 429 of a shared endpoint);
 *  - lags (`lagBlocks`): eth_blockNumber, "latest" and receipts are served as of a head `lagBlocks` old (a block is
 *    released anyway once it is `lagReleaseMs` old, so an automining chain that stops mining is caught up with); with
 *    `lagTransactions`, transactions by hash and "pending" nonces too — a transaction pending or mined above that
 *    head is unknown there, as on a node it has not reached yet; a transaction sent through it still reaches the
 *    upstream at once;
 *  - drops connections mid-answer (`dropEvery`, `dropNext()`): the headers and half the body, then the socket is cut,
 *    after the upstream answered (the request reached the chain: a transaction in it was sent);
 *  - switches between upstreams (`use(i)`; an upstream that cannot be reached is a 502).
 * It records every call it saw (method, params, client, outcome) for tests to check, and notes the log queries a
 * public RPC would refuse or serve from "latest" (`unranged`).
 *
 * @example
 *   const proxy = await PublicRpcProxyFake.start([chain.url], { maxLogRange: 2000, every429: { n: 50, retryAfterS: 1 } });
 *   const provider = rpcProvider(proxy.url);
 *   …
 *   expect(proxy.unranged).to.deep.equal([]);
 *   await proxy.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface PublicRpcFaults {
  /** Widest eth_getLogs range served, in blocks (both ends inclusive); default: no cap. */
  maxLogRange?: number;
  /** At most `requests` per `windowMs` from one client (remote address); more get 429 with Retry-After. */
  rateLimit?: { requests: number; windowMs: number; retryAfterS: number };
  /** Every `n`-th request (all clients counted) gets 429 with Retry-After `retryAfterS`. */
  every429?: { n: number; retryAfterS: number };
  /** Serve the head this many blocks behind the upstream's. */
  lagBlocks?: number;
  /** With `lagBlocks`: eth_getTransactionByHash and "pending" nonces lag too (off in the e2e lanes). */
  lagTransactions?: boolean;
  /** A block is served once it is this old (ms since the proxy first saw it), however few blocks followed it. */
  lagReleaseMs?: number;
  /** Cut every `n`-th answer mid-body (0/absent: never). */
  dropEvery?: number;
}

/** One JSON-RPC call the proxy saw. */
export interface SeenCall {
  method: string;
  params: unknown[];
  client: string;
  /** The request's Authorization header, if any. */
  authorization?: string;
  at: number;
  /** What the proxy did with it. */
  outcome: "served" | "rate-limited" | "range-refused" | "dropped" | "upstream-down";
}

interface RpcRequest {
  jsonrpc?: string;
  id?: unknown;
  method: string;
  params?: unknown[];
}

/** Calls kept in `calls` (the oldest forgotten first); `unranged` keeps every offending one. */
const MAX_CALLS = 100_000;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** The public-like RPC proxy (see the module header). */
export class PublicRpcProxyFake {
  readonly upstreams: string[];
  faults: PublicRpcFaults;
  /** Calls seen, oldest first (at most MAX_CALLS). */
  readonly calls: SeenCall[] = [];
  /** eth_getLogs calls without both fromBlock and toBlock (or a blockHash), or with "earliest": what no caller may send. */
  readonly unranged: SeenCall[] = [];
  /** Widest eth_getLogs range asked for (blocks), for a test to compare with the window. */
  widestLogRange = 0;
  #upstream = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #count = 0;
  readonly #windows = new Map<string, number[]>();
  readonly #firstSeen = new Map<number, number>();
  #highestSeen = -1;
  #dropNext: { count: number; methods?: string[] | undefined } = { count: 0 };
  #url = "";

  private constructor(upstreams: string[], faults: PublicRpcFaults) {
    this.upstreams = upstreams;
    this.faults = faults;
  }

  /** Starts a proxy on 127.0.0.1 (a free port) in front of `upstreams[0]`. */
  static async start(upstreams: string[], faults: PublicRpcFaults = {}): Promise<PublicRpcProxyFake> {
    const p = new PublicRpcProxyFake(upstreams, faults);
    const server = createServer((req, res) => void p.#handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.on("connection", (s) => {
      p.#sockets.add(s);
      s.on("close", () => p.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    p.#server = server;
    p.#url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return p;
  }

  get url(): string {
    return this.#url;
  }

  /** Serves from upstream `i` from now on. */
  use(i: number): void {
    if (!this.upstreams[i]) throw new Error(`no upstream ${i}`);
    this.#upstream = i;
  }

  /** Cuts the next `count` answers (to calls of `method` — one or several —, if given) mid-body. */
  dropNext(count: number, method?: string | string[]): void {
    this.#dropNext = { count, methods: method === undefined ? undefined : [method].flat() };
  }

  /** The calls seen of `method`. */
  callsOf(method: string): SeenCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #record(c: SeenCall): SeenCall {
    this.calls.push(c);
    if (this.calls.length > MAX_CALLS) this.calls.splice(0, this.calls.length - MAX_CALLS);
    return c;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const client = req.socket.remoteAddress ?? "?";
    let body: RpcRequest | RpcRequest[];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString()) as RpcRequest | RpcRequest[];
    } catch {
      res.writeHead(400).end("bad JSON");
      return;
    }
    const list = Array.isArray(body) ? body : [body];
    const at = Date.now();
    const seen = list.map((r) =>
      this.#record({
        method: String(r.method),
        params: r.params ?? [],
        client,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        at,
        outcome: "served",
      }),
    );
    const limited = this.#rateLimited(client, at);
    if (limited !== undefined) {
      for (const s of seen) s.outcome = "rate-limited";
      res.writeHead(429, { "retry-after": String(limited), "content-type": "text/plain" }).end("Too Many Requests");
      return;
    }
    let answers: unknown[];
    try {
      answers = await Promise.all(list.map((r, i) => this.#serve(r, seen[i]!)));
    } catch (e) {
      for (const s of seen) s.outcome = "upstream-down";
      res.writeHead(502, { "content-type": "text/plain" }).end(`upstream unreachable: ${(e as Error).message}`);
      return;
    }
    const text = JSON.stringify(Array.isArray(body) ? answers : answers[0]);
    if (this.#shouldDrop(list)) {
      for (const s of seen) s.outcome = "dropped";
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      setImmediate(() => res.socket?.destroy());
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(text);
  }

  /** Retry-After seconds when this request is refused with 429, else undefined. */
  #rateLimited(client: string, now: number): number | undefined {
    const f = this.faults;
    this.#count++;
    if (f.every429 && f.every429.n > 0 && this.#count % f.every429.n === 0) return f.every429.retryAfterS;
    if (!f.rateLimit) return undefined;
    const times = (this.#windows.get(client) ?? []).filter((t) => t > now - f.rateLimit!.windowMs);
    if (times.length >= f.rateLimit.requests) {
      this.#windows.set(client, times);
      return f.rateLimit.retryAfterS;
    }
    times.push(now);
    this.#windows.set(client, times);
    return undefined;
  }

  #shouldDrop(list: RpcRequest[]): boolean {
    const d = this.#dropNext;
    if (d.count > 0 && (!d.methods || list.some((r) => d.methods!.includes(r.method)))) {
      d.count--;
      return true;
    }
    const every = this.faults.dropEvery ?? 0;
    return every > 0 && this.#count % every === 0;
  }

  async #forward(r: RpcRequest): Promise<{ result?: unknown; error?: unknown }> {
    const res = await fetch(this.upstreams[this.#upstream]!, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: r.method, params: r.params ?? [] }),
    });
    const { result, error } = (await res.json()) as { result?: unknown; error?: unknown };
    return error === undefined ? { result } : { error };
  }

  /** The head served now: the upstream's, `lagBlocks` behind, but never behind a block `lagReleaseMs` old. */
  async #head(): Promise<{ real: number; served: number }> {
    const { result } = await this.#forward({ method: "eth_blockNumber" });
    const real = Number(result);
    const now = Date.now();
    for (let b = Math.max(this.#highestSeen + 1, real - 256); b <= real; b++) this.#firstSeen.set(b, now);
    this.#highestSeen = Math.max(this.#highestSeen, real);
    for (const b of this.#firstSeen.keys()) if (b < real - 256) this.#firstSeen.delete(b);
    const lag = this.faults.lagBlocks ?? 0;
    let served = Math.max(0, real - lag);
    const release = this.faults.lagReleaseMs;
    if (release !== undefined)
      for (let b = real; b > served; b--)
        if (now - (this.#firstSeen.get(b) ?? now) >= release) {
          served = b;
          break;
        }
    return { real, served };
  }

  async #serve(r: RpcRequest, seen: SeenCall): Promise<unknown> {
    const answer = (a: { result?: unknown; error?: unknown }) => ({ jsonrpc: "2.0", id: r.id, ...a });
    const lag = (this.faults.lagBlocks ?? 0) > 0;
    const params = [...(r.params ?? [])];
    if (r.method === "eth_getLogs") return answer(await this.#logs(params, seen, lag));
    if (!lag) return answer(await this.#forward(r));
    const { served } = await this.#head();
    const pending = this.faults.lagTransactions === true;
    const latest = (v: unknown): unknown =>
      v === undefined || v === "latest" || (pending && v === "pending") ? hex(served) : v;
    switch (r.method) {
      case "eth_blockNumber":
        return answer({ result: hex(served) });
      case "eth_getBlockByNumber":
        if (params[0] === "latest") params[0] = hex(served);
        else if (typeof params[0] === "string" && params[0].startsWith("0x") && Number(params[0]) > served)
          return answer({ result: null });
        break;
      case "eth_call":
      case "eth_getBalance":
      case "eth_getCode":
      case "eth_getTransactionCount":
        params[1] = latest(params[1]);
        break;
      case "eth_getStorageAt":
        params[2] = latest(params[2]);
        break;
      case "eth_getTransactionByHash": {
        if (!pending) break;
        const a = await this.#forward(r);
        const block = (a.result as { blockNumber?: string | null } | null)?.blockNumber;
        const hidden = a.result && (block === null || block === undefined || Number(block) > served);
        return answer(hidden ? { result: null } : a);
      }
      case "eth_getTransactionReceipt": {
        const a = await this.#forward(r);
        const block = (a.result as { blockNumber?: string } | null)?.blockNumber;
        return answer(block !== undefined && Number(block) > served ? { result: null } : a);
      }
    }
    return answer(await this.#forward({ ...r, params }));
  }

  /** eth_getLogs: noted when unranged, refused when wider than `maxLogRange`, clamped to the served head. */
  async #logs(params: unknown[], seen: SeenCall, lag: boolean): Promise<{ result?: unknown; error?: unknown }> {
    const filter = { ...((params[0] ?? {}) as Record<string, unknown>) };
    if (filter.blockHash === undefined) {
      const numeric = (v: unknown) => typeof v === "string" && /^0x[0-9a-f]+$/i.test(v);
      if (!numeric(filter.fromBlock) || !numeric(filter.toBlock)) this.unranged.push(seen);
      const { real, served } = lag ? await this.#head() : { real: -1, served: -1 };
      const head = async (): Promise<number> =>
        lag ? served : Number((await this.#forward({ method: "eth_blockNumber" })).result);
      const resolve = async (v: unknown): Promise<number> =>
        v === "earliest" ? 0 : numeric(v) ? Number(v) : await head();
      const from = await resolve(filter.fromBlock);
      let to = await resolve(filter.toBlock);
      if (lag && to > served && to <= real) to = served;
      this.widestLogRange = Math.max(this.widestLogRange, to - from + 1);
      const cap = this.faults.maxLogRange;
      if (cap !== undefined && to - from + 1 > cap) {
        seen.outcome = "range-refused";
        return { error: { code: -32005, message: `query exceeds max block range ${cap}` } };
      }
      [filter.fromBlock, filter.toBlock] = [hex(from), hex(Math.max(from - 1, to))];
      if (to < from) return { result: [] };
    }
    return this.#forward({ method: "eth_getLogs", params: [filter] });
  }
}

/**
 * The faults the e2e lanes run under (`ICON_RPC_PROXY=1`): ranges capped at 2,000 blocks, a 429 (Retry-After 1 s)
 * every `ICON_RPC_PROXY_429` requests (default 400), a head `ICON_RPC_PROXY_LAG` blocks behind (default 1), each
 * block released after 300 ms (an automining chain that stops mining is caught up with).
 */
export function e2eFaults(env: NodeJS.ProcessEnv = process.env): PublicRpcFaults {
  const n = Number(env.ICON_RPC_PROXY_429 ?? 400);
  const lag = Number(env.ICON_RPC_PROXY_LAG ?? 1);
  return {
    maxLogRange: 2_000,
    ...(n > 0 ? { every429: { n, retryAfterS: 1 } } : {}),
    ...(lag > 0 ? { lagBlocks: lag, lagReleaseMs: 300 } : {}),
  };
}

/** Throws naming the log queries `proxy` saw without a block range or wider than `window` blocks (issue 19). */
export function checkRanged(proxy: PublicRpcProxyFake, window = 2_000): void {
  const show = (c: SeenCall) => `${c.method} ${JSON.stringify(c.params)}`;
  if (proxy.unranged.length > 0)
    throw new Error(
      `${proxy.unranged.length} eth_getLogs call(s) without a numeric block range, e.g. ${show(proxy.unranged[0]!)}`,
    );
  if (proxy.widestLogRange > window)
    throw new Error(`an eth_getLogs call spanned ${proxy.widestLogRange} blocks, more than the ${window}-block window`);
}
