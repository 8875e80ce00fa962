/**
 * Failures without the owner (issue 16 item 6): an ICON whose yard is lost is placed again; the origin's successor
 * is told when the origin is lost. The rules are pure (loss.ts); this file carries them out.
 *
 *  - Local placement (the agent is a process beside, not in, its lease): the ICON itself notices its yard gone —
 *    its telemetry failing and the yard unreachable for `unreachablePeriods` — ends its old lease (a relayed intent:
 *    the unused escrow comes back to its account; the yard keeps what it had earned) and places itself elsewhere.
 *  - Sidecar placement (a replica's agent runs in its lease and dies with its yard): its parent, which holds the
 *    replica's derived key and state directory (children/<account>/), sees it silent and its yard unreachable, ends
 *    the old lease with the replica's key, bids in the replica's name at every candidate but the lost yard, hands
 *    the state (placement updated, the next instance) into the new lease's sidecar (handover.ts) and points its
 *    redirects at the new endpoint.
 *  - The origin's successor (tree.ts `mayRefound`): the origin's yard unreachable too → it takes the role.
 *
 * @example
 *   const loss = new LossWatch({ dir, env, seed, node, client, wallet, tree, observation, ... });
 *   await loss.own(telemetryAnswered);   // every period, placed
 *   await loss.children();               // every period, sidecar placement
 */
import path from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import type { Libp2p } from "@libp2p/interface";
import { Wallet } from "ethers";
import type { DeploySpec, MarketClient, TreeNodeRef, TreePlace } from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import { closedAmount, live, placementOf } from "./leases.ts";
import { LOSS_RULES, ReplacementLog, YardWatch, lossDecision, refoundDecision, type LossRules } from "./loss.ts";
import { bid, yardOfOperator, type YardRef } from "./market.ts";
import type { Observation } from "./observation.ts";
import { readAgentState, saveAgentState, type AgentSeed, type Emit, type Placement } from "./state.ts";
import type { TreeMember } from "./tree.ts";

/** What every lease of an ICON asks for: the service's CPU and memory plus the agent's share in sidecar placement. */
export function leaseRfq(env: AgentEnv): {
  cpuMillis: number;
  memoryMiB: number;
  slotSeconds: number;
  earliestStart: bigint;
  imageRef: string;
  imageDigest: string;
} {
  const s = env.spec;
  return {
    cpuMillis: s.cpuMillis + (env.sidecar?.cpuMillis ?? 0),
    memoryMiB: s.memoryMiB + (env.sidecar?.memoryMiB ?? 0),
    slotSeconds: s.slotSeconds,
    earliestStart: 0n,
    imageRef: s.imageRef,
    imageDigest: s.imageDigest,
  };
}

/** The service as every Deploy of an ICON names it (without the lease id and the agent part). */
export function serviceSpec(env: AgentEnv): Omit<DeploySpec, "leaseId" | "agent"> {
  const s = env.spec;
  return {
    imageRef: s.imageRef,
    imageDigest: s.imageDigest,
    command: s.command,
    env: s.env,
    ports: s.ports,
    httpPorts: s.httpPorts,
    ...(s.service ? { service: s.service } : {}),
  };
}

/** Whether `yard` answers a libp2p dial (noise proving its peer id) within `timeoutMs`. */
export async function yardReachable(node: Libp2p, yard: Pick<YardRef, "addrs">, timeoutMs: number): Promise<boolean> {
  for (const a of yard.addrs.slice(0, 4)) {
    try {
      await node.dial(multiaddr(a), { signal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch {
      // the next address
    }
  }
  return false;
}

function ended(ids: bigint[]): string {
  return ids.length === 0 ? "no live lease there" : `lease ${ids.join(", ")} ended`;
}

/** What {@link replaceLost} needs. */
export interface ReplaceOptions {
  node: Libp2p;
  /** Reads the chain. */
  client: MarketClient;
  /** The ICON key's client (its calls relayed, paid by `account`): it ends the old lease. */
  holder: MarketClient;
  /** The ICON key: signs the new lease's acceptance. */
  signer: Wallet;
  account: bigint;
  env: AgentEnv;
  /** The placement whose yard is lost. */
  lost: Placement;
  /** The candidates; the lost yard is left out. */
  yards: YardRef[];
  maxPrice: bigint;
}

/**
 * Ends the account's live leases at the lost yard (the placement's, a renewal bought ahead; each refund goes back to
 * the account) and bids for a new one at every other candidate, the cheapest quote winning. Throws (nothing new
 * opened) when a lease cannot be ended or none had.
 */
export async function replaceLost(
  o: ReplaceOptions,
): Promise<{ placement: Placement; refund: bigint; ended: bigint[] }> {
  let refund = 0n;
  const ended: bigint[] = [];
  for (const id of await o.client.leasesOf(o.account)) {
    const l = await o.client.lease(id);
    if (live(l.state) && l.provider.toLowerCase() === o.lost.yard.operator.toLowerCase()) {
      refund += await o.holder.terminate(id);
      ended.push(id);
    }
  }
  const yards = o.yards.filter((y) => y.peerId !== o.lost.yard.peerId);
  if (yards.length === 0) throw new Error(`no yard but the lost ${o.lost.yard.name} to place account ${o.account} at`);
  const { balance } = await o.client.account(o.account);
  const won = await bid({
    node: o.node,
    signer: o.signer,
    client: o.client,
    account: o.account,
    yards,
    rfq: leaseRfq(o.env),
    spec: serviceSpec(o.env),
    maxPrice: o.maxPrice,
    budget: balance,
    score: (_y, price) => Number(price),
    release: (id) => o.holder.terminate(id),
  });
  const placement = placementOf(won);
  return { placement, refund, ended };
}

/** `yards` without `own` (the parent's yard) when another one besides the lost yard remains; else all of them. */
export function elsewhere(yards: readonly YardRef[], own: string | undefined, lost: string): YardRef[] {
  const others = yards.filter((y) => y.peerId !== own && y.peerId !== lost);
  return others.length > 0 ? others : [...yards];
}

/** What the watch uses of the agent. */
export interface LossComponents {
  dir: string;
  env: AgentEnv;
  seed: AgentSeed;
  node: Libp2p;
  client: MarketClient;
  wallet: Wallet;
  tree: Pick<TreeMember, "children">;
  observation: Pick<Observation, "yards" | "knobs" | "forgetAccess">;
  /** This agent runs in its lease's sidecar: it dies with its yard, so its parent acts, never itself. */
  inSidecar: boolean;
  clientFor(signer: Wallet, account: bigint): Promise<MarketClient>;
  /** Starts a replica from its state directory (sidecar placement: hands it into its lease's sidecar). */
  spawn(dir: string): Promise<void>;
  updateRedirects(extra?: Map<bigint, string>): Promise<void>;
  /** The subnets redirected to a replica at this ICON's yard (held while it is silent; moves.ts). */
  servedBy?(account: bigint): string[];
  save(): Promise<void>;
  /** In a sidecar: seals the state again into what the yard holds for restarts (Agent.refreshHeld). */
  refreshHeld?(): Promise<void>;
  emit: Emit;
  rules?: LossRules;
}

/** The agent's watch over lost yards: its own (local placement), its replicas' (sidecar placement), the origin's. */
export class LossWatch {
  readonly #c: LossComponents;
  readonly #rules: LossRules;
  /** Unreachable periods of the replicas' yards, this ICON's own, the origin's: each counted once a period. */
  readonly #yards = new YardWatch();
  readonly #ownYard = new YardWatch();
  readonly #originYard = new YardWatch();
  readonly #log = new ReplacementLog();
  #ownFailures = 0;
  /** When the watch first saw each replica (a replica never heard of gets its grace from then). */
  readonly #since = new Map<bigint, number>();
  /** Where a moved replica was last looked for (a yard that cannot be resolved is tried again after 30 s). */
  /** Replicas that detached (terminating) and how many periods their parent has waited for their lease to end. */
  readonly #leaving = new Map<bigint, number>();
  readonly #followTried = new Map<bigint, { location: string; atMs: number }>();
  readonly #said = new Map<bigint, string>();
  /** Where each replica last said it runs (its yard's peer id) and its highest instance epoch, from its reports. */
  readonly #heard = new Map<bigint, { location?: string; epoch: bigint }>();

  constructor(c: LossComponents) {
    this.#c = c;
    this.#rules = c.rules ?? LOSS_RULES;
  }

  #probeMs(): number {
    return Math.min(5_000, Math.max(500, this.#c.env.periodMs));
  }

  /** Once a period while placed (local placement): `answered` = the yard's telemetry answered this period. */
  async own(answered: boolean): Promise<void> {
    const { seed, env, client, emit } = this.#c;
    const p = seed.placement;
    if (answered || !p || this.#c.inSidecar || seed.moving || seed.terminating) {
      this.#ownFailures = 0;
      return;
    }
    this.#ownFailures++;
    const unreachable = this.#ownYard.saw(p.yard.peerId, await yardReachable(this.#c.node, p.yard, this.#probeMs()));
    const now = Date.now();
    const d = lossDecision(this.#rules, {
      silentPeriods: this.#ownFailures,
      unreachablePeriods: unreachable,
      recentMs: this.#log.recent(seed.account, now),
      nowMs: now,
    });
    this.#say(seed.account, `my yard ${p.yard.name}: ${d.why}`);
    if (!d.act) return;
    this.#log.record(seed.account, now);
    const r = await replaceLost({
      node: this.#c.node,
      client,
      holder: client,
      signer: this.#c.wallet,
      account: seed.account,
      env,
      lost: p,
      yards: this.#c.observation.yards,
      maxPrice: (await this.#c.observation.knobs()).maxPricePerSecond,
    });
    seed.placement = r.placement;
    this.#ownFailures = 0;
    this.#c.observation.forgetAccess();
    await this.#c.save();
    emit(
      "placed",
      `yard ${p.yard.name} lost (${d.why}): ${ended(r.ended)} (refund ${client.format(r.refund)}), running at ${r.placement.yard.name} now (lease ${r.placement.leaseId}, endpoint ${r.placement.endpoint})`,
      { leaseId: r.placement.leaseId, yard: r.placement.yard.name, lost: p.yard.name },
    );
    await this.#c.updateRedirects().catch(() => {});
  }

  /** Once a period (sidecar placement): every replica silent at a lost yard is placed again. */
  async children(): Promise<void> {
    const { seed, env } = this.#c;
    if (!env.sidecar) return; // local placement: each replica's own agent notices its yard gone (own())
    const heard = new Map(this.#c.tree.children().map((c) => [c.account, c.lastReportMs]));
    // A replica may have moved itself (pair.ts) since its parent wrote its directory: where it reported counts.
    for (const c of this.#c.tree.children())
      this.#heard.set(c.account, { location: c.location ?? this.#heard.get(c.account)?.location, epoch: c.epoch });
    const now = Date.now();
    // Each yard probed once a period, however many of the replicas it hosts are silent.
    const probes = new Map<string, Promise<number>>();
    const unreachable = (y: YardRef): Promise<number> => {
      if (!probes.has(y.peerId))
        probes.set(
          y.peerId,
          yardReachable(this.#c.node, y, this.#probeMs()).then((ok) => this.#yards.saw(y.peerId, ok)),
        );
      return probes.get(y.peerId)!;
    };
    for (const [key, rec] of Object.entries(seed.children)) {
      if (!rec.started) continue;
      const account = BigInt(key);
      if (this.#leaving.has(account)) {
        await this.#finishLeaving(account, path.join(this.#c.dir, "children", key), rec.name).catch((e: unknown) =>
          this.#c.emit("error", `finishing replica ${rec.name}'s termination (retried): ${(e as Error).message}`),
        );
        continue;
      }
      const reported = this.#c.tree.children().find((c) => c.account === account);
      if (reported?.location)
        await this.#follow(account, path.join(this.#c.dir, "children", key), reported).catch((e: unknown) =>
          this.#say(account, `could not follow replica ${rec.name}'s move: ${(e as Error).message}`),
        );
      if (!this.#since.has(account)) this.#since.set(account, now);
      const last = Math.max(heard.get(account) ?? 0, this.#since.get(account)!, ...this.#log.recent(account, now));
      const silent = Math.floor((now - last) / env.reportEveryMs);
      if (silent < this.#rules.silentPeriods) continue;
      const dir = path.join(this.#c.dir, "children", key);
      const st = await readAgentState(dir).catch(() => undefined);
      const written = st?.seed.placement;
      if (!st || !written || st.seed.done) continue;
      // A replica that ended itself inside its sidecar closed its account: nothing to place.
      if ((await this.#c.client.account(account)).closed) continue;
      const at = this.#heard.get(account)?.location;
      const p = { ...written, yard: this.#c.observation.yards.find((y) => y.peerId === at) ?? written.yard };
      const d = lossDecision(this.#rules, {
        silentPeriods: silent,
        unreachablePeriods: await unreachable(p.yard),
        recentMs: this.#log.recent(account, now),
        nowMs: now,
      });
      this.#say(account, `replica ${rec.name} at ${p.yard.name}: ${d.why}`);
      if (!d.act) continue;
      this.#log.record(account, now);
      try {
        await this.#replaceChild(account, dir, st, p, d.why);
      } catch (e) {
        this.#c.emit("error", `placing replica ${rec.name} again failed (retried): ${(e as Error).message}`);
      }
    }
  }

  /**
   * A replica detached from the tree: it is terminating. In sidecar placement the end of its own lease stops the
   * agent doing it (its yard lets the sidecar go), so closing its account may never come: its parent finishes it.
   */
  childLeft(account: bigint): void {
    if (this.#c.env.sidecar) this.#leaving.set(account, 0);
  }

  /**
   * Once the leaving replica's leases ended (it ends them itself; after 10 periods its parent does, with its key),
   * its account is closed with its key unless it closed it itself: the balance goes up, as its own termination
   * would have sent it. Its state copy is marked done.
   */
  async #finishLeaving(account: bigint, dir: string, name: string): Promise<void> {
    const st = await readAgentState(dir);
    const waited = (this.#leaving.get(account) ?? 0) + 1;
    this.#leaving.set(account, waited);
    if (st.seed.done) {
      this.#leaving.delete(account);
      return;
    }
    const { client } = this.#c;
    const holder = await this.#c.clientFor(new Wallet(st.key), account);
    const lives: bigint[] = [];
    for (const id of await client.leasesOf(account)) if (live((await client.lease(id)).state)) lives.push(id);
    if (lives.length > 0 && waited < 10) return;
    for (const id of lives) await holder.terminate(id);
    const me = await client.account(account);
    const back = me.closed ? undefined : closedAmount(client, await holder.closeAccount(account));
    st.seed.done = true;
    st.seed.terminating = false;
    await saveAgentState(dir, st.env, st.seed);
    this.#leaving.delete(account);
    this.#c.emit(
      "tree",
      back === undefined
        ? `replica ${name} terminated; it closed its account ${account} itself`
        : `replica ${name} terminated, its agent stopped with its lease: its parent closed account ${account}, ${client.format(back)} back`,
    );
  }

  /**
   * A replica that migrated itself reports from its new yard: the parent's copy of its state (what the loss watch
   * probes, and the lease it ends when that yard is lost) follows it — the yard from the candidates, the lease the
   * replica's account holds there now from the chain. Without it a replica lost after a move would be probed at its
   * old, healthy yard and never placed again.
   */
  async #follow(
    account: bigint,
    dir: string,
    reported: { location?: string; endpoint?: string; epoch: bigint },
  ): Promise<void> {
    const st = await readAgentState(dir);
    const p = st.seed.placement;
    if (!p || st.seed.done || p.yard.peerId === reported.location) return;
    const tried = this.#followTried.get(account);
    if (tried && tried.location === reported.location && Date.now() - tried.atMs < 30_000) return;
    this.#followTried.set(account, { location: reported.location!, atMs: Date.now() });
    const { client } = this.#c;
    for (const id of (await client.leasesOf(account)).reverse()) {
      const l = await client.lease(id);
      if (!live(l.state)) continue;
      const yard =
        this.#c.observation.yards.find((y) => y.operator.toLowerCase() === l.provider.toLowerCase()) ??
        (await yardOfOperator(this.#c.node, client, l.provider).catch(() => undefined));
      if (!yard || yard.peerId !== reported.location) continue;
      st.seed.placement = {
        leaseId: id,
        leaseStart: l.start,
        yard,
        endpoint: reported.endpoint ?? p.endpoint,
        pricePerSecond: l.pricePerSecond,
        end: l.end,
        since: Date.now() / 1000,
      };
      st.seed.instance = Math.max(st.seed.instance ?? 0, Number(reported.epoch));
      await saveAgentState(dir, st.env, st.seed);
      this.#followTried.delete(account);
      this.#say(account, `replica ${st.seed.name} moved from ${p.yard.name} to ${yard.name} (lease ${id})`);
      return;
    }
  }

  async #replaceChild(
    account: bigint,
    dir: string,
    st: Awaited<ReturnType<typeof readAgentState>>,
    lost: Placement,
    why: string,
  ): Promise<void> {
    const { client, emit } = this.#c;
    const key = new Wallet(st.key);
    const r = await replaceLost({
      node: this.#c.node,
      client,
      holder: await this.#c.clientFor(key, account),
      signer: key,
      account,
      env: st.env,
      lost,
      // Not at this ICON's own yard while another will do: a replica beside its parent serves its clients no better
      // than the parent (its controller would end it at once, and its clients would be back at the parent).
      yards: elsewhere(this.#c.observation.yards, this.#c.seed.placement?.yard.peerId, lost.yard.peerId),
      maxPrice: (await this.#c.observation.knobs()).maxPricePerSecond,
    });
    // The lost sidecar ran the instance after the one written here, or a later one it reported (a move of its own):
    // the hand-over seals the next one (handover.ts), above every epoch this parent has seen for it.
    st.seed.placement = r.placement;
    // What the lost instance served (handed, and reported busy: the redirects held for it) is what the new place is
    // for: in their grace there its controller does not end it before their clients had the chance to come.
    st.seed.placedFor = [...new Set([...st.seed.subnets, ...(this.#c.servedBy?.(account) ?? [])])].sort();
    st.seed.instance = Math.max((st.seed.instance ?? 0) + 1, Number(this.#heard.get(account)?.epoch ?? 0n));
    // From now on it runs at the new yard (until it reports otherwise): that is the yard to watch.
    this.#heard.set(account, { location: r.placement.yard.peerId, epoch: BigInt(st.seed.instance + 1) });
    await saveAgentState(dir, st.env, st.seed);
    // Not started until the new yard answered Running: a failed hand-over (or a crash here) is handed over again by
    // the recovery sweep (recovery.ts adopts a replica whose directory names a live lease).
    const rec = this.#c.seed.children[String(account)]!;
    rec.started = false;
    await this.#c.save();
    await this.#c.spawn(dir);
    rec.started = true;
    await this.#c.save();
    await this.#c.refreshHeld?.(); // a restart of this parent's sidecar must know the replica's new place
    emit(
      "replicated",
      `replica ${st.seed.name} lost with yard ${lost.yard.name} (${why}): ${ended(r.ended)} (refund ${client.format(r.refund)}), placed again at ${r.placement.yard.name} (lease ${r.placement.leaseId}) and handed into its sidecar`,
      { child: account, yard: r.placement.yard.name, lost: lost.yard.name },
    );
    await this.#c.updateRedirects(new Map([[account, r.placement.endpoint]]));
  }

  /**
   * The tree's `mayRefound` (tree.ts): reports to the origin fail and this ICON is its successor. Takes the role
   * when the origin's yard has been unreachable for `unreachablePeriods` probes: the seed forgets the parent (so a
   * restart starts as the root) and the tree becomes the root. Resolves with why, or undefined to wait.
   */
  async mayRefound(origin: TreeNodeRef, place: TreePlace | undefined): Promise<string | undefined> {
    const { seed } = this.#c;
    const yard = this.#c.observation.yards.find((y) => y.peerId === place?.location) ?? seed.parent?.placement?.yard;
    if (!yard) return undefined; // where the origin runs is not known: its yard cannot be checked
    const now = Date.now();
    const d = refoundDecision(this.#rules, {
      me: seed.account,
      successor: seed.account,
      parentIsOrigin: true,
      silentPeriods: this.#rules.silentPeriods, // the tree counted the failed reports
      unreachablePeriods: this.#originYard.saw(yard.peerId, await yardReachable(this.#c.node, yard, this.#probeMs())),
      recentMs: [],
      nowMs: now,
    });
    this.#say(origin.account, `the origin ${origin.account} at ${yard.name}: ${d.why}`);
    if (!d.act) return undefined;
    seed.parent = undefined;
    seed.ancestors = [];
    await this.#c.save();
    return d.why;
  }

  /** Tells the timeline what the rules say, once per change (not every period). */
  #say(account: bigint, text: string): void {
    if (this.#said.get(account) === text) return;
    this.#said.set(account, text);
    this.#c.emit("tree", text);
  }
}
