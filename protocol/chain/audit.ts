/**
 * MarketClient's audit (client.ts composes this room): the market's solvency read on chain at one block — what its
 * vault holds against what it owes (Σ account balances + Σ lease escrow + Σ earnings of providers and relayers).
 *
 * @example
 *   const s = await client.solvency(); // { held, balances, escrow, earnings, surplus, ok }
 */
import type { Contract } from "ethers";
import type { ChainCalls } from "./transactions.ts";
import type { Solvency } from "./types.ts";

type Row = Record<string, unknown> & unknown[];

/** What the audit uses of the client. */
export interface AuditComponents {
  calls: ChainCalls;
  token: Contract;
  market: Contract;
  registry: Contract;
  deployment: { market: string };
  /** Every address that relayed an intent up to a block (they earn fees; not all are providers). */
  relayers: (blockTag: number) => Promise<string[]>;
}

/** Σ balances + Σ escrow + Σ earnings against the vault, every figure at `blockTag` (default: the latest block). */
export async function marketSolvency(c: AuditComponents, blockTag?: number): Promise<Solvency> {
  // Every figure at one block: reads spread over blocks while claims land would count a claim twice (or never).
  const at = { blockTag: blockTag ?? (await c.market.runner!.provider!.getBlockNumber()) };
  const read = <T>(action: string, on: Contract, fn: string, ...args: unknown[]) =>
    c.calls.read<T>(action, on, fn, ...args, at);
  const [held, accounts, leases, providers] = await Promise.all([
    read<bigint>("reading a balance", c.token, "balanceOf", c.deployment.market),
    read<bigint>("reading the account count", c.market, "accountCount"),
    read<bigint>("reading the lease count", c.market, "leaseCount"),
    read<string[]>("reading providers", c.registry, "providers"),
  ]);
  let balances = 0n;
  for (let id = 1n; id <= accounts; id++)
    balances += (await read<Row>(`reading account ${id}`, c.market, "account", id)).balance as bigint;
  let escrow = 0n;
  for (let id = 1n; id <= leases; id++) escrow += await read<bigint>("reading escrow", c.market, "escrowOf", id);
  let earnings = 0n;
  // Relayers earn fees too (intents.ts); one that is not a provider is counted once as well.
  const earners = new Set([...providers, ...(await c.relayers(at.blockTag))]);
  for (const p of earners) earnings += await read<bigint>("reading earnings", c.market, "earningsOf", p);
  const surplus = held - (balances + escrow + earnings);
  return { held, balances, escrow, earnings, surplus, ok: surplus >= 0n };
}
