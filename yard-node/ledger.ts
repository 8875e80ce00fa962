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
}

export type ReserveResult = { ok: true } | { ok: false; free: Resources; reason: string };

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
    if (r.cpuMillis > free.cpuMillis || r.memoryMiB > free.memoryMiB) {
      reason =
        `needs ${r.cpuMillis} mCPU and ${r.memoryMiB} MiB during the slot, but at its busiest only ` +
        `${free.cpuMillis} mCPU and ${free.memoryMiB} MiB are free`;
    } else if (overlapping >= this.maxLeases) {
      reason = `already ${overlapping} leases or holds overlap the slot (limit ${this.maxLeases})`;
    }
    if (reason) {
      if (previous) this.#items.set(r.key, previous);
      return { ok: false, free, reason };
    }
    this.#items.set(r.key, { ...r });
    return { ok: true };
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
    const items = this.#overlapping(from, to);
    // The peak of a sum of intervals is reached at some interval's start (or at `from`).
    const points = [from, ...items.map((i) => i.from).filter((t) => t > from && t < to)];
    let cpu = 0;
    let mem = 0;
    for (const t of points) {
      let c = 0;
      let m = 0;
      for (const i of items) {
        if (i.from <= t && t < i.to) {
          c += i.cpuMillis;
          m += i.memoryMiB;
        }
      }
      cpu = Math.max(cpu, c);
      mem = Math.max(mem, m);
    }
    return {
      cpuMillis: Math.max(0, this.capacity.cpuMillis - cpu),
      memoryMiB: Math.max(0, this.capacity.memoryMiB - mem),
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
