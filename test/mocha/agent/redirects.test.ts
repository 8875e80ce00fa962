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
