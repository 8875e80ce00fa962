/**
 * The loss rules (icon-agent/loss.ts), property-tested: when an ICON whose yard may be lost is placed again, when the
 * origin's successor takes its role, who the successor is, and the two bookkeepers the agent feeds every period.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  LOSS_RULES,
  ReplacementLog,
  YardWatch,
  lossDecision,
  refoundDecision,
  successorOf,
  type LossRules,
  type LossView,
} from "../../../icon-agent/loss.ts";

const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;

const rulesArb: fc.Arbitrary<LossRules> = fc.record({
  silentPeriods: fc.integer({ min: 1, max: 20 }),
  unreachablePeriods: fc.integer({ min: 1, max: 20 }),
  maxPerHour: fc.integer({ min: 1, max: 10 }),
});
const viewArb: fc.Arbitrary<LossView> = fc.record({
  silentPeriods: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(Infinity)),
  unreachablePeriods: fc.integer({ min: 0, max: 40 }),
  yardSaysLost: fc.boolean(),
  recentMs: fc.array(fc.integer({ min: NOW - 3 * HOUR, max: NOW }), { maxLength: 12 }),
  nowMs: fc.constant(NOW),
});
const inLastHour = (v: LossView) => v.recentMs.filter((t) => v.nowMs - t < HOUR).length;

describe("loss rules: when a lost ICON is placed again, who re-founds the origin", () => {
  it("acts exactly when silent long enough, the yard unreachable long enough (or saying the sidecar is lost), and under the hourly cap", () => {
    fc.assert(
      fc.property(rulesArb, viewArb, (rules, v) => {
        const expected =
          v.silentPeriods >= rules.silentPeriods &&
          (v.yardSaysLost === true || v.unreachablePeriods >= rules.unreachablePeriods) &&
          inLastHour(v) < rules.maxPerHour;
        const d = lossDecision(rules, v);
        expect(d.act).to.equal(expected);
        expect(d.why).to.be.a("string").and.not.equal("");
      }),
    );
  });

  it("never acts on a silent ICON whose yard answers: the yard restarts its sidecar", () => {
    fc.assert(
      fc.property(rulesArb, viewArb, (rules, v) => {
        const d = lossDecision(rules, { ...v, unreachablePeriods: 0, yardSaysLost: false });
        expect(d.act).to.equal(false);
        if (v.silentPeriods >= rules.silentPeriods) expect(d.why).to.contain("its yard answers");
      }),
    );
  });

  it("is monotone: more silence or more unreachable periods never turn an act into a wait, more recent re-placements never turn a wait into an act", () => {
    fc.assert(
      fc.property(
        rulesArb,
        viewArb,
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        (r, v, ds, du) => {
          const base = lossDecision(r, v).act;
          const more = lossDecision(r, {
            ...v,
            silentPeriods: v.silentPeriods + ds,
            unreachablePeriods: v.unreachablePeriods + du,
          }).act;
          if (base) expect(more).to.equal(true);
          const busier = lossDecision(r, { ...v, recentMs: [...v.recentMs, NOW - 1] }).act;
          if (!base) expect(busier).to.equal(false);
        },
      ),
    );
  });

  it("caps a flapping yard: re-placing each time the rules allow gives at most maxPerHour in any hour", () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.array(fc.integer({ min: 1, max: 20 * 60_000 }), { minLength: 1, maxLength: 60 }),
        (rules, gaps) => {
          const log = new ReplacementLog();
          const done: number[] = [];
          let t = NOW;
          for (const g of gaps) {
            t += g;
            const d = lossDecision(rules, {
              silentPeriods: Infinity,
              unreachablePeriods: rules.unreachablePeriods,
              recentMs: log.recent(7n, t),
              nowMs: t,
            });
            if (d.act) {
              log.record(7n, t);
              done.push(t);
            }
          }
          for (const start of done)
            expect(done.filter((x) => x >= start && x - start < HOUR).length).to.be.at.most(rules.maxPerHour);
          expect(done.length).to.be.greaterThan(0); // the first time always acts
        },
      ),
    );
  });

  it("re-founds only at the named successor, only below the origin, and only when the origin would count as lost", () => {
    fc.assert(
      fc.property(
        rulesArb,
        viewArb,
        fc.bigInt({ min: 1n, max: 5n }),
        fc.option(fc.bigInt({ min: 1n, max: 5n }), { nil: undefined }),
        fc.boolean(),
        (rules, v, me, successor, parentIsOrigin) => {
          const d = refoundDecision(rules, { ...v, me, successor, parentIsOrigin });
          expect(d.act).to.equal(successor === me && parentIsOrigin && lossDecision(rules, v).act);
        },
      ),
    );
  });

  it("names the oldest child (the smallest account id) whatever the order, none without children", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 1n << 64n }), { maxLength: 20 }), (ids) => {
        const s = successorOf(ids.map((account) => ({ account })));
        if (ids.length === 0) expect(s).to.equal(undefined);
        else expect(s).to.equal(ids.reduce((a, b) => (b < a ? b : a)));
        expect(successorOf([...ids].reverse().map((account) => ({ account })))).to.equal(s);
      }),
    );
  });

  it("counts unreachable periods in a row per yard, from 0 again once it answers, and forgets yards after an hour", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.boolean()), { maxLength: 50 }), (probes) => {
        const w = new YardWatch();
        const run = new Map<string, number>();
        for (const [y, ok] of probes) {
          run.set(y, ok ? 0 : (run.get(y) ?? 0) + 1);
          expect(w.saw(y, ok, NOW)).to.equal(run.get(y));
        }
        for (const y of ["a", "b", "c"]) expect(w.periods(y)).to.equal(run.get(y) ?? 0);
        w.saw("d", false, NOW + HOUR + 1);
        for (const y of ["a", "b", "c"]) expect(w.periods(y)).to.equal(0);
      }),
    );
    expect(LOSS_RULES).to.deep.equal({ silentPeriods: 3, unreachablePeriods: 3, maxPerHour: 3 });
  });
});
