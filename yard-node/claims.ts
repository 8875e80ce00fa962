/**
 * Batch claims: the leases due in one tick are claimed with one `claimMany` transaction per 256 (the contract's
 * bound), so a yard with many leases pays ≈ a third of a claim per lease (BENCHMARKS.md). A refused batch (one
 * lease the chain will not pay: ended and settled by someone else, terminated meanwhile) is logged and its leases
 * are left to the caller's single claims, so one bad lease cannot block the others.
 */
import type { Logger } from "../protocol/log.ts";
import type { MarketClient } from "../protocol/index.ts";
import { MAX_CLAIM_BATCH } from "../protocol/chain/claims.ts";
import type { ChainWatch } from "./chain-watch.ts";
import type { YardDb } from "./db.ts";
import type { Reorgs } from "./reorgs.ts";
import type { YardMetrics } from "./yard-metrics.ts";

export interface BatchClaimComponents {
  chain: Pick<MarketClient, "claimTx" | "format">;
  watch: Pick<ChainWatch, "call" | "now">;
  db: YardDb;
  metrics: Pick<YardMetrics, "inc">;
  /** Follows each claim until buried (reorgs.ts). */
  reorgs?: Pick<Reorgs, "track">;
  log: Logger;
}

/**
 * Claims `ids` (confirmed leases) in batches. Returns the ids the caller must not claim singly: those a batch
 * paid, and those skipped because the chain is unreachable (the next tick retries them).
 */
export async function claimInBatches(c: BatchClaimComponents, ids: bigint[]): Promise<Set<bigint>> {
  const handled = new Set<bigint>();
  for (let i = 0; i < ids.length; i += MAX_CLAIM_BATCH) {
    const batch = ids.slice(i, i + MAX_CLAIM_BATCH);
    let amounts: Map<bigint, bigint> | undefined;
    try {
      const sent = await c.watch.call(`claiming ${batch.length} leases in one transaction`, () =>
        c.chain.claimTx(batch, true),
      );
      if (sent) c.reorgs?.track({ kind: "claim", tx: sent.txHash, leases: batch });
      amounts = sent?.amounts;
    } catch (e) {
      c.log.warn("batch claim refused; claiming these leases one by one", { leases: batch.join(","), error: e });
      continue;
    }
    if (amounts === undefined) {
      for (const id of batch) handled.add(id);
      continue;
    }
    const at = c.watch.now();
    for (const id of batch) {
      const amount = amounts.get(id) ?? 0n;
      // (counted in icon_yard_earnings_claimed_units_total by the follower, once buried: chain-watch.ts)
      c.log.info("claimed", { lease: id, amount: c.chain.format(amount), batch: batch.length });
      c.db.update(id, { lastClaimAt: at });
      handled.add(id);
    }
  }
  return handled;
}
