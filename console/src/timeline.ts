/**
 * The application's timeline as the chain recorded it: what its owner did (created it, funded it, changed the
 * policy, withdrew) and what its ICONs decided that reached the chain (a replica's account opened, a lease opened —
 * a placement, a renewal or a move — or ended, a funding request, an account closed), newest first. Read in ranges
 * from the deployment's block (protocol/chain/logs.ts); an ICON's utility numbers are its own, not the chain's.
 */
import type { EventLog, Log } from "ethers";
import { toChainError } from "../../protocol/chain/errors.ts";
import type { AppView, ConsoleChain, LeaseView } from "./chain.ts";

export interface TimelineEntry {
  /** Chain time (s). */
  t: bigint;
  block: number;
  index: number;
  text: string;
}

type Row = Record<string, unknown> & unknown[];
const args = (l: EventLog | Log): Row => (l as unknown as { args: Row }).args;

/** Every event of the application, newest first. */
export async function appTimeline(chain: ConsoleChain, app: AppView, leases: LeaseView[]): Promise<TimelineEntry[]> {
  const m = chain.market;
  const f = (v: unknown): string => chain.format(BigInt(v as bigint));
  const ids = app.accounts.map((a) => a.id);
  const leaseIds = leases.map((l) => l.id);
  const yard = new Map(leases.map((l) => [l.id, l.yard || l.provider]));
  const read = (event: string, ...topics: unknown[]) => chain.rawLogs(m, event, ...topics);
  const hhmm = (s: unknown): string => new Date(Number(s) * 1000).toISOString().slice(11, 19);
  const sources: Array<[Promise<Array<EventLog | Log>>, (a: Row) => string]> = [
    [read("AppCreated", app.root), (a) => `application ${a[0]} created; its origin ICON acts with the key ${a[2]}`],
    [read("Funded", ids), (a) => `account ${a[0]} funded with ${f(a[2])} by ${a[1]}`],
    [read("PolicyUpdated", app.root), (a) => `policy v${a[1]} published`],
    [
      read("AccountCreated", null, ids),
      (a) => `account ${a[0]} opened under account ${a[1]} for the ICON key ${a[2]} (a replica)`,
    ],
    [read("Allocated", ids), (a) => `account ${a[0]} gave ${f(a[2])} to account ${a[1]}`],
    [read("ReturnedToParent", ids), (a) => `account ${a[0]} returned ${f(a[2])} to account ${a[1]}`],
    [
      read("LeaseOpened", null, null, ids),
      (a) =>
        `lease #${a[0]} opened at ${yard.get(BigInt(a[0] as bigint)) ?? a[1]} for account ${a[2]}: ${f(a[3])}/s from ${hhmm(a[4])} to ${hhmm(a[5])} UTC, ${f(a[6])} in escrow`,
    ],
    [
      leaseIds.length ? read("LeaseTerminated", leaseIds) : Promise.resolve([]),
      (a) => `lease #${a[0]} ended early; ${f(a[2])} back to its account`,
    ],
    [read("FundingRequested", app.root), (a) => `account ${a[1]} asked the owner for ${f(a[3])}`],
    [read("ControllerChanged", ids), (a) => `account ${a[0]} now controlled by ${a[1]}`],
    [read("AccountClosed", ids), (a) => `account ${a[0]} closed; ${f(a[1])} back to its parent`],
    [read("Withdrawn", app.root), (a) => `${f(a[2])} withdrawn from the application to ${a[1]}`],
  ];
  try {
    const found = (
      await Promise.all(sources.map(async ([logs, say]) => (await logs).map((l) => ({ l, text: say(args(l)) }))))
    ).flat();
    const blocks = [...new Set(found.map((x) => x.l.blockNumber))];
    const times = new Map(await Promise.all(blocks.map(async (b) => [b, await chain.blockTime(b)] as const)));
    return found
      .map(({ l, text }) => ({ t: times.get(l.blockNumber)!, block: l.blockNumber, index: l.index, text }))
      .sort((x, y) => y.block - x.block || y.index - x.index);
  } catch (e) {
    throw toChainError(e, "reading the application's timeline", chain.tokenInfo);
  }
}
