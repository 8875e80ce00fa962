/**
 * An ICON's place in its application's overlay tree (paper §3.1, §4.2 "Termination", §4.3), over
 * `/icon/tree/1.0.0` (protocol/overlay/tree.ts). Every ICON serves the protocol (this class answers; the frames
 * and the handler, a service of the agent's node gated on its readiness, are tree-service.ts); a non-origin ICON
 * also attaches to its parent and reports up every `reportEveryMs`.
 *
 *  - Attach: the parent accepts only a descendant of its own budget account on chain, and answers with itself,
 *    the origin, its ancestors (so an orphan knows where to go) and the owner's policy. The child checks the
 *    parent's own membership proof, so a forged ancestors list cannot redirect it.
 *  - Reports: each ICON sends its aggregate — its own observations plus its live children's — so the origin
 *    sees the whole tree: rates summed per subnet, latency as the rate-weighted mean. Children silent for three
 *    report periods are dropped; after `missedReportsBeforeReattach` failed reports in a row a child re-attaches
 *    to the next ancestor (grandparent, …, origin).
 *  - Policy and the app's total rate: the origin reads one on chain and sums the other every period; acks carry both.
 *  - Foundering (tree-funding.ts): a child asks for `amount`; the parent allocates on chain from its spendable
 *    balance, then from its other children's surplus, asking its own parent for the rest; the origin asks the owner
 *    on chain. Funds move only along on-chain parent links, so an ICON adopted by an ancestor other than its
 *    account's parent asks the owner on chain itself.
 *  - Children (tree-children.ts): who attached, what each reported, which are live. Leaving: `leave()` tells the
 *    children to re-parent to my parent, then detaches from my parent.
 *
 * @example
 *   const t = new TreeMember({ node, signer: iconKey, account, client, parent, reportEveryMs: 5000,
 *     local: () => observer.subnets(), whereAmI: () => ({ endpoint, location }), onEvent: timeline.push });
 *   await t.start(); const granted = await t.requestFunding(client.parse("5"));
 */
import type { PeerId } from "@libp2p/interface";
import {
  ConfigError,
  TreeError,
  TreeErrorCode,
  TreeMembership,
  addrsPeer,
  dialableAddrs,
  foldSubnets,
  isValidTreeSubnet,
  mergeSubnets,
  signTreeMember,
  treeLimits,
  treeRequest,
  type BudgetAccount,
  type TreeMemberProof,
  type TreeMessage,
  type TreeNodeRef,
  type TreePlace,
  type TreePolicy,
  type TreeSubnet,
} from "../protocol/index.ts";
import { TreeChildren, type TreeChild } from "./tree-children.ts";
import { TreeFunding, describeError } from "./tree-funding.ts";
import { ownTreeServing, type TreeServing } from "./tree-service.ts";
import { successorOf } from "./loss.ts";
import { MISSED_REPORTS_BEFORE_REATTACH, reattachCandidates, reparentCandidates } from "./tree-rules.ts";
import type { TreeEvent } from "./tree-events.ts";
import type { TreeMemberOptions } from "./tree-options.ts";

export type { TreeNodeRef, TreePolicy, TreeSubnet };
export type { TreeEvent, TreeMemberOptions };
export { treeServing } from "./tree-service.ts";

const TEXT_OK = /^[^\p{Cc}]*$/u;

function text(s: string | undefined): string {
  return s !== undefined && Buffer.byteLength(s) <= treeLimits.maxStringBytes && TEXT_OK.test(s) ? s : "";
}

/** One ICON's membership in its application's overlay tree. */
export class TreeMember {
  readonly #o: TreeMemberOptions;
  readonly #membership: TreeMembership;
  readonly #missLimit: number;
  readonly #children: TreeChildren;
  readonly #funding: TreeFunding;
  /** The protocol's served side (tree-service.ts): opened at start, closed at stop. */
  readonly #serving: TreeServing;
  #me: BudgetAccount | undefined;
  #parent: TreeNodeRef | undefined;
  #parentPeer: PeerId | undefined;
  #ancestors: TreeNodeRef[] = [];
  #parentPlace: TreePlace | undefined;
  #origin: TreeNodeRef | undefined;
  #policy: TreePolicy | undefined;
  #successor: TreeNodeRef | undefined;
  #appRate: number | undefined;
  /** This ICON took the origin's role (re-founded the tree). */
  #rooted = false;
  #proofCache: TreeMemberProof | undefined;
  #misses = 0;
  #running = false;
  #left = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #tickRun: Promise<void> = Promise.resolve();
  #moving: Promise<boolean> | undefined;
  #background = new Set<Promise<unknown>>();

  constructor(o: TreeMemberOptions) {
    if (!(o.reportEveryMs > 0)) throw new ConfigError("BAD_TREE_OPTIONS", "reportEveryMs must be positive");
    if (o.proofValidityS !== undefined && (o.proofValidityS < 60 || o.proofValidityS > treeLimits.maxProofSeconds))
      throw new ConfigError("BAD_TREE_OPTIONS", `proofValidityS must be 60..${treeLimits.maxProofSeconds}`);
    this.#o = o;
    this.#serving = o.serving ?? ownTreeServing(o.node);
    this.#membership = new TreeMembership(o.client, { ttlMs: o.cacheTtlMs });
    this.#missLimit = Math.max(1, o.missedReportsBeforeReattach ?? MISSED_REPORTS_BEFORE_REATTACH);
    const emit = (e: TreeEvent) => this.#emit(e);
    this.#children = new TreeChildren({ reportEveryMs: o.reportEveryMs, membership: this.#membership, emit });
    this.#funding = new TreeFunding({
      node: o.node,
      client: o.client,
      account: o.account,
      fundingReserve: o.fundingReserve,
      childKeeps: o.childKeeps,
      fundingTimeoutMs: o.fundingTimeoutMs,
      isOrigin: () => this.isOrigin,
      parent: () => this.#parent,
      parentPeer: () => this.#parentPeer,
      proof: () => this.#proof(),
      attachTo: (t) => this.#attachTo(t),
      emit,
    });
  }

  /**
   * Serves the protocol from now on (tree-service.ts: the gate opens), attaches to the parent (if any) and starts
   * reporting. Throws if it cannot attach, serving no more.
   */
  async start(): Promise<void> {
    const me = await this.#o.client.account(this.#o.account);
    const address = await this.#o.signer.getAddress();
    if (me.controller.toLowerCase() !== address.toLowerCase())
      throw new ConfigError(
        "NOT_CONTROLLER",
        `the ICON key ${address} does not control budget account ${this.#o.account} (its controller is ${me.controller})`,
      );
    this.#me = me;
    this.#origin = this.#o.parent ? { account: me.root, addrs: [] } : this.#self();
    await this.#serving.open((m, remote) => this.#answer(m, remote));
    this.#running = true;
    try {
      if (this.#o.parent) {
        const candidates = [this.#o.parent, ...(this.#o.ancestors ?? [])];
        let last: unknown;
        let attached = false;
        for (const c of candidates) {
          try {
            await this.#attachTo(c);
            attached = true;
            break;
          } catch (e) {
            last = e;
          }
        }
        if (!attached) throw last;
        this.#emit({ type: "attached", parent: this.#parent!, origin: this.#origin });
      } else {
        await this.#refreshPolicy();
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.#schedule();
  }

  /** Stops reporting and serving; tells nobody (a crash looks the same to the others). */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#tickRun;
    await Promise.allSettled([...this.#background]);
    await this.#serving.close();
  }

  get parent(): TreeNodeRef | undefined {
    return this.#parent;
  }

  get origin(): TreeNodeRef {
    return this.#origin ?? this.#self();
  }

  /** My ancestors, parent first, up to the origin (what a restarted ICON may pass as `ancestors`). */
  get ancestors(): TreeNodeRef[] {
    return [...this.#ancestors];
  }

  get isOrigin(): boolean {
    return this.#o.parent === undefined || this.#rooted;
  }

  /** Who takes the origin's role when it is lost: named by the origin (its oldest live child), passed down. */
  get successor(): TreeNodeRef | undefined {
    if (!this.isOrigin) return this.#successor;
    const account = successorOf(this.#children.live());
    const c = account === undefined ? undefined : this.#children.get(account);
    return c && { account: c.account, addrs: [...c.addrs] };
  }

  /** The children heard from within the last three report periods. */
  children(): TreeChild[] {
    return this.#children.views();
  }

  /** local() plus the live children's reports: rates and counts summed per subnet, latency rate-weighted. */
  aggregate(): TreeSubnet[] {
    const own = this.#o.local().filter(isValidTreeSubnet);
    return mergeSubnets([own, ...this.#children.live().map((c) => c.subnets)]);
  }

  /** ICONs below me (live children and what they report below them). */
  descendants(): number {
    return this.#children.descendants();
  }

  /** The application's total rate (req/s): the origin's aggregate, elsewhere as the parent's last ack passed it. */
  appRate(): number | undefined {
    return this.isOrigin ? this.aggregate().reduce((a, s) => a + s.rate, 0) : this.#appRate;
  }

  /** The owner's policy: at the origin read from chain, elsewhere as the parent last acknowledged it. */
  policy(): TreePolicy | undefined {
    return this.#policy && { ...this.#policy };
  }

  /**
   * Foundering: asks the parent for `amount` (moved on chain to my account); returns what was granted (0 or
   * `amount`). The origin, and an ICON whose overlay parent is not its account's parent, ask the owner on chain
   * instead and get 0 now. `timeoutMs` bounds the wait for the parent's answer (below the default minute).
   */
  async requestFunding(amount: bigint, o: { timeoutMs?: number } = {}): Promise<bigint> {
    if (amount <= 0n) throw new ConfigError("BAD_AMOUNT", "a funding request needs a positive amount");
    if (!this.#acting()) throw new TreeError(TreeErrorCode.TREE_LEAVING, "this instance handed the ICON over");
    const { granted, note } = await this.#funding.ask(amount, o.timeoutMs);
    this.#emit({ type: "funding-requested", amount, granted, note });
    return granted;
  }

  /** Terminating: my children re-parent to my parent, then I detach from it. Stops reporting. */
  async leave(): Promise<void> {
    if (this.isOrigin) throw new ConfigError("ORIGIN_STAYS", "the origin does not leave its tree");
    this.#left = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#tickRun;
    const proof = await this.#proof();
    const newParent = this.#parent;
    const children = this.#children.all();
    await Promise.allSettled(
      children.map(async (c) => {
        await treeRequest(
          this.#o.node,
          dialableAddrs(c.addrs, c.peer),
          { type: "detach", proof, newParent },
          AbortSignal.timeout(this.#requestMs()),
        );
      }),
    );
    for (const c of children) this.#children.remove(c.account, "re-parented");
    if (newParent)
      await treeRequest(
        this.#o.node,
        dialableAddrs(newParent.addrs, this.#parentPeer),
        { type: "detach", proof },
        AbortSignal.timeout(this.#requestMs()),
      ).catch(() => {
        // An unreachable parent drops me after three silent periods anyway.
      });
    this.#parent = undefined;
    this.#emit({ type: "left", newParent: newParent?.account });
  }

  // ---------------------------------------------------------------------------------------------- periodic

  #schedule(): void {
    if (!this.#running || this.#left) return;
    this.#timer = setTimeout(() => {
      this.#tickRun = this.#tick()
        .catch(() => {
          // Failures are reported as events where they happen; the next period tries again.
        })
        .finally(() => this.#schedule());
    }, this.#o.reportEveryMs);
  }

  async #tick(): Promise<void> {
    this.#children.prune();
    if (!this.#acting()) return;
    if (this.isOrigin) {
      await this.#refreshPolicy().catch(() => {
        // The chain is unreachable for now: keep the policy we have, try again next period.
      });
      return;
    }
    if (!this.#parent) {
      await this.#move(this.#candidates(), "no parent");
      return;
    }
    await this.#report(this.#parent);
  }

  async #report(parent: TreeNodeRef): Promise<void> {
    // Built before sending: a failing local() or signer is this ICON's problem, not a sign the parent is gone.
    const where = this.#o.whereAmI();
    const report: TreeMessage = {
      type: "report",
      proof: await this.#proof(),
      subnets: foldSubnets(this.aggregate()),
      endpoint: text(where.endpoint),
      location: text(where.location),
      descendants: this.descendants(),
      epoch: this.#epoch(),
    };
    try {
      const { reply } = await treeRequest(
        this.#o.node,
        dialableAddrs(parent.addrs, this.#parentPeer),
        report,
        AbortSignal.timeout(this.#requestMs()),
      );
      if (reply.type !== "reportAck")
        throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, `expected reportAck, got ${reply.type}`);
      if (this.#parent !== parent) return; // moved meanwhile
      this.#misses = 0;
      this.#setPolicy(reply.policy);
      if (reply.place) this.#parentPlace = reply.place;
      this.#successor = reply.successor;
      this.#appRate = reply.appRate;
      if (reply.ancestors.length > 0 && reply.ancestors[0]!.account === parent.account) {
        this.#ancestors = reply.ancestors;
        this.#origin = reply.ancestors[reply.ancestors.length - 1]!;
      }
    } catch (e) {
      if (this.#parent !== parent || !this.#running || this.#left) return;
      if (e instanceof TreeError && e.treeCode === TreeErrorCode.TREE_NOT_ATTACHED) {
        // The parent restarted and forgot me: attach again.
        if (await this.#move([parent], "the parent no longer knew me")) return;
      }
      this.#misses =
        e instanceof TreeError && e.treeCode === TreeErrorCode.TREE_LEAVING ? this.#missLimit : this.#misses + 1;
      this.#emit({ type: "report-failed", parent: parent.account, misses: this.#misses, error: describeError(e) });
      if (this.#misses >= this.#missLimit && !(await this.#refound(parent)))
        await this.#move(this.#candidates(), `no report reached account ${parent.account} ${this.#misses} times`);
    }
  }

  /** Where to go when the parent is lost (tree-rules.ts reattachCandidates). */
  #candidates(): TreeNodeRef[] {
    return reattachCandidates({
      self: this.#o.account,
      ancestors: this.#ancestors,
      parent: this.#o.parent,
      extra: this.#o.ancestors ?? [],
      successor: this.#successor,
    });
  }

  /** Attaches to the first of `candidates` that accepts me; one move at a time. */
  async #move(candidates: TreeNodeRef[], reason: string, from = this.#parent?.account): Promise<boolean> {
    if (this.#moving) return this.#moving;
    this.#moving = (async () => {
      const errors: string[] = [];
      for (const c of candidates) {
        if (!this.#running || this.#left || !this.#acting()) return false;
        try {
          await this.#attachTo(c);
          this.#emit({ type: "reattached", from, parent: this.#parent!, reason });
          return true;
        } catch (e) {
          errors.push(`account ${c.account}: ${describeError(e)}`);
        }
      }
      this.#emit({ type: "reattach-failed", tried: candidates.map((c) => c.account), error: errors.join("; ") });
      return false;
    })().finally(() => (this.#moving = undefined));
    return this.#moving;
  }

  /** Attaches to `target`, checking that it proves to be that account and an ancestor of mine. */
  async #attachTo(target: TreeNodeRef): Promise<void> {
    const where = this.#o.whereAmI();
    const { reply, remote } = await treeRequest(
      this.#o.node,
      dialableAddrs(target.addrs),
      {
        type: "attach",
        proof: await this.#proof(),
        addrs: this.#addrs(),
        endpoint: text(where.endpoint),
        location: text(where.location),
        epoch: this.#epoch(),
      },
      AbortSignal.timeout(this.#requestMs()),
    );
    if (reply.type !== "attached")
      throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, `expected attached, got ${reply.type}`);
    const theirs = await this.#membership.verify(reply.proof, remote);
    if (theirs.id !== target.account || reply.parent.account !== target.account)
      throw new TreeError(
        TreeErrorCode.TREE_BAD_PROOF,
        `the peer at ${target.addrs[0] ?? "?"} proved account ${theirs.id}, not ${target.account}`,
      );
    // An ancestor on chain, or the successor the tree named, of my application, which took the origin's role.
    const successor =
      target.account === this.#successor?.account &&
      (await this.#membership.account(target.account)).root === this.#me!.root;
    if (!successor && !(await this.#membership.descends(this.#o.account, target.account)))
      throw new TreeError(
        TreeErrorCode.TREE_NOT_DESCENDANT,
        `account ${target.account} is not an ancestor of account ${this.#o.account}`,
      );
    this.#parent = {
      account: target.account,
      addrs: reply.parent.addrs.length > 0 ? reply.parent.addrs : target.addrs,
    };
    this.#parentPeer = remote;
    this.#ancestors = reply.ancestors;
    this.#origin = reply.origin;
    this.#misses = 0;
    this.#parentPlace = reply.place;
    this.#successor = reply.successor;
    this.#setPolicy(reply.policy);
  }

  /** The origin is lost and I am its successor (mayRefound): I become the root, my foundering goes on chain. */
  async #refound(parent: TreeNodeRef): Promise<boolean> {
    const origin = this.#origin;
    if (this.#successor?.account !== this.#o.account || origin?.account !== parent.account) return false;
    const why = await this.#o.mayRefound?.(origin, this.#parentPlace).catch(() => undefined);
    if (!why || this.#parent !== parent || !this.#running || this.#left) return false;
    [this.#rooted, this.#parent, this.#parentPeer, this.#parentPlace] = [true, undefined, undefined, undefined];
    [this.#ancestors, this.#origin, this.#successor] = [[], this.#self(), undefined];
    await this.#refreshPolicy().catch(() => {}); // read again next period
    this.#emit({ type: "refounded", from: parent.account, why });
    return true;
  }

  /** Where my parent serves, as its last ack said (it may have migrated since I was made). */
  get parentPlace(): TreePlace | undefined {
    return this.#parentPlace;
  }

  #place(): TreePlace | undefined {
    const w = this.#o.whereAmI();
    if (!w.endpoint && !w.location) return undefined;
    return { endpoint: text(w.endpoint), location: text(w.location), instanceId: w.leaseId ?? 0n };
  }

  async #refreshPolicy(): Promise<void> {
    const app = await this.#o.client.app(this.#me!.root);
    this.#setPolicy({ ...app.policy, version: app.version });
  }

  #setPolicy(p: TreePolicy | undefined): void {
    // Versions only grow on chain; an older one comes from a parent that has not heard of the new one yet.
    if (!p || (this.#policy && p.version <= this.#policy.version)) return;
    this.#policy = p;
    this.#emit({ type: "policy", policy: { ...p } });
  }

  // ---------------------------------------------------------------------------------------------- serving

  async #answer(m: TreeMessage, remote: PeerId): Promise<TreeMessage> {
    switch (m.type) {
      case "attach": {
        if (this.#left) throw new TreeError(TreeErrorCode.TREE_LEAVING, "this ICON is leaving the tree");
        const a = await this.#membership.verify(m.proof, remote);
        if (m.addrs.some((x) => (addrsPeer([x]) ?? remote.toString()) !== remote.toString()))
          throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, "addrs name another peer than the sender");
        // The tree's root accepts every ICON of its application (a re-founded root's siblings are not below it).
        const top = this.isOrigin ? this.#me!.root : this.#o.account;
        if (a.id === this.#o.account || !(await this.#membership.descends(a.id, top)))
          throw new TreeError(
            TreeErrorCode.TREE_NOT_DESCENDANT,
            `account ${a.id} does not descend from account ${top} on chain`,
          );
        this.#children.join(a.id, remote, m);
        const self = this.#self();
        return {
          type: "attached",
          parent: self,
          origin: this.origin,
          ancestors: [self, ...this.#ancestors],
          policy: this.#policy,
          proof: await this.#proof(),
          place: this.#place(),
          successor: this.successor,
        };
      }
      case "report": {
        if (this.#left) throw new TreeError(TreeErrorCode.TREE_LEAVING, "this ICON is leaving the tree");
        const c = await this.#children.attached(m.proof, remote, m.epoch);
        c.subnets = m.subnets;
        c.endpoint = m.endpoint || undefined;
        c.location = m.location || undefined;
        c.descendants = m.descendants;
        c.lastReportMs = Date.now();
        return {
          type: "reportAck",
          policy: this.#policy,
          ancestors: [this.#self(), ...this.#ancestors],
          place: this.#place(),
          successor: this.successor,
          appRate: this.appRate(),
        };
      }
      case "funding":
        // In flight until answered (a fence waits); no money into a leaving ICON's account, none from a fenced one.
        return this.#track(async () => {
          if (this.#left || !this.#acting())
            throw new TreeError(TreeErrorCode.TREE_LEAVING, "this ICON is leaving the tree (or was handed over)");
          const child = await this.#membership.account((await this.#children.attached(m.proof, remote)).account);
          return { type: "fundingReply" as const, ...(await this.#funding.fund(child, m.amount)) };
        });
      case "detach": {
        const a = await this.#membership.verify(m.proof, remote);
        const c = this.#children.get(a.id);
        if (c && c.peer.equals(remote)) {
          this.#children.remove(a.id, "detached");
          return { type: "detached" };
        }
        if (this.#parent && a.id === this.#parent.account && this.#parentPeer?.equals(remote)) {
          this.#reparent(m.newParent);
          return { type: "detached" };
        }
        throw new TreeError(TreeErrorCode.TREE_NOT_ATTACHED, `account ${a.id} is neither my parent nor my child`);
      }
      default:
        throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, `${m.type} is not a request`);
    }
  }

  /** My parent leaves: go to the parent it names (its own parent), else up my ancestors. */
  #reparent(newParent: TreeNodeRef | undefined): void {
    const old = this.#parent;
    const candidates = reparentCandidates(this.#ancestors, newParent);
    this.#parent = undefined;
    this.#parentPeer = undefined;
    const p = this.#move(candidates, `account ${old?.account} left the tree`, old?.account);
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  // ---------------------------------------------------------------------------------------------- helpers

  #self(): TreeNodeRef {
    return { account: this.#o.account, addrs: this.#addrs() };
  }

  #addrs(): string[] {
    return this.#o.node
      .getMultiaddrs()
      .map(String)
      .filter((a) => Buffer.byteLength(a) <= treeLimits.maxAddrBytes)
      .slice(0, treeLimits.maxAddrs);
  }

  async #proof(): Promise<TreeMemberProof> {
    const validity = this.#o.proofValidityS ?? 900;
    const nowS = BigInt(Math.floor(Date.now() / 1000));
    if (!this.#proofCache || this.#proofCache.expires - nowS < BigInt(Math.floor(validity / 3)))
      this.#proofCache = await signTreeMember(
        this.#o.signer,
        this.#membership.domain,
        this.#o.account,
        this.#o.node.peerId,
        validity,
      );
    return this.#proofCache;
  }

  #epoch = (): bigint => BigInt(this.#o.epoch?.() ?? 0);
  #acting = (): boolean => this.#o.acting?.() ?? true;
  #track = <T>(act: () => Promise<T>): Promise<T> => this.#o.track?.(act) ?? act();

  /** Timeout of a report or attach: two periods, 1–10 s. */
  #requestMs(): number {
    return Math.min(10_000, Math.max(1_000, 2 * this.#o.reportEveryMs));
  }

  #emit(e: TreeEvent): void {
    try {
      this.#o.onEvent?.(e);
    } catch {
      // A timeline that throws must not break the tree.
    }
  }
}
