/**
 * The children of an ICON in its overlay tree, as it knows them: who attached (with a proof checked on chain), what
 * each last reported, and which are live — heard from within the last three report periods; the silent are pruned.
 *
 * Instance epochs (issue 16, migration moves the pair): an ICON handed into another sidecar runs there as the next
 * instance (state.ts AgentSeed.instance) with the same key and peer id, so only its epoch tells the two copies
 * apart. The registry keeps the highest epoch seen per account — also after the child is pruned, for up to
 * MAX_EPOCHS accounts — and refuses an attach or report from a lower one (TREE_STALE_EPOCH): an old instance that
 * somehow still speaks is never taken for the child.
 *
 * @example
 *   const children = new TreeChildren({ reportEveryMs: 5000, membership, emit });
 *   children.join(account, remotePeer, { addrs, endpoint, location });
 *   const c = await children.attached(proof, remotePeer);   // a report: TREE_NOT_ATTACHED unless it joined
 */
import type { PeerId } from "@libp2p/interface";
import {
  TreeError,
  TreeErrorCode,
  type TreeMemberProof,
  type TreeMembership,
  type TreeSubnet,
} from "../protocol/index.ts";
import { isLive } from "./tree-rules.ts";

/** A child as its parent knows it. */
export interface TreeChild {
  account: bigint;
  addrs: string[];
  endpoint?: string;
  location?: string;
  /** Its aggregate (own plus its subtree's), as last reported. */
  subnets: TreeSubnet[];
  lastReportMs: number;
  /** ICONs below it, as last reported. */
  descendants: number;
  peerId: string;
  /** The highest instance epoch it attached or reported with. */
  epoch: bigint;
}

export interface ChildState extends TreeChild {
  peer: PeerId;
}

/** What the children tell the agent's timeline. */
export type ChildEvent =
  | { type: "child-joined"; account: bigint; peerId: string; addrs: string[] }
  | { type: "child-left"; account: bigint; reason: "detached" | "silent" | "re-parented" };

/** What the registry of children uses. */
export interface TreeChildrenComponents {
  /** The children's report period: three of them silent and a child is gone. */
  reportEveryMs: number;
  /** Checks a child's membership proof against the peer that sent it. */
  membership: Pick<TreeMembership, "verify">;
  emit(e: ChildEvent): void;
}

/** Accounts whose highest epoch is remembered (attaches come only from on-chain descendants, checked first). */
export const MAX_EPOCHS = 4096;

export class TreeChildren {
  readonly #c: TreeChildrenComponents;
  readonly #children = new Map<bigint, ChildState>();
  /** Account → the highest instance epoch seen (kept beyond the child's pruning, bounded: oldest out). */
  readonly #epochs = new Map<bigint, bigint>();

  constructor(components: TreeChildrenComponents) {
    this.#c = components;
  }

  /** Every child known, live or not yet pruned. */
  all(): ChildState[] {
    return [...this.#children.values()];
  }

  get(account: bigint): ChildState | undefined {
    return this.#children.get(account);
  }

  /** The children heard from within the last three report periods. */
  live(): ChildState[] {
    const now = Date.now();
    return [...this.#children.values()].filter((c) => isLive(c.lastReportMs, now, this.#c.reportEveryMs));
  }

  /** The live children, as copies. */
  views(): TreeChild[] {
    return this.live().map((c) => ({
      account: c.account,
      addrs: [...c.addrs],
      endpoint: c.endpoint,
      location: c.location,
      subnets: c.subnets.map((s) => ({ ...s })),
      lastReportMs: c.lastReportMs,
      descendants: c.descendants,
      peerId: c.peerId,
      epoch: c.epoch,
    }));
  }

  /** ICONs below me (live children and what they report below them). */
  descendants(): number {
    return this.live().reduce((n, c) => n + 1 + c.descendants, 0);
  }

  /** Drops the children silent for three report periods. */
  prune(): void {
    const now = Date.now();
    for (const c of [...this.#children.values()])
      if (!isLive(c.lastReportMs, now, this.#c.reportEveryMs)) this.remove(c.account, "silent");
  }

  /**
   * Refuses (TREE_STALE_EPOCH) `epoch` when an attach or report of `account` came with a higher one before;
   * otherwise remembers it as the highest.
   */
  checkEpoch(account: bigint, epoch: bigint): void {
    const seen = this.#epochs.get(account);
    if (seen !== undefined && epoch < seen)
      throw new TreeError(
        TreeErrorCode.TREE_STALE_EPOCH,
        `account ${account} speaks here as instance ${seen} already; instance ${epoch} was handed over and must not act`,
      );
    if (seen === epoch) return;
    this.#epochs.delete(account);
    this.#epochs.set(account, epoch);
    if (this.#epochs.size > MAX_EPOCHS) this.#epochs.delete(this.#epochs.keys().next().value!);
  }

  /**
   * A child attached (its proof checked): kept with what it reported before, if it re-attached. Refused
   * (TREE_STALE_EPOCH, nothing changed) from a lower instance epoch than seen before.
   */
  join(
    account: bigint,
    remote: PeerId,
    m: { addrs: string[]; endpoint: string; location: string; epoch: bigint },
  ): void {
    this.checkEpoch(account, m.epoch);
    const prev = this.#children.get(account);
    this.#children.set(account, {
      account,
      addrs: m.addrs,
      endpoint: m.endpoint || undefined,
      location: m.location || undefined,
      subnets: prev?.subnets ?? [],
      descendants: prev?.descendants ?? 0,
      lastReportMs: Date.now(),
      peerId: remote.toString(),
      peer: remote,
      epoch: m.epoch,
    });
    if (!prev || !prev.peer.equals(remote) || prev.epoch !== m.epoch)
      this.#c.emit({ type: "child-joined", account, peerId: remote.toString(), addrs: [...m.addrs] });
  }

  /**
   * The child that `proof` proves `remote` to be; TREE_NOT_ATTACHED unless it attached from that peer,
   * TREE_STALE_EPOCH when `epoch` (a report's) is below the highest seen for it.
   */
  async attached(proof: TreeMemberProof, remote: PeerId, epoch?: bigint): Promise<ChildState> {
    const a = await this.#c.membership.verify(proof, remote);
    if (epoch !== undefined) this.checkEpoch(a.id, epoch);
    const c = this.#children.get(a.id);
    if (!c || !c.peer.equals(remote))
      throw new TreeError(TreeErrorCode.TREE_NOT_ATTACHED, `account ${a.id} is not attached here: attach first`);
    // A higher epoch than it attached with: the new instance (same key, same peer id) reporting over the
    // registration its predecessor made.
    if (epoch !== undefined && epoch > c.epoch) c.epoch = epoch;
    return c;
  }

  remove(account: bigint, reason: "detached" | "silent" | "re-parented"): void {
    this.#children.delete(account);
    this.#c.emit({ type: "child-left", account, reason });
  }
}
