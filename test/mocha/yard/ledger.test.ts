/**
 * The capacity ledger against a brute-force model: random sequences of reserve / release / commit / endAt /
 * prune / usedAt at advancing integer times. The model keeps every reservation as a plain record and answers
 * every question by summing over each integer second, so it shares no shortcut with the ledger (which looks
 * only at interval starts). After every step the ledger's contents must match the model, no instant may be
 * overbooked in CPU, memory or lease count, and every reserve() must succeed exactly when the model says the
 * request fits.
 */
import { expect } from "chai";
import fc from "fast-check";
import { CapacityLedger, type Reservation, type Resources } from "../../../yard-node/ledger.ts";

const HOLD_KEYS = ["h0", "h1", "h2", "h3", "h4"];
const LEASE_KEYS = ["L0", "L1", "L2", "L3", "L4"];
const ALL_KEYS = [...HOLD_KEYS, ...LEASE_KEYS];

type Op =
  | { t: "advance"; dt: number }
  | {
      t: "reserve";
      key: string;
      cpuMillis: number;
      memoryMiB: number;
      offset: number;
      len: number;
      /** seconds until the hold expires; undefined reserves a commitment directly */
      ttl: number | undefined;
    }
  | { t: "release"; key: string }
  | { t: "commit"; hold: string; lease: string }
  | { t: "endAt"; key: string; offset: number }
  | { t: "prune"; qOffset: number; qLen: number }
  | { t: "usedAt"; offset: number };

interface Setup {
  capacity: Resources;
  maxLeases: number;
  start: number;
  ops: Op[];
}

/** Capacity in a few coarse steps so that requests collide often and the last unit is hit exactly. */
const setupArb: fc.Arbitrary<Setup> = fc
  .record({
    cpuSteps: fc.integer({ min: 1, max: 8 }),
    memSteps: fc.integer({ min: 1, max: 8 }),
    maxLeases: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    start: fc.integer({ min: 1_000, max: 2_000_000_000 }),
  })
  .chain(({ cpuSteps, memSteps, maxLeases, start }) => {
    const capacity = { cpuMillis: cpuSteps * 250, memoryMiB: memSteps * 64 };
    const key = fc.constantFrom(...ALL_KEYS);
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 2, arbitrary: fc.record({ t: fc.constant("advance" as const), dt: fc.integer({ min: 0, max: 6 }) }) },
      {
        weight: 6,
        arbitrary: fc.record({
          t: fc.constant("reserve" as const),
          key,
          // multiples of a fifth of a step, up to a little over the whole capacity: exact fits are common
          // (small ones often, so that maxLeases is reached before the capacity)
          cpuMillis: fc
            .oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: cpuSteps * 5 + 1 }))
            .map((n) => n * 50),
          memoryMiB: fc
            .oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: memSteps * 4 + 1 }))
            .map((n) => n * 16),
          offset: fc.integer({ min: 0, max: 20 }),
          len: fc.integer({ min: 1, max: 15 }),
          ttl: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined, freq: 3 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("release" as const), key }) },
      {
        weight: 2,
        arbitrary: fc.record({
          t: fc.constant("commit" as const),
          hold: fc.constantFrom(...HOLD_KEYS),
          lease: fc.constantFrom(...LEASE_KEYS),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ t: fc.constant("endAt" as const), key, offset: fc.integer({ min: -5, max: 30 }) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          t: fc.constant("prune" as const),
          qOffset: fc.integer({ min: 0, max: 25 }),
          qLen: fc.integer({ min: 1, max: 20 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ t: fc.constant("usedAt" as const), offset: fc.integer({ min: -3, max: 30 }) }),
      },
    );
    return fc.record({
      capacity: fc.constant(capacity),
      maxLeases: fc.constant(maxLeases),
      start: fc.constant(start),
      ops: fc.array(op, { minLength: 1, maxLength: 60, size: "large" }),
    });
  });

interface ModelItem {
  cpuMillis: number;
  memoryMiB: number;
  from: number;
  to: number;
  expires: number | undefined;
}

/** A hold whose deadline has passed no longer counts. */
const dead = (i: ModelItem, now: number): boolean => i.expires !== undefined && i.expires <= now;

/** Sum over items covering integer second `t`. */
function usedAtSecond(items: Iterable<ModelItem>, t: number): Resources & { count: number } {
  let cpuMillis = 0;
  let memoryMiB = 0;
  let count = 0;
  for (const i of items) {
    if (i.from <= t && t < i.to) {
      cpuMillis += i.cpuMillis;
      memoryMiB += i.memoryMiB;
      count++;
    }
  }
  return { cpuMillis, memoryMiB, count };
}

/** Least free capacity over [from, to), second by second (all times are integers). */
function bruteFree(items: ModelItem[], capacity: Resources, from: number, to: number): Resources {
  let cpu = 0;
  let mem = 0;
  for (let t = from; t < to; t++) {
    const u = usedAtSecond(items, t);
    cpu = Math.max(cpu, u.cpuMillis);
    mem = Math.max(mem, u.memoryMiB);
  }
  return { cpuMillis: Math.max(0, capacity.cpuMillis - cpu), memoryMiB: Math.max(0, capacity.memoryMiB - mem) };
}

interface Stats {
  ok: number;
  noCapacity: number;
  tooManyLeases: number;
  replaced: number;
  keptAfterFailedReplace: number;
  expiredHoldsIgnored: number;
}

function runSequence(s: Setup, stats: Stats): void {
  const { capacity, maxLeases } = s;
  const ledger = new CapacityLedger(capacity, maxLeases);
  const model = new Map<string, ModelItem>();
  let now = s.start;

  /** Compares the ledger's contents with the model's and drops what the ledger was allowed to forget. */
  const sync = (): void => {
    for (const key of ALL_KEYS) {
      const m = model.get(key);
      const l = ledger.get(key);
      expect(ledger.has(key), key).to.equal(l !== undefined);
      if (m && !l) {
        // only an expired hold or a reservation that is over may disappear without being released
        expect(dead(m, now) || m.to <= now, `${key} vanished while live: ${JSON.stringify(m)} at ${now}`).to.equal(
          true,
        );
        model.delete(key);
      } else if (!m && l) {
        expect.fail(`ledger holds ${key} that the model does not: ${JSON.stringify(l)}`);
      } else if (m && l) {
        const { key: lk, cpuMillis, memoryMiB, from, to, expires, ...extra } = l;
        expect(extra, key).to.deep.equal({});
        expect({ key: lk, cpuMillis, memoryMiB, from, to, expires }, key).to.deep.equal({
          key,
          cpuMillis: m.cpuMillis,
          memoryMiB: m.memoryMiB,
          from: m.from,
          to: m.to,
          expires: m.expires,
        });
      }
    }
  };

  /** Never overbooked: every second, everything the ledger still holds (even an expired hold not yet pruned)
   * fits the capacity together, and no more than maxLeases reservations run at once. */
  const checkInvariant = (): void => {
    const items = [...model.values()];
    if (items.length === 0) return;
    const lo = Math.min(...items.map((i) => i.from));
    const hi = Math.max(...items.map((i) => i.to));
    for (let t = lo; t < hi; t++) {
      const u = usedAtSecond(items, t);
      expect(u.cpuMillis, `cpu at ${t}`).to.be.at.most(capacity.cpuMillis);
      expect(u.memoryMiB, `memory at ${t}`).to.be.at.most(capacity.memoryMiB);
      expect(u.count, `leases at ${t}`).to.be.at.most(maxLeases);
    }
  };

  for (const op of s.ops) {
    switch (op.t) {
      case "advance":
        now += op.dt;
        break;
      case "reserve": {
        const from = now + op.offset;
        const r: Reservation = {
          key: op.key,
          cpuMillis: op.cpuMillis,
          memoryMiB: op.memoryMiB,
          from,
          to: from + op.len,
          ...(op.ttl === undefined ? {} : { expires: now + op.ttl }),
        };
        const others = [...model.entries()].filter(([k, i]) => k !== op.key && !dead(i, now)).map(([, i]) => i);
        const expiredOthers = [...model.entries()].filter(([k, i]) => k !== op.key && dead(i, now)).length;
        let fitsResources = true;
        for (let t = r.from; t < r.to; t++) {
          const u = usedAtSecond(others, t);
          if (u.cpuMillis + r.cpuMillis > capacity.cpuMillis || u.memoryMiB + r.memoryMiB > capacity.memoryMiB)
            fitsResources = false;
        }
        const overlapping = others.filter((i) => i.from < r.to && r.from < i.to).length;
        const fits = fitsResources && overlapping < maxLeases;
        const previous = model.get(op.key);
        const res = ledger.reserve(r, now);
        expect(res.ok, `reserve ${JSON.stringify(r)} at ${now} with ${JSON.stringify(others)}`).to.equal(fits);
        if (res.ok) {
          model.set(op.key, { ...r, expires: r.expires });
          stats.ok++;
          if (previous && !dead(previous, now)) stats.replaced++;
          if (expiredOthers > 0) stats.expiredHoldsIgnored++;
        } else {
          expect(res.free).to.deep.equal(bruteFree(others, capacity, r.from, r.to));
          expect(res.reason).to.be.a("string").and.not.equal("");
          if (fitsResources) stats.tooManyLeases++;
          else stats.noCapacity++;
          // a failing re-reserve keeps the old reservation (sync checks it is still there, unchanged)
          if (previous && !dead(previous, now)) stats.keptAfterFailedReplace++;
        }
        break;
      }
      case "release":
        ledger.release(op.key);
        model.delete(op.key);
        break;
      case "commit": {
        const h = model.get(op.hold);
        const ok = ledger.commit(op.hold, op.lease);
        if (!h) expect(ok, `commit of unknown ${op.hold}`).to.equal(false);
        else if (!dead(h, now)) expect(ok, `commit of live ${op.hold}`).to.equal(true);
        // (an expired hold the ledger has not pruned yet may still be committed: nothing was reserved since it
        // expired, so it cannot overbook; checkInvariant verifies that)
        if (ok) {
          expect(h, "commit succeeded for a key the model does not hold").to.not.equal(undefined);
          model.delete(op.hold);
          model.set(op.lease, { ...h!, expires: undefined });
        }
        break;
      }
      case "endAt": {
        const at = now + op.offset;
        ledger.endAt(op.key, at);
        const m = model.get(op.key);
        if (m) {
          if (at <= m.from) model.delete(op.key);
          else m.to = Math.min(m.to, at);
        }
        break;
      }
      case "prune": {
        ledger.prune(now);
        for (const [k, i] of model)
          if (dead(i, now)) expect(ledger.has(k), `expired ${k} survived prune`).to.equal(false);
        sync();
        const from = now + op.qOffset;
        const to = from + op.qLen;
        expect(ledger.freeDuring(from, to), `freeDuring(${from}, ${to})`).to.deep.equal(
          bruteFree([...model.values()], capacity, from, to),
        );
        break;
      }
      case "usedAt": {
        const t = now + op.offset;
        const live = [...model.values()].filter((i) => !dead(i, now) && i.from <= t && t < i.to);
        const u = ledger.usedAt(t, now);
        // a reservation that ended more than a second ago may have been pruned: only ask about the present on
        if (t >= now) {
          expect(u).to.deep.equal({
            cpuMillis: live.reduce((a, i) => a + i.cpuMillis, 0),
            memoryMiB: live.reduce((a, i) => a + i.memoryMiB, 0),
            holds: live.filter((i) => i.expires !== undefined).length,
            leases: live.filter((i) => i.expires === undefined).length,
          });
        }
        break;
      }
    }
    sync();
    checkInvariant();
  }
}

describe("CapacityLedger", () => {
  it("matches a brute-force model on random reserve/release/commit/endAt/prune sequences", function () {
    // CPU-bound: 12–15 s on an idle 2-core machine, over 60 s beside other suites; the bound catches a hang only.
    this.timeout(240_000);
    const stats: Stats = {
      ok: 0,
      noCapacity: 0,
      tooManyLeases: 0,
      replaced: 0,
      keptAfterFailedReplace: 0,
      expiredHoldsIgnored: 0,
    };
    fc.assert(
      fc.property(setupArb, (s) => runSequence(s, stats)),
      { numRuns: 300 },
    );
    // the generator must reach every interesting branch, or the property proves little
    for (const [k, v] of Object.entries(stats)) expect(v, `${k} never happened`).to.be.greaterThan(20);
  });

  it("reserve() is atomic for same-key re-quotes: moving a hold never double-counts it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (units, a, b) => {
          const l = new CapacityLedger({ cpuMillis: units * 100, memoryMiB: units * 100 });
          const full = { cpuMillis: units * 100, memoryMiB: units * 100 };
          expect(l.reserve({ key: "q", ...full, from: 100 + a, to: 110 + a, expires: 50 }, 0).ok).to.equal(true);
          // the same negotiation asks again for the whole yard, at a slot that may overlap its own hold
          expect(l.reserve({ key: "q", ...full, from: 100 + b, to: 110 + b, expires: 50 }, 0).ok).to.equal(true);
          expect(l.get("q")).to.include({ from: 100 + b, to: 110 + b });
          // the old slot is free again unless the new one overlaps it
          const otherFits = l.reserve({ key: "x", cpuMillis: 1, memoryMiB: 1, from: 100 + a, to: 110 + a }, 0).ok;
          expect(otherFits).to.equal(Math.abs(a - b) >= 10);
        },
      ),
    );
  });

  describe("examples", () => {
    const cap = { cpuMillis: 1000, memoryMiB: 1024 };

    it("gives out the last unit exactly once", () => {
      const l = new CapacityLedger(cap);
      expect(l.reserve({ key: "a", cpuMillis: 999, memoryMiB: 1000, from: 10, to: 20 }, 0).ok).to.equal(true);
      expect(l.reserve({ key: "b", cpuMillis: 1, memoryMiB: 24, from: 15, to: 25 }, 0).ok).to.equal(true);
      const c = l.reserve({ key: "c", cpuMillis: 1, memoryMiB: 0, from: 19, to: 30 }, 0);
      expect(c.ok).to.equal(false);
      expect(c).to.deep.include({ free: { cpuMillis: 0, memoryMiB: 0 } });
      // memory alone can also be the binding limit
      expect(l.reserve({ key: "d", cpuMillis: 0, memoryMiB: 1, from: 15, to: 16 }, 0).ok).to.equal(false);
      expect(l.usedAt(19, 0)).to.deep.equal({ cpuMillis: 1000, memoryMiB: 1024, holds: 0, leases: 2 });
    });

    it("treats [a, b) and [b, c) as not overlapping, and [a, b) and [b - 1, c) as overlapping", () => {
      const l = new CapacityLedger(cap, 1);
      expect(l.reserve({ key: "a", ...cap, from: 10, to: 20 }, 0).ok).to.equal(true);
      expect(l.reserve({ key: "b", ...cap, from: 20, to: 30 }, 0).ok).to.equal(true);
      expect(l.reserve({ key: "c", ...cap, from: 0, to: 10 }, 0).ok).to.equal(true);
      expect(l.reserve({ key: "d", cpuMillis: 1, memoryMiB: 1, from: 29, to: 31 }, 0).ok).to.equal(false);
      expect(l.freeDuring(30, 40)).to.deep.equal(cap);
      expect(l.freeDuring(19, 20)).to.deep.equal({ cpuMillis: 0, memoryMiB: 0 });
    });

    it("counts overlapping reservations against maxLeases even when they are small", () => {
      const l = new CapacityLedger(cap, 2);
      expect(l.reserve({ key: "a", cpuMillis: 1, memoryMiB: 1, from: 10, to: 20 }, 0).ok).to.equal(true);
      expect(l.reserve({ key: "b", cpuMillis: 1, memoryMiB: 1, from: 10, to: 20 }, 0).ok).to.equal(true);
      const r = l.reserve({ key: "c", cpuMillis: 1, memoryMiB: 1, from: 15, to: 16 }, 0);
      expect(r.ok).to.equal(false);
      expect(r.ok ? "" : r.reason).to.contain("limit 2");
      expect(l.reserve({ key: "c", cpuMillis: 1, memoryMiB: 1, from: 20, to: 30 }, 0).ok).to.equal(true);
    });

    it("lets an expired hold's capacity go to the next request, but not a live one's", () => {
      const l = new CapacityLedger(cap);
      expect(l.reserve({ key: "hold", ...cap, from: 100, to: 200, expires: 60 }, 0).ok).to.equal(true);
      expect(l.reserve({ key: "x", cpuMillis: 1, memoryMiB: 1, from: 150, to: 160 }, 59).ok).to.equal(false);
      expect(l.reserve({ key: "x", cpuMillis: 1, memoryMiB: 1, from: 150, to: 160 }, 60).ok).to.equal(true);
      expect(l.has("hold")).to.equal(false);
      expect(l.commit("hold", "lease:1")).to.equal(false);
    });

    it("commits a hold into a permanent lease that no longer expires", () => {
      const l = new CapacityLedger(cap);
      expect(l.reserve({ key: "hold", ...cap, from: 100, to: 200, expires: 60 }, 0).ok).to.equal(true);
      expect(l.commit("hold", "lease:1")).to.equal(true);
      expect(l.has("hold")).to.equal(false);
      expect(l.get("lease:1")).to.deep.equal({ key: "lease:1", ...cap, from: 100, to: 200, expires: undefined });
      expect(l.reserve({ key: "x", cpuMillis: 1, memoryMiB: 1, from: 150, to: 160 }, 100).ok).to.equal(false);
    });

    it("keeps the old reservation when a re-reserve with the same key does not fit", () => {
      const l = new CapacityLedger(cap);
      expect(l.reserve({ key: "a", cpuMillis: 600, memoryMiB: 100, from: 10, to: 20 }, 0).ok).to.equal(true);
      expect(l.reserve({ key: "b", cpuMillis: 400, memoryMiB: 100, from: 30, to: 40 }, 0).ok).to.equal(true);
      // "a" moves onto "b"'s slot, where only 600 mCPU are free: refused, and "a" stays where it was
      expect(l.reserve({ key: "a", cpuMillis: 700, memoryMiB: 100, from: 30, to: 40 }, 0).ok).to.equal(false);
      expect(l.get("a")).to.include({ cpuMillis: 600, from: 10, to: 20 });
      // moving it with the same size fits, even though "a" itself is counted nowhere else
      expect(l.reserve({ key: "a", cpuMillis: 600, memoryMiB: 100, from: 30, to: 40 }, 0).ok).to.equal(true);
      expect(l.freeDuring(10, 20)).to.deep.equal(cap);
    });

    describe("holds for strangers and tenants (hold)", () => {
      const limits = { anonymousShare: 0.1, anonymousPerPeer: 1, perPeer: 3, perAccount: 2 };
      const hold = (key: string, peer: string, proven: boolean, over: Partial<Reservation> = {}, cost = 10n) => ({
        key,
        cpuMillis: 50,
        memoryMiB: 50,
        from: 100,
        to: 200,
        expires: 60,
        holder: { peer, account: 7n, proven, cost },
        ...over,
      });

      it("lets holds without a proof take at most the anonymous share, one per peer, whatever account they name", () => {
        const l = new CapacityLedger(cap);
        expect(l.hold(hold("a", "p1", false), limits, 1000n, 0).ok).to.equal(true);
        expect(l.hold(hold("b", "p1", false), limits, 1000n, 0)).to.include({ ok: false, by: "anonymousPerPeer" });
        expect(l.hold(hold("b", "p2", false), limits, 1000n, 0).ok).to.equal(true);
        // 100 mCPU (10 % of 1000) are held anonymously during [100, 200): a third stranger is refused there …
        const third = l.hold(hold("c", "p3", false), limits, 1000n, 0);
        expect(third).to.include({ ok: false, by: "anonymousShare" });
        expect(third.ok ? "" : third.reason).to.match(/share 10 % of this yard \(100 mCPU, 102 MiB\)/);
        // … but not in another slot, and a proven holder of the same account is not affected at all
        expect(l.hold(hold("c", "p3", false, { from: 200, to: 300 }), limits, 1000n, 0).ok).to.equal(true);
        expect(l.hold(hold("d", "p4", true, { cpuMillis: 800 }), limits, 1000n, 0).ok).to.equal(true);
      });

      it("bounds proven holds per account and per peer, and their costs by the account's balance", () => {
        const l = new CapacityLedger(cap);
        expect(l.hold(hold("a", "p1", true), limits, 1000n, 0).ok).to.equal(true);
        expect(l.hold(hold("b", "p2", true), limits, 1000n, 0).ok).to.equal(true);
        expect(l.hold(hold("c", "p3", true), limits, 1000n, 0)).to.include({ ok: false, by: "perAccount" });
        const other = (key: string, peer: string, account: bigint, cost = 10n) =>
          hold(key, peer, true, { holder: { peer, account, proven: true, cost } });
        expect(l.hold(other("c", "p1", 8n), limits, 1000n, 0).ok).to.equal(true);
        expect(l.hold(other("d", "p1", 9n), limits, 1000n, 0).ok).to.equal(true);
        expect(l.hold(other("e", "p1", 10n), limits, 1000n, 0)).to.include({ ok: false, by: "perPeer" });
        expect(l.hold(other("e", "p5", 11n, 600n), limits, 1000n, 0).ok).to.equal(true);
        expect(l.hold(other("f", "p6", 11n, 600n), limits, 1000n, 0)).to.include({ ok: false, by: "budget" });
      });

      it("moves a negotiation's hold on a re-quote (same key) without counting it twice, and forgets expired or committed holds", () => {
        const l = new CapacityLedger(cap);
        expect(l.hold(hold("a", "p1", false), limits, 1000n, 0).ok).to.equal(true);
        for (let i = 0; i < 5; i++) expect(l.hold(hold("a", "p1", false), limits, 1000n, 0).ok).to.equal(true);
        expect(l.holds(() => true, 0)).to.have.length(1);
        // expired: the peer may hold again
        expect(l.hold(hold("b", "p1", false, { expires: 120 }), limits, 1000n, 60).ok).to.equal(true);
        // committed (accepted): no longer a hold, capacity still taken
        expect(l.commit("b", "lease:1")).to.equal(true);
        expect(l.holds(() => true, 60)).to.have.length(0);
        expect(l.hold(hold("c", "p1", false, { expires: 120 }), limits, 1000n, 60).ok).to.equal(true);
        expect(l.freeDuring(100, 200).cpuMillis).to.equal(900);
      });
    });

    it("endAt frees capacity from the end time on, and a terminated lease before its start frees all of it", () => {
      const l = new CapacityLedger(cap);
      l.restore({ key: "lease:1", ...cap, from: 100, to: 200 });
      l.endAt("lease:1", 150);
      expect(l.freeDuring(150, 200)).to.deep.equal(cap);
      expect(l.freeDuring(149, 150)).to.deep.equal({ cpuMillis: 0, memoryMiB: 0 });
      l.endAt("lease:1", 180); // never lengthens
      expect(l.get("lease:1")?.to).to.equal(150);
      l.endAt("lease:1", 100);
      expect(l.has("lease:1")).to.equal(false);
    });
  });
});
