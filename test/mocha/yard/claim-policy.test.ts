/**
 * The yard's claim policy (yard-node/claim-policy.ts), pure, under fast-check: every due lease is either claimed,
 * waits, or is idle (ended with nothing left to collect: never claimed, never paying a transaction); an ended lease
 * whose settlement releases collateral is always claimed while a fee is known; the other leases claimed collect at
 * least the gas (and L1 fee) they add (no claim costs more than it collects), each at least one lease's share; with
 * no price for gas or no fee the two edge rules hold; leases that each pay for a whole transaction are never held
 * back.
 */
import { expect } from "chai";
import fc from "fast-check";
import { CLAIM_GAS, claimCost, gasCost, planClaims, type DueClaim } from "../../../yard-node/claim-policy.ts";
import { accruedEstimate } from "../../../yard-node/claims.ts";

const due = fc
  .uniqueArray(fc.bigInt({ min: 1n, max: 10_000n }), { minLength: 0, maxLength: 40 })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.record({
          id: fc.constant(id),
          accrued: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10n ** 9n })),
          final: fc.boolean(),
          releases: fc.boolean(),
        }),
      ),
    ),
  )
  .map((xs) => xs as DueClaim[]);
/** 0.001 to 100 gwei; an ETH worth 0 to 10 000 tokens of 6 decimals. */
const facts = fc.record({
  feePerGas: fc.bigInt({ min: 1_000_000n, max: 100_000_000_000n }),
  unitsPerEth: fc.bigInt({ min: 0n, max: 10_000_000_000n }),
  l1FeePerTx: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10n ** 14n })),
});
const releasing = (x: DueClaim): boolean => x.final && x.releases === true && x.accrued > 0n;
const idle = (x: DueClaim): boolean => x.final && x.accrued === 0n;

describe("claim policy: gas weighed against what a claim collects", () => {
  it("claims, holds or idles every due lease once, always the ended ones that free collateral, never an idle one, and never a batch that costs more than it collects", () => {
    fc.assert(
      fc.property(due, facts, (d, f) => {
        const plan = planClaims(d, f);
        const ids = [...plan.claim, ...plan.wait.map((w) => w.id), ...plan.idle];
        expect(new Set(ids).size).to.equal(ids.length);
        expect(new Set(ids)).to.deep.equal(new Set(d.map((x) => x.id)));
        const claimed = new Set(plan.claim);
        for (const x of d) if (releasing(x)) expect(claimed.has(x.id), `ended lease ${x.id}`).to.equal(true);
        expect(new Set(plan.idle)).to.deep.equal(new Set(d.filter(idle).map((x) => x.id)));
        const running = d.filter((x) => !releasing(x) && claimed.has(x.id));
        const finals = d.filter(releasing).length;
        const added = claimCost(finals + running.length, f) - claimCost(finals, f);
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
        const single = claimCost(1, f);
        const rich = d.map((x) => ({ ...x, accrued: x.accrued + single + 1n }));
        expect(planClaims(rich, f).wait).to.deep.equal([]);
      }),
      { numRuns: 300 },
    );
  });

  it("claims everything but the idle when gas has no price in the token, and nothing while the fee is above the cap", () => {
    fc.assert(
      fc.property(due, (d) => {
        expect(planClaims(d, { feePerGas: 10n ** 9n, unitsPerEth: undefined })).to.deep.equal({
          claim: d.filter((x) => !idle(x)).map((x) => x.id),
          wait: [],
          idle: d.filter(idle).map((x) => x.id),
        });
        const capped = planClaims(d, { feePerGas: undefined, unitsPerEth: 3_000_000_000n });
        expect(capped.claim).to.deep.equal([]);
        expect(capped.wait.map((w) => w.id)).to.deep.equal(d.filter((x) => !idle(x)).map((x) => x.id));
      }),
    );
  });

  it("on a typical L2 (0.01 gwei, ETH at 3 000 tokens of 6 decimals): a batch's lease costs 375 units, a lone claim 1 215", () => {
    const f = { feePerGas: 10_000_000n, unitsPerEth: 3_000_000_000n };
    expect(gasCost(CLAIM_GAS.perLease, f)).to.equal(375n); // 12 500 gas × 0.01 gwei × 3 000 tokens/ETH
    expect(claimCost(1, f)).to.equal(1_215n);
    // Two running leases that accrued 400 units each: 800 < 1 590 (the transaction and both leases): they wait.
    const two: DueClaim[] = [
      { id: 1n, accrued: 400n, final: false },
      { id: 2n, accrued: 400n, final: false },
    ];
    expect(planClaims(two, f)).to.deep.include({ claim: [], reason: "gas above accrual" });
    // Beside an ended lease that pays for the transaction (its last claim frees collateral), each adds only its 375.
    const withFinal: DueClaim[] = [...two, { id: 3n, accrued: 50n, final: true, releases: true }];
    expect(planClaims(withFinal, f)).to.deep.equal({ claim: [3n, 1n, 2n], wait: [], idle: [] });
    // An ended lease whose final claim was sent and is not yet buried (estimate 0) pays nothing: they still wait
    // (it used to "pay" the transaction, the chain refused the batch, and each was claimed alone at 1 215 for 400).
    const ghost: DueClaim[] = [...two, { id: 3n, accrued: 0n, final: true, releases: true }];
    expect(planClaims(ghost, f)).to.deep.include({ claim: [], idle: [3n], reason: "gas above accrual" });
    // A terminated lease (its collateral already released) does not pay the transaction either: 300 waits alone,
    // rides along with a lease that does when it covers its share (400 ≥ 375), waits beside it below that.
    const terminated = (accrued: bigint): DueClaim => ({ id: 4n, accrued, final: true, releases: false });
    expect(planClaims([terminated(300n)], f)).to.deep.include({ claim: [], reason: "gas above accrual" });
    expect(planClaims([terminated(1_215n)], f).claim).to.deep.equal([4n]);
    const payer: DueClaim = { id: 5n, accrued: 10n, final: true, releases: true };
    expect(planClaims([payer, terminated(400n)], f).claim).to.deep.equal([5n, 4n]);
    expect(planClaims([payer, terminated(300n)], f).claim).to.deep.equal([5n]);
  });

  it("adds an OP-stack chain's L1 data fee to each transaction (config chain.fees.l1FeePerClaim)", () => {
    const f = { feePerGas: 10_000_000n, unitsPerEth: 3_000_000_000n };
    const lone: DueClaim[] = [{ id: 1n, accrued: 1_300n, final: false }];
    expect(planClaims(lone, f).claim).to.deep.equal([1n]); // 1 300 ≥ 1 215
    // 50 gwei (5·10^10 wei) of L1 fee per transaction = 150 units: 1 365 > 1 300, it waits.
    const l1 = { ...f, l1FeePerTx: 50_000_000_000n };
    expect(claimCost(1, l1)).to.equal(1_365n);
    expect(planClaims(lone, l1)).to.deep.include({ claim: [], reason: "gas above accrual" });
    expect(planClaims(lone, l1).wait).to.deep.equal([{ id: 1n, accrued: 1_300n, cost: 1_365n }]);
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
