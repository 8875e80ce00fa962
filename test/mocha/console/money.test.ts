/**
 * The owner console's money arithmetic, without a browser: what a lease has cost at a given chain time
 * (protocol/chain/lease-cost.ts, the one rule the CLI's `icon app status` and the console share) and what it has
 * left, the policy's shares parsed as the CLI parses them (protocol/chain/policy.ts), and an amount refused before the
 * wallet is asked with the sentence the chain's refusal reads as (protocol/chain/errors.ts).
 * Exact in token units (bigint): a spend off by one unit would show the owner a wrong figure.
 */
import { expect } from "chai";
import { Interface } from "ethers";
import fc from "fast-check";
import { leaseTimeLeft, type LeaseView } from "../../../console/src/chain.ts";
import { iconMarketAbi } from "../../../protocol/chain/abi.generated.ts";
import { contractRefusal, toChainError } from "../../../protocol/chain/errors.ts";
import { leaseCost as leaseSpend, leaseEscrowed } from "../../../protocol/chain/lease-cost.ts";
import { parseShare } from "../../../protocol/chain/policy.ts";
import { isIconError } from "../../../protocol/errors.ts";

const STATES = ["None", "Scheduled", "Running", "StartMissed", "Ended", "Settled", "Cancelled"] as const;

const lease = (over: Partial<LeaseView> = {}): LeaseView => ({
  id: 1n,
  account: 1n,
  provider: "0x" + "11".repeat(20),
  yard: "edge-a.example",
  pricePerSecond: 100n,
  start: 1_000n,
  end: 4_600n,
  stoppedAt: 0n,
  state: "Running",
  ...over,
});

describe("owner console: lease money", () => {
  it("costs nothing before its start, price × seconds while it runs, and stops at its end", () => {
    expect(leaseSpend(lease(), 999n)).to.equal(0n);
    expect(leaseSpend(lease(), 1_000n)).to.equal(0n);
    expect(leaseSpend(lease(), 1_060n)).to.equal(6_000n);
    expect(leaseSpend(lease(), 4_600n)).to.equal(360_000n);
    expect(leaseSpend(lease({ state: "Ended" }), 9_999n)).to.equal(360_000n);
  });

  it("a lease stopped early costs only up to the moment it was stopped", () => {
    const l = lease({ stoppedAt: 1_500n, state: "Ended" });
    expect(leaseSpend(l, 1_200n)).to.equal(20_000n);
    expect(leaseSpend(l, 9_999n)).to.equal(50_000n);
    expect(leaseTimeLeft(l, 1_200n)).to.equal(0n);
  });

  it("time left counts down to the end for a scheduled or running lease, and is 0 otherwise", () => {
    expect(leaseTimeLeft(lease(), 1_600n)).to.equal(3_000n);
    expect(leaseTimeLeft(lease({ state: "Scheduled" }), 500n)).to.equal(4_100n);
    expect(leaseTimeLeft(lease(), 5_000n)).to.equal(0n);
    for (const state of ["Ended", "Settled", "Cancelled", "StartMissed"] as const)
      expect(leaseTimeLeft(lease({ state }), 1_600n)).to.equal(0n);
  });

  it("a lease whose start the yard missed costs nothing, however long ago it should have started", () => {
    expect(leaseSpend(lease({ state: "StartMissed" }), 4_000n)).to.equal(0n);
    expect(leaseEscrowed(lease({ state: "StartMissed" }), 4_000n)).to.equal(360_000n);
  });

  it("spend never exceeds price × slot, never decreases with time, and follows the lease's state", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.bigInt({ min: 0n, max: 2n * 10n ** 6n }),
        fc.bigInt({ min: 0n, max: 3n * 10n ** 6n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.constantFrom(...STATES),
        (price, start, slot, stop, t, dt, state) => {
          const l = lease({ pricePerSecond: price, start, end: start + slot, stoppedAt: stop, state });
          const s = leaseSpend(l, t);
          expect(s >= 0n && s <= price * slot).to.equal(true);
          expect(leaseSpend(l, t + dt) >= s).to.equal(true);
          // A missed start, a cancelled lease (its deposit went back) and no lease cost nothing, at any time.
          if (state === "StartMissed" || state === "Cancelled" || state === "None") expect(s).to.equal(0n);
          else {
            const stopAt = stop > 0n && stop < start + slot ? stop : start + slot;
            const ran = (t < stopAt ? t : stopAt) - start;
            expect(s).to.equal(ran > 0n ? price * ran : 0n);
          }
          // What is spent plus what is still in escrow is the lease's price over its slot (cancelled: nothing).
          const held = leaseEscrowed(l, t);
          if (state === "Cancelled" || state === "None") expect(held).to.equal(0n);
          else {
            const stopAt = stop > 0n && stop < start + slot ? stop : start + slot;
            expect(s + held).to.equal(stopAt > start ? price * (stopAt - start) : 0n);
          }
        },
      ),
    );
  });
});

describe("owner console: policy shares", () => {
  it("reads 0..1 as basis points, as the CLI's --weight does", () => {
    expect(parseShare("0.7", "weight")).to.equal(7000);
    expect(parseShare(" 0.25 ", "weight")).to.equal(2500);
    expect(parseShare("1", "weight")).to.equal(10_000);
    expect(parseShare("0", "weight")).to.equal(0);
  });

  it("refuses what is not a share with the CLI's sentence", () => {
    for (const bad of ["", "1.1", "-0.1", "abc", "NaN"]) {
      let err: unknown;
      try {
        parseShare(bad, "weight");
      } catch (e) {
        err = e;
      }
      expect(isIconError(err, "BAD_OPTION"), bad).to.equal(true);
      expect((err as Error).message).to.equal(`weight must be a number between 0 and 1 (e.g. 0.25), got "${bad}"`);
    }
  });

  it("refuses an amount before the wallet with the sentence of the chain's own refusal (one table of sentences)", () => {
    const token = { symbol: "iUSD", decimals: 6 };
    const market = new Interface(iconMarketAbi);
    const action = "allocating 3 iUSD from account 4 to 5";
    for (const [name, args] of [
      ["BudgetInsufficientBalance", [4n, 500_000n, 3_000_000n]],
      ["BudgetZeroValue", ["amount"]],
    ] as const) {
      const early = contractRefusal(name, args, action, token);
      const chain = toChainError({ data: market.encodeErrorResult(name, args) }, action, token);
      expect(early.message).to.equal(chain.message);
      expect(isIconError(early, name)).to.equal(true);
    }
    expect(contractRefusal("BudgetInsufficientBalance", [4n, 500_000n, 3_000_000n], action, token).message).to.equal(
      `${action} refused: budget account 4 holds 0.5 iUSD but 3 iUSD is needed`,
    );
  });
});
