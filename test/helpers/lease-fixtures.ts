/** Shared pieces for lease-protocol tests that need a provider but no chain. */
import { Wallet } from "ethers";
import { OFFER_TYPES, marketDomain, type Offer, type Rfq } from "../../protocol/index.ts";

/** A fixed provider key and market domain (no chain behind them). */
export const providerKey = new Wallet("0x" + "11".repeat(32));
export const offlineDomain = marketDomain(31337n, "0x" + "cc".repeat(20));

/** A valid RFQ for a 60 s slot. */
export const sampleRfq: Rfq = {
  cpuMillis: 500,
  memoryMiB: 256,
  slotSeconds: 60,
  earliestStart: 0n,
  maxPricePerSecond: 500n,
  imageRef: "icon/echo:1",
  imageDigest: "0x" + "ab".repeat(32),
  tenantAccount: 1n,
};

/** Signs a fixed-price (200 units/s) offer answering `r`, as a provider's quote() would. */
export async function fixedQuote(r: Rfq, nonce = 0n): Promise<{ offer: Offer; providerSignature: string }> {
  const offer: Offer = {
    provider: providerKey.address,
    account: r.tenantAccount,
    token: "0x" + "dd".repeat(20),
    pricePerSecond: 200n,
    cpuMillis: r.cpuMillis,
    memoryMiB: r.memoryMiB,
    start: 100n,
    end: 160n,
    specHash: r.imageDigest,
    nonce,
    deadline: 200n,
  };
  return { offer, providerSignature: await providerKey.signTypedData(offlineDomain, OFFER_TYPES, offer) };
}
