/**
 * What an ICON checks in a yard's offer before it signs the acceptance (icon-agent/market.ts checkOffer): every
 * term it did not ask for is refused, with the term named, and nothing is signed.
 */
import { expect } from "chai";
import type { Offer } from "../../../protocol/index.ts";
import { checkOffer } from "../../../icon-agent/market.ts";

const TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const OPERATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const DIGEST = "0x" + "ab".repeat(32);
const NOW = 1_900_000_000;
const rfq = {
  cpuMillis: 250,
  memoryMiB: 64,
  slotSeconds: 600,
  earliestStart: 0n,
  imageRef: "icon/web:1",
  imageDigest: DIGEST,
};
const good: Offer = {
  provider: OPERATOR,
  account: 7n,
  token: TOKEN,
  pricePerSecond: 100n,
  cpuMillis: 250,
  memoryMiB: 64,
  start: BigInt(NOW + 2),
  end: BigInt(NOW + 602),
  specHash: DIGEST,
  nonce: 1n,
  deadline: BigInt(NOW + 60),
};
const ctx = { account: 7n, token: TOKEN, operator: OPERATOR, rfq, budget: 60_000n, nowS: NOW };

describe("checkOffer: an ICON signs only the terms it asked for", () => {
  it("accepts the offer it asked for, at exactly its budget", () => {
    expect(() => checkOffer(good, ctx)).to.not.throw();
    expect(() => checkOffer(good, { ...ctx, budget: 60_000n })).to.not.throw();
  });

  const cases: Array<[string, Partial<Offer>, RegExp]> = [
    ["another account", { account: 8n }, /names account 8, not 7/],
    ["another token", { token: OPERATOR }, /pays in .*not the market's token/],
    ["another provider", { provider: TOKEN }, /comes from .*not the yard's operator/],
    ["other resources", { cpuMillis: 500 }, /is for 500 mCPU \/ 64 MiB, not 250 \/ 64/],
    ["a longer slot", { end: BigInt(NOW + 2 + 366 * 86_400) }, /lasts 31622400 s, not the 600 s asked for/],
    ["a start far ahead", { start: BigInt(NOW + 7200), end: BigInt(NOW + 7800) }, /starts at .* too far ahead/],
    ["another image", { specHash: "0x" + "cd".repeat(32) }, /is for another image/],
    ["more than the budget", { pricePerSecond: 101n }, /costs 60600, more than the 60000 the ICON can commit/],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => checkOffer({ ...good, ...change }, ctx)).to.throw(message);
    });
  }

  it("lets a renewal start where the old lease ends, however far ahead", () => {
    const later = { ...good, start: BigInt(NOW + 7200), end: BigInt(NOW + 7800) };
    expect(() => checkOffer(later, { ...ctx, rfq: { ...rfq, renewsLeaseId: 3n } })).to.not.throw();
  });
});
