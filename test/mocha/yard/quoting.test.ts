/**
 * The yard's RFQ decision (yard-node/quoting.ts checkRfq) on random requests, accounts, ledgers and policies:
 * what it accepts is priced within [base, the tenant's maximum] and never below the floor, fits the slot rules
 * and the account's balance; what it refuses carries a wire code and a sentence; the same inputs give the same
 * answer; and quotes held as the yard holds them never overbook capacity at any instant.
 */
import { expect } from "chai";
import fc from "fast-check";
import { RejectCode, type BudgetAccount, type Rfq } from "../../../protocol/index.ts";
import type { Prices } from "../../../yard-node/config.ts";
import type { LeaseRow } from "../../../yard-node/db.ts";
import { CapacityLedger, type HoldLimits } from "../../../yard-node/ledger.ts";
import { basePrice } from "../../../yard-node/pricing.ts";
import { checkRfq, rfqShapeRefusal, type QuotePolicy } from "../../../yard-node/quoting.ts";

const NOW = 1_800_000_000;
const CAPACITY = { cpuMillis: 4000, memoryMiB: 8192 };
const CODES = new Set<unknown>(Object.values(RejectCode));

const pricesArb: fc.Arbitrary<Prices> = fc.record({
  floorPerSecond: fc.bigInt({ min: 1n, max: 1000n }),
  cpuPerCoreSecond: fc.bigInt({ min: 0n, max: 5000n }),
  memoryPerGiBSecond: fc.bigInt({ min: 0n, max: 5000n }),
  surcharge: fc.constantFrom(
    [],
    [{ aboveUtilization: 0.5, bps: 2000 }],
    [
      { aboveUtilization: 0.3, bps: 500 },
      { aboveUtilization: 0.8, bps: 5000 },
    ],
  ),
  stake: fc.constant(undefined),
  relayFee: fc.constant(0n),
});

const policyArb: fc.Arbitrary<QuotePolicy> = fc
  .record({
    prices: pricesArb,
    minCpuMillis: fc.integer({ min: 1, max: 200 }),
    minMemoryMiB: fc.integer({ min: 6, max: 256 }),
    minSlotS: fc.integer({ min: 1, max: 120 }),
    slotSpan: fc.integer({ min: 0, max: 86_400 }),
    startLeadS: fc.integer({ min: 1, max: 60 }),
    quoteValidityS: fc.integer({ min: 5, max: 600 }),
  })
  .map((p) => ({
    prices: p.prices,
    capacity: { minCpuMillis: p.minCpuMillis, minMemoryMiB: p.minMemoryMiB },
    lease: {
      minSlotS: p.minSlotS,
      maxSlotS: p.minSlotS + p.slotSpan,
      startLeadS: p.startLeadS,
      quoteValidityS: p.quoteValidityS,
    },
    format: (u: bigint) => `${u} units`,
  }));

const rfqArb: fc.Arbitrary<Rfq> = fc.record({
  cpuMillis: fc.integer({ min: 1, max: 5000 }),
  memoryMiB: fc.integer({ min: 1, max: 10_000 }),
  slotSeconds: fc.integer({ min: 1, max: 100_000 }),
  earliestStart: fc.bigInt({ min: BigInt(NOW - 100), max: BigInt(NOW + 3600) }),
  maxPricePerSecond: fc.oneof(fc.bigInt({ min: 0n, max: 2000n }), fc.bigInt({ min: 0n, max: 1n << 40n })),
  imageRef: fc.constant("app:1"),
  imageDigest: fc.constant(`0x${"ab".repeat(32)}`),
  tenantAccount: fc.bigInt({ min: 1n, max: 5n }),
});

const accountArb = (id: bigint): fc.Arbitrary<BudgetAccount> =>
  fc.record({
    id: fc.constant(id),
    controller: fc.constant("0x0000000000000000000000000000000000000001"),
    balance: fc.oneof(fc.bigInt({ min: 0n, max: 1_000_000n }), fc.bigInt({ min: 0n, max: 1n << 60n })),
    parent: fc.constant(0n),
    root: fc.constant(id),
    depth: fc.constant(0),
    closed: fc.boolean(),
  });

/** Leases already committed in the ledger: [cpu, memory, from offset, length]. */
const committedArb = fc.array(
  fc.tuple(
    fc.integer({ min: 1, max: 2000 }),
    fc.integer({ min: 1, max: 4096 }),
    fc.integer({ min: -100, max: 5000 }),
    fc.integer({ min: 1, max: 5000 }),
  ),
  { maxLength: 6 },
);

function ledgerWith(committed: [number, number, number, number][]): CapacityLedger {
  const ledger = new CapacityLedger(CAPACITY, 50);
  committed.forEach(([cpuMillis, memoryMiB, from, len], i) =>
    ledger.reserve({ key: `lease:${i}`, cpuMillis, memoryMiB, from: NOW + from, to: NOW + from + len }, NOW),
  );
  return ledger;
}

const caseArb = fc
  .tuple(policyArb, rfqArb, committedArb, fc.option(fc.bigInt({ min: 0n, max: 3000n }), { nil: undefined }))
  .chain(([policy, rfq, committed, counter]) =>
    accountArb(rfq.tenantAccount).map((account) => ({ policy, rfq, committed, counter, account })),
  );

describe("yard quoting (checkRfq)", () => {
  it("accepts only within [base price, the tenant's maximum], never below the floor, within the slot rules and the balance", () => {
    fc.assert(
      fc.property(caseArb, ({ policy, rfq, committed, counter, account }) => {
        const r = checkRfq(policy, ledgerWith(committed), { rfq, counter, account, renewed: undefined }, NOW);
        if ("refusal" in r) return;
        const t = r.terms;
        const base = basePrice(policy.prices, rfq);
        expect(t.pricePerSecond >= base, "at least the base price").to.equal(true);
        expect(t.pricePerSecond >= policy.prices.floorPerSecond, "at least the floor").to.equal(true);
        expect(t.pricePerSecond <= rfq.maxPricePerSecond, "at most the tenant's maximum").to.equal(true);
        expect(t.cost).to.equal(t.pricePerSecond * BigInt(rfq.slotSeconds));
        expect(account.closed).to.equal(false);
        expect(t.cost <= account.balance, "within the balance").to.equal(true);
        expect(t.end - t.start).to.equal(rfq.slotSeconds);
        expect(t.start).to.equal(Math.max(NOW + policy.lease.startLeadS, Number(rfq.earliestStart)));
        expect(t.deadline).to.equal(NOW + policy.lease.quoteValidityS);
        expect(rfq.slotSeconds).to.be.within(policy.lease.minSlotS, policy.lease.maxSlotS);
        expect(rfq.cpuMillis).to.be.at.least(policy.capacity.minCpuMillis);
        expect(rfq.memoryMiB).to.be.at.least(policy.capacity.minMemoryMiB);
        // A counter-offer never raises the price above the larger of the counter and the base price.
        if (counter !== undefined)
          expect(t.pricePerSecond <= (counter > base ? counter : base), "counter-offer").to.equal(true);
      }),
      { numRuns: 1500 },
    );
  });

  it("refuses with a wire code and a sentence, and refuses exactly what breaks a rule", () => {
    fc.assert(
      fc.property(caseArb, ({ policy, rfq, committed, counter, account }) => {
        const r = checkRfq(policy, ledgerWith(committed), { rfq, counter, account, renewed: undefined }, NOW);
        const shape = rfqShapeRefusal(policy, rfq);
        const tooPoor = basePrice(policy.prices, rfq) > rfq.maxPricePerSecond;
        if (!("refusal" in r)) {
          expect(shape).to.equal(undefined);
          expect(tooPoor).to.equal(false);
          return;
        }
        const { reason, code, message } = r.refusal;
        expect(CODES.has(code), `code ${code}`).to.equal(true);
        expect(message).to.match(/^[a-z].{10,}[^.]$/);
        expect(message).to.not.include("undefined");
        expect(["too_small", "slot", "price", "budget"]).to.include(reason);
        if (shape) expect(r.refusal).to.deep.equal(shape);
        else if (reason === "price") expect(tooPoor).to.equal(true);
        // The quote would cost at most the tenant's maximum over the slot: a refused budget holds less than that.
        else if (reason === "budget")
          expect(account.closed || account.balance < rfq.maxPricePerSecond * BigInt(rfq.slotSeconds)).to.equal(true);
      }),
      { numRuns: 1500 },
    );
  });

  it("answers the same for the same inputs", () => {
    fc.assert(
      fc.property(caseArb, ({ policy, rfq, committed, counter, account }) => {
        const facts = { rfq, counter, account, renewed: undefined };
        const a = checkRfq(policy, ledgerWith(committed), facts, NOW);
        const b = checkRfq(policy, ledgerWith(committed), { ...facts }, NOW);
        expect(a).to.deep.equal(b);
      }),
      { numRuns: 500 },
    );
  });

  it("never overbooks capacity when its quotes are held as the yard holds them", () => {
    const limits: HoldLimits = { anonymousShare: 1, anonymousPerPeer: 100, perPeer: 100, perAccount: 100 };
    fc.assert(
      fc.property(policyArb, fc.array(rfqArb, { minLength: 1, maxLength: 25 }), (policy, rfqs) => {
        const ledger = new CapacityLedger(CAPACITY, 1000);
        const rich: BudgetAccount = {
          id: 1n,
          controller: "0x0000000000000000000000000000000000000001",
          balance: 1n << 100n,
          parent: 0n,
          root: 1n,
          depth: 0,
          closed: false,
        };
        const edges = new Set<number>();
        rfqs.forEach((rfq, i) => {
          const r = checkRfq(policy, ledger, { rfq, counter: undefined, account: rich, renewed: undefined }, NOW);
          if ("refusal" in r) return;
          const { start, end, deadline, cost } = r.terms;
          const holder = { peer: `p${i}`, account: rfq.tenantAccount, proven: true, cost };
          const held = ledger.hold(
            {
              key: `hold:${i}`,
              cpuMillis: rfq.cpuMillis,
              memoryMiB: rfq.memoryMiB,
              from: start,
              to: end,
              expires: deadline,
              holder,
            },
            limits,
            rich.balance,
            NOW,
          );
          if (held.ok) edges.add(start);
        });
        for (const t of edges) {
          const used = ledger.usedAt(t, NOW);
          expect(used.cpuMillis).to.be.at.most(CAPACITY.cpuMillis);
          expect(used.memoryMiB).to.be.at.most(CAPACITY.memoryMiB);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("renews from the old lease's end, and refuses a renewal that changes payer or size", () => {
    fc.assert(
      fc.property(
        policyArb,
        rfqArb,
        accountArb(1n),
        fc.integer({ min: 100, max: 10_000 }),
        (policy, base, acct, left) => {
          const rfq: Rfq = {
            ...base,
            tenantAccount: 1n,
            renewsLeaseId: 7n,
            cpuMillis: Math.max(base.cpuMillis, policy.capacity.minCpuMillis),
            memoryMiB: Math.max(base.memoryMiB, policy.capacity.minMemoryMiB),
            slotSeconds: policy.lease.minSlotS,
            maxPricePerSecond: 1n << 40n,
          };
          const account = { ...acct, closed: false, balance: 1n << 80n };
          const old = {
            id: 7n,
            status: "deployed",
            offer: { account: 1n, cpuMillis: rfq.cpuMillis, memoryMiB: rfq.memoryMiB, end: BigInt(NOW + left) },
          } as unknown as LeaseRow;
          const r = checkRfq(
            policy,
            new CapacityLedger(CAPACITY),
            { rfq, counter: undefined, account, renewed: old },
            NOW,
          );
          if (left <= policy.lease.startLeadS) {
            expect("refusal" in r && r.refusal.code).to.equal(RejectCode.EXPIRED);
            return;
          }
          expect("terms" in r && r.terms.start).to.equal(NOW + left);
          const other = { ...old, offer: { ...old.offer, memoryMiB: old.offer.memoryMiB + 1 } } as LeaseRow;
          const renewing = (renewed: LeaseRow | undefined): ReturnType<typeof checkRfq> =>
            checkRfq(policy, new CapacityLedger(CAPACITY), { rfq, counter: undefined, account, renewed }, NOW);
          const refused = renewing(other);
          expect("refusal" in refused && refused.refusal.reason).to.equal("renewal");
          const unknown = renewing(undefined);
          expect("refusal" in unknown && unknown.refusal.message).to.equal("lease 7 is not running at this yard");
        },
      ),
      { numRuns: 300 },
    );
  });
});
