/**
 * The children of an ICON in its overlay tree, as it knows them: who attached (with a proof checked on chain), what
 * each last reported, and which are live — heard from within the last three report periods; the silent are pruned.
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

const SILENT_PERIODS = 3;

export class TreeChildren {
  readonly #c: TreeChildrenComponents;
  readonly #children = new Map<bigint, ChildState>();

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
    const cutoff = Date.now() - SILENT_PERIODS * this.#c.reportEveryMs;
    return [...this.#children.values()].filter((c) => c.lastReportMs >= cutoff);
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
    }));
  }

  /** ICONs below me (live children and what they report below them). */
  descendants(): number {
    return this.live().reduce((n, c) => n + 1 + c.descendants, 0);
  }

  /** Drops the children silent for three report periods. */
  prune(): void {
    const cutoff = Date.now() - SILENT_PERIODS * this.#c.reportEveryMs;
    for (const c of [...this.#children.values()]) if (c.lastReportMs < cutoff) this.remove(c.account, "silent");
  }

  /** A child attached (its proof checked): kept with what it reported before, if it re-attached. */
  join(account: bigint, remote: PeerId, m: { addrs: string[]; endpoint: string; location: string }): void {
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
    });
    if (!prev || !prev.peer.equals(remote))
      this.#c.emit({ type: "child-joined", account, peerId: remote.toString(), addrs: [...m.addrs] });
  }

  /** The child that `proof` proves `remote` to be; TREE_NOT_ATTACHED unless it attached from that peer. */
  async attached(proof: TreeMemberProof, remote: PeerId): Promise<ChildState> {
    const a = await this.#c.membership.verify(proof, remote);
    const c = this.#children.get(a.id);
    if (!c || !c.peer.equals(remote))
      throw new TreeError(TreeErrorCode.TREE_NOT_ATTACHED, `account ${a.id} is not attached here: attach first`);
    return c;
  }

  remove(account: bigint, reason: "detached" | "silent" | "re-parented"): void {
    this.#children.delete(account);
    this.#c.emit({ type: "child-left", account, reason });
  }
}
