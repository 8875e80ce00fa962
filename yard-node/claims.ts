/**
 * The yard's claims (composed by leases.ts, whose tick collects the leases due): the claim policy decides which go
 * now (claim-policy.ts: gas weighed against what each collects; an ended lease whose settlement frees collateral
 * always), then the leases due in one tick are claimed with one `claimMany` transaction per 256 (the contract's
 * bound), so a yard with many leases pays ≈ a third of a claim per lease (BENCHMARKS.md). An ended lease whose final
 * claim was sent and is not yet buried is idle: never claimed again, only checked until the chain shows it settled.
 * A batch the chain refuses for one lease (its custom error names it: ended and settled by someone else, terminated
 * meanwhile, nothing accrued) is planned again without that lease and sent again; a refusal naming no lease sends
 * single claims only for the leases that alone pay for their gas (and the ended ones that free collateral). A
 * terminated lease whose pay never covers its share of a batch is given up after {@link DUST_AFTER_S} (settled with
 * dust: log line, `icon_yard_claims_dust_units_total`; anyone's settle() still credits it to the operator). While
 * the chain asks more than the fee cap, nothing is sent and the claims wait.
 *
 * @example
 *   const claims = new LeaseClaims({ chain, watch, db, metrics, log, unitsPerEth, withLease });
 *   await claims.claimDue([{ id: 7n, final: false }]);
 */
import { expectedGasPrice, isIconError, LEASE_FLAGS, type MarketClient } from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import { MAX_CLAIM_BATCH } from "../protocol/chain/claims.ts";
import type { ChainWatch } from "./chain-watch.ts";
import { claimCost, planClaims, type ClaimPlan, type DueClaim } from "./claim-policy.ts";
import type { LeaseRow, YardDb } from "./db.ts";
import type { Reorgs } from "./reorgs.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** A fee quote is reused this long (ms): a waiting claim is weighed every tick, the chain asked less often. */
const QUOTE_TTL_MS = 15_000;

/** Chain seconds after its end an ended lease that never pays its claim's gas is given up as dust (a week: fees
 * fall and batches go meanwhile). */
export const DUST_AFTER_S = 7 * 24 * 3600;

/** At most this many claimMany attempts per tick (each refusal drops the lease it names; the rest go next tick). */
const MAX_REPLANS = 8;

/** Custom errors of a claim that name the one lease the chain refused (their first argument). */
const REFUSED_LEASE = ["LeaseInvalidState", "LeaseNothingToClaim", "LeaseNotConfirmed", "LeaseUnauthorized"] as const;

export interface LeaseClaimsComponents {
  chain: Pick<MarketClient, "lease" | "claimTx" | "format" | "fees">;
  watch: Pick<ChainWatch, "call" | "now"> & Partial<Pick<ChainWatch, "buried">>;
  db: YardDb;
  metrics: Pick<YardMetrics, "inc" | "set">;
  /** Follows each claim until buried (reorgs.ts); its list tells a claim not yet buried. */
  reorgs?: Pick<Reorgs, "track"> & Partial<Pick<Reorgs, "list">>;
  log: Logger;
  /** Token units one ETH is worth (config `chain.fees.gasTokenPrice`); undefined: gas is not weighed. */
  unitsPerEth?: bigint;
  /** Wei of L1 data fee per claim transaction (config `chain.fees.l1FeePerClaim`, OP-stack chains). */
  l1FeePerClaim?: bigint;
  /** Seconds after its end a terminated lease that never pays its gas is given up ({@link DUST_AFTER_S}). */
  dustAfterS?: number;
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

/** The lease a claim's refusal names (its custom error's first argument), if it names one. */
export function refusedLease(e: unknown): bigint | undefined {
  if (!isIconError(e, [...REFUSED_LEASE])) return undefined;
  const id = (e.details.args as unknown[] | undefined)?.[0];
  return typeof id === "string" && /^\d+$/.test(id) ? BigInt(id) : undefined;
}

/** Claims due leases under the policy. */
export class LeaseClaims {
  readonly #c: LeaseClaimsComponents;
  #quote: { at: number; feePerGas: bigint | undefined } | undefined;
  #waiting: ClaimPlan["reason"];

  constructor(components: LeaseClaimsComponents) {
    this.#c = components;
  }

  /**
   * Claims what the policy lets go of `due` (≥ 2 confirmed ones by claimMany, planned again without a lease the
   * chain refuses, else one by one); `final` settles. Idle ended leases are checked for settlement.
   */
  async claimDue(due: Array<{ id: bigint; final: boolean }>): Promise<void> {
    const { db, watch } = this.#c;
    if (due.length === 0) return;
    const feePerGas = await this.#feePerGas();
    if (feePerGas === "down") return;
    const now = watch.now();
    // Ended and not confirmed here: the chain decides (#claim reads it; nothing is sent for a lease it never
    // confirmed, which is settled here), outside the policy.
    const unconfirmed = due.filter((d) => d.final && db.lease(d.id)?.confirmed === false);
    let rows: DueClaim[] = due.flatMap((d) => {
      const l = db.lease(d.id);
      if (!l || (d.final && !l.confirmed)) return [];
      return [
        { id: d.id, final: d.final, releases: d.final && l.stoppedAt === undefined, accrued: accruedEstimate(l, now) },
      ];
    });
    const facts = { feePerGas, unitsPerEth: this.#c.unitsPerEth, l1FeePerTx: this.#c.l1FeePerClaim };
    let plan = planClaims(rows, facts);
    this.#report(plan, due.length);
    for (const id of plan.idle) await this.#locked(id, (l) => this.#idle(l));
    if (plan.reason === "gas above accrual") {
      for (const w of plan.wait) {
        const l = db.lease(w.id);
        if (l?.status !== "ended") continue;
        const end = Math.min(Number(l.offer.end), l.stoppedAt ?? Infinity);
        if (now - end >= (this.#c.dustAfterS ?? DUST_AFTER_S))
          await this.#locked(w.id, (row) => this.#dust(row, w.accrued, w.cost));
      }
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const alonePays = (id: bigint): boolean => {
      const r = byId.get(id)!;
      if (r.releases || feePerGas === undefined || facts.unitsPerEth === undefined) return true;
      return r.accrued >= claimCost(1, { feePerGas, unitsPerEth: facts.unitsPerEth, l1FeePerTx: facts.l1FeePerTx });
    };
    const done = new Set<bigint>(); // claimed by a batch, named by a refusal, or left for the next tick
    const paid = new Set<bigint>();
    const singles: bigint[] = [];
    const confirmed = (id: bigint): boolean => db.lease(id)?.confirmed === true;
    for (let tries = 0; tries < MAX_REPLANS; tries++) {
      const batch = plan.claim.filter((id) => !done.has(id) && confirmed(id)).slice(0, MAX_CLAIM_BATCH);
      if (batch.length < 2) {
        singles.push(...batch);
        break;
      }
      const out = await this.#claimMany(batch);
      if (typeof out === "bigint") {
        done.add(out);
        await this.#locked(out, (l) => this.#refused(l, byId.get(out)!.final));
        rows = rows.filter((r) => !done.has(r.id));
        plan = planClaims(rows, facts);
        continue;
      }
      for (const id of batch) done.add(id);
      if (out === "paid") for (const id of batch) paid.add(id);
      if (out === "refused") {
        // Refused without naming a lease: only the leases that pay for a claim alone are claimed alone.
        singles.push(...batch.filter(alonePays));
        break;
      }
    }
    for (const id of [...paid, ...singles, ...unconfirmed.map((d) => d.id)]) {
      const final = byId.get(id)?.final ?? true;
      await this.#locked(id, (l) =>
        paid.has(id) ? (final ? this.#settledIfPaid(l) : Promise.resolve()) : this.#claim(l, final),
      );
    }
  }

  /** Runs `fn` on lease `id`'s row under its lock; a failure is logged (the next tick retries). */
  async #locked(id: bigint, fn: (l: LeaseRow) => Promise<void>): Promise<void> {
    await this.#c
      .withLease(id, async () => {
        const l = this.#c.db.lease(id);
        if (l) await fn(l);
      })
      .catch((e) => this.#c.log.warn("lease claim failed; will retry", { lease: id, error: e }));
  }

  /** The waiting gauge, and a log line when the reason to wait changes. */
  #report(plan: ClaimPlan, due: number): void {
    const { log } = this.#c;
    this.#c.metrics.set("icon_yard_claims_waiting", plan.wait.length);
    if (plan.reason === this.#waiting) return;
    if (plan.reason === "fee above cap")
      log.info("claims wait: the chain's base fee is above the fee cap (chain.fees.maxFee)", { due });
    else if (plan.reason === "gas above accrual")
      log.info("claims wait: their gas would cost more than they collect", {
        leases: plan.wait.map((w) => `${w.id}:${w.accrued}<${w.cost}`).join(","),
      });
    this.#waiting = plan.reason;
  }

  /**
   * One claimMany of `batch` (confirmed leases): "paid" (recorded), "down" (the chain did not answer: next tick),
   * the id of the lease a refusal names, or "refused" when it names none.
   */
  async #claimMany(batch: bigint[]): Promise<"paid" | "down" | "refused" | bigint> {
    const { chain, watch, db, log, reorgs } = this.#c;
    let sent: { amounts: Map<bigint, bigint>; txHash: string } | undefined;
    try {
      sent = await watch.call(`claiming ${batch.length} leases in one transaction`, () => chain.claimTx(batch, true));
    } catch (e) {
      const id = refusedLease(e);
      if (id !== undefined && batch.includes(id)) {
        log.warn("batch claim refused for one lease; claiming the others without it", {
          lease: id,
          leases: batch.join(","),
          error: e,
        });
        return id;
      }
      log.warn("batch claim refused; only leases that pay for a claim alone are claimed alone", {
        leases: batch.join(","),
        error: e,
      });
      return "refused";
    }
    if (sent === undefined) return "down";
    reorgs?.track({ kind: "claim", tx: sent.txHash, leases: batch });
    const at = watch.now();
    for (const id of batch) {
      // (counted in icon_yard_earnings_claimed_units_total by the follower, once buried: chain-watch.ts)
      log.info("claimed", { lease: id, amount: chain.format(sent.amounts.get(id) ?? 0n), batch: batch.length });
      db.update(id, { lastClaimAt: at });
    }
    return "paid";
  }

  /** A lease a batch's refusal named: nothing to claim for it now (settled, terminated, nothing accrued). */
  async #refused(l: LeaseRow, final: boolean): Promise<void> {
    this.#c.db.update(l.id, { lastClaimAt: this.#c.watch.now() });
    if (final) await this.#settledIfPaid(l);
  }

  /**
   * An ended lease with nothing left to collect by the yard's estimate: while its claim is not buried nothing is
   * done; then it is settled once the chain shows it, or, if the chain still owes on it, due again from what the
   * chain last paid (the estimate was behind: a claim that vanished before the follower saw it).
   */
  async #idle(l: LeaseRow): Promise<void> {
    const { chain, watch, db, log, reorgs } = this.#c;
    if (reorgs?.list?.().some((u) => u.kind === "claim" && u.leases.includes(l.id))) return;
    await this.#settledIfPaid(l);
    if (db.lease(l.id)?.status !== "ended") return;
    const rec = await watch.call(`reading lease ${l.id}`, () => chain.lease(l.id));
    if (!rec) return;
    // Not confirmed on chain (its confirmStart reorganised away before the slot ended): the unconfirmed path
    // settles it next tick (nothing is owed to the yard).
    if (!(rec.flags & LEASE_FLAGS.confirmed)) {
      db.update(l.id, { confirmed: false });
      return;
    }
    if (rec.claimedUntil < (rec.stoppedAt || rec.end)) {
      db.update(l.id, { lastClaimAt: Number(rec.claimedUntil) });
      log.info("an ended lease still owes pay on chain; due again", { lease: l.id, claimedUntil: rec.claimedUntil });
    }
  }

  /** Gives up the pay of ended lease `l` that never covered its claim's gas: settled here, logged, counted. */
  async #dust(l: LeaseRow, amount: bigint, cost: bigint): Promise<void> {
    const { db, log, metrics } = this.#c;
    if (l.status !== "ended") return;
    db.update(l.id, { status: "settled", note: `settled with dust: ${amount} units never paid a claim's gas` });
    metrics.inc("icon_yard_claims_dust_units_total", {}, amount);
    log.warn("ended lease settled with dust: its pay never covered a claim's gas (anyone's settle() credits it)", {
      lease: l.id,
      amount: this.#c.chain.format(amount),
      cost: this.#c.chain.format(cost),
    });
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
