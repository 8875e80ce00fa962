/**
 * One utility for the whole application (decision.ts `appShare`, `terminateBelow`): an ICON weighs its price by its
 * share of the application's requests, and replication and termination are judged on that same utility with a band
 * between their thresholds. Properties over random two-ICON worlds, plus hand-computed cases.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  appShare,
  evaluate,
  priceTerm,
  replicateUtility,
  stillPays,
  terminateBelow,
  utility,
  type Candidate,
  type Knobs,
  type Situation,
  type SubnetView,
} from "../../../icon-agent/decision.ts";

const P = "cloud"; // the parent's (or the lone ICON's) location
const C = "edge"; // where a replica is, or would be

const knobsArb: fc.Arbitrary<Knobs> = fc.record({
  weight: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  migrateThreshold: fc.double({ min: 0, max: 0.5, noNaN: true }),
  replicateThreshold: fc.double({ min: 0, max: 0.5, noNaN: true }),
  terminateThreshold: fc.double({ min: 0, max: 0.9, noNaN: true }),
  maxPricePerSecond: fc.bigInt({ min: 100n, max: 5_000n }),
  refLatencyMs: fc.constant(100),
  idleRate: fc.constant(0),
  hysteresis: fc.double({ min: 0, max: 0.2, noNaN: true }),
});
const candArb = (location: string): fc.Arbitrary<Candidate> =>
  fc.bigInt({ min: 1n, max: 2_000n }).map((pricePerSecond) => ({ location, pricePerSecond }));
/** 1–6 busy subnets with latencies from P and C, and the application's total rate (≥ theirs: other ICONs serve the rest). */
const worldArb = fc.record({
  subnets: fc
    .array(
      fc.record({
        rate: fc.double({ min: 0.1, max: 1000, noNaN: true }),
        p: fc.double({ min: 1, max: 300, noNaN: true }),
        c: fc.double({ min: 1, max: 300, noNaN: true }),
      }),
      { minLength: 1, maxLength: 6 },
    )
    .map((xs) => xs.map((x, i): SubnetView => ({ subnet: `s${i}`, rate: x.rate, latencyMs: { [P]: x.p, [C]: x.c } }))),
  others: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e5, noNaN: true })),
});
const total = (xs: readonly SubnetView[]): number => xs.reduce((a, x) => a + x.rate, 0);

/** An ICON's part of eq. 1 summed over the application: its price once, its subnets' latency by their share of all. */
const appPart = (k: Knobs, subnets: readonly SubnetView[], appRate: number, price: bigint, loc: string): number =>
  (1 - k.weight) * priceTerm(k, price) +
  (k.weight * subnets.reduce((a, x) => a + (x.rate / appRate) * x.latencyMs[loc]!, 0)) / k.refLatencyMs;

/** |actual − expected| ≤ tol, not chai's closeTo: `npm run test:fast` shares mocha workers between suites, and with
 * Hardhat's chai matchers loaded in the same worker closeTo takes only integers ("0.05 is not an integer"). */
function near(actual: number, expected: number, tol: number): void {
  expect(Math.abs(actual - expected), `${actual} is not within ${tol} of ${expected}`).to.be.at.most(tol);
}

describe("ICON decision logic: one utility for the whole application", () => {
  it("σ is the ICON's share of the application's rate, and 1 when what the others serve is unknown or none, or it carries none", () => {
    const s = (rate: number): SubnetView => ({ subnet: "a", rate, latencyMs: {} });
    expect(appShare([s(20), s(30)], 950)).to.equal(0.05);
    expect(appShare([s(20), s(-5)], 20)).to.equal(0.5); // a negative rate counts as none, as in eq. 1's shares
    for (const other of [undefined, NaN, Infinity, 0, -1]) expect(appShare([s(20), s(30)], other)).to.equal(1);
    expect(appShare([], 1000)).to.equal(1);
    expect(appShare([s(0)], 1000)).to.equal(1);
  });

  it("every improvement evaluate reports is the application's: the relative change of the ICON's part of Σ eq. 1", () => {
    let seen = 0;
    fc.assert(
      fc.property(knobsArb, worldArb, candArb(P), candArb(C), fc.boolean(), (k, w, here, c, isReplica) => {
        const appRate = total(w.subnets) + w.others;
        const parent = isReplica ? { location: "far", pricePerSecond: 1n } : undefined;
        const subnets: SubnetView[] = w.subnets.map((x) => ({ ...x, latencyMs: { ...x.latencyMs, far: 250 } }));
        const s: Situation = {
          here,
          parent,
          candidates: [c],
          subnets,
          balance: 1n << 60n,
          slotSeconds: 60,
          pinned: !isReplica,
          otherRate: w.others,
        };
        const e = evaluate({ ...k, minKeepShare: 0 }, s);
        const now = appPart(k, subnets, appRate, here.pricePerSecond, P);
        const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
        switch (e.action.kind) {
          case "migrate":
            seen++;
            return close(e.improvement, (now - appPart(k, subnets, appRate, c.pricePerSecond, C)) / now);
          case "replicate": {
            seen++;
            const lat = subnets.reduce(
              (a, x) => a + (x.rate / appRate) * Math.min(x.latencyMs[P]!, x.latencyMs[C]!),
              0,
            );
            const after =
              (1 - k.weight) * (priceTerm(k, here.pricePerSecond) + priceTerm(k, c.pricePerSecond)) +
              (k.weight * lat) / k.refLatencyMs;
            return close(e.improvement, (now - after) / now);
          }
          case "terminate": {
            seen++;
            const viaParent = appPart(k, subnets, appRate, 0n, "far");
            return close(e.improvement, (viaParent - now) / viaParent) && e.improvement < terminateBelow(k);
          }
          case "stay":
            return true;
        }
      }),
      { numRuns: 3000 },
    );
    expect(seen, "actions were taken").to.be.greaterThan(300);
  });

  it("without what the others serve (or with none) an ICON decides exactly as when it serves all of it", () => {
    fc.assert(
      fc.property(knobsArb, worldArb, candArb(P), candArb(C), fc.boolean(), (k, w, here, c, replica) => {
        const s: Situation = {
          here,
          parent: replica ? { location: C, pricePerSecond: 5n } : undefined,
          candidates: [c],
          subnets: w.subnets,
          balance: 1n << 60n,
          slotSeconds: 60,
          pinned: !replica,
        };
        const base = evaluate(k, s);
        expect(evaluate(k, { ...s, otherRate: 0 })).to.deep.equal(base);
        expect(evaluate(k, { ...s, otherRate: -total(w.subnets) })).to.deep.equal(base);
        expect(utility(k, w.subnets, here)).to.equal(utility(k, w.subnets, here, 1));
      }),
      { numRuns: 1000 },
    );
  });

  it("no flap in one world: a replica worth placing is not terminated, and one that terminates would not be placed again", () => {
    // The world: the subnets nearer C than P are the replica's (clients go to the nearest ICON), the rest the parent's.
    let replicated = 0;
    let terminated = 0;
    fc.assert(
      fc.property(knobsArb, worldArb, candArb(P), candArb(C), (k, w, pPrice, cPrice) => {
        const appRate = total(w.subnets) + w.others;
        const nearC = w.subnets.filter((x) => x.latencyMs[C]! < x.latencyMs[P]!);
        if (nearC.length === 0) return;
        // The parent alone, all subnets its own: replicating to C would move exactly nearC.
        const parentAlone: Situation = {
          here: pPrice,
          candidates: [cPrice],
          subnets: w.subnets,
          balance: 1n << 60n,
          slotSeconds: 60,
          pinned: true,
          otherRate: w.others,
        };
        const sigmaP = appShare(w.subnets, w.others);
        const uNow = utility(k, w.subnets, pPrice, sigmaP);
        const dRep = (uNow - replicateUtility(k, w.subnets, pPrice, cPrice, sigmaP)) / uNow;
        // The replica at C with nearC.
        const replica: Situation = {
          here: cPrice,
          parent: pPrice,
          candidates: [],
          subnets: nearC,
          balance: 1n << 60n,
          slotSeconds: 60,
          otherRate: appRate - total(nearC),
        };
        const r = evaluate(k, replica);
        if (dRep > k.replicateThreshold) {
          replicated++;
          expect(
            stillPays(k, parentAlone, { kind: "replicate", to: cPrice, subnets: nearC.map((x) => x.subnet) }, cPrice),
          ).to.equal(undefined);
          expect(r.action.kind, "a replica worth placing stays").to.not.equal("terminate");
        }
        if (r.action.kind === "terminate") {
          terminated++;
          // Back at the parent, a replica at C would not pass even the band's lower edge (nor gain, if that is < 0).
          expect(dRep).to.be.lessThan(Math.max(terminateBelow(k), 0) + 1e-9);
          expect(dRep).to.be.at.most(k.replicateThreshold);
        }
      }),
      { numRuns: 3000 },
    );
    expect(replicated, "worlds where a replica is worth placing").to.be.greaterThan(100);
    expect(terminated, "worlds where the replica terminates").to.be.greaterThan(100);
  });

  it("a replica left with 2 % of the application terminates; the same replica serving all of it, or half, stays (hand-computed)", () => {
    // w = 0.8, price 200 of a 2,000 cap (b̂ = 0.1), its clients 10 ms from it and 60 ms from the parent (ref 100 ms).
    const k: Knobs = {
      weight: 0.8,
      migrateThreshold: 0.1,
      replicateThreshold: 0.1,
      terminateThreshold: 0.1,
      maxPricePerSecond: 2000n,
      refLatencyMs: 100,
      hysteresis: 0.05,
    };
    const s: Situation = {
      here: { location: C, pricePerSecond: 200n },
      parent: { location: P, pricePerSecond: 100n },
      candidates: [],
      subnets: [{ subnet: "a", rate: 20, latencyMs: { [C]: 10, [P]: 60 } }],
      balance: 1_000_000n,
      slotSeconds: 600,
    };
    // σ = 1: U = 0.2·0.1 + 0.8·0.1 = 0.1 against the parent's 0.8·0.6 = 0.48: gain 79 %, stays.
    const alone = evaluate(k, s);
    expect(alone.action.kind).to.equal("stay");
    // σ = 20/1000: U = 0.02/0.02 + 0.08 = 1.08: gain (0.48 − 1.08)/0.48 = −125 %, terminates.
    const small = evaluate(k, { ...s, otherRate: 980 });
    expect(small.action.kind).to.equal("terminate");
    near(small.uNow, 1.08, 1e-9);
    near(small.improvement, -1.25, 1e-9);
    expect(small.reason).to.match(/2\.0 % of the application's requests/);
    // σ = 0.5: U = 0.04 + 0.08 = 0.12: gain 75 %, stays.
    const half = evaluate(k, { ...s, otherRate: 20 });
    expect(half.action.kind).to.equal("stay");
    near(half.uNow, 0.12, 1e-9);
  });

  it("the band: terminate below min(terminate threshold, replicate threshold − band); without a band the owner's threshold alone", () => {
    const k = (t: number, r: number, h?: number): Knobs => ({
      weight: 0.8,
      migrateThreshold: 0.1,
      replicateThreshold: r,
      terminateThreshold: t,
      maxPricePerSecond: 2000n,
      refLatencyMs: 100,
      ...(h === undefined ? {} : { hysteresis: h }),
    });
    near(terminateBelow(k(0.1, 0.1, 0.05)), 0.05, 1e-12);
    near(terminateBelow(k(0.3, 0.1, 0.05)), 0.05, 1e-12); // raised terminate: capped under replicate
    expect(terminateBelow(k(0.02, 0.1, 0.05))).to.equal(0.02);
    expect(terminateBelow(k(0.3, 0.1))).to.equal(0.3);
    expect(terminateBelow(k(0.3, 0.1, 0))).to.equal(0.1);
    // A replica gaining 7 % over its parent: terminated at a 10 % threshold without a band, kept with one.
    // U = 0.2·b̂ + 0.8·L; parent 0.8·0.6 = 0.48; U = 0.48·0.93 = 0.4464 → b̂ = 0.1 → L = (0.4464 − 0.02)/0.8.
    const s: Situation = {
      here: { location: C, pricePerSecond: 200n },
      parent: { location: P, pricePerSecond: 100n },
      candidates: [],
      subnets: [{ subnet: "a", rate: 20, latencyMs: { [C]: ((0.4464 - 0.02) / 0.8) * 100, [P]: 60 } }],
      balance: 1_000_000n,
      slotSeconds: 600,
    };
    near(evaluate(k(0.1, 0.1), s).improvement, 0.07, 1e-9);
    expect(evaluate(k(0.1, 0.1), s).action.kind).to.equal("terminate");
    expect(evaluate(k(0.1, 0.1, 0.05), s).action.kind).to.equal("stay");
    expect(evaluate(k(0.1, 0.1, 0.02), s).action.kind).to.equal("terminate");
  });
});
