/**
 * Where an ICON's yard redirects its clients (icon-agent/redirects.ts planRedirects): in sidecar placement a replica
 * that does not report — its agent booting after the hand-over, restarting, or lost with its yard — keeps its
 * subnets redirected for the hold, so its parent does not take them back as its own load (the demo's double
 * replication and fresh replica after a yard loss, before this); in local placement its redirects go at once.
 */
import { expect } from "chai";
import fc from "fast-check";
import { planRedirects, type HeldRedirect, type RedirectInputs } from "../../../icon-agent/redirects.ts";

const A = "127.10.1.0/24";
const B = "127.10.2.0/24";
const HOLD = 60_000;
const T0 = 1_800_000_000_000;

function plan(o: Partial<RedirectInputs>): ReturnType<typeof planRedirects> {
  return planRedirects({
    extra: new Map(),
    reported: [],
    recorded: {},
    idleRate: 0.3,
    nowMs: T0,
    holdMs: HOLD,
    ...o,
  });
}

describe("agent redirects: a silent replica's subnets in sidecar placement", () => {
  const recorded = { "2": { subnets: [A], started: true } };

  it("keeps a replica's redirect while its agent boots after the hand-over (no report yet), and drops it in local placement", () => {
    const held = new Map<bigint, HeldRedirect>();
    // The parent placed it: its endpoint comes as extra once.
    expect(plan({ extra: new Map([[2n, "127.0.1.2:4000"]]), recorded, held })).to.deep.equal([
      { subnet: A, location: "http://127.0.1.2:4000" },
    ]);
    // The next period: no report yet.
    expect(plan({ recorded, held, nowMs: T0 + 1000 })).to.deep.equal([
      { subnet: A, location: "http://127.0.1.2:4000" },
    ]);
    // Local placement (no hold): gone at once, as before.
    expect(plan({ recorded, nowMs: T0 + 1000 })).to.deep.equal([]);
  });

  it("keeps the subnets a replica last reported busy when it falls silent, until the hold passes", () => {
    const held = new Map<bigint, HeldRedirect>();
    const reported = [
      {
        account: 2n,
        endpoint: "127.0.1.3:4001",
        subnets: [
          { subnet: B, rate: 50 },
          { subnet: "127.10.9.0/24", rate: 0.1 },
        ],
      },
    ];
    const live = plan({ reported, recorded, held });
    expect(live).to.deep.equal([
      { subnet: A, location: "http://127.0.1.3:4001" },
      { subnet: B, location: "http://127.0.1.3:4001" },
    ]);
    // Silent (its yard killed): the same redirects until the hold passes, then none.
    expect(plan({ recorded, held, nowMs: T0 + HOLD })).to.deep.equal(live);
    expect(plan({ recorded, held, nowMs: T0 + HOLD + 1 })).to.deep.equal([]);
    expect(held.size).to.equal(0);
  });

  it("points every subnet held for a lost replica (handed and reported busy) at its new endpoint when it is placed again", () => {
    const held = new Map<bigint, HeldRedirect>();
    plan({
      reported: [{ account: 2n, endpoint: "127.0.1.3:4001", subnets: [{ subnet: B, rate: 50 }] }],
      recorded,
      held,
    });
    expect(plan({ extra: new Map([[2n, "127.0.1.1:5000"]]), recorded, held, nowMs: T0 + 5000 })).to.deep.equal([
      { subnet: A, location: "http://127.0.1.1:5000" },
      { subnet: B, location: "http://127.0.1.1:5000" },
    ]);
  });

  it("keeps a re-placed replica's subnets redirected to its new endpoint through the grace while its new instance reports them at rate 0, and lets its reports decide after", () => {
    const held = new Map<bigint, HeldRedirect>();
    const GRACE = 10_000;
    const at = (nowMs: number, o: Partial<RedirectInputs> = {}) =>
      plan({ recorded, held, nowMs, graceMs: GRACE, ...o });
    // B reported busy at its first place, then it falls silent (its yard lost).
    at(T0, { reported: [{ account: 2n, endpoint: "127.0.1.3:4001", subnets: [{ subnet: B, rate: 50 }] }] });
    at(T0 + 5000);
    // Placed again: every subnet it served goes to the new endpoint, in its grace from now.
    const both = [
      { subnet: A, location: "http://127.0.1.1:5000" },
      { subnet: B, location: "http://127.0.1.1:5000" },
    ];
    expect(at(T0 + 8000, { extra: new Map([[2n, "127.0.1.1:5000"]]) })).to.deep.equal(both);
    // Its agent boots (slowly: longer than the grace) and reports from there: nothing yet, then B at 0/s (its clients
    // are on their way). The grace runs from that first report.
    const fresh = (rate: number) => [{ account: 2n, endpoint: "127.0.1.1:5000", subnets: [{ subnet: B, rate }] }];
    const first = T0 + 8000 + 2 * GRACE;
    expect(at(first - 1)).to.deep.equal(both);
    expect(at(first, { reported: [{ account: 2n, endpoint: "127.0.1.1:5000", subnets: [] }] })).to.deep.equal(both);
    expect(at(first + GRACE, { reported: fresh(0) })).to.deep.equal(both);
    // After the grace its reports decide: B busy stays, B at 0/s is no longer its.
    expect(at(first + GRACE + 1, { reported: fresh(20) })).to.deep.equal(both);
    expect(at(first + GRACE + 2, { reported: fresh(0) })).to.deep.equal([both[0]]);
    // Without a grace (as before), the first report at 0/s took B away at once.
    const before = new Map<bigint, HeldRedirect>();
    plan({
      recorded,
      held: before,
      reported: [{ account: 2n, endpoint: "127.0.1.3:4001", subnets: [{ subnet: B, rate: 50 }] }],
    });
    plan({ recorded, held: before, extra: new Map([[2n, "127.0.1.1:5000"]]), nowMs: T0 + 8000 });
    expect(plan({ recorded, held: before, reported: fresh(0), nowMs: T0 + 9000 })).to.deep.equal([both[0]]);
  });

  it("gives a replica that moved itself the grace at its new endpoint for the subnets it served at the old one", () => {
    const held = new Map<bigint, HeldRedirect>();
    const at = (nowMs: number, reported: RedirectInputs["reported"]) =>
      plan({ recorded: { "2": { subnets: [], started: true } }, held, nowMs, graceMs: 10_000, reported });
    at(T0, [{ account: 2n, endpoint: "127.0.1.2:4000", subnets: [{ subnet: B, rate: 50 }] }]);
    // Its successor reports from the new yard: B not seen there yet.
    const moved = [{ account: 2n, endpoint: "127.0.1.3:4001", subnets: [{ subnet: B, rate: 0 }] }];
    expect(at(T0 + 1000, moved)).to.deep.equal([{ subnet: B, location: "http://127.0.1.3:4001" }]);
    expect(at(T0 + 11_000, moved)).to.deep.equal([{ subnet: B, location: "http://127.0.1.3:4001" }]);
    expect(at(T0 + 11_001, moved)).to.deep.equal([]);
  });

  it("never keeps a subnet in its grace longer than the grace, whatever the order of placements and reports (property)", () => {
    const GRACE = 5000;
    const event = fc.oneof(
      fc.record({ kind: fc.constant("place" as const), endpoint: fc.constantFrom("h:1", "h:2") }),
      fc.record({
        kind: fc.constant("report" as const),
        endpoint: fc.constantFrom("h:1", "h:2"),
        rates: fc.array(fc.record({ subnet: fc.constantFrom(A, B), rate: fc.constantFrom(0, 50) }), { maxLength: 2 }),
      }),
      fc.record({ kind: fc.constant("silent" as const) }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(event, fc.integer({ min: 0, max: 4000 })), { maxLength: 12 }), (events) => {
        const held = new Map<bigint, HeldRedirect>();
        const recordedHere = { "2": { subnets: [], started: true } };
        let now = T0;
        /** When each subnet was last reported busy, and when the replica last started at a new endpoint. */
        const busyAt = new Map<string, number>();
        let movedAt = -Infinity;
        let endpoint: string | undefined;
        let awaiting = false;
        for (const [e, dt] of events) {
          now += dt;
          let out: ReturnType<typeof planRedirects>;
          if (e.kind === "place") {
            awaiting = true;
            endpoint = e.endpoint;
            out = plan({
              extra: new Map([[2n, e.endpoint]]),
              recorded: recordedHere,
              held,
              nowMs: now,
              graceMs: GRACE,
            });
          } else if (e.kind === "report") {
            // The grace runs from the first report at a new endpoint.
            if ((endpoint !== undefined && endpoint !== e.endpoint) || awaiting) movedAt = now;
            awaiting = false;
            endpoint = e.endpoint;
            for (const r of e.rates) if (r.rate > 0.3) busyAt.set(r.subnet, now);
            const reported = [{ account: 2n, endpoint: e.endpoint, subnets: e.rates }];
            out = plan({ reported, recorded: recordedHere, held, nowMs: now, graceMs: GRACE });
            // A live replica's subnet is redirected only if it reported it busy now, or it is within its grace.
            for (const r of out) {
              const busyNow = e.rates.some((x) => x.subnet === r.subnet && x.rate > 0.3);
              if (!busyNow) expect(now - movedAt, `${r.subnet} kept`).to.be.at.most(GRACE);
              expect(busyAt.has(r.subnet), "a subnet it never served").to.equal(true);
            }
          } else out = plan({ recorded: recordedHere, held, nowMs: now, graceMs: GRACE });
          for (const r of out) expect(busyAt.has(r.subnet), "a subnet it never served").to.equal(true);
        }
      }),
    );
  });

  it("holds nothing for a replica its state does not record as started (or no longer records)", () => {
    const held = new Map<bigint, HeldRedirect>();
    plan({
      reported: [{ account: 2n, endpoint: "127.0.1.3:4001", subnets: [{ subnet: B, rate: 50 }] }],
      recorded,
      held,
    });
    expect(plan({ recorded: {}, held, nowMs: T0 + 1000 })).to.deep.equal([]);
    expect(plan({ recorded: { "2": { subnets: [A] } }, held, nowMs: T0 + 1000 })).to.deep.equal([]);
  });

  it("never redirects a subnet to a replica that neither reported it busy, was handed it, nor held it (property)", () => {
    const subnet = fc.constantFrom(A, B, "127.10.3.0/24");
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            account: fc.constantFrom(2n, 3n),
            endpoint: fc.constantFrom("h:1", "h:2"),
            subnets: fc.array(fc.record({ subnet, rate: fc.double({ min: 0, max: 100, noNaN: true }) })),
          }),
          { maxLength: 2, selector: (c) => c.account },
        ),
        fc.array(subnet, { maxLength: 2 }),
        (reported, handed) => {
          const recordedHere = { "2": { subnets: handed, started: true } };
          for (const r of plan({ reported, recorded: recordedHere, held: new Map() })) {
            const from = reported.filter((c) => `http://${c.endpoint}` === r.location);
            expect(
              from.some(
                (c) =>
                  c.subnets.some((s) => s.subnet === r.subnet && s.rate > 0.3) ||
                  (c.account === 2n && (handed as string[]).includes(r.subnet)),
              ),
            ).to.equal(true);
          }
        },
      ),
    );
  });
});
