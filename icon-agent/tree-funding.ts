/**
 * Foundering in the overlay tree (paper §4.2): an ICON short of money asks its parent, who allocates on chain from
 * its spendable balance (balance minus `fundingReserve`); when it lacks, it counts what its other children hold
 * beyond what each must keep (`childKeeps`) and asks its own parent for the rest, and only once that is granted
 * does it take the surplus back (returnToParent) and allocate, so a denied request moves nothing. The origin that
 * lacks asks the owner on chain (`requestFunding`) and answers 0. Requests are served one at a time.
 *
 * @example
 *   const funding = new TreeFunding({ node, client, account, isOrigin, parent, parentPeer, proof, attachTo, emit });
 *   const { granted } = await funding.ask(client.parse("5"));
 */
import type { Libp2p, PeerId } from "@libp2p/interface";
import {
  IconError,
  TreeError,
  TreeErrorCode,
  dialableAddrs,
  treeRequest,
  type BudgetAccount,
  type MarketClient,
  type TreeMemberProof,
  type TreeMessage,
  type TreeNodeRef,
} from "../protocol/index.ts";
import { live } from "./leases.ts";
import { asksTooMuch } from "./tree-rules.ts";

/** What foundering tells the agent's timeline. */
export type FundingEvent =
  /** I asked my parent for `amount` and got `granted`. */
  | { type: "funding-requested"; amount: bigint; granted: bigint; note: string }
  /** I allocated `amount` on chain to my child `child`. */
  | { type: "funding-granted"; child: bigint; amount: bigint; txHash: string }
  /** I answered my child's request with 0. */
  | { type: "funding-denied"; child: bigint; amount: bigint; note: string }
  /** I took `amount` back from my child `from` (returnToParent) to fund another child. */
  | { type: "funding-reclaimed"; from: bigint; amount: bigint; txHash: string }
  /** I asked the owner on chain (FundingRequested) for `amount` to `account`. */
  | { type: "funding-escalated"; account: bigint; amount: bigint; txHash: string };

/** What foundering uses of the tree member (see TreeMemberOptions for the options it shares). */
export interface TreeFundingComponents {
  node: Libp2p;
  /** Reads the chain and sends this ICON's transactions (allocate, returnToParent, requestFunding). */
  client: MarketClient;
  account: bigint;
  fundingReserve?: bigint | (() => bigint | Promise<bigint>);
  childKeeps?: (child: BudgetAccount) => Promise<bigint | undefined>;
  fundingTimeoutMs?: number;
  isOrigin(): boolean;
  /** My parent in the tree now, and the peer that proved to be it. */
  parent(): TreeNodeRef | undefined;
  parentPeer(): PeerId | undefined;
  proof(): Promise<TreeMemberProof>;
  /** Attaches again to a parent that forgot me. */
  attachTo(target: TreeNodeRef): Promise<void>;
  emit(e: FundingEvent): void;
}

/** An error as one line: its code first when it is one of ours. */
export function describeError(e: unknown): string {
  if (e instanceof IconError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export class TreeFunding {
  readonly #c: TreeFundingComponents;
  #fundingQueue: Promise<unknown> = Promise.resolve();

  constructor(components: TreeFundingComponents) {
    this.#c = components;
  }

  /**
   * Asks my parent for `amount` (waiting at most `timeoutMs`, and never over `fundingTimeoutMs`); the origin (or an
   * adopted ICON) asks the owner on chain.
   */
  async ask(amount: bigint, timeoutMs = Infinity): Promise<{ granted: bigint; note: string }> {
    const parent = this.#c.parent();
    if (this.#c.isOrigin() || !parent) {
      if (!this.#c.isOrigin())
        throw new TreeError(TreeErrorCode.TREE_NOT_ATTACHED, "this ICON has no parent right now");
      return this.#askOwner(amount, `the origin (account ${this.#c.account})`);
    }
    const proof = await this.#c.proof();
    const send = () =>
      treeRequest(
        this.#c.node,
        dialableAddrs(parent.addrs, this.#c.parentPeer()),
        { type: "funding", proof, amount },
        AbortSignal.timeout(Math.max(1, Math.floor(Math.min(timeoutMs, this.#c.fundingTimeoutMs ?? 60_000)))),
      );
    let r: TreeMessage;
    try {
      r = (await send()).reply;
    } catch (e) {
      if (e instanceof TreeError && e.treeCode === TreeErrorCode.TREE_NOT_ATTACHED) {
        await this.#c.attachTo(parent);
        r = (await send()).reply;
      } else if (e instanceof TreeError && e.treeCode === TreeErrorCode.TREE_NOT_CHILD) {
        return this.#askOwner(amount, `account ${this.#c.account} (adopted by account ${parent.account})`);
      } else throw e;
    }
    if (r.type !== "fundingReply")
      throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, `expected fundingReply, got ${r.type}`);
    if (r.granted !== 0n && r.granted !== amount)
      throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, `the parent claims to have granted ${r.granted} of ${amount}`);
    return { granted: r.granted, note: r.note };
  }

  async #askOwner(amount: bigint, who: string): Promise<{ granted: bigint; note: string }> {
    const receipt = await this.#c.client.requestFunding(this.#c.account, amount);
    this.#c.emit({ type: "funding-escalated", account: this.#c.account, amount, txHash: receipt.hash });
    return {
      granted: 0n,
      note: `${who} lacks ${this.#c.client.format(amount)}; the owner was asked on chain (FundingRequested in ${receipt.hash})`,
    };
  }

  /** What each of my open children other than `except` holds beyond what it keeps (`childKeeps`), largest first. */
  async #surpluses(except: bigint): Promise<Array<{ id: bigint; surplus: bigint }>> {
    const client = this.#c.client;
    const me = await client.account(this.#c.account);
    const offers: Array<{ id: bigint; surplus: bigint }> = [];
    for (const a of await client.appAccounts(me.root)) {
      if (a.parent !== me.id || a.closed || a.id === except || a.balance === 0n) continue;
      const keep = await this.#c.childKeeps!(a).catch(() => undefined);
      if (keep !== undefined && a.balance > keep) offers.push({ id: a.id, surplus: a.balance - keep });
    }
    return offers.sort((x, y) => (y.surplus > x.surplus ? 1 : y.surplus < x.surplus ? -1 : 0));
  }

  /**
   * Takes up to `need` back from `offers` (returnToParent), in their order. A child that spent meanwhile (the
   * return reverts) is passed over. Returns what came back.
   */
  async #reclaim(offers: Array<{ id: bigint; surplus: bigint }>, need: bigint): Promise<bigint> {
    const client = this.#c.client;
    let got = 0n;
    for (const o of offers) {
      if (got >= need) break;
      const take = o.surplus < need - got ? o.surplus : need - got;
      try {
        const receipt = await client.returnToParent(o.id, take);
        got += take;
        this.#c.emit({ type: "funding-reclaimed", from: o.id, amount: take, txHash: receipt.hash });
      } catch {
        // it spent meanwhile: the next child, or my parent, makes up for it
      }
    }
    return got;
  }

  /** A child's request: allocate from my spendable balance and my other children's surplus, asking up for the rest. */
  fund(child: BudgetAccount, amount: bigint): Promise<{ granted: bigint; note: string }> {
    const run = this.#fundingQueue.then(async () => {
      const me = this.#c.account;
      if (child.parent !== me)
        throw new TreeError(
          TreeErrorCode.TREE_NOT_CHILD,
          `account ${child.id}'s parent on chain is ${child.parent}, not ${me}: funds move only along the budget tree`,
        );
      const r = this.#c.fundingReserve ?? 0n;
      const reserve = typeof r === "bigint" ? r : await r();
      const spendable = async () => {
        const b = (await this.#c.client.account(me)).balance;
        return b > reserve ? b - reserve : 0n;
      };
      const deny = (note: string) => {
        this.#c.emit({ type: "funding-denied", child: child.id, amount, note });
        return { granted: 0n, note };
      };
      // A child that runs asks for its next slot or so: more than twice what it keeps (its next slot, and the fees
      // of its own next intents in an agent) is refused outright.
      const keeps = this.#c.childKeeps ? await this.#c.childKeeps(child).catch(() => undefined) : undefined;
      if (keeps !== undefined && asksTooMuch(amount, keeps))
        return deny(
          `account ${child.id} asks ${this.#c.client.format(amount)}, more than twice what it keeps (${this.#c.client.format(2n * keeps)})`,
        );
      const have = await spendable();
      // What my other children hold beyond what they keep, planned before anything moves: a request that ends up
      // denied takes nothing from them.
      const offers = have < amount && this.#c.childKeeps ? await this.#surpluses(child.id) : [];
      const surplus = offers.reduce((a, o) => a + o.surplus, 0n);
      if (have + surplus < amount) {
        const shortfall = amount - have - surplus;
        let up: { granted: bigint; note: string };
        try {
          up = this.#c.isOrigin()
            ? await this.#askOwner(shortfall, `the origin (account ${me})`)
            : await this.ask(shortfall).then((r) => ({
                granted: r.granted,
                note: r.granted === 0n ? `account ${me} lacks ${this.#c.client.format(shortfall)}: ${r.note}` : r.note,
              }));
        } catch (e) {
          up = {
            granted: 0n,
            note: `account ${me} lacks ${this.#c.client.format(shortfall)} and could not ask up: ${describeError(e)}`,
          };
        }
        if (!this.#c.isOrigin()) this.#c.emit({ type: "funding-requested", amount: shortfall, ...up });
        if (up.granted < shortfall) return deny(up.note);
      }
      const now = await spendable();
      if (now < amount) await this.#reclaim(offers, amount - now);
      if ((await spendable()) < amount) return deny(`account ${me}'s balance changed meanwhile`);
      const receipt = await this.#c.client.allocate(me, child.id, amount);
      this.#c.emit({ type: "funding-granted", child: child.id, amount, txHash: receipt.hash });
      return { granted: amount, note: `allocated from account ${me} (${receipt.hash})` };
    });
    this.#fundingQueue = run.catch(() => {});
    return run;
  }
}

/**
 * What a child keeps when a sibling asks and its parent lacks: its own next slot at its current price (its
 * dearest live lease's slot) and `reserve`, the fees of its own next intents (as its renewal keeps them,
 * decision.ts renewalPlan); undefined while it has no live lease (it is being placed: left alone).
 */
export async function childKeeps(client: MarketClient, child: bigint, reserve: bigint): Promise<bigint | undefined> {
  let keep: bigint | undefined;
  for (const id of await client.leasesOf(child)) {
    const l = await client.lease(id);
    if (!live(l.state)) continue;
    const slot = l.pricePerSecond * (l.end - l.start);
    if (keep === undefined || slot > keep) keep = slot;
  }
  return keep === undefined ? undefined : keep + reserve;
}
