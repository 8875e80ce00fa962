/**
 * The yard's own transactions until they are buried under `chain.confirmations` blocks, and what it does when a
 * reorganisation takes one away. The yard acts on its own receipts at once (a lease is recorded when its opening
 * is mined, a start confirmed, a claim counted as paid) — fine on a chain that never reorganises, wrong where a
 * block can be replaced: a vanished opening left a container running for a lease that no longer exists, a vanished
 * confirmStart let the start window close (and the tenant cancel with a slash) while the yard believed it had
 * confirmed, a vanished final claim left the lease "settled" with its pay still in escrow.
 *
 * Each follower pass (`check`, from chain-watch.ts) asks the node for each transaction's receipt: one at least
 * `confirmations` deep is forgotten; one the node knows neither mined nor waiting has vanished, and is made good:
 * - an opening is sent again with the same offer and signatures (the offer's nonce was never used on the new
 *   chain); refused (the offer expired meanwhile), or opened under another id, the yard unwinds the lease it
 *   recorded: containers stopped, capacity released, nothing claimed;
 * - a confirmStart is undone in the database (the tick confirms again while the container runs);
 * - a claim is undone: the lease is due again at the next tick (a "settled" one back to "ended").
 * The nonce manager is reset on a vanished transaction: its count included the transaction that is gone.
 * The list lives in the database (meta "unburied"), so a restart inside the window loses nothing.
 *
 * @example
 *   const reorgs = new Reorgs({ chain, db, config, log, now, adopt, unwind });
 *   reorgs.track({ kind: "confirm", tx: receipt.hash, leases: [id] });
 *   await reorgs.check(head);        // each follower pass
 */
import { NonceManager } from "ethers";
import { isIconError, type MarketClient, type Offer } from "../protocol/index.ts";
import { fromJson, toJson } from "../protocol/json.ts";
import type { Logger } from "../protocol/log.ts";
import type { YardConfig } from "./config.ts";
import type { YardDb } from "./db.ts";

/** A transaction of the yard not yet buried. */
export type Unburied =
  | { kind: "confirm" | "claim"; tx: string; leases: bigint[] }
  | {
      kind: "open";
      tx: string;
      leases: [bigint];
      offer: Offer;
      offerHash: string;
      providerSignature: string;
      tenantSignature: string;
      renews: bigint | undefined;
    };

/** Codes of a chain that could not be reached: the transaction's fate is asked again next pass. */
const TRANSIENT = ["CHAIN_UNREACHABLE", "CHAIN_FAILED", "CHAIN_TIMEOUT"] as const;

/** At most this many transactions followed (a yard sends a few per lease per claim interval). */
const MAX_TRACKED = 4_096;

export interface ReorgsComponents {
  chain: Pick<MarketClient, "provider" | "signer" | "openLeaseTx" | "lease">;
  db: Pick<YardDb, "getMeta" | "setMeta" | "lease" | "update">;
  config: Pick<YardConfig, "chain">;
  log: Logger;
  /** Chain time (seconds). */
  now: () => number;
  /** Records a lease opened (again) under another id than the one that vanished. */
  adopt: (id: bigint, offer: Offer, offerHash: string, renews: bigint | undefined) => void;
  /** Ends lease `id` here (containers, endpoints, capacity) and forgets it (its id is free on chain); `why` logged. */
  unwind: (id: bigint, why: string) => Promise<void>;
}

export class Reorgs {
  readonly #c: ReorgsComponents;
  /** The head of the last full pass: nothing is buried or reorganised while the head stays (no RPC spent). */
  #checkedAt = -1;

  constructor(components: ReorgsComponents) {
    this.#c = components;
  }

  /** The transactions followed now. */
  list(): Unburied[] {
    const raw = this.#c.db.getMeta("unburied");
    return raw ? fromJson<Unburied[]>(raw) : [];
  }

  #save(list: Unburied[]): void {
    this.#c.db.setMeta("unburied", toJson(list.slice(-MAX_TRACKED)));
  }

  /** Follows `u` until it is buried (nothing to follow when the yard acts only on buried blocks: 0 confirmations). */
  track(u: Unburied): void {
    if (this.#c.config.chain.confirmations === 0) return;
    this.#save([...this.list().filter((x) => x.tx !== u.tx), u]);
  }

  /** Forgets what is buried at `head`, makes good what vanished (see the module header). */
  async check(head: number): Promise<void> {
    const { chain, log } = this.#c;
    const depth = this.#c.config.chain.confirmations;
    const list = this.list();
    if (head === this.#checkedAt || list.length === 0) return;
    this.#checkedAt = head;
    for (const u of list) {
      let state: "buried" | "shallow" | "vanished";
      try {
        const r = await chain.provider.getTransactionReceipt(u.tx);
        if (r)
          state = head - r.blockNumber >= depth ? "buried" : "shallow"; // as the follower: head − depth
        else state = (await chain.provider.getTransaction(u.tx)) ? "shallow" : "vanished";
      } catch (e) {
        log.warn("could not read a transaction's receipt; asking again next pass", { tx: u.tx, error: e });
        this.#checkedAt = -1;
        return;
      }
      if (state === "shallow") continue;
      if (state === "vanished") {
        log.warn("a transaction of the yard was reorganised away", { kind: u.kind, tx: u.tx, leases: u.leases });
        if (chain.signer instanceof NonceManager) chain.signer.reset();
        const done = await this.#vanished(u).catch((e) => {
          log.warn("making good a reorganised transaction failed; will retry", { tx: u.tx, error: e });
          return false;
        });
        if (!done) {
          this.#checkedAt = -1; // tried again next pass, whatever the head
          continue;
        }
      }
      // Read again: #vanished may have followed a new transaction.
      this.#save(this.list().filter((x) => x.tx !== u.tx));
    }
  }

  /** Makes good a vanished transaction; false when it must be tried again. */
  async #vanished(u: Unburied): Promise<boolean> {
    const { db, log } = this.#c;
    if (u.kind !== "open") {
      for (const id of u.leases) {
        const l = db.lease(id);
        if (!l) continue;
        // The tick confirms again (the container runs), or claims again at once ("settled" was premature).
        if (u.kind === "confirm") db.update(id, { confirmed: false });
        else db.update(id, { lastClaimAt: 0, ...(l.status === "settled" ? { status: "ended" as const } : {}) });
      }
      return true;
    }
    const [id] = u.leases;
    // A node behind the others (a load balancer's lagging backend) answers "unknown" too: the lease on chain as
    // the offer made it means the opening is there after all, seen through another node next pass.
    const rec = await this.#c.chain.lease(id);
    const o = u.offer;
    if (rec.state !== "None" && rec.start === o.start && rec.end === o.end && rec.account === o.account)
      if (rec.provider.toLowerCase() === o.provider.toLowerCase()) return false;
    db.update(id, { confirmed: false });
    if (Number(u.offer.deadline) >= this.#c.now()) {
      try {
        const again = await this.#c.chain.openLeaseTx(u.offer, u.providerSignature, u.tenantSignature);
        this.track({ ...u, tx: again.txHash, leases: [again.leaseId] });
        if (again.leaseId === id) {
          log.info("sent the opening of a lease again after a reorganisation", { lease: id, tx: again.txHash });
          return true;
        }
        log.warn("a lease's opening was sent again and got another id", { was: id, now: again.leaseId });
        await this.#c.unwind(id, `its opening was reorganised away; opened again as lease ${again.leaseId}`);
        this.#c.adopt(again.leaseId, u.offer, u.offerHash, u.renews);
        return true;
      } catch (e) {
        if (isIconError(e, [...TRANSIENT])) return false;
        log.warn("a reorganised lease opening could not be sent again", { lease: id, error: e });
      }
    }
    await this.#c.unwind(id, "its opening was reorganised away and could not be sent again");
    return true;
  }
}
