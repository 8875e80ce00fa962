/**
 * The yard's claim policy (yard-node/claim-policy.ts), pure, under fast-check: every due lease is either claimed or
 * waits; an ended lease is always claimed while a fee is known; the running leases claimed collect at least the gas
 * they add (no claim costs more than it collects), each at least one lease's share; with no price for gas or no
 * fee the two edge rules hold; leases that each pay for a whole transaction are never held back.
 */
import { expect } from "chai";
import fc from "fast-check";
import { CLAIM_GAS, claimGas, gasCost, planClaims, type DueClaim } from "../../../yard-node/claim-policy.ts";
import { accruedEstimate } from "../../../yard-node/claims.ts";

const due = fc
  .uniqueArray(fc.bigInt({ min: 1n, max: 10_000n }), { minLength: 0, maxLength: 40 })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.record({ id: fc.constant(id), accrued: fc.bigInt({ min: 0n, max: 10n ** 9n }), final: fc.boolean() }),
      ),
    ),
  )
  .map((xs) => xs as DueClaim[]);
/** 0.001 to 100 gwei; an ETH worth 0 to 10 000 tokens of 6 decimals. */
const facts = fc.record({
  feePerGas: fc.bigInt({ min: 1_000_000n, max: 100_000_000_000n }),
  unitsPerEth: fc.bigInt({ min: 0n, max: 10_000_000_000n }),
});

describe("claim policy: gas weighed against what a claim collects", () => {
  it("claims or holds every due lease once, always the ended ones, and never a batch that costs more than it collects", () => {
    fc.assert(
      fc.property(due, facts, (d, f) => {
        const plan = planClaims(d, f);
        const ids = [...plan.claim, ...plan.wait.map((w) => w.id)];
        expect(new Set(ids).size).to.equal(ids.length);
        expect(new Set(ids)).to.deep.equal(new Set(d.map((x) => x.id)));
        const claimed = new Set(plan.claim);
        for (const x of d) if (x.final) expect(claimed.has(x.id), `ended lease ${x.id}`).to.equal(true);
        const running = d.filter((x) => !x.final && claimed.has(x.id));
        const finals = d.filter((x) => x.final).length;
        const added = gasCost(claimGas(finals + running.length), f) - gasCost(claimGas(finals), f);
        const collected = running.reduce((s, x) => s + x.accrued, 0n);
        expect(collected >= added, `collects ${collected}, adds ${added} in gas`).to.equal(true);
        for (const x of running) expect(x.accrued >= gasCost(CLAIM_GAS.perLease, f)).to.equal(true);
        if (plan.wait.length > 0) expect(plan.reason).to.equal("gas above accrual");
      }),
      { numRuns: 500 },
    );
  });

  it("holds back no lease whose accrual alone pays a whole claim", () => {
    fc.assert(
      fc.property(due, facts, (d, f) => {
        const single = gasCost(claimGas(1), f);
        const rich = d.map((x) => ({ ...x, accrued: x.accrued + single }));
        expect(planClaims(rich, f).wait).to.deep.equal([]);
      }),
      { numRuns: 300 },
    );
  });

  it("claims everything when gas has no price in the token, and nothing while the fee is above the cap", () => {
    fc.assert(
      fc.property(due, (d) => {
        expect(planClaims(d, { feePerGas: 10n ** 9n, unitsPerEth: undefined })).to.deep.equal({
          claim: d.map((x) => x.id),
          wait: [],
        });
        const capped = planClaims(d, { feePerGas: undefined, unitsPerEth: 3_000_000_000n });
        expect(capped.claim).to.deep.equal([]);
        expect(capped.wait.map((w) => w.id)).to.deep.equal(d.map((x) => x.id));
      }),
    );
  });

  it("on a typical L2 (0.01 gwei, ETH at 3 000 tokens of 6 decimals): a batch's lease costs 375 units, a lone claim 1 215", () => {
    const f = { feePerGas: 10_000_000n, unitsPerEth: 3_000_000_000n };
    expect(gasCost(CLAIM_GAS.perLease, f)).to.equal(375n); // 12 500 gas × 0.01 gwei × 3 000 tokens/ETH
    expect(gasCost(claimGas(1), f)).to.equal(1_215n);
    // Two running leases that accrued 400 units each: 800 < 1 590 (the transaction and both leases): they wait.
    const two: DueClaim[] = [
      { id: 1n, accrued: 400n, final: false },
      { id: 2n, accrued: 400n, final: false },
    ];
    expect(planClaims(two, f)).to.deep.include({ claim: [], reason: "gas above accrual" });
    // Beside an ended lease that pays for the transaction, each adds only its 375: they ride along.
    const withFinal: DueClaim[] = [...two, { id: 3n, accrued: 0n, final: true }];
    expect(planClaims(withFinal, f)).to.deep.equal({ claim: [3n, 1n, 2n], wait: [] });
  });

  it("estimates a lease's accrual from the offer and the last claim, never past its end or its stop", () => {
    const offer = { start: 100n, end: 200n, pricePerSecond: 7n } as never;
    const l = (lastClaimAt: number, stoppedAt?: number) => ({ offer, lastClaimAt, stoppedAt });
    expect(accruedEstimate(l(90), 150)).to.equal(7n * 50n); // confirmed before the start: from the start
    expect(accruedEstimate(l(120), 150)).to.equal(7n * 30n);
    expect(accruedEstimate(l(120), 500)).to.equal(7n * 80n); // to the end
    expect(accruedEstimate(l(120, 130), 500)).to.equal(7n * 10n); // to the stop
    expect(accruedEstimate(l(160), 150)).to.equal(0n);
  });
});
