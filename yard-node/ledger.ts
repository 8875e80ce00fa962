/**
 * The capacity ledger: which CPU and memory are promised to whom, and when. It never overbooks: at every
 * instant, the sum of all reservations (leases and quote holds) that cover it stays within capacity.
 *
 * Reservations are intervals [from, to) in chain seconds. A quote holds its capacity until the quote's
 * deadline (`expires`); an opened lease turns the hold into a commitment until the lease ends. JavaScript runs
 * one call at a time, so check-and-reserve in {@link CapacityLedger.reserve} is atomic even when many RFQs
 * arrive at once: the second request for the last unit sees the first one's hold.
 */

export interface Resources {
  cpuMillis: number;
  memoryMiB: number;
}

export interface Reservation extends Resources {
  key: string;
  from: number;
  to: number;
  /** Holds expire (unix seconds, wall clock); commitments do not. */
  expires?: number;
  /** Whom a hold is for (holds made by {@link CapacityLedger.hold}). */
  holder?: Holder;
}

/** Whom a quote's hold is for: the asking peer, the account it named, whether it proved control of that account
 * (an RFQ proof), and what the quote costs the account over its slot. */
export interface Holder {
  peer: string;
  account: bigint;
  proven: boolean;
  cost: bigint;
}

/** Bounds on holds (yard config `holds`; each default's reason is there). */
export interface HoldLimits {
  /** Fraction (0..1) of capacity, CPU and memory each, that holds without a proof may take at any instant. */
  anonymousShare: number;
  /** Holds without a proof one peer may have. */
  anonymousPerPeer: number;
  /** Holds one peer may have, proven or not. */
  perPeer: number;
  /** Proven holds naming one account. */
  perAccount: number;
}

/** Why a reservation was refused: no capacity, or one of the hold limits. */
export type RefusedBy =
  "capacity" | "leases" | "anonymousShare" | "anonymousPerPeer" | "perPeer" | "perAccount" | "budget";

export type ReserveResult = { ok: true } | { ok: false; free: Resources; reason: string; by: RefusedBy };

export class CapacityLedger {
  readonly capacity: Resources;
  readonly maxLeases: number;
  readonly #items = new Map<string, Reservation>();

  constructor(capacity: Resources, maxLeases = Number.MAX_SAFE_INTEGER) {
    this.capacity = capacity;
    this.maxLeases = maxLeases;
  }

  /** Reserves `r` unless that would overbook any instant of [r.from, r.to); replaces a reservation of the
   * same key (a re-quote in one negotiation moves its hold instead of adding a second one). */
  reserve(r: Reservation, now = Date.now() / 1000): ReserveResult {
    this.prune(now);
    const previous = this.#items.get(r.key);
    this.#items.delete(r.key);
    const free = this.freeDuring(r.from, r.to);
    const overlapping = this.#overlapping(r.from, r.to).length;
    let reason = "";
    let by: RefusedBy = "capacity";
    if (r.cpuMillis > free.cpuMillis || r.memoryMiB > free.memoryMiB) {
      reason =
        `needs ${r.cpuMillis} mCPU and ${r.memoryMiB} MiB during the slot, but at its busiest only ` +
        `${free.cpuMillis} mCPU and ${free.memoryMiB} MiB are free`;
    } else if (overlapping >= this.maxLeases) {
      reason = `already ${overlapping} leases or holds overlap the slot (limit ${this.maxLeases})`;
      by = "leases";
    }
    if (reason) {
      if (previous) this.#items.set(r.key, previous);
      return { ok: false, free, reason, by };
    }
    this.#items.set(r.key, { ...r });
    return { ok: true };
  }

  /**
   * Reserves a quote's hold for `holder` within `limits` and capacity, atomically (no await inside), replacing a
   * hold of the same key (a re-quote in one negotiation moves its hold and is never counted twice):
   * - a holder without proof: at most `anonymousPerPeer` such holds per peer, and all such holds together at most
   *   `anonymousShare` of capacity at any instant — so strangers cannot take more than that share, whatever
   *   accounts they name, and their holds never count against an account's own limits;
   * - any holder: at most `perPeer` holds per peer;
   * - a proven holder: at most `perAccount` holds naming its account, whose costs together stay within `balance`.
   */
  hold(
    r: Reservation & { holder: Holder; expires: number },
    limits: HoldLimits,
    balance: bigint,
    now = Date.now() / 1000,
  ): ReserveResult {
    this.prune(now);
    const h = r.holder;
    const holds = [...this.#items.values()].filter((i) => i.expires !== undefined && i.holder && i.key !== r.key);
    const refuse = (by: RefusedBy, reason: string): ReserveResult => ({
      ok: false,
      free: this.freeDuring(r.from, r.to),
      reason,
      by,
    });
    const byPeer = holds.filter((i) => i.holder!.peer === h.peer);
    if (byPeer.length >= limits.perPeer)
      return refuse("perPeer", `this peer already holds ${byPeer.length} quotes here (limit ${limits.perPeer})`);
    if (!h.proven) {
      const mine = byPeer.filter((i) => !i.holder!.proven).length;
      if (mine >= limits.anonymousPerPeer)
        return refuse(
          "anonymousPerPeer",
          `this peer already holds ${mine} quote(s) without a proof of control (limit ${limits.anonymousPerPeer})`,
        );
      const anonymous = holds.filter((i) => !i.holder!.proven && i.from < r.to && r.from < i.to);
      const used = peak(anonymous, r.from, r.to);
      const cpu = Math.floor(this.capacity.cpuMillis * limits.anonymousShare);
      const mem = Math.floor(this.capacity.memoryMiB * limits.anonymousShare);
      if (used.cpuMillis + r.cpuMillis > cpu || used.memoryMiB + r.memoryMiB > mem)
        return refuse(
          "anonymousShare",
          `RFQs without a proof of control share ${Math.round(limits.anonymousShare * 100)} % of this yard ` +
            `(${cpu} mCPU, ${mem} MiB), of which ${used.cpuMillis} mCPU and ${used.memoryMiB} MiB are held`,
        );
    } else {
      const theirs = holds.filter((i) => i.holder!.proven && i.holder!.account === h.account);
      if (theirs.length >= limits.perAccount)
        return refuse(
          "perAccount",
          `account ${h.account} already holds ${theirs.length} quotes here (limit ${limits.perAccount})`,
        );
      const committed = theirs.reduce((sum, i) => sum + i.holder!.cost, 0n);
      if (committed + h.cost > balance)
        return refuse(
          "budget",
          `account ${h.account} holds ${balance} units, and its quotes here would cost ${committed} + ${h.cost}`,
        );
    }
    return this.reserve(r, now);
  }

  /** Live holds (unexpired, with a holder) matching `f`. */
  holds(f: (h: Holder) => boolean = () => true, now = Date.now() / 1000): Reservation[] {
    this.prune(now);
    return [...this.#items.values()].filter((i) => i.expires !== undefined && i.holder && f(i.holder));
  }

  /** Makes a hold permanent (the lease was opened) under a new key. */
  commit(holdKey: string, leaseKey: string): boolean {
    const h = this.#items.get(holdKey);
    if (!h) return false;
    this.#items.delete(holdKey);
    this.#items.set(leaseKey, { ...h, key: leaseKey, expires: undefined });
    return true;
  }

  /** Adds a commitment without checking (used when restoring leases from the database or the chain: they
   * exist whatever the ledger thinks). */
  restore(r: Reservation): void {
    this.#items.set(r.key, { ...r, expires: undefined });
  }

  release(key: string): void {
    this.#items.delete(key);
  }

  /** Shortens a commitment (a terminated lease frees its capacity from `at`). */
  endAt(key: string, at: number): void {
    const r = this.#items.get(key);
    if (!r) return;
    if (at <= r.from) this.#items.delete(key);
    else r.to = Math.min(r.to, at);
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  get(key: string): Reservation | undefined {
    return this.#items.get(key);
  }

  /** Least free capacity over [from, to): capacity minus the peak of overlapping reservations. */
  freeDuring(from: number, to: number): Resources {
    const used = peak(this.#overlapping(from, to), from, to);
    return {
      cpuMillis: Math.max(0, this.capacity.cpuMillis - used.cpuMillis),
      memoryMiB: Math.max(0, this.capacity.memoryMiB - used.memoryMiB),
    };
  }

  /** Used capacity at instant `t`. */
  usedAt(t: number, now = Date.now() / 1000): Resources & { holds: number; leases: number } {
    this.prune(now);
    let cpuMillis = 0;
    let memoryMiB = 0;
    let holds = 0;
    let leases = 0;
    for (const i of this.#items.values()) {
      if (i.from <= t && t < i.to) {
        cpuMillis += i.cpuMillis;
        memoryMiB += i.memoryMiB;
        if (i.expires === undefined) leases++;
        else holds++;
      }
    }
    return { cpuMillis, memoryMiB, holds, leases };
  }

  /** Drops expired holds and finished reservations. */
  prune(now = Date.now() / 1000): void {
    for (const [k, i] of this.#items) {
      if ((i.expires !== undefined && i.expires <= now) || i.to <= now - 1) this.#items.delete(k);
    }
  }

  #overlapping(from: number, to: number): Reservation[] {
    const out: Reservation[] = [];
    for (const i of this.#items.values()) if (i.from < to && from < i.to) out.push(i);
    return out;
  }
}

/** The peak CPU and memory of `items` (all overlapping [from, to)) at any instant of [from, to). */
function peak(items: Reservation[], from: number, to: number): Resources {
  // The peak of a sum of intervals is reached at some interval's start (or at `from`).
  const points = [from, ...items.map((i) => i.from).filter((t) => t > from && t < to)];
  let cpuMillis = 0;
  let memoryMiB = 0;
  for (const t of points) {
    let c = 0;
    let m = 0;
    for (const i of items) {
      if (i.from <= t && t < i.to) {
        c += i.cpuMillis;
        m += i.memoryMiB;
      }
    }
    cpuMillis = Math.max(cpuMillis, c);
    memoryMiB = Math.max(memoryMiB, m);
  }
  return { cpuMillis, memoryMiB };
}
