/** The ICON's decision logic: properties over random situations, plus the demo's story in miniature. */
import { expect } from "chai";
import fc from "fast-check";
import {
  Controller,
  evaluate,
  knobsFromPolicy,
  utility,
  type Candidate,
  type Situation,
  type SubnetView,
} from "../../../icon-agent/decision.ts";

const LOCS = ["cloud", "edge-a", "edge-b", "edge-c"];
const knobsArb = fc.record({
  weight: fc.double({ min: 0, max: 1, noNaN: true }),
  migrateThreshold: fc.double({ min: 0, max: 0.9, noNaN: true }),
  replicateThreshold: fc.double({ min: 0, max: 0.9, noNaN: true }),
  terminateThreshold: fc.double({ min: 0, max: 0.9, noNaN: true }),
  maxPricePerSecond: fc.bigInt({ min: 1n, max: 10_000n }),
  refLatencyMs: fc.constant(100),
});
const candArb = (loc: string): fc.Arbitrary<Candidate> =>
  fc.bigInt({ min: 1n, max: 10_000n }).map((pricePerSecond) => ({ location: loc, pricePerSecond }));
const subnetArb = (i: number): fc.Arbitrary<SubnetView> =>
  fc
    .record({
      rate: fc.double({ min: 0, max: 1000, noNaN: true }),
      lat: fc.tuple(...LOCS.map(() => fc.double({ min: 1, max: 300, noNaN: true }))),
    })
    .map(({ rate, lat }) => ({
      subnet: `10.${i}.0.0/24`,
      rate,
      latencyMs: Object.fromEntries(LOCS.map((l, j) => [l, lat[j]!])),
    }));
const situationArb: fc.Arbitrary<Situation> = fc
  .record({
    here: candArb("cloud"),
    parent: fc.option(candArb("edge-c"), { nil: undefined }),
    candidates: fc.tuple(candArb("edge-a"), candArb("edge-b")),
    subnets: fc.tuple(subnetArb(1), subnetArb(2), subnetArb(3)),
    balance: fc.bigInt({ min: 0n, max: 10_000_000n }),
    slotSeconds: fc.integer({ min: 10, max: 3600 }),
  })
  .map((s) => ({ ...s, candidates: [...s.candidates], subnets: [...s.subnets] }));

describe("ICON decision logic (eq. 1)", () => {
  it("never commits more than the ICON can pay", () => {
    fc.assert(
      fc.property(knobsArb, situationArb, (k, s) => {
        const e = evaluate(k, s);
        if (e.action.kind === "migrate" || e.action.kind === "replicate")
          return e.action.to.pricePerSecond * BigInt(s.slotSeconds) <= s.balance;
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it("takes no action whose improvement does not pass its threshold, and the improvement is what eq. 1 says", () => {
    fc.assert(
      fc.property(knobsArb, situationArb, (k, s) => {
        const e = evaluate(k, s);
        const uNow = utility(k, s.subnets, s.here);
        if (Math.abs(e.uNow - uNow) > 1e-12) return false;
        switch (e.action.kind) {
          case "migrate": {
            const uc = utility(k, s.subnets, e.action.to);
            return e.improvement > k.migrateThreshold && Math.abs(e.improvement - (uNow - uc) / uNow) < 1e-9;
          }
          case "replicate":
            return e.improvement > k.replicateThreshold && e.action.subnets.length > 0;
          case "terminate":
            return s.parent !== undefined && e.improvement < k.terminateThreshold;
          case "stay":
            return e.improvement === 0;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("terminates a non-origin ICON exactly when its gain over the parent falls below the threshold", () => {
    fc.assert(
      fc.property(knobsArb, situationArb, candArb("edge-c"), (k, s0, parent) => {
        const s = { ...s0, parent };
        const e = evaluate(k, s);
        const uNow = utility(k, s.subnets, s.here);
        const sumLat = s.subnets.reduce((a, x) => a + x.rate, 0);
        const shares = s.subnets.map((x) => (sumLat > 0 ? x.rate / sumLat : 0));
        const uParent = k.weight * s.subnets.reduce((a, x, i) => a + (shares[i]! * x.latencyMs["edge-c"]!) / 100, 0);
        const gain = uParent > 0 ? (uParent - uNow) / uParent : -1;
        return (e.action.kind === "terminate") === gain < k.terminateThreshold;
      }),
      { numRuns: 2000 },
    );
    // The origin (no parent) never terminates itself.
    fc.assert(
      fc.property(
        knobsArb,
        situationArb,
        (k, s) => evaluate(k, { ...s, parent: undefined }).action.kind !== "terminate",
      ),
    );
  });

  it("does not flap when the load oscillates faster than the cool-down", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }), // oscillation half-period (s)
        fc.integer({ min: 30, max: 120 }), // cool-down (s)
        (period, coolDownS) => {
          const k = knobsFromPolicy({
            weightBps: 9000,
            migrateThresholdBps: 1000,
            replicateThresholdBps: 5000,
            terminateThresholdBps: 0,
            maxPricePerSecond: 100n,
          });
          const c = new Controller({ halfLifeS: 10, coolDownS, confirmations: 3 });
          let here: Candidate = { location: "cloud", pricePerSecond: 20n };
          const edges = [
            { location: "edge-a", pricePerSecond: 20n },
            { location: "edge-b", pricePerSecond: 20n },
          ];
          const fires: number[] = [];
          const T = 1200;
          for (let t = 0; t < T; t++) {
            const aHeavy = Math.floor(t / period) % 2 === 0;
            const subnets: SubnetView[] = [
              { subnet: "A", rate: aHeavy ? 100 : 1, latencyMs: { cloud: 80, "edge-a": 5, "edge-b": 120 } },
              { subnet: "B", rate: aHeavy ? 1 : 100, latencyMs: { cloud: 80, "edge-a": 120, "edge-b": 5 } },
            ];
            const e = c.step(k, { here, candidates: edges, subnets, balance: 10n ** 12n, slotSeconds: 60 }, t);
            if (e.fire) {
              fires.push(t);
              if (e.action.kind === "migrate") here = e.action.to;
            }
          }
          // At most one action per cool-down window.
          for (let i = 1; i < fires.length; i++) if (fires[i]! - fires[i - 1]! < coolDownS) return false;
          return fires.length <= Math.ceil(T / coolDownS);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("tells the demo's story: replicate towards A's clients, then follow the load to B", () => {
    const k = knobsFromPolicy({
      weightBps: 8000,
      migrateThresholdBps: 2000,
      replicateThresholdBps: 2000,
      terminateThresholdBps: 1000,
      maxPricePerSecond: 100n,
    });
    const cloud = { location: "cloud", pricePerSecond: 10n };
    const edgeA = { location: "edge-a", pricePerSecond: 20n };
    const edgeB = { location: "edge-b", pricePerSecond: 20n };
    const lat = { A: { cloud: 60, "edge-a": 5, "edge-b": 90 }, B: { cloud: 60, "edge-a": 90, "edge-b": 5 } };
    // Load from A and a little from B, at cloud: a replica at edge-a for A (cloud keeps B).
    const r = evaluate(k, {
      here: cloud,
      candidates: [edgeA, edgeB],
      subnets: [
        { subnet: "A", rate: 100, latencyMs: lat.A },
        { subnet: "B", rate: 10, latencyMs: lat.B },
      ],
      balance: 10_000n,
      slotSeconds: 60,
    });
    expect(r.action.kind).to.equal("replicate");
    expect(r.action.kind === "replicate" && r.action.to.location).to.equal("edge-a");
    // The replica at edge-a (parent cloud) sees the load move to B: it follows to edge-b.
    const m = evaluate(k, {
      here: edgeA,
      parent: cloud,
      candidates: [edgeB],
      subnets: [
        { subnet: "A", rate: 1, latencyMs: lat.A },
        { subnet: "B", rate: 100, latencyMs: lat.B },
      ],
      balance: 10_000n,
      slotSeconds: 60,
    });
    expect(["migrate", "terminate"]).to.include(m.action.kind);
    // Without the money for the move it stays (or terminates back to its parent), never overspends.
    const poor = evaluate(k, {
      here: cloud,
      candidates: [edgeA, edgeB],
      subnets: [{ subnet: "A", rate: 100, latencyMs: lat.A }],
      balance: 100n,
      slotSeconds: 60,
    });
    expect(poor.action.kind).to.equal("stay");
  });
});
