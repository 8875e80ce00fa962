/**
 * EIP-712 types of the lease market, defined once for the contracts' tests, the yard and the agent.
 * They must match `OFFER_TYPEHASH` / `ACCEPTANCE_TYPEHASH` in contracts/LeaseEscrow.sol and `INTENT_TYPEHASH` in
 * contracts/IntentRelay.sol (a test checks it). A signed intent travels in /icon/relay/1.0.0's protobuf frames
 * (protocol/relay/relay.ts), validated field by field when read.
 *
 * @example
 *   const domain = marketDomain(31337n, marketAddress);
 *   const providerSig = await provider.signTypedData(domain, OFFER_TYPES, offer);
 *   const tenantSig = await icon.signTypedData(domain, ACCEPTANCE_TYPES, { offer });
 *   const signed = { intent, signature: await icon.signTypedData(domain, INTENT_TYPES, intent) };
 */

/** The EIP-712 domain: name and version are fixed; chain id and contract separate every deployment. */
export interface MarketDomain {
  name: "ICON Market";
  version: "1";
  chainId: bigint;
  verifyingContract: string;
}

/** A provider's offer for a lease; every economic term is inside and signed. */
export interface Offer {
  provider: string;
  account: bigint;
  token: string;
  pricePerSecond: bigint;
  cpuMillis: number;
  memoryMiB: number;
  start: bigint;
  end: bigint;
  specHash: string;
  nonce: bigint;
  deadline: bigint;
}

const OFFER_FIELDS = [
  { name: "provider", type: "address" },
  { name: "account", type: "uint64" },
  { name: "token", type: "address" },
  { name: "pricePerSecond", type: "uint96" },
  { name: "cpuMillis", type: "uint32" },
  { name: "memoryMiB", type: "uint32" },
  { name: "start", type: "uint40" },
  { name: "end", type: "uint40" },
  { name: "specHash", type: "bytes32" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
] as const;

/** Types for signing an offer (primary type `Offer`). */
export const OFFER_TYPES = { Offer: [...OFFER_FIELDS] };

/** Types for signing an acceptance (primary type `Acceptance`, the offer nested). */
export const ACCEPTANCE_TYPES = {
  Acceptance: [{ name: "offer", type: "Offer" }],
  Offer: [...OFFER_FIELDS],
};

/**
 * An ICON operation signed by `signer` for any relayer (or only `relayer`) to submit with `IconMarket.relay`: the
 * abi-encoded call `data` runs as the signer; the relayer earns `fee` token units from budget account `account`.
 */
export interface Intent {
  signer: string;
  account: bigint;
  data: string;
  fee: bigint;
  relayer: string;
  nonce: bigint;
  deadline: bigint;
}

/** Types for signing an intent (primary type `Intent`). */
export const INTENT_TYPES = {
  Intent: [
    { name: "signer", type: "address" },
    { name: "account", type: "uint64" },
    { name: "data", type: "bytes" },
    { name: "fee", type: "uint96" },
    { name: "relayer", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint40" },
  ],
};

/** Domain of the market contract at `verifyingContract` on `chainId`. */
export function marketDomain(chainId: bigint, verifyingContract: string): MarketDomain {
  return { name: "ICON Market", version: "1", chainId, verifyingContract };
}

/**
 * Types of a tenant's statement that the libp2p peer `peerId` speaks for budget account `account` until
 * `expiry` (unix seconds), signed in the market's domain by the account's controller or its application's owner.
 * It rides in an RFQ (`RfqProof`) so that a yard holds capacity beyond its anonymous share only for someone who
 * controls the paying account.
 */
export const RFQ_AUTHORIZATION_TYPES = {
  RfqAuthorization: [
    { name: "account", type: "uint64" },
    { name: "peerId", type: "bytes" },
    { name: "expiry", type: "uint64" },
  ],
};

/** Types of the operator's statement binding a libp2p peer id to its registry listing. */
export const PEER_BINDING_TYPES = { PeerBinding: [{ name: "peerId", type: "bytes" }] };

/** Domain of peer-binding signatures: the registry on its chain (a binding never transfers elsewhere). */
export function registryDomain(chainId: bigint, registry: string) {
  return { name: "ICON Registry", version: "1", chainId, verifyingContract: registry };
}

/** An intent with its signer's signature, as a relayer receives it. */
export interface SignedIntent {
  intent: Intent;
  signature: string;
}
