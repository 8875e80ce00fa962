/**
 * Quoting: the yard's side of a lease negotiation up to the opened lease. `checkRfq` is the pure decision (is
 * the request one this yard serves, at which slot and price, within the tenant's maximum and balance); the
 * `Quoting` room around it reads the account and the proof of control from the chain, holds capacity for the
 * quote (ledger.ts), signs the offer, relays the opening transaction on accept, and adopts opened leases (the
 * capacity hold becomes the lease's commitment). Every refusal is counted by reason and carries a sentence.
 *
 * @example
 *   const r = checkRfq(policy, ledger, { rfq, counter: undefined, account, renewed: undefined }, now);
 *   if ("refusal" in r) return reject(r.refusal); else sign(r.terms.price, r.terms.start, r.terms.end);
 */
import { TypedDataEncoder, type Signer } from "ethers";
import type { Libp2p, Startable } from "@libp2p/interface";
import {
  createLeaseHandler,
  isIconError,
  LEASE_PROTOCOL,
  leaseLimits,
  OFFER_TYPES,
  RejectCode,
  type BudgetAccount,
  type CapacityAnswer,
  type LeaseProvider,
  type MarketClient,
  type NegotiationContext,
  type Offer,
  type Rfq,
  type RttTarget,
} from "../protocol/index.ts";
import type { RttService } from "./rtt.ts";
import type { Logger } from "../protocol/log.ts";
import type { ChainWatch } from "./chain-watch.ts";
import { TRANSIENT } from "./chain-watch.ts";
import type { Prices, YardConfig } from "./config.ts";
import type { ControlCheck } from "./control.ts";
import { ACTIVE, type LeaseRow, type YardDb } from "./db.ts";
import type { CapacityLedger } from "./ledger.ts";
import type { Reorgs } from "./reorgs.ts";
import type { YardMetrics } from "./yard-metrics.ts";
import { askPrice, counterPrice, utilization } from "./pricing.ts";

/** What the pure check needs of the yard's configuration. */
export interface QuotePolicy {
  capacity: Pick<YardConfig["capacity"], "minCpuMillis" | "minMemoryMiB">;
  lease: Pick<YardConfig["lease"], "minSlotS" | "maxSlotS" | "startLeadS" | "quoteValidityS">;
  prices: Prices;
  /** Token units for people (MarketClient.format); only used in refusal sentences. */
  format: (units: bigint) => string;
}

/** An RFQ with the facts read for it: the counter-offer (if any), the paying account, the lease it renews. */
export interface RfqFacts {
  rfq: Rfq;
  counter: bigint | undefined;
  account: BudgetAccount;
  /** The yard's row of `rfq.renewsLeaseId` (undefined when the RFQ renews nothing or the lease is unknown). */
  renewed: LeaseRow | undefined;
}

/** A refusal: `reason` labels the metric, `code` goes on the wire, `message` is the sentence for the tenant. */
export interface Refusal {
  reason: string;
  code: RejectCode;
  message: string;
}

/** The terms of an acceptable RFQ (unix seconds; price and cost in token units). */
export interface QuoteTerms {
  start: number;
  end: number;
  deadline: number;
  pricePerSecond: bigint;
  cost: bigint;
}

/** The checks that need nothing but the RFQ itself (lease size and slot length): run before any chain read. */
export function rfqShapeRefusal(policy: QuotePolicy, rfq: Rfq): Refusal | undefined {
  const { capacity: c, lease } = policy;
  if (rfq.cpuMillis < c.minCpuMillis || rfq.memoryMiB < c.minMemoryMiB)
    return {
      reason: "too_small",
      code: RejectCode.BAD_REQUEST,
      message: `the smallest lease here is ${c.minCpuMillis} mCPU and ${c.minMemoryMiB} MiB`,
    };
  if (rfq.slotSeconds < lease.minSlotS || rfq.slotSeconds > lease.maxSlotS)
    return {
      reason: "slot",
      code: RejectCode.BAD_REQUEST,
      message: `slots here last ${lease.minSlotS} to ${lease.maxSlotS} seconds, not ${rfq.slotSeconds}`,
    };
  return undefined;
}

/**
 * Decides an RFQ (pure: no clock but `now`, no I/O): its shape, the renewal it names, the price (the asking
 * price at the utilization the lease would bring, or the counter-offer when it covers the base price, capped
 * at the tenant's maximum; never below the base price) and whether the account's balance covers the slot.
 * Capacity and hold limits are the ledger's (`CapacityLedger.hold`), decided when the quote is held.
 */
export function checkRfq(
  policy: QuotePolicy,
  ledger: Pick<CapacityLedger, "capacity" | "usedAt">,
  facts: RfqFacts,
  now: number,
): { refusal: Refusal } | { terms: QuoteTerms } {
  const { rfq, counter, account, renewed: old } = facts;
  const { lease, format } = policy;
  const refuse = (reason: string, code: RejectCode, message: string): { refusal: Refusal } => ({
    refusal: { reason, code, message },
  });
  const shape = rfqShapeRefusal(policy, rfq);
  if (shape) return { refusal: shape };
  let start = Math.max(now + lease.startLeadS, Number(rfq.earliestStart));
  if (rfq.renewsLeaseId !== undefined) {
    if (!old || !ACTIVE.includes(old.status) || old.stoppedAt !== undefined)
      return refuse("renewal", RejectCode.BAD_REQUEST, `lease ${rfq.renewsLeaseId} is not running at this yard`);
    if (
      old.offer.account !== rfq.tenantAccount ||
      old.offer.cpuMillis !== rfq.cpuMillis ||
      old.offer.memoryMiB !== rfq.memoryMiB
    )
      return refuse(
        "renewal",
        RejectCode.BAD_REQUEST,
        `a renewal of lease ${rfq.renewsLeaseId} must be paid by account ${old.offer.account} and keep ${old.offer.cpuMillis} mCPU / ${old.offer.memoryMiB} MiB`,
      );
    if (Number(old.offer.end) <= now + lease.startLeadS)
      return refuse("renewal", RejectCode.EXPIRED, `lease ${rfq.renewsLeaseId} ends too soon to be renewed`);
    start = Number(old.offer.end);
  }
  const end = start + rfq.slotSeconds;
  const deadline = now + lease.quoteValidityS;
  const res = { cpuMillis: rfq.cpuMillis, memoryMiB: rfq.memoryMiB };
  const used = ledger.usedAt(start, now);
  const ask = askPrice(policy.prices, res, utilization(ledger.capacity, used, res));
  let price = counter === undefined ? ask.price : counterPrice(ask.price, ask.base, counter);
  if (price > rfq.maxPricePerSecond) {
    if (ask.base > rfq.maxPricePerSecond)
      return refuse(
        "price",
        RejectCode.PRICE_BELOW_FLOOR,
        `this yard's lowest price for ${rfq.cpuMillis} mCPU and ${rfq.memoryMiB} MiB is ${format(ask.base)}/s, above your maximum of ${format(rfq.maxPricePerSecond)}/s`,
      );
    price = rfq.maxPricePerSecond;
  }
  const cost = price * BigInt(rfq.slotSeconds);
  if (account.closed || account.balance < cost)
    return refuse(
      "budget",
      RejectCode.BUDGET_TOO_SMALL,
      `account ${rfq.tenantAccount} holds ${format(account.balance)} but the lease costs ${format(cost)}`,
    );
  return { terms: { start, end, deadline, pricePerSecond: price, cost } };
}

export interface QuotingComponents {
  config: Pick<YardConfig, "capacity" | "lease" | "holds" | "listing">;
  prices: Prices;
  operator: string;
  chain: Pick<MarketClient, "account" | "format" | "domain" | "deployment" | "openLeaseTx">;
  watch: Pick<ChainWatch, "call" | "resting" | "refreshClock" | "now" | "markDown">;
  control: Pick<ControlCheck, "precheck" | "prove">;
  ledger: CapacityLedger;
  db: Pick<YardDb, "lease" | "getMeta" | "setMeta" | "addPendingOpen" | "removePendingOpen" | "addLease">;
  wallet: Pick<Signer, "signTypedData">;
  metrics: Pick<YardMetrics, "inc">;
  log: Logger;
  /** Measures round trips for a capacity query's `rttTargets` (rtt.ts); absent, such a query gets no report. */
  rtt?: Pick<RttService, "report">;
  /** Follows an opening until buried: one a reorganisation drops is held as pending again (reorgs.ts). */
  reorgs?: Pick<Reorgs, "track">;
}

type Rejection = { reject: RejectCode; message: string };

export class Quoting {
  readonly #c: QuotingComponents;
  readonly #policy: QuotePolicy;
  #quoteTimes: number[] = [];
  /** The operator's signed binding of this node's peer id (set at boot, before the negotiation is served). */
  binding: CapacityAnswer["binding"] | undefined;

  constructor(components: QuotingComponents) {
    this.#c = components;
    this.#policy = {
      capacity: components.config.capacity,
      lease: components.config.lease,
      prices: components.prices,
      format: (u) => components.chain.format(u),
    };
  }

  /**
   * Free capacity now, the list prices and the peer binding (the negotiation's capacity question); with `rttTargets`
   * and an RttService, the signed round trips towards them.
   */
  async capacity(ctx?: Pick<NegotiationContext, "remote">, rttTargets?: RttTarget[]): Promise<CapacityAnswer> {
    const { config, ledger, prices } = this.#c;
    const rtt = ctx && rttTargets?.length && this.#c.rtt ? await this.#c.rtt.report(rttTargets, ctx.remote) : undefined;
    const now = this.#c.watch.now();
    const used = ledger.usedAt(now, now);
    return {
      cpuMillisFree: Math.max(0, config.capacity.cpuMillis - used.cpuMillis),
      memoryMiBFree: Math.max(0, config.capacity.memoryMiB - used.memoryMiB),
      cpuPricePerSecond: prices.cpuPerCoreSecond,
      memoryPricePerSecond: prices.memoryPerGiBSecond,
      region: config.listing.region,
      binding: this.binding!,
      ...(rtt ? { rtt } : {}),
    };
  }

  /** Counts and logs a refusal, and returns it in the wire's shape. */
  reject(reason: string, code: RejectCode, message: string): Rejection {
    this.#c.metrics.inc("icon_yard_rejects_total", { reason });
    this.#c.log.info("refused", { reason, message });
    return { reject: code, message };
  }

  /** Quotes signed per second over the last minute. */
  quotesPerSecond(): number {
    const cutoff = Date.now() - 60_000;
    this.#quoteTimes = this.#quoteTimes.filter((t) => t >= cutoff);
    return this.#quoteTimes.length / 60;
  }

  async quote(
    rfq: Rfq,
    counter: bigint | undefined,
    ctx: NegotiationContext,
  ): Promise<{ offer: Offer; providerSignature: string } | Rejection> {
    const { config: c, ledger, watch, control, chain, db } = this.#c;
    const peer = ctx.remote.toString();
    const holdKey = `hold:${peer}/${ctx.requestId}`;
    const shape = rfqShapeRefusal(this.#policy, rfq);
    if (shape) return this.reject(shape.reason, shape.code, shape.message);
    // What needs no chain first, so that strangers cost the yard no RPC: the proof's own fields, and whether an
    // anonymous peer has room for one more hold at all.
    const unusable = control.precheck(rfq, ctx.remote);
    if (unusable) return this.reject("proof", RejectCode.BAD_SIGNATURE, unusable);
    if (!rfq.proof) {
      const mine = ledger.holds((h) => h.peer === peer && !h.proven).filter((h) => h.key !== holdKey).length;
      if (mine >= c.holds.anonymousPerPeer) return this.#holdRefused("anonymousPerPeer", mine);
    }
    if (watch.resting())
      return this.reject("chain_down", RejectCode.INTERNAL, "this yard cannot reach the chain right now; retry later");
    try {
      await watch.refreshClock();
    } catch (e) {
      // An error the chain watch does not count as an outage (it rests on those): the peer still gets a sentence,
      // and the yard's log the error (once seen in CI as the RPC went down; not reproduced since).
      this.#c.log.warn("reading the chain's clock for a quote failed", { error: e });
      return this.reject(
        "chain_down",
        RejectCode.INTERNAL,
        "this yard cannot reach the chain right now (reading its clock failed); retry later",
      );
    }
    // The account (and, for a proof signed by the app's owner, the owner) is read before anything is held: the
    // check-and-hold below runs with no await in it, so concurrent RFQs cannot both take the last unit.
    let account: BudgetAccount | undefined;
    let proven = false;
    try {
      account = await watch.call("reading the tenant account", () => chain.account(rfq.tenantAccount));
      if (account) {
        const a = account;
        const proof = await watch.call("checking the RFQ's proof", () => control.prove(rfq, ctx.remote, a));
        if (!proof) account = undefined;
        else if ("refused" in proof) return this.reject("proof", RejectCode.BAD_SIGNATURE, proof.refused);
        else proven = proof.proven;
      }
    } catch (e) {
      return this.reject("account", RejectCode.BAD_REQUEST, `account ${rfq.tenantAccount}: ${(e as Error).message}`);
    }
    if (!account)
      return this.reject("chain_down", RejectCode.INTERNAL, "this yard cannot reach the chain right now; retry later");
    const now = watch.now();
    const renewed = rfq.renewsLeaseId === undefined ? undefined : db.lease(rfq.renewsLeaseId);
    const checked = checkRfq(this.#policy, ledger, { rfq, counter, account, renewed }, now);
    if ("refusal" in checked) {
      const r = checked.refusal;
      // A re-quote in this negotiation that no longer fits gives up the hold of the earlier quote.
      if (r.reason === "price" || r.reason === "budget") ledger.release(holdKey);
      return this.reject(r.reason, r.code, r.message);
    }
    const { start, end, deadline, pricePerSecond: price, cost } = checked.terms;
    const holder = { peer, account: rfq.tenantAccount, proven, cost };
    const res = { cpuMillis: rfq.cpuMillis, memoryMiB: rfq.memoryMiB };
    const r = ledger.hold(
      { key: holdKey, ...res, from: start, to: end, expires: deadline, holder },
      c.holds,
      account.balance,
      now,
    );
    if (!r.ok) {
      if (r.by === "capacity" || r.by === "leases")
        return this.reject("no_capacity", RejectCode.NO_CAPACITY, `no capacity: the lease ${r.reason}`);
      if (r.by === "budget")
        return this.reject("budget", RejectCode.BUDGET_TOO_SMALL, `${r.reason}; accept or let some expire first`);
      return this.#holdRefused(r.by, undefined, r.reason);
    }
    const nonce = BigInt(db.getMeta("nonce") ?? "0");
    db.setMeta("nonce", (nonce + 1n).toString());
    const offer: Offer = {
      provider: this.#c.operator,
      account: rfq.tenantAccount,
      token: chain.deployment.token,
      pricePerSecond: price,
      cpuMillis: rfq.cpuMillis,
      memoryMiB: rfq.memoryMiB,
      start: BigInt(start),
      end: BigInt(end),
      specHash: rfq.imageDigest,
      nonce,
      deadline: BigInt(deadline),
    };
    const providerSignature = await this.#c.wallet.signTypedData(chain.domain(), OFFER_TYPES, offer);
    this.#c.metrics.inc("icon_yard_quotes_total");
    this.#quoteTimes.push(Date.now());
    return { offer, providerSignature };
  }

  /** A refusal by one of the hold limits (config `holds`), with what to do about it. */
  #holdRefused(
    by: "anonymousShare" | "anonymousPerPeer" | "perPeer" | "perAccount",
    count?: number,
    reason?: string,
  ): Rejection {
    const prove = "; sign the RFQ with the account's controller or owner key (an RfqProof, see PROTOCOL.md)";
    const wait = "; accept one, reject it or let it expire first";
    switch (by) {
      case "anonymousShare":
        return this.reject("anonymous_share", RejectCode.NO_CAPACITY, `no capacity: ${reason}${prove}`);
      case "anonymousPerPeer":
        return this.reject(
          "hold_limit",
          RejectCode.RATE_LIMITED,
          `${reason ?? `this peer already holds ${count} quote(s) without a proof of control (limit ${this.#c.config.holds.anonymousPerPeer})`}${prove}`,
        );
      default:
        return this.reject("hold_limit", RejectCode.RATE_LIMITED, `${reason}${wait}`);
    }
  }

  async accept(
    tenantSignature: string,
    ctx: NegotiationContext,
  ): Promise<{ leaseId: bigint; txHash: string } | Rejection> {
    const { ledger, db, chain, log } = this.#c;
    const q = ctx.lastQuote!;
    const holdKey = `hold:${ctx.remote.toString()}/${ctx.requestId}`;
    const now = this.#c.watch.now();
    if (Number(q.offer.deadline) < now || !ledger.has(holdKey))
      return this.reject("expired", RejectCode.EXPIRED, "the quote has expired; ask for a new one");
    const offerHash = TypedDataEncoder.hash(chain.domain(), OFFER_TYPES, q.offer);
    const renews = ctx.rfq?.renewsLeaseId;
    // The hold stops expiring while the transaction is in flight (its capacity is promised either way).
    const pendingKey = `pending:${offerHash}`;
    ledger.commit(holdKey, pendingKey);
    // Recorded before the transaction: if the yard dies while it is in flight, the event follower finds the
    // lease by this offer hash and adopts it.
    db.addPendingOpen({
      offerHash,
      offer: q.offer,
      providerSignature: q.providerSignature,
      tenantSignature,
      renews,
      createdAt: now,
    });
    let leaseId: bigint;
    let txHash: string;
    try {
      ({ leaseId, txHash } = await chain.openLeaseTx(q.offer, q.providerSignature, tenantSignature));
    } catch (e) {
      if (isIconError(e, TRANSIENT)) {
        this.#c.watch.markDown(e);
        return this.reject("chain_down", RejectCode.INTERNAL, "the opening transaction did not go through; retry");
      }
      db.removePendingOpen(offerHash);
      ledger.release(pendingKey);
      return this.reject(
        "chain_refused",
        isIconError(e, "LeaseInvalidSignature") ? RejectCode.BAD_SIGNATURE : RejectCode.CHAIN_REFUSED,
        (e as Error).message,
      );
    }
    // The lease and the follower's entry for its opening in one database transaction: a crash between them
    // would leave an opening no one follows through a reorganisation.
    const sigs = { providerSignature: q.providerSignature, tenantSignature };
    this.adopt(leaseId, q.offer, offerHash, renews, pendingKey, () =>
      this.#c.reorgs?.track({
        kind: "open",
        tx: txHash,
        leases: [leaseId],
        offer: q.offer,
        offerHash,
        renews,
        ...sigs,
      }),
    );
    log.info("lease opened", {
      lease: leaseId,
      account: q.offer.account,
      price: q.offer.pricePerSecond,
      start: q.offer.start,
      end: q.offer.end,
    });
    return { leaseId, txHash };
  }

  /** Records an opened lease and turns its capacity hold (if any) into a commitment. */
  adopt(
    id: bigint,
    offer: Offer,
    offerHash: string,
    renews: bigint | undefined,
    holdKey?: string,
    also?: () => void,
  ): void {
    const { ledger } = this.#c;
    const added = this.#c.db.addLease(id, offer, offerHash, renews, also);
    const key = `lease:${id}`;
    const pending = `pending:${offerHash}`;
    if (!(holdKey && ledger.commit(holdKey, key)) && !ledger.commit(pending, key) && !ledger.has(key)) {
      ledger.restore({
        key,
        cpuMillis: offer.cpuMillis,
        memoryMiB: offer.memoryMiB,
        from: Number(offer.start),
        to: Number(offer.end),
      });
    }
    if (added) this.#c.metrics.inc("icon_yard_leases_opened_total");
  }
}

/**
 * The lease negotiation (/icon/lease/1.0.0) as a libp2p service in the js-libp2p shape: a factory of the node's
 * components whose product is Startable (the handler registered at start, unregistered at stop).
 */
export function leaseNegotiation(init: {
  provider: LeaseProvider;
  onError: (e: unknown) => void;
}): (components: { registrar: Pick<Libp2p, "handle" | "unhandle"> }) => Startable {
  return ({ registrar }) => ({
    start: async () => {
      const handler = createLeaseHandler(init.provider, { onError: init.onError });
      await registrar.handle(LEASE_PROTOCOL, handler, { maxInboundStreams: leaseLimits.maxInboundStreams });
    },
    stop: async () => {
      await registrar.unhandle(LEASE_PROTOCOL);
    },
  });
}
