/**
 * Proof of control for RFQs: does the peer that sent an RFQ speak for the budget account it names? The proof
 * (protocol/lease/proof.ts) is checked without I/O first — chain, market, peer, expiry, signature — then
 * against the chain: the recovered signer must be the account's controller (read with the account, which the
 * quote path reads anyway) or the owner of the account's application (cached `ownerOfTtlS`), or, for a
 * contract controller or owner, accept the digest through ERC-1271 (cached per proof).
 *
 * @example
 *   const control = new ControlCheck(chain);
 *   const r = await control.prove(rfq, ctx.remote, account);   // { proven } or { refused: sentence }
 */
import type { PeerId } from "@libp2p/interface";
import { RfqProofError, RfqProofVerifier, type BudgetAccount, type MarketClient, type Rfq } from "../protocol/index.ts";

/** How long an application's owner is trusted from a read: an owner change takes effect for RFQs within it. */
const OWNER_TTL_S = 30;
const MAX_CACHED = 4096;

export type ControlResult = { proven: boolean } | { refused: string };

export class ControlCheck {
  readonly #chain: Pick<MarketClient, "appOwner" | "isValidSignature" | "deployment">;
  readonly #verifier: RfqProofVerifier;
  readonly #owners = new Map<bigint, { owner: string; until: number }>();
  readonly #erc1271 = new Map<string, boolean>();

  constructor(chain: Pick<MarketClient, "appOwner" | "isValidSignature" | "deployment">) {
    this.#chain = chain;
    this.#verifier = new RfqProofVerifier(BigInt(chain.deployment.chainId), chain.deployment.market);
  }

  /** The checks that need no chain (run before any RPC): a sentence if the proof is unusable. */
  precheck(rfq: Rfq, remote: PeerId): string | undefined {
    if (!rfq.proof) return undefined;
    try {
      this.#verifier.check(rfq.proof, rfq.tenantAccount, remote);
      return undefined;
    } catch (e) {
      if (e instanceof RfqProofError) return e.message;
      throw e;
    }
  }

  /** Whether `rfq` proves control of `account` (already read from the chain); a sentence if its proof fails. */
  async prove(rfq: Rfq, remote: PeerId, account: BudgetAccount): Promise<ControlResult> {
    const proof = rfq.proof;
    if (!proof) return { proven: false };
    let checked;
    try {
      checked = this.#verifier.check(proof, account.id, remote);
    } catch (e) {
      if (e instanceof RfqProofError) return { refused: e.message };
      throw e;
    }
    const signer = proof.signer.toLowerCase();
    let role: "controller" | "owner" | undefined;
    if (signer === account.controller.toLowerCase()) role = "controller";
    else if (signer === (await this.#owner(account.root)).toLowerCase()) role = "owner";
    if (!role)
      return {
        refused:
          `the RFQ's proof of control is signed by ${proof.signer}, which neither controls account ${account.id} ` +
          `(controller ${account.controller}) nor owns its application ${account.root}`,
      };
    if (checked.recovered) return { proven: true };
    const key = `${proof.signer}|${checked.digest}|${proof.signature}`;
    let ok = this.#erc1271.get(key);
    if (ok === undefined) {
      ok = await this.#chain.isValidSignature(proof.signer, checked.digest, proof.signature);
      if (this.#erc1271.size >= MAX_CACHED) this.#erc1271.delete(this.#erc1271.keys().next().value!);
      this.#erc1271.set(key, ok);
    }
    return ok
      ? { proven: true }
      : { refused: `the RFQ's proof of control is not a valid signature of ${proof.signer} (the ${role})` };
  }

  async #owner(root: bigint): Promise<string> {
    const now = Date.now() / 1000;
    const hit = this.#owners.get(root);
    if (hit && hit.until > now) return hit.owner;
    const owner = await this.#chain.appOwner(root);
    if (this.#owners.size >= MAX_CACHED) this.#owners.delete(this.#owners.keys().next().value!);
    this.#owners.set(root, { owner, until: now + OWNER_TTL_S });
    return owner;
  }
}
