/**
 * Ranged log reads: the one place the project asks a node for logs. Public RPCs cap eth_getLogs at 500–10,000
 * blocks (a yard's agent gateway at 10,000), so a read from the deployment's block to the head goes in windows of
 * at most `window` blocks (default 2,000), one after another; a window the RPC refuses as too wide ("query
 * returned more than …", "block range too large", -32005/-32602) is halved and tried again down to `floor`
 * blocks, then the read fails with a ChainError naming the range. Every call carries numeric fromBlock/toBlock.
 *
 * @example
 *   const logs = await contractLogs(client.market, client.market.filters.LeaseOpened!(), { fromBlock: 1200 });
 *   await eachLogWindow(addressLogs(provider, market), { fromBlock, toBlock: head }, (logs, upto) => {
 *     handle(logs);
 *     saveCursor(upto);
 *   });
 */
import type { Contract, ContractEventName, EventLog, Log, Provider } from "ethers";
import { ChainError, ConfigError } from "../errors.ts";

/** Blocks one eth_getLogs spans by default (within every public RPC's cap we know of). */
export const DEFAULT_LOG_WINDOW = 2_000;

/** Bounds of a read a caller may give (MarketClient.logs fills fromBlock with the deployment's block). */
export interface LogBounds {
  fromBlock?: number;
  toBlock?: number;
}

/** Where a ranged read starts and ends, and how wide each call may be. */
export interface LogRange {
  /** First block (inclusive); callers default it to the deployment's block, never 0 on a real chain. */
  fromBlock: number;
  /** Last block (inclusive); default: the head when the read starts. */
  toBlock?: number;
  /** Widest call, in blocks (default {@link logWindow}()). */
  window?: number;
  /** Narrowest call before giving up (default 1). */
  floor?: number;
  /** Stops between windows once aborted (what was visited stays visited). */
  signal?: AbortSignal;
}

/** The default window: `ICON_LOG_WINDOW` when set (a positive integer), else 2,000. */
export function logWindow(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ICON_LOG_WINDOW;
  if (raw === undefined || raw === "") return DEFAULT_LOG_WINDOW;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new ConfigError("BAD_LOG_WINDOW", `ICON_LOG_WINDOW=${raw} is not a positive whole number of blocks`);
  return n;
}

/** True when `e` is an RPC's refusal of a log range as too wide or too heavy (not an outage). */
export function isRangeRefusal(e: unknown): boolean {
  const parts: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 4 || v === null || v === undefined) return;
    if (typeof v === "string" || typeof v === "number") parts.push(String(v));
    else if (typeof v === "object") {
      const o = v as Record<string, unknown>;
      for (const k of ["message", "shortMessage", "code", "error", "info", "cause", "body"]) walk(o[k], depth + 1);
    }
  };
  walk(e, 0);
  const text = parts.join(" ");
  return (
    /-3200[5]|-32602|query returned more than|block range|range (is )?too (large|wide|big)|too many (blocks|results|logs)|exceed|limit(ed)? to|blocks per call|smaller ranges|max(imum)? (block )?range/i.test(
      text,
    ) && !/ECONNREFUSED|ECONNRESET|timeout/i.test(text)
  );
}

function checkRange(r: LogRange, to: number): { window: number; floor: number } {
  const window = r.window ?? logWindow();
  const floor = r.floor ?? 1;
  for (const [name, v] of [
    ["fromBlock", r.fromBlock],
    ["toBlock", to],
    ["window", window],
    ["floor", floor],
  ] as const)
    if (!Number.isSafeInteger(v) || v < 0 || (name !== "fromBlock" && name !== "toBlock" && v < 1))
      throw new ConfigError("BAD_LOG_WINDOW", `a log read's ${name} must be a whole block number, not ${v}`);
  if (floor > window)
    throw new ConfigError("BAD_LOG_WINDOW", `a log read's floor ${floor} exceeds its window ${window}`);
  return { window, floor };
}

/**
 * Reads `read(from, to)` window by window over `range` (oldest first) and hands each window's logs to `visit`
 * with the window's last block (a daemon stores it as its cursor). Returns the last block read.
 */
export async function eachLogWindow<T>(
  read: (fromBlock: number, toBlock: number) => Promise<T[]>,
  range: LogRange & { toBlock: number },
  visit: (logs: T[], upto: number) => void | Promise<void>,
): Promise<number> {
  let { window } = checkRange(range, range.toBlock);
  const { floor } = checkRange(range, range.toBlock);
  let from = range.fromBlock;
  while (from <= range.toBlock && !range.signal?.aborted) {
    const upto = Math.min(range.toBlock, from + window - 1);
    let logs: T[];
    try {
      logs = await read(from, upto);
    } catch (e) {
      if (!isRangeRefusal(e)) throw e;
      if (upto - from + 1 <= floor)
        throw new ChainError(
          "LOG_RANGE_REFUSED",
          `the RPC refused the logs of blocks ${from}..${upto} even ${upto - from + 1} block(s) at a time: use an RPC endpoint that serves eth_getLogs`,
          { cause: e, details: { fromBlock: from, toBlock: upto } },
        );
      window = Math.max(floor, Math.floor((upto - from + 1) / 2));
      continue;
    }
    await visit(logs, upto);
    from = upto + 1;
  }
  return from - 1;
}

/** Every log `read` returns over `range` (toBlock default: the head now), in chain order. */
export async function rangedLogs<T>(
  provider: Provider,
  read: (fromBlock: number, toBlock: number) => Promise<T[]>,
  range: LogRange,
): Promise<T[]> {
  const toBlock = range.toBlock ?? (await provider.getBlockNumber());
  const out: T[] = [];
  await eachLogWindow(read, { ...range, toBlock }, (logs) => void out.push(...logs));
  return out;
}

/** A contract's logs matching `event` (a filter or event name) over `range`, decoded where its ABI knows them. */
export function contractLogs(
  contract: Contract,
  event: ContractEventName,
  range: LogRange,
): Promise<Array<EventLog | Log>> {
  const provider = contract.runner?.provider;
  if (!provider) throw new ChainError("NO_PROVIDER", "reading logs needs a contract connected to a provider");
  return rangedLogs(provider, (a, b) => contract.queryFilter(event, a, b), range);
}

/** A reader of every log `address` emitted in a window, for {@link eachLogWindow}. */
export function addressLogs(
  provider: Provider,
  address: string,
): (fromBlock: number, toBlock: number) => Promise<Log[]> {
  return (fromBlock, toBlock) => provider.getLogs({ address, fromBlock, toBlock });
}

/** Blocks at the head a {@link LogMemo} reads again every time (a reorganisation shallower than this is seen). */
export const MEMO_REREAD_BLOCKS = 64;

/**
 * Remembers what each read to the head found, up to `MEMO_REREAD_BLOCKS` below the head: asking again reads only
 * the blocks since (a yard listing operators every few minutes, `app status` reading each account's leases), so
 * history is scanned once per client. Reads to a given `toBlock` are not remembered. At most `maxKeys` reads are
 * kept (the oldest forgotten first).
 */
export class LogMemo {
  readonly #reads = new Map<string, { upto: number; logs: Array<EventLog | Log> }>();
  readonly #maxKeys: number;

  constructor(maxKeys = 1_024) {
    this.#maxKeys = maxKeys;
  }

  /** Like {@link contractLogs}, remembering reads to the head under a key of the contract, filter and start. */
  async logs(contract: Contract, event: ContractEventName, range: LogRange): Promise<Array<EventLog | Log>> {
    if (range.toBlock !== undefined) return contractLogs(contract, event, range);
    const provider = contract.runner?.provider;
    if (!provider) throw new ChainError("NO_PROVIDER", "reading logs needs a contract connected to a provider");
    const deferred = event as { getTopicFilter?: () => Promise<unknown> };
    const topics =
      typeof event === "string"
        ? event
        : JSON.stringify(deferred.getTopicFilter ? await deferred.getTopicFilter() : event);
    const key = `${String(contract.target)}|${topics}|${range.fromBlock}`;
    const head = await provider.getBlockNumber();
    const known = this.#reads.get(key);
    const from = known ? known.upto + 1 : range.fromBlock;
    const fresh = from <= head ? await contractLogs(contract, event, { ...range, fromBlock: from, toBlock: head }) : [];
    const all = [...(known?.logs ?? []), ...fresh];
    const stable = head - MEMO_REREAD_BLOCKS;
    if (stable >= from) {
      this.#reads.delete(key);
      this.#reads.set(key, { upto: stable, logs: all.filter((l) => l.blockNumber <= stable) });
      if (this.#reads.size > this.#maxKeys) this.#reads.delete(this.#reads.keys().next().value!);
    }
    return all;
  }
}
