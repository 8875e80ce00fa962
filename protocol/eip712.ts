/**
 * EIP-712 types of the lease market, defined once for the contracts' tests, the yard and the agent.
 * They must match `OFFER_TYPEHASH` / `ACCEPTANCE_TYPEHASH` in contracts/LeaseEscrow.sol and `INTENT_TYPEHASH` in
 * contracts/IntentRelay.sol (a test checks it). A signed intent travels as JSON (`signedIntentToJson` /
 * `signedIntentFromJson`, bigints tagged as protocol/json.ts does), validated field by field when read.
 *
 * @example
 *   const domain = marketDomain(31337n, marketAddress);
 *   const providerSig = await provider.signTypedData(domain, OFFER_TYPES, offer);
 *   const tenantSig = await icon.signTypedData(domain, ACCEPTANCE_TYPES, { offer });
 *   const wire = signedIntentToJson({ intent, signature: await icon.signTypedData(domain, INTENT_TYPES, intent) });
 */
import { IconError } from "./errors.ts";
import { fromJson, toJson } from "./json.ts";

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

/** Bounds of a signed intent on the wire: call data of any relayable call fits in far less. */
export const INTENT_LIMITS = { maxDataBytes: 1024, maxSignatureBytes: 512, maxJsonChars: 4096 } as const;

/** `s` as one line of JSON (bigints tagged, see protocol/json.ts). */
export function signedIntentToJson(s: SignedIntent): string {
  return toJson({ intent: s.intent, signature: s.signature });
}

/**
 * Reads what {@link signedIntentToJson} wrote, or the same object already parsed; checks every field's type and
 * range (addresses, uint64/96/256/40, hex data with a selector, a signature) and refuses anything else with a
 * BAD_INTENT error naming the field. It does not check the signature: the relayer's simulation does.
 */
export function signedIntentFromJson(input: string | unknown): SignedIntent {
  if (typeof input === "string" && input.length > INTENT_LIMITS.maxJsonChars)
    throw badIntent(`is longer than ${INTENT_LIMITS.maxJsonChars} characters`);
  let v: unknown;
  try {
    v = typeof input === "string" ? fromJson<unknown>(input) : input;
  } catch {
    throw badIntent("is not JSON");
  }
  const o = record(v, "the signed intent");
  const i = record(o.intent, "intent");
  const known = new Set(INTENT_TYPES.Intent.map((f) => f.name));
  for (const k of Object.keys(i)) if (!known.has(k)) throw badIntent(`has an unknown field "intent.${k}"`);
  return {
    intent: {
      signer: address(i.signer, "intent.signer"),
      account: uint(i.account, 64, "intent.account", 1n),
      data: hex(i.data, "intent.data", 4, INTENT_LIMITS.maxDataBytes),
      fee: uint(i.fee, 96, "intent.fee"),
      relayer: address(i.relayer, "intent.relayer"),
      nonce: uint(i.nonce, 256, "intent.nonce"),
      deadline: uint(i.deadline, 40, "intent.deadline"),
    },
    signature: hex(o.signature, "signature", 1, INTENT_LIMITS.maxSignatureBytes),
  };
}

function badIntent(what: string): IconError {
  return new IconError("BAD_INTENT", `the signed intent ${what}; ask the ICON to sign it again`);
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badIntent(`has no object "${field}"`);
  return v as Record<string, unknown>;
}

function address(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(v)) throw badIntent(`field "${field}" is not an address`);
  return v;
}

function uint(v: unknown, bits: number, field: string, min = 0n): bigint {
  if (typeof v !== "bigint" || v < min || v >= 1n << BigInt(bits))
    throw badIntent(`field "${field}" is not an integer in ${min}..2^${bits}-1`);
  return v;
}

function hex(v: unknown, field: string, minBytes: number, maxBytes: number): string {
  if (typeof v !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(v)) throw badIntent(`field "${field}" is not hex bytes`);
  const n = (v.length - 2) / 2;
  if (n < minBytes || n > maxBytes)
    throw badIntent(`field "${field}" has ${n} bytes (allowed ${minBytes}..${maxBytes})`);
  return v;
}
