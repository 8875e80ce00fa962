/**
 * The ICON daemon: one ICON (one key, one budget account, one placement at a time) that watches its clients,
 * decides with eq. 1 (decision.ts) and carries out what it decides, make-before-break.
 *
 * Every `periodMs` (icon-agent/README.md, "What one period does"): place or renew; observe (telemetry, the ALTO cost
 * map for every location, here included); decide (the Controller over stay / migrate / replicate / terminate); act, one
 * action at a time, make before break (moves.ts); the tree (tree.ts) carries the aggregate up and the policy down.
 *
 * Crash safety: everything needed to resume is in `stateDir` (agent.json, the key 0600, the libp2p key) and on chain;
 * at start the state is reconciled with the chain (recovery.ts).
 *
 * This file is the wiring: the Agent opens the state directory, builds its rooms from the components each needs, runs
 * the period and stops them in order. The rooms: state.ts (files, lock), observation.ts (yards, telemetry, latencies,
 * learned domains, knobs), moves.ts (place, renew, replicate, migrate, terminate, redirects), recovery.ts (reconciling
 * with the chain), leases.ts (lease and replica-key reads shared by the last two), decision.ts (eq. 1, the Controller,
 * the replica's share), tree.ts (the overlay tree; its served side, tree-service.ts, is a service of the node),
 * acting.ts (this instance's fence), relaying.ts (its intents), pair.ts and handover.ts (the agent in its sidecar).
 */
import { Wallet, type JsonRpcProvider } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { IconError, MarketClient, type DeploySpec, type IconStatusReport, type RelayHook } from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import { ActingFence } from "./acting.ts";
import { sidecarView, throwawayNode, type Sidecar } from "./gateway.ts";
import { MAX_CARRIED_DECISIONS, StatusReporter, keptDecisions } from "./status-report.ts";
import { Controller, describeAction, gracedSubnets, type SubnetView } from "./decision.ts";
import { openAgentParts, type AgentHooks, type AgentOpenOptions } from "./agent-options.ts";
import { handOverReplica, refreshHeld } from "./handover.ts";
import { childKeeps } from "./tree-funding.ts";
import { replicaKey } from "./leases.ts";
import type { YardRef } from "./market.ts";
import { Moves } from "./moves.ts";
import { Observation, type Observed } from "./observation.ts";
import {
  carriedState,
  movePair,
  settleRetired,
  stayRetired,
  successorStart,
  type PairComponents,
  type RetiredOutcome,
} from "./pair.ts";
import { Recovery } from "./recovery.ts";
import { relayYards, relayedCalls } from "./relaying.ts";
import {
  DecisionStore,
  agentStatus,
  encodeState,
  retiredNote,
  saveAgentState,
  writeAgentStatus,
  type AgentEvent,
  type AgentSeed,
  type AgentStatus,
  type PlacedDecision,
} from "./state.ts";
import { TreeMember, treeServing, type TreeSubnet } from "./tree.ts";
import { describeTreeEvent } from "./tree-events.ts";

export class Agent {
  readonly dir: string;
  readonly env: AgentEnv;
  readonly seed: AgentSeed;
  readonly wallet: Wallet;
  readonly client: MarketClient;
  readonly node: Libp2p;
  readonly tree: TreeMember;
  /** Set when the agent runs in its sidecar (AgentOpenOptions.gateway). */
  readonly sidecar: Sidecar | undefined;
  readonly #hooks: AgentHooks;
  readonly #rpc: JsonRpcProvider;
  readonly #controller: Controller;
  readonly #observation: Observation;
  readonly #moves: Moves;
  readonly #recovery: Recovery;
  #release: () => Promise<void> = async () => {};
  #serial: Promise<void> = Promise.resolve();
  #own: SubnetView[] = [];
  #flows: TreeSubnet[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #balance = 0n;
  #last = "";
  #finish: () => void = () => {};
  #ticks = 0;
  #treeUp = false;
  /** The last decisions of the status report, kept in the state directory (decisions.json) across restarts. */
  readonly #decisions: DecisionStore;
  readonly #report = new StatusReporter(
    () => ({
      gateway: this.sidecar?.gateway,
      instance: this.seed.instance ?? 0,
      policyVersion: this.#observation.policyVersion,
    }),
    (d) => void this.#decisions.save(d),
  );
  /** When this instance started (s): a placement's grace runs from its placement or this, the later (decision.ts). */
  readonly #bornS = Date.now() / 1000;
  /**
   * This instance's fence (acting.ts): closed once it stops deciding for a hand-over (pair.ts, handover.ts), asked
   * wherever the agent acts; it counts the funding answers and relayed intents in flight, which a fence waits for.
   */
  readonly acting: ActingFence = new ActingFence(() => this.name);
  /** Resolves when the ICON has terminated itself (its lease ended, its account closed). */
  readonly finished: Promise<void> = new Promise((r) => (this.#finish = r));
  /** Aborted by {@link stop}: a retired instance stops checking on its successor (pair.ts stayRetired). */
  readonly #closing = new AbortController();

  private constructor(
    dir: string,
    env: AgentEnv,
    seed: AgentSeed,
    wallet: Wallet,
    client: MarketClient,
    node: Libp2p,
    rpc: JsonRpcProvider,
    hooks: AgentHooks,
    sidecar: Sidecar | undefined,
    kept: readonly PlacedDecision[],
  ) {
    this.dir = dir;
    this.#decisions = new DecisionStore(dir, (e) => this.#emit("error", `keeping decisions.json: ${e.message}`));
    this.env = env;
    this.seed = seed;
    this.wallet = wallet;
    this.client = client;
    this.node = node;
    this.#rpc = rpc;
    this.#hooks = hooks;
    this.sidecar = sidecar;
    // The ICON's key holds no ETH: its market calls are intents a yard relays, repaid from its own account.
    client.useRelay(this.#intents(client, seed.account));
    this.#controller = new Controller({
      halfLifeS: env.halfLifeS,
      coolDownS: env.coolDownS,
      confirmations: env.confirmations,
    });
    // A successor continues from what its predecessor learned (pair.ts): no warm-up from zero.
    if (seed.carried) this.#controller.restore(seed.carried.controller);
    // In one call, so nothing is saved before all are in: a predecessor's moves and this ICON's own kept decisions.
    // (restore keeps each once, in the order made, the newest 16.)
    const taken = [...(seed.carried?.decisions ?? []).slice(-MAX_CARRIED_DECISIONS), ...kept];
    this.#report.restore(taken, taken.length);
    this.tree = new TreeMember({
      node,
      serving: treeServing(node), // the node's tree service (gateway.ts agentNode): open from the member's start
      signer: wallet,
      account: seed.account,
      client,
      parent: seed.parent ? { account: seed.parent.account, addrs: seed.parent.addrs } : undefined,
      ancestors: seed.ancestors,
      reportEveryMs: env.reportEveryMs,
      epoch: () => this.seed.instance ?? 0,
      acting: () => this.acting.acting,
      track: (act) => this.acting.track(act),
      local: () => this.#flows,
      whereAmI: () => ({
        endpoint: this.seed.placement?.endpoint,
        location: this.seed.placement?.yard.peerId,
        leaseId: this.seed.placement?.leaseId,
      }),
      // What this ICON keeps when a child asks for money: its own next slot and the fees of its own next intents;
      // everything while it is not placed (it needs its balance to place itself again).
      fundingReserve: () => this.#moves.fundingReserve(),
      // What a child keeps when a sibling asks and this ICON lacks: the child's own next slot at its current price,
      // and the fees of its own next intents (as its renewal keeps them, decision.ts renewalPlan).
      childKeeps: async (child) => childKeeps(this.client, child.id, await this.#moves.intentReserve()),
      // The origin lost with its yard and this ICON its successor (replace.ts, loss.ts): it takes the role.
      mayRefound: (origin, place) => this.#moves.loss.mayRefound(origin, place),
      onEvent: (e) => {
        if (e.type === "child-left" && e.reason !== "silent") this.#moves?.forgetChild(e.account);
        if (e.type === "child-left" && e.reason === "detached") this.#moves?.loss.childLeft(e.account);
        this.#emit(
          "tree",
          describeTreeEvent(e, (x) => this.client.format(x)),
        );
      },
    });
    const emit = this.#emit.bind(this);
    const save = () => this.#save();
    const keys = {
      // The key of this ICON's n-th replica (see leases.ts replicaKey).
      childKey: (n: number) => new Wallet(replicaKey(wallet.privateKey, n), rpc),
      clientFor: async (signer: Wallet, account: bigint) => {
        const c = await MarketClient.connect({ deployment: env.deployment, provider: rpc, signer });
        c.useRelay(this.#intents(c, account));
        return c;
      },
    };
    this.#observation = new Observation({
      env: sidecar ? sidecarView(env, sidecar) : env,
      seed,
      node,
      client,
      signer: wallet,
      tree: this.tree,
      emit,
      ...(hooks.pathProbe ? { pathProbe: hooks.pathProbe } : { probeOwnYard: true }),
    });
    this.#moves = new Moves({
      dir,
      env,
      seed,
      node,
      client,
      wallet,
      tree: this.tree,
      observation: this.#observation,
      ...keys,
      spawn: (d) => this.#launch(d),
      inSidecar: hooks.inSidecar ?? false,
      movePair: (old, next) => movePair(this.#pair(), old, next),
      addrs: () => this.addrs,
      balance: () => this.#balance,
      refreshBalance: async () => (this.#balance = (await this.client.account(this.seed.account)).balance),
      finished: () => this.#finish(),
      refreshHeld: () => this.refreshHeld(),
      save,
      emit,
    });
    this.#recovery = new Recovery({
      dir,
      seed,
      client,
      wallet,
      ...keys,
      spawn: (d) => this.#launch(d),
      save,
      emit,
      moves: this.#moves,
      inSidecar: hooks.inSidecar ?? false,
      refreshHeld: () => this.refreshHeld(),
      confirmations: env.chainConfirmations,
    });
  }

  /**
   * Opens the agent in `dir` (written by writeAgentState, state.ts) and resumes from it and the chain; with
   * `options.gateway`, as an agent in its sidecar (a gateway that does not answer fails the start).
   */
  static async open(dir: string, hooks: AgentHooks, options: AgentOpenOptions = {}): Promise<Agent> {
    const p = await openAgentParts(dir, hooks, options);
    try {
      // Its own last decisions, as it kept them before it stopped (or its yard did): its report goes on from them.
      const here = p.seed.placement?.yard.peerId ?? "";
      const onError = (text: string) => hooks.onEvent?.({ icon: p.seed.name, kind: "error", text });
      const kept = await keptDecisions(new DecisionStore(dir), p.sidecar?.gateway, here, onError);
      const agent = new Agent(dir, p.env, p.seed, p.wallet, p.client, p.node, p.rpc, hooks, p.sidecar, kept);
      agent.#release = p.release;
      return agent;
    } catch (e) {
      await Promise.resolve(p.node.stop()).catch(() => {});
      await p.release();
      throw e;
    }
  }

  /**
   * Starts a replica's agent from its state directory: in sidecar placement (`env.sidecar`) the replica is handed
   * into its own lease's sidecar, signed by its key (handover.ts), never started here; else the `spawn` hook.
   */
  async #launch(dir: string): Promise<void> {
    if (!this.env.sidecar) return this.#hooks.spawn(dir);
    const r = await handOverReplica({
      node: this.node,
      client: this.client,
      dir,
      spec: this.#moves.deploySpec(),
      sidecar: this.env.sidecar,
    });
    this.#emit(
      "tree",
      `replica ${r.name} handed into the sidecar of lease ${r.leaseId} at ${r.yard} (instance ${r.instance})`,
    );
  }

  /**
   * Stops deciding (the hand-over, handover.ts): the loop stopped and the period in flight finished; the lock and
   * the node stay until {@link stop}, so no other agent takes the directory meanwhile.
   */
  async pause(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
    await this.#serial;
  }

  /** Decides again after {@link pause} (a hand-over that failed). */
  resume(): void {
    this.#stopped = false;
    this.#schedule(this.env.periodMs);
  }

  /**
   * In its sidecar: what the yard holds for the sidecar's restarts becomes this state as it is now
   * (handover.ts refreshHeld); nothing outside a sidecar.
   */
  async refreshHeld(): Promise<void> {
    if (!this.#hooks.inSidecar || !this.acting.acting) return;
    await this.#save();
    await refreshHeld(this).catch((e: unknown) =>
      this.#emit("error", `the state its yard holds for a restart could not be refreshed: ${(e as Error).message}`),
    );
  }

  /** The yards this agent knows, discovered now when it knows none yet (taking a sidecar back finds them here). */
  async yards(): Promise<YardRef[]> {
    await this.#observation
      .refreshYards()
      .catch((e: unknown) => this.#emit("error", `discovery: ${(e as Error).message}`));
    return this.#observation.yards;
  }

  /** The service as this ICON's Deploys name it (without the lease id and the agent part). */
  serviceSpec(): Omit<DeploySpec, "leaseId" | "agent"> {
    return this.#moves.deploySpec();
  }

  /** Saves the state (agent.json) as it is now. */
  save(): Promise<void> {
    return this.#save();
  }

  /** Relays `client`'s market calls as intents of its key, repaid from `account`, behind the fence (relaying.ts). */
  #intents(client: MarketClient, account: bigint): RelayHook {
    const yards = () => relayYards(this.seed, this.#observation?.yards ?? [], this.env.seeds);
    return relayedCalls({ node: this.node, client, account, root: this.seed.root, fence: this.acting, yards });
  }

  /** What the migration of the pair (pair.ts) uses of this agent. */
  #pair(): PairComponents {
    return {
      ...{ dir: this.dir, env: this.env, seed: this.seed, node: this.node, wallet: this.wallet, client: this.client },
      spec: () => this.serviceSpec(),
      carried: () => carriedState(this.#controller, this.tree, this.#report),
      // Called inside the period that migrates: the loop stops after it; the tree and the relay sender ask too, and
      // a funding answer or relayed intent under way is waited for (bounded).
      fence: async () => {
        if (!(await this.acting.fence()))
          this.#emit("error", `fenced with ${this.acting.inFlight} act(s) still in flight: they sign nothing more`);
      },
      unfence: () => this.acting.unfence(),
      permit: (act) => this.acting.permit(act),
      retire: async () => {
        await this.tree.stop().catch(() => {});
        await Promise.resolve(this.node.stop()).catch(() => {});
      },
      settleNode: () => throwawayNode(this.env, this.sidecar),
      signal: this.#closing.signal,
      actAgain: this.#hooks.actAgain ?? (() => this.#emit("error", "took its state back: start it again to act")),
      save: () => this.#save(),
      emit: this.#emit.bind(this),
    };
  }

  get name(): string {
    return this.seed.name;
  }

  get addrs(): string[] {
    return this.node.getMultiaddrs().map(String);
  }

  /** A copy opened retired: its successor confirmed running ("retired") or this copy acting again (pair.ts). */
  settleRetired(): Promise<RetiredOutcome> {
    return settleRetired(this.#pair());
  }

  /**
   * A copy opened retired, in its sidecar: leaves the network and stays retired until it acts again (pair.ts
   * stayRetired) — "acting" (stop this copy and start the agent), or undefined once {@link stop} was called.
   */
  async stayRetired(): Promise<"acting" | undefined> {
    const c = this.#pair();
    await c.retire();
    return stayRetired(c, c.signal);
  }

  async start(): Promise<void> {
    const retired = retiredNote(this.seed);
    if (retired) throw new IconError("RETIRED", retired);
    if (this.seed.done) {
      this.#finish();
      return;
    }
    await this.#recovery.recover();
    if (this.seed.done) {
      this.#finish();
      return;
    }
    await this.#startTree();
    if (this.seed.carried) {
      await successorStart(this.#pair()); // the predecessor's children come here
      await this.refreshHeld(); // the move is finished: a restart must not find it still to do
    }
    this.#schedule(0);
  }

  /** Joins the tree; a parent and ancestors that cannot be reached now are tried again every 10 periods. */
  async #startTree(): Promise<void> {
    try {
      await this.tree.start();
      this.#treeUp = true;
    } catch (e) {
      this.#emit("error", `joining the tree: ${(e as Error).message} (retrying)`);
    }
  }

  /** Stops the daemon; leases keep running (a restart from the same directory resumes them). */
  async stop(): Promise<void> {
    this.#closing.abort();
    this.#stopped = true;
    clearTimeout(this.#timer);
    try {
      await this.#running?.catch(() => {});
      await this.#serial;
      await this.#observation.settle();
      await this.tree.stop().catch(() => {});
      await this.node.stop();
      this.#rpc.destroy();
      await this.#decisions.flushed();
    } finally {
      await this.#release();
    }
  }

  /** Runs one period now (tests). */
  async tick(): Promise<void> {
    await this.#period();
  }

  /** One period, after any period already running: never two at once, whoever starts them. */
  #period(): Promise<void> {
    const run = this.#serial.then(() => this.#tick());
    this.#serial = run.catch(() => {});
    return run;
  }

  status(): AgentStatus {
    const [own, last, spent] = [this.#own, this.#last, this.client.fees.spent];
    return agentStatus({ seed: this.seed, balance: this.#balance, own, last, tree: this.tree, spent });
  }

  /** The status report as its next push would send it (status-report.ts). */
  statusReport(): IconStatusReport {
    return this.#report.report(this.status(), this.seed.placement?.yard.peerId ?? "");
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.seed.done || !this.acting.acting) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#period()
        .catch((e: unknown) => this.#emit("error", (e as Error).message))
        .finally(() => this.#schedule(this.env.periodMs));
    }, ms);
  }

  #emit(kind: AgentEvent["kind"], text: string, data?: Record<string, unknown>): void {
    this.#hooks.onEvent?.({ icon: this.name, kind, text, data });
  }

  async #save(): Promise<void> {
    await saveAgentState(this.dir, this.env, this.seed);
  }

  // ------------------------------------------------------------------ one period

  async #tick(): Promise<void> {
    if (this.seed.done || !this.acting.acting) return;
    if (this.seed.terminating) return this.#moves.finishTermination();
    if (this.seed.moving) await this.#moves.finishMove();
    this.#ticks++;
    if (!this.#treeUp && this.#ticks % 10 === 0) await this.#startTree();
    if (this.#ticks % 60 === 0) await this.#recovery.sweep();
    const nowS = Date.now() / 1000;
    // Discovery and the cost map may fail for a while: the last good ones serve meanwhile.
    await Promise.all([
      this.#observation.refreshYards().catch((e: unknown) => this.#emit("error", `discovery: ${(e as Error).message}`)),
      this.#observation.refreshAlto().catch((e: unknown) => this.#emit("error", `cost map: ${(e as Error).message}`)),
    ]);
    this.#balance = (await this.client.account(this.seed.account)).balance;
    const knobs = await this.#observation.knobs();
    if (this.seed.placement) {
      try {
        await this.#moves.renewIfDue();
      } catch (e) {
        this.#emit("error", `renewing lease ${this.seed.placement.leaseId}: ${(e as Error).message}`);
      }
      if (BigInt(Math.floor(nowS)) >= this.seed.placement.end) {
        this.#emit("placed", `lease ${this.seed.placement.leaseId} has ended: placing again`);
        this.seed.placement = undefined;
        await this.#save();
      }
    }
    if (!this.seed.placement) return this.#moves.place(knobs);
    this.#balance = (await this.client.account(this.seed.account)).balance;
    const p = this.seed.placement;
    const here = this.#observation.yards.find((y) => y.peerId === p.yard.peerId) ?? p.yard;
    let flows: Observed[];
    try {
      flows = await this.#observation.telemetry(p);
    } catch (e) {
      this.#emit("error", `telemetry from ${p.yard.name}: ${(e as Error).message}`);
      // Its yard may be lost (local placement): placed again elsewhere after a bounded number of periods.
      return this.#moves.loss.own(false);
    }
    await this.#moves.loss.own(true);
    this.#own = flows.map((f) => ({
      subnet: f.subnet,
      rate: f.rate,
      latencyMs: this.#observation.latencies(f.subnet, f.latencyMs, here, f.rttMs),
    }));
    this.#flows = flows;
    // In the background: a slow or absent DNS server must not hold up the period.
    this.#observation.learnInBackground(flows);
    this.#observation.traceInBackground(flows);
    await this.#moves.updateRedirects();
    await this.#moves.followParent();
    await this.#moves.loss.children(); // sidecar placement: replicas lost with their yards are placed again
    const ancestors = this.tree.ancestors.map((a) => ({ account: a.account, addrs: a.addrs }));
    if (encodeState(ancestors) !== encodeState(this.seed.ancestors ?? [])) {
      this.seed.ancestors = ancestors;
      await this.#save();
    }
    await writeAgentStatus(this.dir, this.status());
    this.#report.period(this.status(), p.yard.peerId);
    // Subnets this ICON serves itself: those its children took over are theirs to decide about.
    const own = this.#own.filter((s) => s.rate > 0 && !this.#moves.delegated.has(s.subnet));
    if (nowS - p.since < this.env.warmupS) {
      this.#controller.observe(own, nowS); // no decision yet, but the smoothing starts with the placement
      return;
    }

    const parent = this.seed.parent?.placement;
    const situation = {
      here: { location: p.yard.peerId, pricePerSecond: p.pricePerSecond },
      parent: parent ? { location: parent.yard.peerId, pricePerSecond: parent.pricePerSecond } : undefined,
      candidates: this.#observation.candidates(),
      subnets: own,
      balance: this.#balance,
      slotSeconds: this.env.spec.slotSeconds,
      pinned: !this.seed.parent,
      // What the rest of the application serves (its total less what this ICON reported): sets σ (decision.ts appShare).
      otherRate: Math.max(0, (this.tree.appRate() ?? 0) - flows.reduce((a, f) => a + f.rate, 0)),
      // The subnets this placement is for, in their grace: their clients come only once redirected here.
      graced: gracedSubnets(
        this.seed.placedFor ?? this.seed.subnets,
        Math.max(p.since, this.#bornS),
        nowS,
        this.env.periodMs / 1000,
      ),
    };
    const e = this.#controller.step(knobs, situation, nowS);
    // Per subnet its rate and l_ij here; `(rtt …)` the network round trip measured here, when there is one.
    const summary = this.#own
      .map((s) => {
        const rtt = flows.find((f) => f.subnet === s.subnet)?.rttMs;
        const measured = rtt !== undefined && Number.isFinite(rtt) ? ` (rtt ${rtt.toFixed(1)})` : "";
        return `${s.subnet} ${s.rate.toFixed(1)}/s ${(s.latencyMs[p.yard.peerId] ?? NaN).toFixed(0)} ms${measured}`;
      })
      .join(", ");
    const observed = `${summary || "no clients"}; U=${e.uNow.toFixed(3)} → ${e.action.kind}${e.fire ? "" : " (waiting)"}`;
    this.#emit("observe", `at ${p.yard.name}: ${observed}`, { uNow: e.uNow, action: e.action.kind });
    if (!e.fire || !this.acting.acting) return;
    const reason = this.#observation.yards.reduce((r, y) => r.replaceAll(y.peerId, y.name), e.reason);
    this.#last = `${e.action.kind}: ${reason}`;
    const decided = `${describeAction(e.action, this.#observation.yards)} — ${reason}`;
    this.#emit("decide", decided, { uNow: e.uNow, uAfter: e.uAfter, improvement: e.improvement });
    this.#report.decided(decided, e.uNow, e.uAfter, this.#own, p.yard.peerId, e.action.kind !== "stay");
    switch (e.action.kind) {
      // Carried out on the smoothed view the decision was made on; every quote is checked against it (stillPays).
      case "replicate":
        return this.#moves.replicate(knobs, { ...situation, subnets: e.smoothed }, e.action);
      case "migrate":
        return this.#moves.migrate(knobs, { ...situation, subnets: e.smoothed }, e.action);
      case "terminate":
        // Replicas of this ICON re-parent to its parent (tree.leave()); their accounts stay below this closed one on
        // chain, and whatever they return into it later the parent pulls up (recovery.ts sweep: closed replica accounts).
        return this.#moves.terminate();
      case "stay":
        return;
    }
  }
}
