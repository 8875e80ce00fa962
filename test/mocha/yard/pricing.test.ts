/**
 * The yard's pricing policy on random inputs, checked exactly (bigint) against the definitions rather than
 * against a copy of the code: a ceiling is the least integer whose multiple covers the product, the surcharge
 * is the tier with the highest threshold the utilization passes, a counter-offer lands between base and ask.
 */
import { expect } from "chai";
import fc from "fast-check";
import type { Prices } from "../../../yard-node/config.ts";
import { askPrice, basePrice, counterPrice, surchargeBps, utilization } from "../../../yard-node/pricing.ts";

const UINT96_MAX = (1n << 96n) - 1n;

/** The least integer c with c · d ≥ n (n ≥ 0, d > 0), found by stepping from the truncated quotient. */
function leastCover(n: bigint, d: bigint): bigint {
  let c = n / d;
  while (c * d < n) c++;
  while (c > 0n && (c - 1n) * d >= n) c--;
  return c;
}

const tiersArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 100 }), { maxLength: 6 })
  .chain((thresholds) =>
    fc.tuple(
      fc.constant([...thresholds].sort((a, b) => a - b).map((t) => t / 100)),
      fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: thresholds.length, maxLength: thresholds.length }),
    ),
  )
  .map(([above, bps]) => above.map((a, i) => ({ aboveUtilization: a, bps: bps[i]! })));

const pricesArb: fc.Arbitrary<Prices> = fc.record({
  floorPerSecond: fc.oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: UINT96_MAX })),
  cpuPerCoreSecond: fc.oneof(fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: UINT96_MAX })),
  memoryPerGiBSecond: fc.oneof(fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: UINT96_MAX })),
  surcharge: tiersArb,
  stake: fc.constant(undefined),
  relayFee: fc.constant(0n),
});

const resourcesArb = fc.record({
  cpuMillis: fc.integer({ min: 1, max: 1_024_000 }),
  memoryMiB: fc.integer({ min: 1, max: 16_777_216 }),
});

describe("yard pricing", () => {
  it("basePrice = max(floor, ⌈cpu share⌉ + ⌈memory share⌉), exactly", () => {
    fc.assert(
      fc.property(pricesArb, resourcesArb, (p, r) => {
        const cpu = leastCover(p.cpuPerCoreSecond * BigInt(r.cpuMillis), 1000n);
        const mem = leastCover(p.memoryPerGiBSecond * BigInt(r.memoryMiB), 1024n);
        // the parts are true ceilings: never below the exact price, less than one unit above it
        expect(cpu * 1000n >= p.cpuPerCoreSecond * BigInt(r.cpuMillis)).to.equal(true);
        const expected = cpu + mem > p.floorPerSecond ? cpu + mem : p.floorPerSecond;
        expect(basePrice(p, r)).to.equal(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("prices hand-computed examples", () => {
    const p: Prices = {
      floorPerSecond: 10n,
      cpuPerCoreSecond: 100n,
      memoryPerGiBSecond: 40n,
      surcharge: [],
      stake: undefined,
      relayFee: 0n,
    };
    // a quarter core: 25; 64 MiB of 40/GiB = 2.5 → 3
    expect(basePrice(p, { cpuMillis: 250, memoryMiB: 64 })).to.equal(28n);
    // one mCPU and the smallest memory: 0.1 → 1 and 0.625 → 1, under the floor
    expect(basePrice(p, { cpuMillis: 1, memoryMiB: 16 })).to.equal(10n);
    // two whole cores and 2 GiB: no rounding
    expect(basePrice(p, { cpuMillis: 2000, memoryMiB: 2048 })).to.equal(280n);
  });

  it("surcharge is the bps of the highest tier the utilization is strictly above, 0 below all tiers", () => {
    fc.assert(
      fc.property(pricesArb, fc.double({ min: 0, max: 2, noNaN: true }), (p, u) => {
        const passed = p.surcharge.filter((t) => u > t.aboveUtilization);
        const highest = passed.reduce<(typeof passed)[number] | undefined>(
          (best, t) => (best === undefined || t.aboveUtilization > best.aboveUtilization ? t : best),
          undefined,
        );
        expect(surchargeBps(p, u)).to.equal(highest?.bps ?? 0);
      }),
    );
    const p: Prices = {
      floorPerSecond: 1n,
      cpuPerCoreSecond: 0n,
      memoryPerGiBSecond: 0n,
      surcharge: [
        { aboveUtilization: 0.5, bps: 2000 },
        { aboveUtilization: 0.8, bps: 1000 }, // a lower bps on a higher tier still wins: tiers are not maxed
      ],
      stake: undefined,
      relayFee: 0n,
    };
    expect(surchargeBps(p, 0.5)).to.equal(0);
    expect(surchargeBps(p, 0.51)).to.equal(2000);
    expect(surchargeBps(p, 0.8)).to.equal(2000);
    expect(surchargeBps(p, 0.81)).to.equal(1000);
  });

  it("askPrice is base raised by the surcharge and rounded up, never below base", () => {
    fc.assert(
      fc.property(pricesArb, resourcesArb, fc.double({ min: 0, max: 1, noNaN: true }), (p, r, u) => {
        const a = askPrice(p, r, u);
        expect(a.base).to.equal(basePrice(p, r));
        expect(a.bps).to.equal(surchargeBps(p, u));
        // price is the least integer with price · 10000 ≥ base · (10000 + bps)
        expect(a.price).to.equal(leastCover(a.base * BigInt(10_000 + a.bps), 10_000n));
        expect(a.price >= a.base).to.equal(true);
        if (a.bps === 0) expect(a.price).to.equal(a.base);
      }),
      { numRuns: 1000 },
    );
    const p: Prices = {
      floorPerSecond: 1n,
      cpuPerCoreSecond: 1000n,
      memoryPerGiBSecond: 0n,
      surcharge: [{ aboveUtilization: 0.5, bps: 2500 }],
      stake: undefined,
      relayFee: 0n,
    };
    // base 3 (3 mCPU at 1000/core-s); +25 % = 3.75 → 4
    expect(askPrice(p, { cpuMillis: 3, memoryMiB: 16 }, 0.9)).to.deep.equal({ price: 4n, base: 3n, bps: 2500 });
  });

  it("counterPrice stays within [base, ask] and takes the counter whenever it lies there", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: UINT96_MAX }),
        fc.oneof(fc.bigInt({ min: 0n, max: 3n }), fc.bigInt({ min: 0n, max: UINT96_MAX })),
        // anywhere, or right around base or ask, where an off-by-one would show
        fc.oneof(
          fc.bigInt({ min: 0n, max: UINT96_MAX + 10n }).map((c) => () => c),
          fc.bigInt({ min: -2n, max: 2n }).map((d) => (base: bigint) => base + d),
          fc.bigInt({ min: -2n, max: 2n }).map((d) => (_base: bigint, ask: bigint) => ask + d),
        ),
        (base, extra, pick) => {
          const ask = base + extra;
          const counter = pick(base, ask);
          const price = counterPrice(ask, base, counter);
          expect(price >= base, "below base").to.equal(true);
          expect(price <= ask, "above ask").to.equal(true);
          if (counter >= base && counter <= ask) expect(price).to.equal(counter);
          if (counter > ask) expect(price).to.equal(ask);
          if (counter < base) expect(price).to.equal(base);
        },
      ),
      { numRuns: 1000 },
    );
    expect(counterPrice(120n, 100n, 99n)).to.equal(100n);
    expect(counterPrice(120n, 100n, 100n)).to.equal(100n);
    expect(counterPrice(120n, 100n, 110n)).to.equal(110n);
    expect(counterPrice(120n, 100n, 1000n)).to.equal(120n);
  });

  it("utilization is the larger of the CPU and memory shares with the new lease counted", () => {
    const cap = { cpuMillis: 4000, memoryMiB: 4096 };
    expect(utilization(cap, { cpuMillis: 1000, memoryMiB: 0 }, { cpuMillis: 1000, memoryMiB: 1024 })).to.equal(0.5);
    expect(utilization(cap, { cpuMillis: 0, memoryMiB: 3072 }, { cpuMillis: 1000, memoryMiB: 1024 })).to.equal(1);
    expect(utilization(cap, { cpuMillis: 0, memoryMiB: 0 }, { cpuMillis: 0, memoryMiB: 0 })).to.equal(0);
    fc.assert(
      fc.property(
        resourcesArb,
        fc.record({ cpuMillis: fc.nat(1_024_000), memoryMiB: fc.nat(16_777_216) }),
        fc.record({ cpuMillis: fc.nat(1_024_000), memoryMiB: fc.nat(16_777_216) }),
        (cap2, used, extra) => {
          const u = utilization(cap2, used, extra);
          const cpuShare = (used.cpuMillis + extra.cpuMillis) / cap2.cpuMillis;
          const memShare = (used.memoryMiB + extra.memoryMiB) / cap2.memoryMiB;
          expect(u).to.be.at.least(cpuShare).and.at.least(memShare);
          expect(u === cpuShare || u === memShare).to.equal(true);
          // adding to the request never lowers utilization
          const more = { cpuMillis: extra.cpuMillis + 1, memoryMiB: extra.memoryMiB + 1 };
          expect(utilization(cap2, used, more)).to.be.greaterThan(u);
        },
      ),
    );
  });
});
