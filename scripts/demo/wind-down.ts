/**
 * The owner's return (scripts/demo.ts): the ICONs' keys taken back, every live lease ended, the replica accounts
 * closed, what is left withdrawn — and the books checked on chain.
 */
import { toTokens, type MarketClient, type Solvency } from "../../protocol/index.ts";
import { appStatus } from "../../icon-agent/index.ts";
import { clientFor } from "../lib/testbed.ts";
import type { GodView } from "./narration.ts";
import type { World } from "./setup.ts";
import type { Deployed } from "./story.ts";
import { OWNER_KEY, T, say } from "./world.ts";

export type Books = Awaited<ReturnType<typeof conserved>>;

/** What the wind-down left: how long the owner was away, what went back to it, the books. */
export interface WoundDown {
  ownerOfflineS: number;
  /** Withdrawn from the application by the owner. */
  rest: bigint;
  books: Books;
  /** Token units as the owner's client writes them. */
  format(v: bigint): string;
}

/** The owner returns and winds the application down; the books are read at one block. */
export async function windDown(w: World, god: GodView, d: Deployed): Promise<WoundDown> {
  const { m } = w;
  const { reader, app, ownerAddress } = god;
  const { deposit, offlineAt } = d;
  const returnedAt = Date.now();
  god.ownerBack = true;
  const ownerOfflineS = (returnedAt - offlineAt) / 1000;
  const owner = await clientFor(m, OWNER_KEY);
  // The ICONs' keys first (every open account's, deepest first): an agent could otherwise open a new lease in the
  // moment between the end of its lease and its yard stopping the sidecar. The owner controls them from now on (no
  // intent of an ICON's passes). Then every live lease ends and every open replica account is closed (its balance
  // goes up), so that the root holds everything left.
  const open = (await reader.appAccounts(app.root))
    .filter((a) => !a.closed)
    .sort((x, y) => (y.depth !== x.depth ? y.depth - x.depth : Number(y.id - x.id)));
  for (const a of open) await (await owner.market.getFunction("setController")(a.id, ownerAddress)).wait();
  const ended: bigint[] = [];
  for (const a of open)
    for (const id of await reader.leasesOf(a.id))
      if (["Running", "Scheduled"].includes((await reader.lease(id)).state)) {
        await owner.terminate(id);
        ended.push(id);
      }
  const closedByOwner: bigint[] = [];
  for (const a of open)
    if (a.id !== app.root) {
      await owner.closeAccount(a.id);
      closedByOwner.push(a.id);
    }
  const rest = (await owner.account(app.root)).balance;
  await owner.withdrawFromRoot(app.root, rest, ownerAddress);
  say(
    "owner",
    `back after ${ownerOfflineS.toFixed(0)} s: took the ICONs' keys back (account(s) ${open.map((a) => a.id).join(", ")}), terminated lease(s) ${ended.join(", ") || "(none live)"}, closed replica account(s) ${closedByOwner.join(", ") || "(none open)"}; withdrew ${owner.format(rest)} from the application`,
  );
  const after = await appStatus(reader, app.root);
  const books = await conserved(reader, app.root, deposit, rest);
  const f = (v: bigint): string => owner.format(v);
  say(
    "books",
    `at block ${books.blockTag}: deposit ${f(deposit)} = in accounts ${f(books.held)} + claimed by yards ${f(books.claimed)} + accrued, unclaimed ${f(books.escrow)} + relay fees ${f(books.relayFees)} + back to the owner ${f(rest)} → ${books.ok ? "balanced" : "NOT BALANCED"}; market solvent: ${books.solvency.ok} (holds ${f(books.solvency.held)} = balances ${f(books.solvency.balances)} + escrow ${f(books.solvency.escrow)} + earnings ${f(books.solvency.earnings)})`,
  );
  d.budget.push([T(), toTokens(after.spent, reader.tokenInfo)]);
  return { ownerOfflineS, rest, books, format: f };
}

/**
 * The books, on chain: every token unit the owner put in is in an account, still in escrow, claimed by a
 * provider or accrued to one, or back with the owner — and the market as a whole is solvent.
 */
async function conserved(
  c: MarketClient,
  root: bigint,
  deposit: bigint,
  withdrawn: bigint,
): Promise<{
  ok: boolean;
  spent: bigint;
  held: bigint;
  claimed: bigint;
  escrow: bigint;
  /** Paid to yards for relaying the ICONs' intents (their Relayed events). */
  relayFees: bigint;
  blockTag: number;
  solvency: Solvency;
}> {
  // Every figure at one block: the yards keep claiming meanwhile, and a claim read half before and half after
  // would count twice.
  const blockTag = await c.market.runner!.provider!.getBlockNumber();
  const read = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    c.market.getFunction(fn).staticCall(...args, { blockTag }) as Promise<T>;
  let held = 0n;
  let escrow = 0n;
  let claimed = 0n;
  let relayFees = 0n;
  for (const a of await c.appAccounts(root)) {
    held += (await read<{ balance: bigint }>("account", a.id)).balance;
    for (const args of await c.logs(c.market, "Relayed", [null, a.id], { toBlock: blockTag }))
      relayFees += args[4] as bigint;
    for (const id of await c.leasesOf(a.id)) {
      escrow += await read<bigint>("escrowOf", id);
      for (const args of await c.logs(c.market, "LeaseClaimed", [id], { toBlock: blockTag }))
        claimed += args[1] as bigint;
    }
  }
  const solvency = await c.solvency(blockTag);
  // After every lease ended, what is left in escrow is accrued and not yet claimed: the providers' too.
  const spent = claimed + escrow + relayFees;
  return {
    ok: solvency.ok && deposit === held + spent + withdrawn,
    spent,
    held,
    claimed,
    escrow,
    relayFees,
    blockTag,
    solvency,
  };
}
