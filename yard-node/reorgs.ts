/**
 * The yard's own transactions until they are buried under `chain.confirmations` blocks, and what it does when a
 * reorganisation takes one away. The yard acts on its own receipts at once (a lease is recorded when its opening
 * is mined, a start confirmed, a claim counted as paid) — fine on a chain that never reorganises, wrong where a
 * block can be replaced: a vanished opening left a container running for a lease that no longer exists, a vanished
 * confirmStart let the start window close (and the tenant cancel with a slash) while the yard believed it had
 * confirmed, a vanished final claim left the lease "settled" with its pay still in escrow.
 *
 * Each follower pass (`check`, from chain-watch.ts, before it applies the buried window's events) asks the node for
 * each transaction's receipt: one at least `confirmations` deep is forgotten; one the node knows neither mined nor
 * waiting — or mined but reverted (status 0), or an opening whose LeaseOpened names another id or offer — has
 * vanished, and is made good:
 * - an opening is NOT sent again (a re-send can land under another id, race the original, or be unwound by the
 *   loser's revert). The yard records it as a pending opening again (db pending_opens, keyed by its offer hash) and
 *   leaves its row and container as they are, doing nothing on chain for it (leases.ts skips it): if the chain
 *   includes the original again, under any id, the follower adopts it by its offer hash (chain-watch.ts: the row
 *   moved to the id the event names, in one transaction, container kept); if nothing is there at the offer's
 *   deadline + 60 s (when no opening of it can still land), the follower unwinds it: containers stopped, capacity
 *   released, the row forgotten. No money moved on a chain that never opened it;
 * - a confirmStart is undone in the database (the tick confirms again while the container runs);
 * - a claim is undone: the lease is due again at the next tick (a "settled" one back to "ended").
 * The nonce manager is reset on a vanished transaction: its count included the transaction that is gone; the
 * vanished nonces the chain has not used are filled with 0-value self-transfers (what waited behind them runs now,
 * while it is followed). A hash the node does not know whose nonce is used as of the buried block was replaced
 * (replace.ts): done if its effect is there, vanished if not.
 * The list lives in the database (meta "unburied"), so a restart inside the window loses nothing.
 *
 * @example
 *   const reorgs = new Reorgs({ chain, db, config, log, now });
 *   reorgs.track({ kind: "confirm", tx: receipt.hash, leases: [id] });
 *   await reorgs.check(head);        // each follower pass
 */
import { NonceManager } from "ethers";
import { type MarketClient, type Offer } from "../protocol/index.ts";
import { fromJson, toJson } from "../protocol/json.ts";
import type { Logger } from "../protocol/log.ts";
import type { YardConfig } from "./config.ts";
import type { YardDb } from "./db.ts";

/** A transaction of the yard not yet buried (`nonce`: learned from the node at the first pass that sees it). */
export type Unburied =
  | { kind: "confirm" | "claim"; tx: string; leases: bigint[]; nonce?: number }
  | {
      kind: "open";
      tx: string;
      nonce?: number;
      leases: [bigint];
      offer: Offer;
      offerHash: string;
      providerSignature: string;
      tenantSignature: string;
      renews: bigint | undefined;
    };

/** At most this many transactions followed (a yard sends a few per lease per claim interval). */
const MAX_TRACKED = 4_096;

export interface ReorgsComponents {
  chain: Pick<MarketClient, "provider" | "signer" | "lease" | "market">;
  db: Pick<YardDb, "getMeta" | "setMeta" | "lease" | "update" | "addPendingOpen">;
  config: Pick<YardConfig, "chain">;
  log: Logger;
  /** Chain time (seconds). */
  now: () => number;
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
    const gaps: number[] = []; // nonces of vanished transactions, filled after the pass
    for (const u of list) {
      let state: "buried" | "shallow" | "vanished";
      let mined: boolean; // a receipt, reverted or naming another lease
      try {
        const r = await chain.provider.getTransactionReceipt(u.tx);
        mined = !!r && (r.status === 0 || (u.kind === "open" && !this.#opened(u, r.logs)));
        if (mined) state = "vanished";
        else if (r)
          state = head - r.blockNumber >= depth ? "buried" : "shallow"; // as the follower: head − depth
        else {
          const t = await chain.provider.getTransaction(u.tx);
          state = t ? "shallow" : await this.#replaced(u, head - depth);
          if (t && u.nonce === undefined) this.#learnNonce(u.tx, t.nonce);
        }
        if (r && state === "shallow" && u.nonce === undefined) {
          const t = await chain.provider.getTransaction(u.tx);
          if (t) this.#learnNonce(u.tx, t.nonce);
        }
      } catch (e) {
        log.warn("could not read a transaction's receipt; asking again next pass", { tx: u.tx, error: e });
        this.#checkedAt = -1;
        return;
      }
      if (state === "shallow") continue;
      if (state === "vanished") {
        log.warn("a transaction of the yard was reorganised away", { kind: u.kind, tx: u.tx, leases: u.leases });
        if (chain.signer instanceof NonceManager) chain.signer.reset();
        const nonce = this.list().find((x) => x.tx === u.tx)?.nonce;
        if (!mined && nonce !== undefined) gaps.push(nonce);
        const done = await this.#vanished(u, mined).catch((e) => {
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
    if (gaps.length > 0) await this.#fill(gaps);
  }

  #learnNonce(tx: string, nonce: number): void {
    this.#save(this.list().map((x) => (x.tx === tx ? { ...x, nonce } : x)));
  }

  /**
   * A followed hash the node does not know: replaced (replace.ts sends the same nonce with higher fees, a new hash)
   * when its nonce is used as of the buried block and the effect is there ("buried"), still in play when used only
   * above it ("shallow"), else "vanished". The effect read: the lease as the offer made it (an opening), its start
   * confirmed (a confirmStart); a claim whose nonce is used counts as made (its pay is counted from events anyway).
   */
  async #replaced(u: Unburied, buried: number): Promise<"buried" | "shallow" | "vanished"> {
    const { chain } = this.#c;
    const nonce = this.list().find((x) => x.tx === u.tx)?.nonce;
    if (nonce === undefined || !chain.signer) return "vanished";
    const from = await chain.signer.getAddress();
    if ((await chain.provider.getTransactionCount(from, "latest")) <= nonce) return "vanished";
    if ((await chain.provider.getTransactionCount(from, Math.max(0, buried))) <= nonce) return "shallow";
    if (u.kind === "claim") return "buried";
    const l = await chain.lease(u.leases[0], Math.max(0, buried));
    if (u.kind !== "open") return (l.flags & 1) === 1 ? "buried" : "vanished"; // a confirmStart
    const o = u.offer;
    const same = l.state !== "None" && l.start === o.start && l.end === o.end && l.account === o.account;
    return same && l.provider.toLowerCase() === o.provider.toLowerCase() ? "buried" : "vanished";
  }

  /**
   * Fills the nonces of vanished transactions the chain has not used with a 0-value transfer to the yard itself:
   * a later transaction of the yard stranded behind the gap (a confirmStart behind a dropped opening) runs now,
   * while the yard still knows what it was (it is followed, and re-checked next pass), instead of whenever the gap is
   * filled by a later send — when its lease id may name another lease.
   */
  async #fill(nonces: number[]): Promise<void> {
    const { chain, log } = this.#c;
    const signer = chain.signer instanceof NonceManager ? chain.signer.signer : chain.signer;
    if (!signer) return;
    const me = await signer.getAddress();
    const used = await chain.provider.getTransactionCount(me, "latest");
    for (const nonce of [...new Set(nonces)].sort((a, b) => a - b)) {
      if (nonce < used) continue;
      try {
        const t = await signer.sendTransaction({ to: me, value: 0n, nonce });
        log.info("filled the nonce of a reorganised transaction", { nonce, tx: t.hash });
      } catch (e) {
        log.warn("could not fill the nonce of a reorganised transaction", { nonce, error: e });
      }
    }
    if (chain.signer instanceof NonceManager) chain.signer.reset();
    this.#checkedAt = -1; // what ran behind the gap is checked next pass
  }

  /** Whether an opening's receipt logs name the lease and offer the yard recorded (ids are global counters). */
  #opened(
    u: Extract<Unburied, { kind: "open" }>,
    logs: readonly { topics: readonly string[]; data: string }[],
  ): boolean {
    const market = this.#c.chain.market;
    for (const entry of logs) {
      const ev = (() => {
        try {
          return market.interface.parseLog(entry);
        } catch {
          return null;
        }
      })();
      if (ev?.name === "LeaseOpened")
        return BigInt(ev.args[0] as bigint) === u.leases[0] && String(ev.args[7]) === u.offerHash;
    }
    return false;
  }

  /** Makes good a vanished transaction; false when it must be tried again. */
  async #vanished(u: Unburied, mined: boolean): Promise<boolean> {
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
    const row = db.lease(id);
    if (row?.offerHash !== u.offerHash) return true; // already moved or unwound
    // A node behind the others (a load balancer's lagging backend) answers "unknown" too: the lease on chain as
    // the offer made it means the opening is there after all, seen through another node next pass.
    const rec = mined ? undefined : await this.#c.chain.lease(id);
    const o = u.offer;
    if (rec && rec.state !== "None" && rec.start === o.start && rec.end === o.end && rec.account === o.account)
      if (rec.provider.toLowerCase() === o.provider.toLowerCase()) return false;
    // Pending again (see the module header): adopted if the chain includes it again, unwound at deadline + 60 s.
    db.addPendingOpen({
      offerHash: u.offerHash,
      offer: u.offer,
      providerSignature: u.providerSignature,
      tenantSignature: u.tenantSignature,
      renews: u.renews,
      createdAt: this.#c.now(),
    });
    db.update(id, { confirmed: false });
    log.warn("a lease's opening was reorganised away: held until it is included again or its offer expires", {
      lease: id,
      deadline: u.offer.deadline,
    });
    return true;
  }
}
