/**
 * The yard's view of the chain: guarded chain calls (a chain found down is not asked again until its backoff
 * ends, from 0.5 s doubling to 8 s), chain time (the newest block's timestamp advanced by the wall clock), the
 * listing in the registry, and following the market's events (leases opened with this yard's offers, leases
 * terminated or cancelled on chain, pay claimed) from a cursor stored in the database, acting only on blocks
 * buried under `chain.confirmations`; before each pass applies the buried window's events, the yard's own
 * transactions still shallow are checked (reorgs.ts), so an event is never applied over a transaction of the yard
 * that a reorganisation took away. A lease whose opening vanished waits as a pending opening: adopted by its offer
 * hash when the chain includes it again (its row moved to the id the event names), unwound at deadline + 60 s.
 *
 * @example
 *   const watch = new ChainWatch({ chain, db, ledger, config, log, node, operator, prices, adopt, signal });
 *   await watch.list();
 *   watch.start();                  // follows every chain.pollMs until stop()
 *   const head = await watch.call("reading the block number", () => chain.provider.getBlockNumber());
 */
import type { Libp2p } from "@libp2p/interface";
import {
  IconError,
  isIconError,
  peerIdBytes,
  addressLogs,
  eachLogWindow,
  toChainError,
  type ErrorCode,
  type MarketClient,
  type Offer,
} from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import type { Prices, YardConfig } from "./config.ts";
import { ACTIVE, type YardDb } from "./db.ts";
import type { CapacityLedger } from "./ledger.ts";
import { Periodic } from "./periodic.ts";
import type { Reorgs } from "./reorgs.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** Codes of a chain that could not be reached (as opposed to one that refused). */
export const TRANSIENT: readonly ErrorCode[] = ["CHAIN_UNREACHABLE", "CHAIN_FAILED", "NO_EVENT"];

export interface ChainWatchComponents {
  chain: MarketClient;
  db: Pick<
    YardDb,
    | "getMeta"
    | "setMeta"
    | "lease"
    | "update"
    | "pendingOpens"
    | "pendingOpen"
    | "removePendingOpen"
    | "leaseByOffer"
    | "rekeyLease"
  >;
  ledger: Pick<CapacityLedger, "endAt" | "release" | "commit">;
  config: Pick<YardConfig, "chain" | "listing" | "capacity">;
  log: Logger;
  node: Pick<Libp2p, "peerId" | "getMultiaddrs">;
  operator: string;
  prices: Prices;
  /** Records a lease opened with an offer this yard signed (its opening was in flight when the yard stopped). */
  adopt: (id: bigint, offer: Offer, offerHash: string, renews: bigint | undefined) => void;
  /** Forgets what the overlay cached of lease `id` (overlay/owners.ts): read at the head, it may have changed. */
  forget?: (id: bigint) => void;
  /** Lease `from` is lease `to` now (its row moved): what the running yard holds in memory follows (leases.ts). */
  rekey?: (from: bigint, to: bigint, moveRow: () => void) => Promise<void>;
  /** Ends lease `id` here (containers, endpoints, capacity) and forgets its row; `why` logged. */
  unwind?: (id: bigint, why: string) => Promise<void>;
  /** Counts claimed pay once its LeaseClaimed event is buried (a claim a reorganisation drops never counts). */
  metrics?: Pick<YardMetrics, "inc">;
  /** The yard's own transactions until buried, checked before each pass applies events (reorgs.ts). */
  reorgs?: Pick<Reorgs, "check">;
  /** Aborted when the yard stops. */
  signal: AbortSignal;
}

export class ChainWatch {
  readonly #c: ChainWatchComponents;
  #up = true;
  #retryAt = 0;
  #backoffMs = 500;
  #lastBlock = { hash: "", ts: 0, seenAt: 0 };
  #following = false;
  #buried: number | undefined;
  readonly #poll: Periodic;

  constructor(components: ChainWatchComponents) {
    this.#c = components;
    this.#poll = new Periodic(() => this.follow(), components.config.chain.pollMs);
  }

  /** Follows the chain every config.chain.pollMs. */
  start(): void {
    this.#poll.start();
  }

  stop(): void {
    this.#poll.stop();
  }

  /** Settles when the follower's pass in flight (if any) has finished its database writes. */
  idle(): Promise<void> {
    return this.#poll.idle();
  }

  /** Whether the chain RPC answered the last call. */
  get up(): boolean {
    return this.#up;
  }

  /** The chain is known down and its backoff has not ended: calls are not tried. */
  resting(): boolean {
    return !this.#up && Date.now() < this.#retryAt;
  }

  /**
   * The newest block buried under `chain.confirmations` as of the last pass (undefined with 0 confirmations, or
   * before the first pass: read the newest): what the yard may take for final, read as of this block.
   */
  buried(): number | undefined {
    return this.#c.config.chain.confirmations === 0 ? undefined : this.#buried;
  }

  /** Chain time estimate in seconds: the newest block's timestamp advanced by the wall clock. */
  now(): number {
    const wall = Date.now() / 1000;
    if (this.#lastBlock.seenAt === 0) return Math.floor(wall);
    return Math.floor(Math.max(wall, this.#lastBlock.ts + (wall - this.#lastBlock.seenAt)));
  }

  /** Runs a chain call unless the chain is known down (returns undefined then, or when it turns out down). */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.resting()) return undefined;
    try {
      const r = await fn();
      if (!this.#up) this.#c.log.info("chain reachable again", { after: what });
      this.#up = true;
      this.#backoffMs = 500;
      return r;
    } catch (e) {
      // Raw provider calls (blocks, logs) fail with the transport's error (ECONNREFUSED, …): classify them as
      // MarketClient classifies its own calls.
      if (isIconError(e instanceof IconError ? e : toChainError(e, what), TRANSIENT)) {
        this.markDown(e);
        return undefined;
      }
      throw e;
    }
  }

  /** Records that the chain could not be reached: calls rest until the (doubled) backoff ends. */
  markDown(e: unknown): void {
    if (this.#up) this.#c.log.warn("chain unreachable; enforcing known leases and retrying", { error: e });
    this.#up = false;
    this.#retryAt = Date.now() + this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, 8_000);
  }

  async refreshClock(): Promise<void> {
    const b = await this.call("reading the latest block", () => this.#c.chain.provider.getBlock("latest"));
    // Only a new block resets the time it was seen: read again while no block comes, the same block would hold
    // the clock at its timestamp (wherever the chain's clock runs ahead of this host's).
    if (b && b.hash !== this.#lastBlock.hash)
      this.#lastBlock = { hash: b.hash ?? "", ts: b.timestamp, seenAt: Date.now() / 1000 };
  }

  /** Registers (or updates) the yard's listing and tops up its stake to the configured amount. */
  async list(): Promise<void> {
    const { chain, config: c, log, prices } = this.#c;
    const st = await chain.providerStatus(this.#c.operator);
    const peer = peerIdBytes(this.#c.node.peerId).toLowerCase();
    const listing = {
      peerId: peer,
      multiaddrs: this.#c.node.getMultiaddrs().map(String).slice(0, 8),
      domain: c.listing.domain,
      region: c.listing.region,
      cpuMillis: c.capacity.cpuMillis,
      memoryMiB: c.capacity.memoryMiB,
      cpuPricePerSecond: prices.cpuPerCoreSecond,
      memoryPricePerSecond: prices.memoryPerGiBSecond,
    };
    const same =
      st.listing &&
      st.listing.peerId.toLowerCase() === peer &&
      st.listing.domain === listing.domain &&
      st.listing.region === listing.region &&
      st.listing.cpuMillis === listing.cpuMillis &&
      st.listing.memoryMiB === listing.memoryMiB &&
      st.listing.cpuPricePerSecond === listing.cpuPricePerSecond &&
      st.listing.memoryPricePerSecond === listing.memoryPricePerSecond &&
      st.listing.multiaddrs.join() === listing.multiaddrs.join();
    if (!same) {
      log.info("registering the listing", { domain: listing.domain, region: listing.region });
      await chain.register(listing);
    }
    const want = prices.stake;
    if (want !== undefined && st.total - st.unbonding < want) {
      const top = want - (st.total - st.unbonding);
      log.info("topping up stake", { amount: chain.format(top) });
      await chain.stake(top);
    }
    const after = await chain.providerStatus(this.#c.operator);
    if (!after.active)
      log.warn("the yard is listed but not staked at the minimum: tenants will ignore it", {
        staked: chain.format(after.total),
        minimum: chain.format(after.minStake),
        fix: "set listing.stake in the config or run `icon iep stake <amount>`",
      });
  }

  /** Follows the market's events up to head − confirmations, from the stored cursor. */
  async follow(): Promise<void> {
    const { chain, db, ledger, log, signal } = this.#c;
    if (this.#following || signal.aborted) return;
    this.#following = true;
    try {
      const head = await this.call("reading the block number", () => chain.provider.getBlockNumber());
      if (head === undefined) return;
      await this.refreshClock();
      const to = head - this.#c.config.chain.confirmations;
      this.#buried = Math.max(0, to);
      const from = Number(db.getMeta("cursor") ?? "0") + 1;
      const market = chain.market;
      // Window by window (logs.ts: halved when the RPC refuses a range); the cursor is stored after each.
      const read = addressLogs(chain.provider, chain.deployment.market);
      const range = { fromBlock: from, toBlock: to, window: chain.logWindow, signal };
      // Before the events: an opening the chain dropped is pending again before the window could name it.
      await this.#c.reorgs?.check(head);
      const followed = await this.call("reading market events", async () => {
        if (from > to) return to;
        return eachLogWindow(read, range, async (logs, upto) => {
          for (const entry of logs) {
            const ev = market.interface.parseLog(entry);
            if (!ev) continue;
            if (ev.name === "LeaseOpened" && String(ev.args[1]).toLowerCase() === this.#c.operator.toLowerCase()) {
              await this.#onOpened(BigInt(ev.args[0] as bigint), ev.args[7] as string);
            } else if (ev.name === "LeaseClaimed" && db.lease(BigInt(ev.args[0] as bigint))) {
              this.#c.metrics?.inc("icon_yard_earnings_claimed_units_total", {}, BigInt(ev.args[1] as bigint));
            } else if (ev.name === "LeaseTerminated" || ev.name === "LeaseCancelled") {
              const id = BigInt(ev.args[0] as bigint);
              const l = db.lease(id);
              // (Not a held row, whose opening vanished: the id may be another lease's now.)
              const held = l && db.pendingOpen(l.offerHash) !== undefined;
              if (l && !held && ACTIVE.includes(l.status) && l.stoppedAt === undefined) {
                const at = ev.name === "LeaseTerminated" ? Number(ev.args[1]) : this.now();
                db.update(id, {
                  stoppedAt: at,
                  note: ev.name === "LeaseTerminated" ? "terminated on chain" : "cancelled on chain",
                });
                ledger.endAt(`lease:${id}`, at);
                log.info("lease stopped on chain", { lease: id, event: ev.name });
              }
            }
          }
          db.setMeta("cursor", String(upto));
        });
      });
      if (followed === undefined) return;
      // Opening transactions that never made it: their offers have expired, so they never can. A lease recorded
      // for one (its opening reorganised away, reorgs.ts) is unwound: the chain holds nothing of it.
      for (const p of db.pendingOpens()) {
        if (Number(p.offer.deadline) + 60 < this.now()) {
          const row = db.leaseByOffer(p.offerHash);
          if (row && this.#c.unwind) {
            log.warn("a lease whose opening was reorganised away was not included again: unwinding it", {
              lease: row.id,
            });
            await this.#c.unwind(row.id, "its opening was reorganised away and its offer expired");
          }
          db.removePendingOpen(p.offerHash);
          ledger.release(`pending:${p.offerHash}`);
        }
      }
    } catch (e) {
      log.warn("following chain events failed; will retry", { error: e });
    } finally {
      this.#following = false;
    }
  }

  async #onOpened(id: bigint, offerHash: string): Promise<void> {
    const { db, ledger, log } = this.#c;
    const held = db.lease(id);
    const p = db.pendingOpen(offerHash);
    if (held?.offerHash === offerHash) {
      if (p) {
        log.info("a lease's opening was included again under its id", { lease: id });
        db.removePendingOpen(offerHash);
        ledger.release(`pending:${offerHash}`); // (restored for it by a restart meanwhile)
      }
      return;
    }
    if (!p) {
      if (!held)
        log.warn("a lease was opened with an offer this yard does not remember; it cannot be deployed", {
          lease: id,
        });
      return;
    }
    // The chain gives id `id` to this offer. A row of another offer under that id is one whose opening vanished
    // (reorgs.ts): the chain says that id is not its lease any more, so it is unwound here (its own pending
    // opening stays: if its opening comes back under yet another id, it is adopted afresh).
    if (held) {
      log.warn("a lease id this yard held for a vanished opening went to another opening", { lease: id });
      await this.#c.unwind?.(id, "its id went to another opening after a reorganisation");
      if (db.lease(id)) return; // could not unwind: asked again when the window is read again
    }
    const moved = db.leaseByOffer(offerHash);
    if (moved) {
      // The original opening included again under another id: the row (container, routes, flows) follows it.
      if (this.#c.rekey) await this.#c.rekey(moved.id, id, () => db.rekeyLease(moved.id, id));
      else db.rekeyLease(moved.id, id);
      this.#c.forget?.(moved.id);
      this.#c.forget?.(id);
      ledger.commit(`lease:${moved.id}`, `lease:${id}`);
      ledger.release(`pending:${offerHash}`);
      log.warn("a lease's opening was included again under another id: the lease follows it", {
        was: moved.id,
        now: id,
      });
      return;
    }
    this.#c.adopt(id, p.offer, offerHash, p.renews);
    log.info("adopted a lease whose opening was in flight", { lease: id });
  }
}
