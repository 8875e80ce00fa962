/**
 * An application's funding requests and how far the top-ups since answered them — one rule for the CLI
 * (`icon app status`, icon-agent/app.ts) and the owner console (console/src/chain.ts). Browser-safe: ethers and
 * the ranged log reader only.
 */
import type { Contract, ContractEventName } from "ethers";
import { contractLogs, type LogRange } from "./logs.ts";

/** A FundingRequested event of the application and how much of it money that came to the account since answered. */
export interface FundingRequest {
  /** The account that asked, and the one it asked (0: the owner). */
  account: bigint;
  parent: bigint;
  amount: bigint;
  block: number;
  /** Chain time of the request (seconds). */
  atS: bigint;
  /**
   * What of `amount` the top-ups that reached the account after it (the owner's `fund`, the parent's `allocate`)
   * answered, at most `amount`: each top-up answers the account's open requests oldest first. 0 while pending;
   * between 0 and `amount`: partly answered.
   */
  answered: bigint;
}

/** A request the top-ups have not answered in full (pending, or partly answered). */
export const stillOpen = (r: FundingRequest): boolean => r.answered < r.amount;

type Log = { blockNumber: number; index: number; args: unknown[] };

/** Where the reads start and how wide each is (protocol/chain/logs.ts); `blockTime` reads a block's timestamp. */
export interface FundingReadOptions {
  fromBlock: number;
  window: number;
  blockTime: (block: number) => Promise<bigint>;
  /** How logs are read (default {@link contractLogs}; the console passes its LogMemo's, reading only new blocks). */
  read?: (market: Contract, filter: ContractEventName, range: LogRange) => Promise<unknown[]>;
}

/**
 * The application's funding requests (the FundingRequested events of `root`), oldest first. Each Funded or
 * Allocated to an account answers that account's requests open at the time, oldest first, up to each one's
 * amount (a top-up smaller than a request answers it partly; what is beyond every open request answers no later
 * one). No standing top-up rule exists on chain, so a request the owner has not answered by hand stays pending.
 */
export async function readFundingRequests(
  market: Contract,
  root: bigint,
  o: FundingReadOptions,
): Promise<FundingRequest[]> {
  const f = market.filters;
  const logs = async (filter: ContractEventName, fromBlock: number): Promise<Log[]> =>
    (await (o.read ?? contractLogs)(market, filter, { fromBlock, window: o.window })) as unknown as Log[];
  const asked = await logs(f.FundingRequested!(root), o.fromBlock);
  const order = (a: Log, b: Log): number => a.blockNumber - b.blockNumber || a.index - b.index;
  const out: FundingRequest[] = [];
  for (const r of [...asked].sort(order))
    out.push({
      account: r.args[1] as bigint,
      parent: r.args[2] as bigint,
      amount: r.args[3] as bigint,
      block: r.blockNumber,
      atS: await o.blockTime(r.blockNumber),
      answered: 0n,
    });
  for (const account of new Set(out.map((r) => r.account))) {
    const mine = asked.filter((r) => r.args[1] === account).sort(order);
    const from = mine[0]!.blockNumber;
    const topUps = [...(await logs(f.Funded!(account), from)), ...(await logs(f.Allocated!(null, account), from))];
    answerOldestFirst(
      out.filter((r) => r.account === account),
      mine.map((l) => ({ at: l, ask: true as const })),
      topUps.map((l) => ({ at: l, ask: false as const, amount: l.args[2] as bigint })),
      order,
    );
  }
  return out;
}

/** Requests and top-ups in chain order: a top-up answers only the requests made before it, oldest first. */
function answerOldestFirst(
  requests: FundingRequest[],
  asks: Array<{ at: Log; ask: true }>,
  topUps: Array<{ at: Log; ask: false; amount: bigint }>,
  order: (a: Log, b: Log) => number,
): void {
  const events = [...asks, ...topUps].sort((a, b) => order(a.at, b.at));
  let made = 0;
  for (const e of events) {
    if (e.ask) {
      made++;
      continue;
    }
    let left = e.amount;
    for (const r of requests.slice(0, made)) {
      if (left === 0n) break;
      const take = r.amount - r.answered < left ? r.amount - r.answered : left;
      r.answered += take;
      left -= take;
    }
  }
}
