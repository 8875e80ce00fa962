/**
 * RFQ proofs: who may make a yard hold capacity. A tenant's RFQ carries an EIP-712 `RfqAuthorization(account,
 * peerId, expiry)` signed in the market's domain (chain id + market contract) by the account's controller or its
 * application's owner. The yard checks here, without I/O, that the proof is for this chain, this market, the
 * noise-authenticated peer that sent it, and is not expired or too long-lived, and which address the signature
 * recovers to; whether that address controls or owns the account is the yard's chain check.
 *
 * @example
 *   const proof = await signRfqProof(iconKey, { domain: client.domain(), account, peer: node.peerId });
 *   await session.request({ type: "rfq", rfq: { ...rfq, proof } });
 */
import { TypedDataEncoder, getAddress, recoverAddress, type Signer, type TypedDataDomain } from "ethers";
import type { PeerId } from "@libp2p/interface";
import { IconError, type ErrorCode } from "../errors.ts";
import { RFQ_AUTHORIZATION_TYPES, marketDomain } from "../eip712.ts";
import { peerIdBytes } from "./binding.ts";

/** The proof an RFQ carries (the fields say what was signed). */
export interface RfqProof {
  signer: string;
  chainId: bigint;
  market: string;
  /** Multihash bytes (hex) of the peer allowed to use it. */
  peerId: string;
  /** Unix seconds (wall clock). */
  expiry: bigint;
  signature: string;
}

/** Why a proof was refused: WRONG_CHAIN, WRONG_MARKET, WRONG_PEER, EXPIRED, TOO_LONG, BAD_SIGNATURE, NOT_CONTROLLER. */
export class RfqProofError extends IconError {
  override name = "RfqProofError" as const;
}

export const rfqProofLimits = {
  /** A proof may expire at most this far ahead: long enough for an ICON to sign once per hour of bidding,
   * short enough that a proof stolen together with its peer key soon stops working. */
  maxLifetimeS: 24 * 3600,
  /** What {@link signRfqProof} asks for by default. */
  defaultLifetimeS: 3600,
} as const;

/** Signs a proof that `peer` speaks for `account` until `expiry` (default: an hour from now). */
export async function signRfqProof(
  signer: Signer,
  o: { domain: TypedDataDomain; account: bigint; peer: PeerId; expiry?: bigint },
): Promise<RfqProof> {
  const expiry = o.expiry ?? BigInt(Math.floor(Date.now() / 1000) + rfqProofLimits.defaultLifetimeS);
  const peerId = peerIdBytes(o.peer);
  const signature = await signer.signTypedData(o.domain, RFQ_AUTHORIZATION_TYPES, {
    account: o.account,
    peerId,
    expiry,
  });
  return {
    signer: await signer.getAddress(),
    chainId: BigInt(o.domain.chainId!),
    market: getAddress(o.domain.verifyingContract!),
    peerId,
    expiry,
    signature,
  };
}

/** The EIP-712 digest a proof's signature is over (what an ERC-1271 wallet is asked about). */
export function rfqProofDigest(proof: RfqProof, account: bigint): string {
  return TypedDataEncoder.hash(marketDomain(proof.chainId, proof.market), RFQ_AUTHORIZATION_TYPES, {
    account,
    peerId: proof.peerId,
    expiry: proof.expiry,
  });
}

/** What {@link RfqProofVerifier.check} found: the digest, and whether the signature recovers to `proof.signer`
 * (false: not an ECDSA signature of the signer — only an ERC-1271 wallet at that address can still accept it). */
export interface CheckedProof {
  digest: string;
  recovered: boolean;
}

/**
 * Checks proofs for one market without I/O, caching results (a tenant reuses its proof for every RFQ until it
 * expires, so each distinct proof costs one secp256k1 recovery).
 */
export class RfqProofVerifier {
  readonly chainId: bigint;
  readonly market: string;
  readonly #cache = new Map<string, CheckedProof>();
  readonly #maxEntries: number;

  constructor(chainId: bigint, market: string, maxEntries = 4096) {
    this.chainId = chainId;
    this.market = getAddress(market);
    this.#maxEntries = maxEntries;
  }

  /** Throws RfqProofError with a sentence if `proof` is not usable by `remote` for `account` at `nowS`. */
  check(proof: RfqProof, account: bigint, remote: PeerId, nowS = Date.now() / 1000): CheckedProof {
    const refuse = (code: ErrorCode, message: string): never => {
      throw new RfqProofError(code, `the RFQ's proof of control ${message}`);
    };
    if (proof.chainId !== this.chainId)
      refuse("WRONG_CHAIN", `is signed for chain ${proof.chainId}; this market is on chain ${this.chainId}`);
    if (getAddress(proof.market) !== this.market)
      refuse("WRONG_MARKET", `is signed for market contract ${proof.market}; this yard serves ${this.market}`);
    const peer = peerIdBytes(remote);
    if (proof.peerId.toLowerCase() !== peer.toLowerCase())
      refuse(
        "WRONG_PEER",
        `names another libp2p peer than ${remote.toString()}, which sent it; sign it for your own peer id`,
      );
    if (Number(proof.expiry) <= nowS) refuse("EXPIRED", `expired at ${proof.expiry}; sign a new one`);
    if (Number(proof.expiry) > nowS + rfqProofLimits.maxLifetimeS)
      refuse(
        "TOO_LONG",
        `expires at ${proof.expiry}, more than ${rfqProofLimits.maxLifetimeS} s ahead; sign one that expires sooner`,
      );
    const key = `${account}|${peer}|${proof.expiry}|${proof.signer}|${proof.signature}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const digest = rfqProofDigest(proof, account);
    let recovered = false;
    if (proof.signature.length === 2 + 65 * 2) {
      try {
        recovered = recoverAddress(digest, proof.signature) === getAddress(proof.signer);
      } catch {
        recovered = false;
      }
    }
    const out = { digest, recovered };
    if (this.#cache.size >= this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, out);
    return out;
  }
}
