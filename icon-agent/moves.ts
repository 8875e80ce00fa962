/**
 * What an ICON does on chain and at its yards: place itself, renew its slot ahead (asking its parent for money when
 * it founders), replicate (a child account, its share, gas, a lease in its name, its agent started, redirects),
 * migrate (make before break: bid, stub at the old yard, end the old lease), terminate (leave the tree, stub at the
 * parent, end the lease, close the account), and keep the HTTP redirects at its yard where its children are.
 * Every step that a crash may interrupt is saved before it is taken and finished on restart (recovery.ts).
 *
 * @example
 *   const moves = new Moves({ dir, env, seed, node, client, wallet, tree, observation, ... });
 *   await moves.place(await observation.knobs());
 *   await moves.renewIfDue();
 */
import path from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { MaxUint256, type Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { setRouting, type DeploySpec, type MarketClient } from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import {
  INTENT_RESERVE,
  renewalPlan,
  replicaBudgetInputs,
  replicaShare,
  replicateUtility,
  stillPays,
  utility,
  type Action,
  type Knobs,
  type RenewalPlan,
  type Situation,
} from "./decision.ts";
import { sealedAgentPart } from "./handover.ts";
import { closedAmount, live, liveBuried, placementOf, successorOf } from "./leases.ts";
import { bid, listedPrice, probeYard, type YardRef } from "./market.ts";
import type { Observation } from "./observation.ts";
import { LossWatch, leaseRfq, serviceSpec } from "./replace.ts";
import { YardRedirects } from "./yard-redirects.ts";
import { servingLease, writeAgentState, type AgentSeed, type Emit, type Placement } from "./state.ts";
import type { TreeMember } from "./tree.ts";

/** What the moves use of the agent. */
export interface MovesComponents {
  /** The state directory (a replica's is made under children/<account>/). */
  dir: string;
  env: AgentEnv;
  seed: AgentSeed;
  node: Libp2p;
  client: MarketClient;
  /** The ICON's key. */
  wallet: Wallet;
  tree: Pick<TreeMember, "children" | "leave" | "parent" | "parentPlace" | "requestFunding">;
  observation: Pick<Observation, "yards" | "accessFor" | "forgetAccess" | "knobs">;
  /** The key of the n-th replica (leases.ts replicaKey). */
  childKey(n: number): Wallet;
  /** A market client sending with `signer`. */
  /** A client of `signer`, whose relayed intents `account` pays for. */
  clientFor(signer: Wallet, account: bigint): Promise<MarketClient>;
  /**
   * Starts the agent of a replica from its state directory: a local process, or (sidecar placement) the replica
   * handed into its lease's sidecar (handover.ts); resolves once it runs.
   */
  spawn(dir: string): Promise<void>;
  /**
   * Whether this agent runs inside its lease's sidecar: its renewals carry its sealed state again, and a migration
   * moves the agent with the service (`movePair`, pair.ts).
   */
  inSidecar?: boolean;
  /** Moves the agent into the new lease's sidecar after the service (pair.ts movePair); undoes itself on failure. */
  movePair?(old: Placement, next: Placement): Promise<void>;
  /** This ICON's libp2p addresses (a replica's parent). */
  addrs(): string[];
  /** The account's balance as last read, and read again. */
  balance(): bigint;
  refreshBalance(): Promise<bigint>;
  /** Called once the ICON has terminated itself. */
  finished(): void;
  /**
   * In a sidecar: seals the state again into what the yard holds for the sidecar's restarts (Agent.refreshHeld),
   * after every change a restarted agent must know (a replica made, a renewal bought, a child re-placed).
   */
  refreshHeld?(): Promise<void>;
  save(): Promise<void>;
  emit: Emit;
}

type PlaceOptions = {
  signer: Wallet;
  account: bigint;
  budget: bigint;
  yards: YardRef[];
  score: (y: YardRef, price: bigint) => number;
  accept?: (y: YardRef, price: bigint) => string | undefined;
};

export class Moves {
  readonly #c: MovesComponents;
  /** The HTTP redirects at this ICON's yard (yard-redirects.ts). */
  readonly #redirects: YardRedirects;
  /** The lease whose renewal this ICON last asked money for (foundering), and when (an answer is in the seed). */
  #asked: { leaseId: bigint; atMs: number } | undefined;
  /** The yard's price as looked at again after a renewal bid of lease `leaseId` failed. */
  #renewalPrice: { leaseId: bigint; pricePerSecond: bigint } | undefined;
  /** What the last renewal that had to wait said (told once). */
  #waiting = "";

  /** The watch over lost yards (replace.ts): this ICON's own, its replicas', the origin's when it is the successor. */
  readonly loss: LossWatch;

  constructor(components: MovesComponents) {
    this.#c = components;
    this.#redirects = new YardRedirects(components);
    this.loss = new LossWatch({
      ...components,
      inSidecar: components.inSidecar ?? false,
      updateRedirects: (extra) => this.updateRedirects(extra),
      servedBy: (account) => this.#redirects.servedBy(account),
    });
  }

  /** Subnets redirected to children at this ICON's yard (theirs to decide about). */
  get delegated(): ReadonlySet<string> {
    return this.#redirects.delegated;
  }

  /** What one more slot at the current placement costs (0 when not placed). */
  ownSlot(): bigint {
    const p = this.#c.seed.placement;
    return p ? p.pricePerSecond * BigInt(this.#c.env.spec.slotSeconds) : 0n;
  }

  /** What this ICON keeps for its own next relayed intents (decision.ts INTENT_RESERVE × the policy's fee cap). */
  async intentReserve(): Promise<bigint> {
    return INTENT_RESERVE * (await this.#c.client.app(this.#c.seed.root)).policy.maxRelayFee;
  }

  /** What it keeps when a child asks for money: its next slot and intent reserve; everything while not placed. */
  async fundingReserve(): Promise<bigint> {
    return this.#c.seed.placement ? this.ownSlot() + (await this.intentReserve()) : MaxUint256;
  }

  /** What each lease asks for: the service's CPU and memory, plus the agent's share in sidecar placement. */
  #rfq(): ReturnType<typeof leaseRfq> {
    return leaseRfq(this.#c.env);
  }

  /** The service as every Deploy of this ICON names it (without the lease id and the agent part). */
  deploySpec(): Omit<DeploySpec, "leaseId" | "agent"> {
    return serviceSpec(this.#c.env);
  }

  async #placeWith(o: PlaceOptions, knobs: Knobs): Promise<Placement> {
    const { client, wallet, node, emit } = this.#c;
    const holder = o.signer.address === wallet.address ? client : await this.#c.clientFor(o.signer, o.account);
    const won = await bid({
      release: (id) => holder.terminate(id),
      node,
      signer: o.signer,
      client,
      account: o.account,
      yards: o.yards,
      rfq: this.#rfq(),
      spec: this.deploySpec(),
      maxPrice: knobs.maxPricePerSecond,
      budget: o.budget,
      score: o.score,
      ...(o.accept ? { accept: o.accept } : {}),
      onQuote: (y, _price, note) => emit("bid", `${y.name}: ${note}`),
    });
    return placementOf(won);
  }

  /** Places the ICON (no live lease): the origin at its home region if it can, else where the numbers say. */
  async place(knobs: Knobs): Promise<void> {
    const { seed, env, client } = this.#c;
    const all = this.#c.observation.yards;
    // Only the origin has a home region; a replica that lost its lease goes where the numbers say.
    const preferred = seed.parent ? [] : all.filter((y) => y.name === env.initialRegion);
    const yards = preferred.length > 0 ? preferred : all;
    if (yards.length === 0) throw new Error("no registered and staked yard found to place the ICON");
    const p = await this.#placeWith(
      {
        signer: this.#c.wallet,
        account: seed.account,
        budget: this.#c.balance(),
        yards,
        score: (y, price) => utility(knobs, [], { location: y.peerId, pricePerSecond: price }),
      },
      knobs,
    );
    seed.placement = p;
    await this.#c.save();
    this.#c.emit(
      "placed",
      `running at ${p.yard.name} (lease ${p.leaseId}, ${client.format(p.pricePerSecond)}/s, endpoint ${p.endpoint})`,
      {
        leaseId: p.leaseId,
        yard: p.yard.name,
      },
    );
  }

  /** Keeps the parent's placement as its acks tell it (it may have migrated since this ICON was made). */
  async followParent(): Promise<void> {
    const { seed, env, emit } = this.#c;
    const pp = this.#c.tree.parentPlace;
    const known = seed.parent;
    if (!known || !pp || !pp.endpoint || pp.instanceId === 0n) return;
    if (known.placement?.leaseId === pp.instanceId && known.placement.endpoint === pp.endpoint) return;
    const yard = this.#c.observation.yards.find((y) => y.peerId === pp.location);
    if (!yard) return;
    known.placement = {
      leaseId: pp.instanceId,
      leaseStart: 0n,
      yard,
      endpoint: pp.endpoint,
      pricePerSecond: listedPrice(yard, env.spec),
      end: 0n,
      since: Date.now() / 1000,
    };
    await this.#c.save();
    emit("tree", `the parent now serves at ${yard.name} (${pp.endpoint}, lease ${pp.instanceId})`);
  }

  /**
   * The renewal: a bought-ahead slot takes over at its start; within `renewBeforeS` of the end the next slot is
   * bought at the same yard. Short of money (decision.ts renewalPlan) it asks the parent once for this lease, and
   * unanswered by half the window, buys the slot its balance pays rather than let the lease lapse.
   */
  async renewIfDue(retried = false): Promise<void> {
    const { seed, env, client, emit } = this.#c;
    const p = seed.placement!;
    const nowS = BigInt(Math.floor(Date.now() / 1000));
    const r = p.renewal;
    if (r) {
      if (nowS < r.leaseStart) return;
      seed.placement = { ...p, ...r, renewal: undefined };
      this.#c.observation.forgetAccess();
      await this.#c.save();
      return;
    }
    if (p.end - nowS > BigInt(env.renewBeforeS)) return;
    // Bought before a crash but not saved: adopt it rather than pay for the slot twice.
    const known = await successorOf(client, seed.account, p);
    if (known) {
      p.renewal = { leaseId: known.id, leaseStart: known.start, end: known.end, pricePerSecond: known.pricePerSecond };
      await this.#c.save();
      return;
    }
    let balance = this.#c.balance();
    // The renewal's price is the yard's now, looked at once per lease as its window opens and again after a failed
    // bid (the old lease's price and a list of yards 30 s old may both be out of date).
    const look = async (): Promise<bigint> =>
      listedPrice(await probeYard(this.#c.node, client, p.yard.addrs).catch(() => p.yard), this.#rfq());
    if (this.#renewalPrice?.leaseId !== p.leaseId)
      this.#renewalPrice = { leaseId: p.leaseId, pricePerSecond: await look() };
    const price = this.#renewalPrice.pricePerSecond;
    const relayFee = (await client.app(seed.root)).policy.maxRelayFee;
    const leftS = Number(p.end - nowS);
    const plan = (): RenewalPlan =>
      renewalPlan({
        balance,
        pricePerSecond: price,
        slotSeconds: env.spec.slotSeconds,
        relayFee,
        leftS,
        renewBeforeS: env.renewBeforeS,
        // Once answered, never asked again for this lease (the state remembers it across restarts); a request
        // that failed is tried again after a minute.
        asked:
          seed.fundingAskedFor === p.leaseId ||
          (this.#asked?.leaseId === p.leaseId && Date.now() - this.#asked.atMs < 60_000),
      });
    let next = plan();
    if (next.kind === "ask") {
      // Foundering: ask the parent (the origin asks the owner on chain), once for this lease's renewal. The wait
      // for the answer is bounded by half the time left, so the short renewal still comes before the lease ends.
      this.#asked = { leaseId: p.leaseId, atMs: Date.now() };
      const amount = next.amount;
      let granted = 0n;
      try {
        granted = await this.#c.tree.requestFunding(amount, { timeoutMs: (leftS * 1000) / 2 });
        seed.fundingAskedFor = p.leaseId;
        await this.#c.save();
      } catch (e) {
        emit("error", `foundering: asking for ${client.format(amount)} failed: ${(e as Error).message}`);
      }
      emit("tree", `foundering: asked for ${client.format(amount)}, granted ${client.format(granted)}`);
      balance = await this.#c.refreshBalance();
      next = plan();
    }
    if (next.kind !== "renew") {
      const why = `${p.leaseId}: ${next.kind === "wait" ? next.why : "money asked for"}`;
      if (this.#waiting !== why) emit("tree", `renewal of lease ${why} (${leftS} s left)`);
      this.#waiting = why;
      return;
    }
    const slotSeconds = next.slotSeconds;
    // Inside its sidecar the renewal's Deploy carries the agent's own state again: the yard carries the sidecar
    // over (the same agent part) and holds the fresh state for the sidecar's restarts.
    const agent = this.#c.inSidecar && env.sidecar ? (await sealedAgentPart(this.#c.dir, env.sidecar)).part : undefined;
    let won: Awaited<ReturnType<typeof bid>>;
    try {
      won = await bid({
        node: this.#c.node,
        signer: this.#c.wallet,
        client,
        account: seed.account,
        yards: [p.yard],
        rfq: { ...this.#rfq(), slotSeconds, renewsLeaseId: p.leaseId },
        spec: { ...this.deploySpec(), ...(agent ? { agent } : {}) },
        maxPrice: (await this.#c.observation.knobs()).maxPricePerSecond,
        // Never into the reserve kept for the ICON's own intents.
        budget: balance - INTENT_RESERVE * relayFee,
        score: () => 0,
        release: (id) => client.terminate(id),
      }).finally(() => agent?.secret.wipe());
    } catch (e) {
      // The yard's price may have risen since it was last looked at: look again, and when it did, plan again at
      // once with it (ask, or a shorter slot) instead of bidding for what the balance cannot pay every period.
      const fresh = await look();
      if (fresh <= price || retried) throw e;
      this.#renewalPrice = { leaseId: p.leaseId, pricePerSecond: fresh };
      emit("tree", `renewal of lease ${p.leaseId}: ${p.yard.name} now lists ${client.format(fresh)}/s, planned again`);
      return this.renewIfDue(true);
    }
    p.renewal = {
      leaseId: won.leaseId,
      leaseStart: won.offer.start,
      end: won.offer.end,
      pricePerSecond: won.offer.pricePerSecond,
    };
    await this.#c.save();
    const short =
      slotSeconds < env.spec.slotSeconds ? ` (${slotSeconds} s of ${env.spec.slotSeconds}: what the balance pays)` : "";
    emit("renewed", `lease ${won.leaseId} renews ${p.leaseId} at ${p.yard.name} until ${won.offer.end}${short}`);
    await this.#c.refreshHeld?.();
  }

  /**
   * A replica for the subnets `action` names: a child account with its share (decision.ts replicaShare) for its
   * derived key (no ETH: its calls are relayed), a lease in its name, its state directory, its agent started, and the redirects there.
   */
  async replicate(knobs: Knobs, situation: Situation, action: Action & { kind: "replicate" }): Promise<void> {
    const { seed, env, client, emit } = this.#c;
    const { subnets } = situation;
    const { to, subnets: moved } = action;
    const p = seed.placement!;
    const here = { location: p.yard.peerId, pricePerSecond: p.pricePerSecond };
    const yards = this.#c.observation.yards;
    const target = yards.find((y) => y.peerId === to.location)!;
    // The replica's share of what this ICON can spend beyond its own next slot, at least two slots of what its lease
    // asks for (the service and, in sidecar placement, the agent's share too).
    const input = replicaBudgetInputs({
      balance: this.#c.balance(),
      ownPricePerSecond: p.pricePerSecond,
      targetPricePerSecond: listedPrice(target, this.#rfq()),
      slotSeconds: env.spec.slotSeconds,
      subnets,
      moved,
    });
    const need = input.floor;
    const { spendable, share } = replicaShare(input);
    if (share === undefined)
      throw new Error(`cannot fund a replica: ${client.format(spendable)} spendable, ${client.format(need)} needed`);

    // The replica's key is derived from this ICON's key and its number, saved before anything happens on chain:
    // a crash anywhere below leaves an account the next start can find and unwind (recovery.ts sweep).
    const n = ++seed.replicas;
    await this.#c.save();
    const key = this.#c.childKey(n);
    const child = await client.createAccount(seed.account, key.address);
    let placement: Placement;
    try {
      await client.allocate(seed.account, child, share);
      placement = await this.#placeWith(
        {
          signer: key,
          account: child,
          budget: share,
          yards: yards.filter((y) => y.peerId !== p.yard.peerId),
          score: (y, price) => replicateUtility(knobs, subnets, here, { location: y.peerId, pricePerSecond: price }),
          accept: (y, price) => stillPays(knobs, situation, action, { location: y.peerId, pricePerSecond: price }),
        },
        knobs,
      );
    } catch (e) {
      // The money goes back up; nothing is left behind in an account no agent runs.
      const undone = await client.closeAccount(child).then(
        () => `account ${child} closed and its money returned`,
        (x: unknown) => `closing account ${child} failed too (${(x as Error).message}); the next sweep retries`,
      );
      throw new Error(`replication to ${target.name} failed, ${undone}: ${(e as Error).message}`, { cause: e });
    }
    const name = `${seed.name}.${n}`;
    const dir = path.join(this.#c.dir, "children", String(child));
    await writeAgentState(
      dir,
      env,
      {
        name,
        account: child,
        root: seed.root,
        parent: { account: seed.account, addrs: this.#c.addrs(), placement: p },
        placement,
        subnets: moved,
        children: {},
        replicas: 0,
      },
      key.privateKey,
    );
    seed.children[String(child)] = { name, subnets: moved };
    await this.#c.save();
    // A local process, or (sidecar placement) the replica handed into its lease's sidecar: `started` is recorded
    // only once it runs; until then the parent's recovery hands it over again (recovery.ts).
    await this.#c.spawn(dir);
    seed.children[String(child)]!.started = true;
    await this.#c.save();
    // A restart of this agent's sidecar must find the replica recorded, not unwind it (recovery.ts).
    await this.#c.refreshHeld?.();
    emit(
      "replicated",
      `replica ${name} (account ${child}, ${client.format(share)} allocated) runs at ${placement.yard.name}, lease ${placement.leaseId}; ${moved.join(", ")} redirected there`,
      { child, yard: placement.yard.name, share },
    );
    await this.updateRedirects(new Map([[child, placement.endpoint]]));
  }

  /** Moves the ICON: the best quote elsewhere that still pays, then {@link finishMove}. */
  async migrate(knobs: Knobs, situation: Situation, action: Action & { kind: "migrate" }): Promise<void> {
    const { seed, client } = this.#c;
    const old = seed.placement!;
    const next = await this.#placeWith(
      {
        signer: this.#c.wallet,
        account: seed.account,
        budget: this.#c.balance(),
        // Every other yard is asked (the decided target's quote may be above its listed price, another's below):
        // the best quote by utility wins among those at which the move still passes its threshold.
        yards: this.#c.observation.yards.filter((y) => y.peerId !== old.yard.peerId),
        score: (y, price) => utility(knobs, situation.subnets, { location: y.peerId, pricePerSecond: price }),
        accept: (y, price) => stillPays(knobs, situation, action, { location: y.peerId, pricePerSecond: price }),
      },
      knobs,
    );
    // What it serves now is what the new place is for: in their grace there (decision.ts gracedSubnets).
    seed.placedFor = situation.subnets.filter((x) => x.rate > this.#c.env.idleRate).map((x) => x.subnet);
    // In a sidecar the agent moves too: its successor in the new lease finishes the move (pair.ts). Nothing is
    // saved as `moving` here: a crash before the fence restarts this instance, whose recovery ends the unknown lease.
    if (this.#c.inSidecar && this.#c.env.sidecar && this.#c.movePair) return this.#c.movePair(old, next);
    // Saved before the old yard is told: a crash from here on is finished by the next start (finishMove).
    seed.moving = next;
    await this.#c.save();
    try {
      await this.finishMove();
    } catch (e) {
      if (seed.placement === old) {
        // The old yard could not be told: nothing points at the new instance yet, so it goes.
        seed.moving = undefined;
        await this.#c.save();
        await client.terminate(next.leaseId).catch(() => {});
      }
      throw e;
    }
  }

  /** Make before break, from a saved `moving`: the stub at the old yard, the switch, then the old lease(s) end. */
  async finishMove(): Promise<void> {
    const { seed, env, client, emit, observation } = this.#c;
    const next = seed.moving!;
    const old = seed.placement;
    // Opened (or ended) only in blocks a reorganisation may still replace ("unsure"): the next period asks again.
    const buried = await liveBuried(client, next.leaseId, env.chainConfirmations ?? 0);
    if (buried !== "live") {
      if (buried === "gone") seed.moving = undefined;
      return this.#c.save();
    }
    if (old && old.leaseId !== next.leaseId) {
      if (live((await client.lease(old.leaseId)).state))
        await setRouting(
          this.#c.node,
          old.yard.addrs.map((a) => multiaddr(a)),
          {
            access: await observation.accessFor(servingLease(old)),
            redirects: [],
            stub: {
              yard: next.yard.peerId,
              addrs: next.yard.addrs,
              instanceId: next.leaseId,
              endpoint: next.endpoint,
              graceS: env.graceS,
            },
          },
        );
      seed.placement = next;
      observation.forgetAccess();
      this.#redirects.reset();
      await this.#c.save();
    }
    let refund = 0n;
    for (const id of [old?.leaseId, old?.renewal?.leaseId])
      if (id !== undefined && id !== next.leaseId && live((await client.lease(id)).state))
        refund += await client.terminate(id);
    seed.placement = next;
    seed.moving = undefined;
    await this.#c.save();
    if (old && old.leaseId !== next.leaseId)
      emit(
        "migrated",
        `moved from ${old.yard.name} to ${next.yard.name} (lease ${old.leaseId} → ${next.leaseId}); stub at ${old.yard.name} for ${env.graceS} s; refund ${client.format(refund)}`,
        { from: old.yard.name, to: next.yard.name },
      );
    await this.updateRedirects().catch((e: unknown) => emit("error", `redirects: ${(e as Error).message}`));
  }

  /** Ends the ICON (not the origin): leave the tree, wait two periods, then {@link finishTermination}. */
  async terminate(): Promise<void> {
    this.#c.seed.terminating = true;
    await this.#c.save();
    // Leave first: the parent stops redirecting clients here before the stub sends them back (no 307 loop).
    await this.#c.tree
      .leave()
      .catch((e: unknown) => this.#c.emit("error", `leaving the tree: ${(e as Error).message}`));
    await new Promise((r) => setTimeout(r, 2 * this.#c.env.periodMs));
    await this.finishTermination();
  }

  /** Termination, each step skipped when done already (so a restart in the middle finishes it). */
  async finishTermination(): Promise<void> {
    const { seed, env, client, emit } = this.#c;
    const p = seed.placement;
    const parent = seed.parent?.placement;
    let refund = 0n;
    if (p && live((await client.lease(p.leaseId)).state)) {
      if (parent) {
        await setRouting(
          this.#c.node,
          p.yard.addrs.map((a) => multiaddr(a)),
          {
            access: await this.#c.observation.accessFor(servingLease(p)),
            redirects: [],
            stub: {
              yard: parent.yard.peerId,
              addrs: parent.yard.addrs,
              instanceId: parent.leaseId,
              endpoint: parent.endpoint,
              graceS: env.graceS,
            },
          },
        ).catch((e: unknown) => emit("error", `stub at ${p.yard.name}: ${(e as Error).message}`));
      }
    }
    for (const id of [p?.leaseId, p?.renewal?.leaseId])
      if (id !== undefined && live((await client.lease(id)).state)) refund += await client.terminate(id);
    const me = await client.account(seed.account);
    // The relayer's fee for closing comes out of the balance first; the rest goes up (the AccountClosed event).
    const back = me.closed ? 0n : closedAmount(client, await client.closeAccount(seed.account));
    seed.done = true;
    seed.terminating = false;
    await this.#c.save();
    this.#c.finished();
    emit(
      "terminated",
      `ended lease ${p?.leaseId ?? "-"} at ${p?.yard.name ?? "-"} (refund ${client.format(refund)}); account ${seed.account} closed, ${client.format(back)} back to the parent`,
      { returned: back },
    );
  }

  /** A replica that left the tree for good (it terminated, or re-parented elsewhere): no redirect held for it. */
  forgetChild(account: bigint): void {
    this.#redirects.forget(account);
  }

  /** HTTP redirects at this ICON's yard: each child's subnets go to the child's endpoint (yard-redirects.ts). */
  updateRedirects(extra?: Map<bigint, string>): Promise<void> {
    return this.#redirects.update(extra);
  }
}
