/**
 * Who may act for a lease at this yard: the controller of the lease's paying budget account or the app's owner,
 * proven by a LeaseAccess signature bound to the sender's libp2p peer id (protocol/yard/services.ts). Holders
 * are read from chain and cached for a minute per account.
 */
import type { PeerId } from "@libp2p/interface";
import {
  YardErrorCode,
  YardServiceError,
  leaseAccessSigner,
  type LeaseAccess,
  type MarketClient,
} from "../protocol/index.ts";
import type { LeaseRow, YardDb } from "./db.ts";

export type Authorize = (a: LeaseAccess, remote: PeerId) => Promise<LeaseRow>;

/** An authorizer over `db` (leases held here) and `chain` (account controllers and app owners). */
export function leaseHolderCheck(db: YardDb, chain: MarketClient): Authorize {
  const holders = new Map<string, { addresses: string[]; until: number }>();
  return async (a, remote) => {
    const row = db.lease(a.leaseId);
    if (!row) throw new YardServiceError(YardErrorCode.UNKNOWN_LEASE, `lease ${a.leaseId} is not held at this yard`);
    const signer = leaseAccessSigner(a, chain.domain(), remote).toLowerCase();
    const key = row.offer.account.toString();
    let h = holders.get(key);
    if (!h || h.until < Date.now()) {
      const acc = await chain.account(row.offer.account);
      const app = await chain.app(acc.root);
      h = { addresses: [acc.controller.toLowerCase(), app.owner.toLowerCase()], until: Date.now() + 60_000 };
      holders.set(key, h);
      if (holders.size > 10_000) holders.delete(holders.keys().next().value!);
    }
    if (!h.addresses.includes(signer))
      throw new YardServiceError(
        YardErrorCode.DENIED,
        `the access signature is by ${signer}, who does not hold lease ${a.leaseId}`,
      );
    return row;
  };
}
