/**
 * The yard's claims (composed by leases.ts, whose tick collects the leases due): the claim policy decides which go
 * now (claim-policy.ts: gas weighed against what each collects, ended leases always), then the leases due in one
 * tick are claimed with one `claimMany` transaction per 256 (the contract's bound), so a yard with many leases pays
 * ≈ a third of a claim per lease (BENCHMARKS.md). A refused batch (one lease the chain will not pay: ended and
 * settled by someone else, terminated meanwhile) is logged and its leases are claimed one by one, so one bad lease
 * cannot block the others. While the chain asks more than the fee cap, nothing is sent and the claims wait.
 *
 * @example
 *   const claims = new LeaseClaims({ chain, watch, db, metrics, log, unitsPerEth, withLease });
 *   await claims.claimDue([{ id: 7n, final: false }]);
 */
import { expectedGasPrice, isIconError, LEASE_FLAGS, type MarketClient } from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import { MAX_CLAIM_BATCH } from "../protocol/chain/claims.ts";
import type { ChainWatch } from "./chain-watch.ts";
import { planClaims, type ClaimPlan } from "./claim-policy.ts";
import type { LeaseRow, YardDb } from "./db.ts";
import type { Reorgs } from "./reorgs.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** A fee quote is reused this long (ms): a waiting claim is weighed every tick, the chain asked less often. */
const QUOTE_TTL_MS = 15_000;

export interface BatchClaimComponents {
  chain: Pick<MarketClient, "claimTx" | "format">;
  watch: Pick<ChainWatch, "call" | "now">;
  db: YardDb;
  metrics: Pick<YardMetrics, "inc">;
  /** Follows each claim until buried (reorgs.ts). */
  reorgs?: Pick<Reorgs, "track">;
  log: Logger;
}

export interface LeaseClaimsComponents extends BatchClaimComponents {
  chain: Pick<MarketClient, "lease" | "claimTx" | "format" | "fees">;
  watch: Pick<ChainWatch, "call" | "now"> & Partial<Pick<ChainWatch, "buried">>;
  metrics: Pick<YardMetrics, "inc" | "set">;
  /** Token units one ETH is worth (config `chain.fees.gasTokenPrice`); undefined: gas is not weighed. */
  unitsPerEth?: bigint;
  /** Runs `fn` after every earlier action on lease `id` (leases.ts's lock). */
  withLease<T>(id: bigint, fn: () => Promise<T>): Promise<T>;
}

/** Token units lease `l` has accrued by chain time `now` since its last claim the yard saw: never more than the
 * chain pays (the yard records a claim after its block, and a confirmation after the slot's start). */
export function accruedEstimate(l: Pick<LeaseRow, "offer" | "stoppedAt" | "lastClaimAt">, now: number): bigint {
  const end = Math.min(now, Number(l.offer.end), l.stoppedAt ?? Infinity);
  const from = Math.max(Number(l.offer.start), l.lastClaimAt);
  return end > from ? l.offer.pricePerSecond * BigInt(end - from) : 0n;
}

/** Claims due leases under the policy. */
export class LeaseClaims {
  readonly #c: LeaseClaimsComponents;
  #quote: { at: number; feePerGas: bigint | undefined } | undefined;
  #waiting: ClaimPlan["reason"];

  constructor(components: LeaseClaimsComponents) {
    this.#c = components;
  }

  /** Claims what the policy lets go of `due` (≥ 2 confirmed ones by claimMany, else one by one); `final` settles. */
  async claimDue(due: Array<{ id: bigint; final: boolean }>): Promise<void> {
    const { db, log, watch } = this.#c;
    if (due.length === 0) return;
    const feePerGas = await this.#feePerGas();
    if (feePerGas === "down") return;
    const now = watch.now();
    const rows = due.flatMap((d) => {
      const l = db.lease(d.id);
      return l ? [{ id: d.id, final: d.final, accrued: accruedEstimate(l, now) }] : [];
    });
    const plan = planClaims(rows, { feePerGas, unitsPerEth: this.#c.unitsPerEth });
    this.#c.metrics.set("icon_yard_claims_waiting", plan.wait.length);
    if (plan.reason !== this.#waiting) {
      if (plan.reason === "fee above cap")
        log.info("claims wait: the chain's base fee is above the fee cap (chain.fees.maxFee)", { due: due.length });
      else if (plan.reason === "gas above accrual")
        log.info("claims wait: their gas would cost more than they collect", {
          leases: plan.wait.map((w) => `${w.id}:${w.accrued}<${w.cost}`).join(","),
        });
      this.#waiting = plan.reason;
    }
    const go = new Set(plan.claim);
    const going = due.filter((d) => go.has(d.id));
    const confirmed = going.filter((d) => db.lease(d.id)?.confirmed).map((d) => d.id);
    const handled = confirmed.length >= 2 ? await claimInBatches(this.#c, confirmed) : new Set<bigint>();
    for (const { id, final } of going) {
      await this.#c
        .withLease(id, async () => {
          const l = db.lease(id);
          if (!l) return;
          if (!handled.has(id)) await this.#claim(l, final);
          else if (final) await this.#settledIfPaid(l);
        })
        .catch((e) => log.warn("lease claim failed; will retry", { lease: id, error: e }));
    }
  }

  /** Wei a unit of gas costs now (cached); undefined above the cap; "down" when the chain did not answer. */
  async #feePerGas(): Promise<bigint | undefined | "down"> {
    if (this.#quote && Date.now() - this.#quote.at < QUOTE_TTL_MS) return this.#quote.feePerGas;
    try {
      const q = await this.#c.watch.call("reading the fees", () => this.#c.chain.fees.quote("claiming"));
      if (q === undefined) return "down";
      this.#quote = { at: Date.now(), feePerGas: expectedGasPrice(q) };
    } catch (e) {
      if (!isIconError(e, "FEE_ABOVE_CAP")) {
        this.#c.log.warn("could not read the chain's fees; claims wait", { error: e });
        return "down";
      }
      this.#quote = { at: Date.now(), feePerGas: undefined };
    }
    return this.#quote.feePerGas;
  }

  /** Claims accrued payment; `final` settles the lease when nothing more is due. */
  async #claim(l: LeaseRow, final: boolean): Promise<void> {
    const { chain, watch, db, log } = this.#c;
    if (!l.confirmed) {
      // The database can lag the chain: a yard killed after its confirmStart was mined but before it wrote
      // `confirmed` would otherwise give up a slot it served. The chain decides.
      const rec = await watch.call(`reading lease ${l.id}`, () => chain.lease(l.id));
      if (!rec) return;
      if (rec.flags & LEASE_FLAGS.confirmed) {
        db.update(l.id, { confirmed: true });
        log.info("start was confirmed on chain before the yard recorded it", { lease: l.id });
      } else {
        // Never confirmed (never ran, or terminated before): nothing is owed to the yard.
        if (final) db.update(l.id, { status: "settled" });
        return;
      }
    }
    try {
      const sent = await watch.call(`claiming lease ${l.id}`, () => chain.claimTx([l.id]));
      if (sent === undefined) return;
      // Counted in icon_yard_earnings_claimed_units_total by the follower, once buried (chain-watch.ts).
      this.#c.reorgs?.track({ kind: "claim", tx: sent.txHash, leases: [l.id] });
      log.info("claimed", { lease: l.id, amount: chain.format(sent.amounts.get(l.id)!), final });
      db.update(l.id, { lastClaimAt: watch.now() });
    } catch (e) {
      if (!isIconError(e, ["LeaseNothingToClaim", "LeaseInvalidState"])) throw e;
      db.update(l.id, { lastClaimAt: watch.now() });
    }
    if (final) await this.#settledIfPaid(l);
  }

  /** Marks the lease settled once the chain owes nothing more on it, in a block buried under the confirmations. */
  async #settledIfPaid(l: LeaseRow): Promise<void> {
    const { chain, watch, db } = this.#c;
    const rec = await watch.call(`reading lease ${l.id}`, () => chain.lease(l.id, watch.buried?.()));
    if (rec && (rec.state === "Settled" || rec.state === "Cancelled" || rec.claimedUntil >= (rec.stoppedAt || rec.end)))
      db.update(l.id, { status: "settled" });
  }
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
