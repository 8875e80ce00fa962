/**
 * The agent gateway's chain and ALTO proxies (agent-gateway.ts serves them): a JSON-RPC 2.0 filter in front of the
 * chain RPC the yard names, and a bounded GET proxy to its ALTO server.
 *
 * The filter carries only reads and estimates (GATEWAY_RPC_METHODS): every other method answers -32601 with a
 * sentence naming it (ICONs are gasless: their writes are intents relayed over /icon/relay/1.0.0). eth_getLogs is
 * carried when its block range spans at most gatewayLimits.maxLogBlocks (tags resolved against the chain's head).
 * A batch is 1..maxBatch calls; the allowed calls of one batch go upstream as one batch under ids of the gateway's
 * own (so a caller's duplicate or odd ids cannot mix answers up) and the answers come back under the caller's ids.
 * Upstream answers are read up to `maxAnswerBytes`; a larger one is refused, not cut.
 *
 * eth_call and eth_estimateGas run code on the shared node (a call without `to` runs its initcode): they take
 * `[tx]` or `[tx, block]` only — state and block overrides are refused — and their gas is capped at `callGas`
 * (filled in when the caller names none). At most `upstreamConcurrent` requests go to the chain RPC at once, for all
 * sidecars together; the others wait their turn (bounded by the gateway's own concurrency bounds).
 *
 * @example
 *   const rpc = new RpcFilter({ rpcUrl: "http://127.0.0.1:8545", maxAnswerBytes: 4 << 20, callGas: 10_000_000n, upstreamConcurrent: 16 });
 *   const answer = await rpc.handle(JSON.parse(body));   // a JSON-RPC answer (object or array) to send back
 */
import { GATEWAY_REFUSED_METHOD, GATEWAY_RPC_METHODS, gatewayLimits } from "../protocol/index.ts";

const ALLOWED = new Set(GATEWAY_RPC_METHODS);
const UPSTREAM_TIMEOUT_MS = 15_000;
const BLOCK_TAGS = new Set(["latest", "pending", "safe", "finalized"]);

type Id = string | number | null;
interface Call {
  jsonrpc: "2.0";
  id: Id;
  method: string;
  params?: unknown[] | Record<string, unknown>;
}
type Answer = { jsonrpc: "2.0"; id: Id; result: unknown } | { jsonrpc: "2.0"; id: Id; error: RpcError };
interface RpcError {
  code: number;
  message: string;
}

/** A refusal of the whole request (not JSON-RPC shaped): HTTP status and a sentence. */
export class GatewayRefusal extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const error = (id: Id, code: number, message: string): Answer => ({ jsonrpc: "2.0", id, error: { code, message } });

/** Reads `res`'s body up to `max` bytes; throws GatewayRefusal(502) beyond. */
export async function boundedBody(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new GatewayRefusal(502, `${what} is larger than ${max} bytes; ask for less`);
  }
  const parts: Buffer[] = [];
  let n = 0;
  if (res.body)
    for await (const chunk of res.body) {
      n += chunk.byteLength;
      if (n > max) {
        await res.body.cancel().catch(() => {});
        throw new GatewayRefusal(502, `${what} is larger than ${max} bytes; ask for less`);
      }
      parts.push(Buffer.from(chunk));
    }
  return Buffer.concat(parts);
}

export interface RpcFilterOptions {
  rpcUrl: string;
  maxAnswerBytes: number;
  /** Gas one eth_call or eth_estimateGas may use at most. */
  callGas: bigint;
  /** Requests to the chain RPC under way at once. */
  upstreamConcurrent: number;
}

export class RpcFilter {
  readonly #o: RpcFilterOptions;
  /** The chain's head as last read, for eth_getLogs ranges (read again after a second). */
  #head: { block: bigint; at: number } | undefined;
  /** Upstream requests under way, and the ones waiting for a turn. */
  #upstream = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(o: RpcFilterOptions) {
    this.#o = o;
  }

  /** The answer to a JSON-RPC request (one call or a batch) as JSON-RPC; throws GatewayRefusal for a bad batch. */
  async handle(body: unknown, signal?: AbortSignal): Promise<Answer | Answer[]> {
    if (Array.isArray(body)) {
      if (body.length === 0 || body.length > gatewayLimits.maxBatch)
        throw new GatewayRefusal(
          400,
          `a batch of ${body.length} calls; the gateway takes 1..${gatewayLimits.maxBatch} per request`,
        );
      return this.#batch(body, signal);
    }
    return (await this.#batch([body], signal))[0]!;
  }

  async #batch(items: unknown[], signal?: AbortSignal): Promise<Answer[]> {
    const answers: (Answer | undefined)[] = [];
    const upstream: { at: number; call: Call }[] = [];
    for (const [i, item] of items.entries()) {
      const call = asCall(item);
      if (typeof call === "string") {
        answers[i] = error(idOf(item), -32600, call);
        continue;
      }
      if (!ALLOWED.has(call.method)) {
        answers[i] = error(
          call.id,
          GATEWAY_REFUSED_METHOD,
          `${call.method.slice(0, 64)} is not carried by the yard's agent gateway: it allows reads only (ICONs send no transactions; their writes are intents relayed over /icon/relay/1.0.0)`,
        );
        continue;
      }
      if (call.method === "eth_call" || call.method === "eth_estimateGas") {
        const capped = this.#capCall(call);
        if (typeof capped === "string") {
          answers[i] = error(call.id, -32602, capped);
          continue;
        }
        call.params = capped;
      }
      if (call.method === "eth_getLogs") {
        const why = await this.#logsProblem(call.params, signal).catch((e: unknown) =>
          e instanceof GatewayRefusal ? e.message : `the chain's head cannot be read: ${(e as Error).message}`,
        );
        if (why) {
          answers[i] = error(call.id, -32602, why);
          continue;
        }
      }
      upstream.push({ at: i, call });
    }
    if (upstream.length > 0) {
      const sent = upstream.map(({ call }, n) => ({
        jsonrpc: "2.0",
        id: n,
        method: call.method,
        ...(call.params ? { params: call.params } : {}),
      }));
      const got = await this.#post(sent, signal);
      const byId = new Map<number, Record<string, unknown>>();
      for (const a of Array.isArray(got) ? got : [got])
        if (a && typeof a === "object" && typeof (a as { id?: unknown }).id === "number")
          byId.set((a as { id: number }).id, a as Record<string, unknown>);
      upstream.forEach(({ at, call }, n) => {
        const a = byId.get(n);
        if (!a) answers[at] = error(call.id, -32603, "the chain RPC gave no answer to this call");
        else if ("error" in a) answers[at] = { jsonrpc: "2.0", id: call.id, error: a.error as RpcError };
        else answers[at] = { jsonrpc: "2.0", id: call.id, result: a.result };
      });
    }
    return answers as Answer[];
  }

  /** The params of an eth_call/eth_estimateGas with its gas capped, or why it is refused. */
  #capCall(call: Call): unknown[] | string {
    const p = call.params;
    if (!Array.isArray(p) || p.length < 1 || p.length > 2)
      return `${call.method} takes [transaction] or [transaction, block]: state and block overrides are not carried`;
    const tx = p[0];
    if (typeof tx !== "object" || tx === null || Array.isArray(tx))
      return `${call.method}: the transaction must be a JSON object`;
    const t = { ...(tx as Record<string, unknown>) };
    const cap = this.#o.callGas;
    if (t.gas !== undefined) {
      if (typeof t.gas !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(t.gas))
        return `${call.method}: gas must be a hex quantity (0x…)`;
      if (BigInt(t.gas) > cap) t.gas = `0x${cap.toString(16)}`;
    } else t.gas = `0x${cap.toString(16)}`;
    return p.length === 2 ? [t, p[1]] : [t];
  }

  /** Waits for a turn at the chain RPC (at most upstreamConcurrent at once); the release to call after. */
  async #turn(signal?: AbortSignal): Promise<() => void> {
    if (this.#upstream >= this.#o.upstreamConcurrent) {
      await new Promise<void>((resolve, reject) => {
        const go = (): void => {
          signal?.removeEventListener("abort", give);
          resolve();
        };
        const give = (): void => {
          const at = this.#waiting.indexOf(go);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(new GatewayRefusal(503, "the chain RPC is busy; the request was given up"));
        };
        if (signal?.aborted) return give();
        signal?.addEventListener("abort", give, { once: true });
        this.#waiting.push(go);
      });
    } else this.#upstream++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      if (next)
        next(); // the turn passes on: #upstream stays
      else this.#upstream--;
    };
  }

  /** Posts `body` to the chain RPC in its turn; the parsed answer (bounded in size and time). */
  async #post(body: unknown, signal?: AbortSignal): Promise<unknown> {
    const release = await this.#turn(signal);
    try {
      return await this.#postNow(body, signal);
    } finally {
      release();
    }
  }

  async #postNow(body: unknown, signal?: AbortSignal): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.#o.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS)])
          : AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch {
      throw new GatewayRefusal(502, "the chain RPC cannot be reached");
    }
    // A public RPC's rate limit stays a 429 for the sidecar, whose client waits and asks again (chain/rpc.ts).
    if (res.status === 429) {
      await res.body?.cancel();
      throw new GatewayRefusal(429, "the chain RPC is rate-limiting the yard (HTTP 429): ask again in a second");
    }
    const bytes = await boundedBody(res, this.#o.maxAnswerBytes, "the chain RPC's answer");
    try {
      return JSON.parse(bytes.toString("utf8")) as unknown;
    } catch {
      throw new GatewayRefusal(502, `the chain RPC answered HTTP ${res.status} with something that is not JSON`);
    }
  }

  /** Why an eth_getLogs filter is refused (a range too wide), or undefined. */
  async #logsProblem(params: Call["params"], signal?: AbortSignal): Promise<string | undefined> {
    const f = Array.isArray(params) ? params[0] : undefined;
    if (typeof f !== "object" || f === null || Array.isArray(f))
      return "eth_getLogs takes one filter object: { fromBlock, toBlock, address, topics } or { blockHash }";
    const filter = f as Record<string, unknown>;
    if (filter.blockHash !== undefined) {
      if (filter.fromBlock !== undefined || filter.toBlock !== undefined)
        return "eth_getLogs takes blockHash or a block range, not both";
      return undefined;
    }
    const from = await this.#block(filter.fromBlock, signal);
    const to = await this.#block(filter.toBlock, signal);
    if (typeof from === "string") return from;
    if (typeof to === "string") return to;
    const span = to - from + 1n;
    if (span > BigInt(gatewayLimits.maxLogBlocks))
      return `eth_getLogs over ${span} blocks (${from}..${to}); the gateway carries at most ${gatewayLimits.maxLogBlocks} blocks per call: ask in smaller ranges`;
    return undefined;
  }

  /** A block parameter as a number (tags resolved; "earliest" is 0), or why it is not one. */
  async #block(v: unknown, signal?: AbortSignal): Promise<bigint | string> {
    if (v === undefined || (typeof v === "string" && BLOCK_TAGS.has(v))) return this.#latest(signal);
    if (v === "earliest") return 0n;
    if (typeof v === "string" && /^0x[0-9a-fA-F]{1,16}$/.test(v)) return BigInt(v);
    return `eth_getLogs: ${JSON.stringify(v).slice(0, 40)} is not a block number (0x…) or tag`;
  }

  async #latest(signal?: AbortSignal): Promise<bigint> {
    if (this.#head && Date.now() - this.#head.at < 1000) return this.#head.block;
    const a = (await this.#post({ jsonrpc: "2.0", id: 0, method: "eth_blockNumber" }, signal)) as { result?: unknown };
    if (typeof a?.result !== "string" || !/^0x[0-9a-fA-F]+$/.test(a.result))
      throw new GatewayRefusal(502, "the chain RPC did not tell its head");
    this.#head = { block: BigInt(a.result), at: Date.now() };
    return this.#head.block;
  }
}

function idOf(item: unknown): Id {
  const id = (item as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}

/** `item` as a call, or why it is not one. */
function asCall(item: unknown): Call | string {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return "a call must be a JSON object";
  const o = item as Record<string, unknown>;
  if (o.jsonrpc !== "2.0") return 'a call must say "jsonrpc": "2.0"';
  if (typeof o.method !== "string" || o.method.length === 0 || o.method.length > 128)
    return "a call must name its method";
  const id = o.id;
  if (!(typeof id === "number" || (typeof id === "string" && id.length <= 128) || id === null))
    return "a call must carry an id (number or string): the gateway answers every call";
  if (o.params !== undefined && (typeof o.params !== "object" || o.params === null))
    return "params must be an array or an object";
  return {
    jsonrpc: "2.0",
    id,
    method: o.method,
    ...(o.params !== undefined ? { params: o.params as Call["params"] } : {}),
  };
}

/**
 * GETs `path` (with its query) from the ALTO server at `base`, bounded in size and time; the status, content type
 * and body to send back. `path` holds only URL path characters and no `..` (checked here).
 */
export async function altoGet(
  base: string,
  path: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<{ status: number; type: string; body: Buffer }> {
  const [p, query] = path.split("?", 2) as [string, string | undefined];
  if (!/^[A-Za-z0-9._~/-]{0,256}$/.test(p) || p.split("/").includes(".."))
    throw new GatewayRefusal(400, "an ALTO path holds letters, digits, ._~- and slashes, and no ..");
  if (query !== undefined && !/^[A-Za-z0-9._~=&%+-]{0,512}$/.test(query))
    throw new GatewayRefusal(400, "an ALTO query holds letters, digits and ._~=&%+- only");
  const url = `${base.replace(/\/+$/, "")}/${p.replace(/^\/+/, "")}${query !== undefined ? `?${query}` : ""}`;
  let res: Response;
  try {
    res = await fetch(url, {
      redirect: "manual",
      signal: signal
        ? AbortSignal.any([signal, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS)])
        : AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch (e) {
    throw new GatewayRefusal(502, `the ALTO server cannot be reached: ${(e as Error).message}`);
  }
  const body = await boundedBody(res, maxBytes, "the ALTO server's answer");
  return { status: res.status, type: res.headers.get("content-type") ?? "application/octet-stream", body };
}
