/**
 * The chain's JSON-RPC over one or several endpoints, as public RPCs serve it: rate limits (HTTP 429 with
 * Retry-After), connections dropped mid-answer, endpoints that lag behind each other or go away. `RpcEndpoints` is an
 * ethers JsonRpcProvider whose transport:
 *  - on 429 waits what Retry-After says (seconds; ethers' own FetchRequest reads the header as milliseconds; at least
 *    the backoff, so a Retry-After of 0 or a past date is no hot loop; at most `maxRetryAfterMs`) or moves to another
 *    endpoint that is not rate-limited, saying so ("RPC http://… rate-limited (429) on eth_call, retrying in 2 s");
 *    a longer Retry-After pauses the endpoint for the longest wait and fails the call only when no other is free;
 *  - on a dropped connection, a timeout or a 5xx retries a read on the next endpoint, then, after a backoff, all of
 *    them again for a few rounds, before the error reaches the caller (as CHAIN_UNREACHABLE: errors.ts);
 *  - never re-sends a transaction blindly: when `eth_sendRawTransaction` failed after the request may have reached a
 *    node, it first asks every endpoint for the transaction by hash (found: its hash is the answer) and for the
 *    sender's nonce (used: the hash is the answer, and waitForReceipt says whether this transaction or another took
 *    it); only a transaction no endpoint knows is sent again — the same signed bytes, which can be mined once at most
 *    — and a node's "already known" / "known transaction" to them, or "nonce too low" after a copy may have arrived,
 *    is the hash too (a lagging endpoint's look-up misses what a fresher one mined); when no endpoint can be asked,
 *    the error says the transaction may have been sent, with its hash;
 *  - answers eth_blockNumber with the highest head among the endpoints and keeps to the freshest one, so a lagging
 *    endpoint does not hide a transaction just mined; remembers each endpoint's last head and sends a read naming
 *    block N (eth_getLogs' toBlock, eth_call or a balance at N) only to one whose head has reached N — asking the
 *    heads again and waiting `rounds` backoffs for one, then failing with a sentence — so reads never go backwards
 *    after a failover to a lagging endpoint;
 *  - sends a transaction's receipt, the transaction by hash and an account's nonce as of "latest"/"pending" (with
 *    more than one endpoint; one: as it is) only to an endpoint at the highest head any endpoint has shown, as a read
 *    naming that block: after a failover to a lagging endpoint a receipt not yet there is not read as vanished or not
 *    mined, nor a nonce stale; an endpoint that fails or hangs is paused and passed over as for any call.
 * Credentials in a URL (`https://user:secret@host`) go as an `Authorization: Basic` header (the global fetch refuses
 * such a URL); every message names an endpoint by scheme and host only (endpoint.ts).
 * Why not ethers' FallbackProvider: it is no JsonRpcProvider (no `send` of node methods the tests and the CLI use),
 * and its quorum compares answers of endpoints that lag each other — a head or a receipt one of them has not seen
 * yet splits the vote, and a transaction is broadcast to every backend. One endpoint at a time serves here.
 *
 * @example
 *   const provider = rpcProvider(["https://rpc-a.example", "https://rpc-b.example"], { onWait: (l) => log.warn(l) });
 */
import {
  JsonRpcProvider,
  Transaction,
  type JsonRpcApiProviderOptions,
  type JsonRpcPayload,
  type JsonRpcResult,
} from "ethers";
import { ConfigError } from "../errors.ts";
import { originOf, redactUrls, splitCredentials } from "./endpoint.ts";

/** How an {@link RpcEndpoints} waits and retries. */
export interface RpcOptions extends JsonRpcApiProviderOptions {
  /** A line for each wait or switch ("RPC http://… rate-limited (429) on eth_call, retrying in 2 s"). */
  onWait?: (line: string) => void;
  /** Longest Retry-After honoured (default 60 s: a public RPC's minute window): a longer one pauses the endpoint
   * this long and the call goes to another, or fails when no other is free. */
  maxRetryAfterMs?: number;
  /** 429 answers one call rides out before it fails (default 30); each pauses its endpoint at least `backoffMs`. */
  maxRateLimited?: number;
  /** Rounds over every endpoint after transport failures before a call fails (default 3: ≈ 1.75 s of backoff). */
  rounds?: number;
  /** First backoff between rounds, doubled each round (default 250 ms). */
  backoffMs?: number;
  /** One HTTP exchange's bound (default 30 s). */
  requestTimeoutMs?: number;
}

/** Several RPC URLs from a list (repeated flag, config array) or a comma-separated string (environment). */
export function rpcUrlList(input: string | readonly string[], where = "the RPC URL"): string[] {
  const urls = (typeof input === "string" ? [input] : [...input])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (urls.length === 0) throw new ConfigError("BAD_RPC_URL", `${where} is empty: give an http:// or https:// URL`);
  for (const u of urls)
    if (!/^https?:\/\/\S+$/i.test(u))
      throw new ConfigError(
        "BAD_RPC_URL",
        `${where} "${originOf(u)}" is not an http:// or https:// URL: write it as http://127.0.0.1:8545`,
      );
  return [...new Set(urls)];
}

export { originOf } from "./endpoint.ts";

/** A provider over `urls` (one or several; a comma-separated string is split), request cache off by default. */
export function rpcProvider(urls: string | readonly string[], o: RpcOptions = {}): RpcEndpoints {
  return new RpcEndpoints(rpcUrlList(urls), o);
}

class RateLimited extends Error {
  readonly url: string;
  readonly retryAfterMs: number;
  constructor(url: string, retryAfterMs: number) {
    super(`RPC ${originOf(url)} rate-limited (429)`);
    this.url = url;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A transport failure after which the request may have reached the node (not so for a refused connection). */
const mayHaveArrived = (e: unknown): boolean => !/ECONNREFUSED/.test(chainOf(e));

/** The messages and codes of `e` and its causes, for tests of the kind of failure. */
function chainOf(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e, i = 0; cur && i < 6; i++) {
    const o = cur as { code?: unknown; message?: unknown; cause?: unknown };
    parts.push(String(o.code ?? ""), String(o.message ?? cur));
    cur = o.cause;
  }
  return parts.join(" ");
}

/** A short reason for a log line: the deepest cause's code or message. */
function reason(e: unknown): string {
  let cur = e as { code?: unknown; message?: unknown; cause?: unknown };
  while (cur?.cause && typeof cur.cause === "object") cur = cur.cause as typeof cur;
  return typeof cur?.code === "string" ? cur.code : redactUrls(String(cur?.message ?? e).split("\n")[0]!);
}

/** Retry-After in ms: delay-seconds or an HTTP date (default 1 s when absent or unreadable). */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null) return 1_000;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1_000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? 1_000 : Math.max(0, at - now);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A JsonRpcProvider over several endpoints with backoff, retries and failover (see the module header). */
export class RpcEndpoints extends JsonRpcProvider {
  readonly urls: readonly string[];
  readonly #o: Required<Pick<RpcOptions, "maxRetryAfterMs" | "maxRateLimited" | "rounds" | "backoffMs">> & RpcOptions;
  /** The endpoint calls go to first (the last that answered, or the freshest head). */
  #current = 0;
  /** Per endpoint: not asked again before this time (rate-limited or failed). */
  readonly #pausedUntil: number[];
  readonly #limited: boolean[];
  /** Per endpoint: the highest head it answered (-1: not known yet). */
  readonly #heads: bigint[];
  /** Per endpoint: what is fetched (credentials moved from the URL to an Authorization header). */
  readonly #targets: { url: string; authorization?: string }[];
  /** Per endpoint: the pause a line was said for. */
  readonly #announced: number[];

  constructor(urls: readonly string[], o: RpcOptions = {}) {
    const { onWait: _w, maxRetryAfterMs, maxRateLimited, rounds, backoffMs, requestTimeoutMs: _t, ...ethers } = o;
    // One call per request: public RPCs cap or refuse batches, and a 429 or a drop then costs one call, not 100.
    super(splitCredentials(urls[0]!).url, undefined, {
      staticNetwork: true,
      cacheTimeout: -1,
      batchMaxCount: 1,
      ...ethers,
    });
    this.urls = [...urls];
    this.#o = {
      ...o,
      maxRetryAfterMs: maxRetryAfterMs ?? 60_000,
      maxRateLimited: maxRateLimited ?? 30,
      rounds: rounds ?? 3,
      backoffMs: backoffMs ?? 250,
    };
    this.#targets = urls.map(splitCredentials);
    this.#heads = urls.map(() => -1n);
    this.#pausedUntil = urls.map(() => 0);
    this.#limited = urls.map(() => false);
    this.#announced = urls.map(() => 0);
  }

  /** The endpoint calls go to first now. */
  get currentUrl(): string {
    return this.urls[this.#current]!;
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const list = Array.isArray(payload) ? payload : [payload];
    if (list.length === 1 && list[0]!.method === "eth_blockNumber" && this.urls.length > 1)
      return this.#freshestHead(list[0]!);
    if (list.length === 1 && this.urls.length > 1 && headRouted(list[0]!)) return this.#atHighestHead(list[0]!);
    const raw = list.find((p) => p.method === "eth_sendRawTransaction");
    const needs = list.reduce<bigint | undefined>((n, p) => {
      const b = blockNamed(p);
      return b !== undefined && (n === undefined || b > n) ? b : n;
    }, undefined);
    return this.#exchange(
      JSON.stringify(payload),
      list[0]!.method,
      raw ? String((raw.params as unknown[])[0]) : "",
      needs,
    );
  }

  /** Asks every endpoint for its head; answers the highest and moves to the endpoint that gave it. */
  async #freshestHead(p: JsonRpcPayload): Promise<JsonRpcResult[]> {
    const answers = await this.#askHeads(JSON.stringify(p));
    let best = -1;
    let head = -1n;
    answers.forEach((a, i) => {
      const r = a.status === "fulfilled" ? (a.value[0] as JsonRpcResult | undefined) : undefined;
      if (r && "result" in r && typeof r.result === "string" && BigInt(r.result) > head)
        [best, head] = [i, BigInt(r.result)];
    });
    if (best < 0) return this.#exchange(JSON.stringify(p), p.method, "", undefined);
    this.#current = best;
    return (answers[best] as PromiseFulfilledResult<JsonRpcResult[]>).value;
  }

  /**
   * A receipt, a transaction by hash or a "latest"/"pending" nonce: asked only of an endpoint at the highest head any
   * endpoint has shown (heads asked first when none is known), through {@link #exchange} — so a lagging endpoint's
   * "no receipt yet" or old nonce is never the answer after a failover, and one that fails or hangs is paused and
   * passed over as for any call (module header).
   */
  async #atHighestHead(p: JsonRpcPayload): Promise<JsonRpcResult[]> {
    if (this.#heads.every((h) => h < 0n)) await this.#askHeads();
    const highest = this.#heads.reduce((a, b) => (b > a ? b : a), -1n);
    return this.#exchange(JSON.stringify(p), p.method, "", highest >= 0n ? highest : undefined);
  }

  /** eth_blockNumber of every endpoint not paused, each head noted (a 429 pauses its endpoint). */
  async #askHeads(body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] })) {
    const answers = await this.#askEach(body);
    answers.forEach((a, i) => {
      if (a.status === "fulfilled") this.#noteHead(i, a.value[0]);
    });
    return answers;
  }

  /** `body` sent to every endpoint not paused at once: each one's answer or failure (a 429 pauses its endpoint). */
  async #askEach(body: string): Promise<PromiseSettledResult<JsonRpcResult[]>[]> {
    const now = Date.now();
    const asked = this.urls.map((_, i) =>
      this.#pausedUntil[i]! > now ? Promise.reject(new Error("paused")) : this.#once(i, body),
    );
    const answers = await Promise.allSettled(asked);
    answers.forEach((a, i) => {
      if (a.status === "rejected" && a.reason instanceof RateLimited) {
        this.#pausedUntil[i] = Date.now() + this.#pauseFor(a.reason);
        this.#limited[i] = true;
      } else if (a.status === "rejected" && this.#pausedUntil[i]! <= now) {
        // Failed or timed out: not asked again in the next fan-outs for a while (every head read would wait on it).
        this.#pausedUntil[i] = Date.now() + this.#o.backoffMs * 2 ** this.#o.rounds;
        this.#limited[i] = false;
      }
    });
    return answers;
  }

  /** Notes endpoint `i`'s head from an eth_blockNumber answer. */
  #noteHead(i: number, r: JsonRpcResult | undefined): void {
    if (r && "result" in r && typeof r.result === "string" && /^0x[0-9a-f]+$/i.test(r.result))
      this.#heads[i] = BigInt(r.result);
  }

  /** One POST to endpoint `i`: its JSON answer, RateLimited, or the transport's error. */
  async #once(i: number, body: string): Promise<JsonRpcResult[]> {
    const url = this.urls[i]!;
    const target = this.#targets[i]!;
    const res = await fetch(target.url, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        ...(target.authorization ? { authorization: target.authorization } : {}),
      },
      signal: AbortSignal.timeout(this.#o.requestTimeoutMs ?? 30_000),
    });
    if (res.status === 429) {
      await res.body?.cancel();
      throw new RateLimited(url, retryAfterMs(res.headers.get("retry-after")));
    }
    const text = await res.text();
    if (!res.ok)
      throw new Error(`RPC ${originOf(url)} answered HTTP ${res.status}: ${redactUrls(text.slice(0, 200))}`, {
        cause: { code: `HTTP_${res.status}` },
      });
    const json = JSON.parse(text) as JsonRpcResult | JsonRpcResult[];
    return Array.isArray(json) ? json : [json];
  }

  /** Sends `body` until an endpoint answers it, waiting, retrying and switching as the module header says. */
  async #exchange(body: string, method: string, rawTx: string, needs: bigint | undefined): Promise<JsonRpcResult[]> {
    const n = this.urls.length;
    const start = this.#current;
    let failedRounds = 0;
    let limitedTimes = 0;
    let lastError: unknown;
    /** An earlier copy of `rawTx` may have reached a node. */
    let mayBeSent = false;
    let behindRounds = 0;
    for (;;) {
      const now = Date.now();
      let i = -1;
      let behind = false;
      for (let k = 0; k < n; k++) {
        const j = (this.#current + k) % n;
        if (this.#pausedUntil[j]! > now) continue;
        // A read naming block N goes only to an endpoint known to have it: a lagging one would answer as of an
        // older head (logs cut short, a state from before) — reads never go backwards after a failover. With one
        // endpoint there is nowhere else to go: the read goes as it is (no head asked first, no extra request).
        if (needs !== undefined && n > 1 && this.#heads[j]! < needs) {
          behind = true;
          continue;
        }
        i = j;
        break;
      }
      if (i < 0 && behind) {
        await this.#askHeads();
        if (this.urls.some((_, j) => this.#heads[j]! >= needs! && this.#pausedUntil[j]! <= Date.now())) continue;
        const highest = this.#heads.reduce((a, b) => (b > a ? b : a), -1n);
        if (behindRounds >= this.#o.rounds)
          throw new Error(
            `no RPC endpoint has reached block ${needs} that ${method} names (the highest is at ${highest}): try again when they catch up`,
            { cause: { code: "RPC_BEHIND" } },
          );
        const wait = this.#o.backoffMs * 2 ** behindRounds++;
        this.#say(`RPC endpoints behind block ${needs} (at ${highest}) for ${method}, waiting ${seconds(wait)}`);
        await sleep(wait);
        continue;
      }
      if (i < 0) {
        // Every endpoint is paused: wait for the first to be free again.
        const j = this.#pausedUntil.indexOf(Math.min(...this.#pausedUntil));
        const wait = this.#pausedUntil[j]! - now;
        const url = originOf(this.urls[j]!);
        // One line per pause, however many calls wait on it.
        const first = this.#announced[j] !== this.#pausedUntil[j];
        this.#announced[j] = this.#pausedUntil[j]!;
        if (this.#limited[j]) {
          // (The 429 behind this pause was counted when it came.)
          if (first) this.#say(`RPC ${url} rate-limited (429) on ${method}, retrying in ${seconds(wait)}`);
        } else {
          // Not while another endpoint is only rate-limited: its Retry-After ends, and it answers (429s are bounded
          // by maxRateLimited).
          if (++failedRounds >= this.#o.rounds && !this.#limited.some(Boolean)) throw lastError;
          if (first) this.#say(`RPC ${url} failed on ${method} (${reason(lastError)}), retrying in ${seconds(wait)}`);
        }
        await sleep(wait);
        continue;
      }
      try {
        const answer = await this.#once(i, body);
        // The same signed bytes again, refused as known or as a used nonce: the first copy arrived (or another
        // transaction took the nonce — waitForReceipt tells which). Either way this one is not sent twice.
        if (rawTx !== "" && refusedAsSent(answer[0], mayBeSent))
          return [{ id: (JSON.parse(body) as JsonRpcPayload).id, result: Transaction.from(rawTx).hash! }];
        if (method === "eth_blockNumber") this.#noteHead(i, answer[0]);
        // Moved on from the endpoint it started with (not just answered by it: a slow answer must not undo a
        // switch to the freshest head made meanwhile).
        if (i !== start) this.#current = i;
        // Not rate-limited any more — unless a 429 to a call sent after this one paused it meanwhile (concurrent
        // calls): that pause stands, and with it the "only rate-limited" that keeps other calls from giving up.
        if (this.#pausedUntil[i]! <= Date.now()) this.#limited[i] = false;
        return answer;
      } catch (e) {
        lastError = e;
        const other = this.#next(i);
        if (e instanceof RateLimited) {
          // Every 429 counts, and pauses the endpoint at least a backoff (Retry-After 0 or a past date: no hot
          // loop) and at most the longest wait honoured.
          if (++limitedTimes > this.#o.maxRateLimited) throw e;
          this.#pausedUntil[i] = Date.now() + this.#pauseFor(e);
          this.#limited[i] = true;
          const long = e.retryAfterMs > this.#o.maxRetryAfterMs;
          if (long && other === undefined)
            throw new Error(
              `RPC ${originOf(e.url)} rate-limited (429) for ${seconds(e.retryAfterMs)}, longer than the ${seconds(this.#o.maxRetryAfterMs)} this client waits: add another RPC URL`,
              { cause: e },
            );
          if (other !== undefined)
            this.#say(
              `RPC ${originOf(e.url)} rate-limited (429) on ${method}${long ? ` for ${seconds(e.retryAfterMs)}` : ""}, using ${originOf(other)}`,
            );
          continue;
        }
        if (rawTx !== "" && mayHaveArrived(e)) {
          mayBeSent = true;
          const known = await this.#sentAlready(rawTx);
          if (known) return [{ id: (JSON.parse(body) as JsonRpcPayload).id, result: known }];
        }
        this.#pausedUntil[i] = Date.now() + this.#o.backoffMs * 2 ** failedRounds;
        this.#limited[i] = false;
        if (other !== undefined)
          this.#say(`RPC ${originOf(this.urls[i]!)} failed on ${method} (${reason(e)}), using ${originOf(other)}`);
      }
    }
  }

  /** How long a 429 pauses its endpoint: Retry-After, at least a backoff, at most the longest wait honoured. */
  #pauseFor(e: RateLimited): number {
    return Math.max(this.#o.backoffMs, Math.min(e.retryAfterMs, this.#o.maxRetryAfterMs));
  }

  /** Another endpoint not paused now, if any. */
  #next(i: number): string | undefined {
    const now = Date.now();
    for (let k = 1; k < this.urls.length; k++) {
      const j = (i + k) % this.urls.length;
      if (this.#pausedUntil[j]! <= now) return this.urls[j];
    }
    return undefined;
  }

  /**
   * After a send whose answer was lost: the transaction's hash if any endpoint knows it or has its nonce used (the
   * receipt wait tells which transaction took it), else undefined (no endpoint has it: the same bytes may go again).
   * Throws, naming the hash, when no endpoint could be asked: the transaction may have been sent.
   */
  async #sentAlready(rawTx: string): Promise<string | undefined> {
    const tx = Transaction.from(rawTx);
    const hash = tx.hash!;
    this.#say(`RPC: the answer to sending ${hash} was lost; asking whether it arrived before sending it again`);
    const found = await this.#askAll("eth_getTransactionByHash", [hash]);
    if (found.some((r) => r !== null && r !== undefined)) return hash;
    const nonces = await this.#askAll("eth_getTransactionCount", [tx.from, "latest"]);
    if (nonces.some((n) => typeof n === "string" && Number(n) > tx.nonce)) return hash;
    if (found.every((r) => r === undefined) || nonces.every((n) => n === undefined))
      throw new Error(
        `transaction ${hash} may have been sent (the answer to sending it was lost and no RPC endpoint could be asked whether it arrived): look it up before sending anything in its place`,
        { cause: { code: "TX_MAYBE_SENT" } },
      );
    return undefined;
  }

  /** Whether any endpoint knows transaction `hash` (undefined: none could be asked). */
  async knownToAny(hash: string): Promise<boolean | undefined> {
    const found = await this.#askAll("eth_getTransactionByHash", [hash]);
    if (found.some((r) => r !== null && r !== undefined)) return true;
    return found.every((r) => r === undefined) ? undefined : false;
  }

  /** `method(params)` asked of every endpoint at once: each one's result (undefined: no answer or an error). */
  async #askAll(method: string, params: unknown[]): Promise<unknown[]> {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
    const answers = await Promise.allSettled(this.urls.map((_, i) => this.#once(i, body)));
    return answers.map((a) => {
      const r = a.status === "fulfilled" ? (a.value[0] as { result?: unknown } | undefined) : undefined;
      return r && "result" in r ? r.result : undefined;
    });
  }

  #say(line: string): void {
    this.#o.onWait?.(line);
  }
}

/** The block a read names by number (eth_getLogs' toBlock, a state read's block tag), if any. */
function blockNamed(p: JsonRpcPayload): bigint | undefined {
  const params = (p.params ?? []) as unknown[];
  const num = (v: unknown): bigint | undefined =>
    typeof v === "string" && /^0x[0-9a-f]+$/i.test(v) ? BigInt(v) : undefined;
  switch (p.method) {
    case "eth_getLogs": {
      const f = (params[0] ?? {}) as { fromBlock?: unknown; toBlock?: unknown };
      const [from, to] = [num(f.fromBlock), num(f.toBlock)];
      return to ?? from;
    }
    case "eth_call":
    case "eth_getBalance":
    case "eth_getCode":
    case "eth_getTransactionCount":
      return num(params[1]);
    case "eth_getStorageAt":
      return num(params[2]);
    case "eth_getBlockByNumber":
      return num(params[0]);
    default:
      return undefined;
  }
}

/** Reads whose answer depends on how far an endpoint has got: a receipt, a transaction by hash, a latest/pending nonce. */
function headRouted(p: JsonRpcPayload): boolean {
  const params = (p.params ?? []) as unknown[];
  switch (p.method) {
    case "eth_getTransactionReceipt":
    case "eth_getTransactionByHash":
      return true;
    case "eth_getTransactionCount":
      return params[1] === undefined || params[1] === "latest" || params[1] === "pending";
    default:
      return false;
  }
}

/**
 * A node's refusal of a raw transaction that means it has it: "already known" / "known transaction" (these bytes are
 * in its pool), or — after an earlier copy may have arrived — "nonce too low" (that copy, or another, was mined).
 */
function refusedAsSent(answer: JsonRpcResult | undefined, mayBeSent: boolean): boolean {
  const error = (answer as { error?: { message?: unknown } } | undefined)?.error;
  if (!error) return false;
  const message = String(error.message ?? "");
  if (/already known|known transaction/i.test(message)) return true;
  return mayBeSent && /nonce (too low|has already been used)/i.test(message);
}

const seconds = (ms: number): string => `${Math.max(0.1, Math.round(ms / 100) / 10)} s`;
