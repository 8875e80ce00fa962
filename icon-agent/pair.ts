/**
 * Migration of an ICON that runs in its lease's sidecar moves the pair — service and agent — make before break, and
 * never lets two instances act for one ICON (issue 16 item 5). After the new lease runs the service (moves.ts
 * migrate), {@link movePair}:
 *
 *   1. stops deciding (the agent's fence: no period, no relayed intent, no tree report, attach or funding answer);
 *   2. writes its successor's state: instance epoch e+1, the move still to finish (`moving`: the stub at the old
 *      yard, the old lease to end — the successor's recovery does it, moves.ts finishMove) and what it has learned
 *      (`carried`: the Controller's smoothed observations and cool-down, the tree's children, the policy version);
 *   3. FENCES its own lease: a Redeploy of the old lease with the same agent part and a state marked `retired`
 *      (handed over to the new lease at e+1) whose record carries the successor (`moving` and `carried`: the
 *      successor's state is the retired one with them, at e+1). The yard keeps the running sidecar and holds the
 *      new secret for its restarts, so an old sidecar that crashes now restarts as "retired" and never acts as e;
 *   4. hands the successor's state into the new lease's sidecar (the hand-over Deploy, agent part `once`).
 * If 3 or 4 fails, the old lease gets back the state of epoch e, the new lease ends (its unused time refunded) and
 * this instance decides again: nothing is lost. Once 4 is done this instance stays fenced, leaves the network and
 * waits for its lease to end (the successor ends it), so a running old sidecar is not restarted in a loop; meanwhile
 * it checks every RETIRED_RECHECK_MS that the successor runs ({@link stayRetired}: the hand-over sent again with
 * `once`, harmless where the successor runs or is held; one lost since is handed over again).
 *
 * Crash points of the old instance (its process killed, its sidecar restarted by its yard from what the yard holds):
 *   - before 3's Redeploy landed: the yard holds instance e, which restarts and acts; its recovery ends the new
 *     lease, unknown to its state (recovery.ts sweep);
 *   - between 3 and 4 (the Deploy not sent, or sent and not answered): the restarted copy is retired, stays up and
 *     settles first ({@link settleRetired}, retried with backoff by {@link stayRetired} until settled — it never
 *     exits, so its yard's restarts are not spent): it sends the successor's hand-over itself with `once` to the
 *     successor's current lease (a renewal it bought since) — a yard where the first one landed keeps the running
 *     successor and its held state, one where it did not starts it — and then idles retired, checking again
 *     periodically; only on proof that no successor runs (the new yard says it ended that lease, whose sidecar it
 *     stopped first; or that yard cannot be reached and the chain says the lease Ended/Settled/Cancelled more than
 *     ENDED_MARGIN_S ago) and no other live lease of the ICON outside its own renewal chain does it take its lease's
 *     held state back un-retired at e+2 and act; anything else (StartMissed, a yard that cannot be told while the
 *     lease is live or just ended, another live lease) → it stays retired and tries again;
 *   - after 4 answered, before this instance recorded it: the same settling finds the successor held at the new
 *     yard and changes nothing there;
 *   - after the successor finished the move: the old lease ended, its sidecar with it.
 * ICON_FAULT_PAIR_CRASH (testFaultCrash, a test fault only) kills the process at the second and third point.
 *
 * The successor (a fresh `icon agent run` from the sealed state) finishes the move at its start, restores the
 * Controller (no warm-up from zero) and tells the carried children its new address ({@link callChildrenHome}); the
 * tree's parent refuses anything from a lower epoch (tree-children.ts).
 *
 * @example
 *   if (inSidecar) return movePair(components, old, next);   // instead of finishMove here
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Libp2p } from "@libp2p/interface";
import type { Wallet } from "ethers";
import {
  IconError,
  dialableAddrs,
  inactiveLeaseStatus,
  signTreeMember,
  treeDomain,
  treeLimits,
  treeRequest,
  type DeploySpec,
  type MarketClient,
} from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import type { Controller } from "./decision.ts";
import { endSidecar, handOver, refusedByYard } from "./handover.ts";
import { liveLeases, sidecarLease } from "./leases.ts";
import type { TreeMember } from "./tree.ts";
import type { StatusReporter } from "./status-report.ts";
import {
  SEALED_STATE_MAX_BYTES,
  encodeState,
  sealAgentState,
  type AgentSeed,
  type CarriedState,
  type Emit,
  type Placement,
} from "./state.ts";

/** Children whose address a successor is told at most (the sealed state stays far below 64 KiB). */
export const MAX_CARRIED_CHILDREN = 64;

/** What the migration of a pair uses of the agent. */
export interface PairComponents {
  dir: string;
  env: AgentEnv;
  seed: AgentSeed;
  node: Libp2p;
  /** The ICON's key: it holds both leases. */
  wallet: Wallet;
  client: MarketClient;
  /** The service as every Deploy of this ICON names it. */
  spec(): Omit<DeploySpec, "leaseId" | "agent">;
  /** What the successor continues from, taken after the fence. */
  carried(): CarriedState;
  /** Stops every action of this instance (and waits for one in flight); `unfence` lets it act again. */
  fence(): Promise<void>;
  unfence(): void;
  /** Runs `act` through the closed fence (the undo's own intents: ending the new lease). */
  permit<T>(act: () => Promise<T>): Promise<T>;
  /** After a successful hand-over: this instance leaves the network (its tree handler and libp2p node). */
  retire(): Promise<void>;
  /** A libp2p node of a fresh peer id (through the gateway in a sidecar), for one settling of a retired instance. */
  settleNode(): Promise<Libp2p>;
  /** Aborts when this instance stops: a retired instance stops checking on its successor. */
  signal: AbortSignal;
  /** A retired instance took its lease's state back (settleRetired "acting"): its process starts it afresh. */
  actAgain(): void;
  save(): Promise<void>;
  emit: Emit;
}

/**
 * Moves the agent after the service (see the module header): `old` is this instance's lease, `next` the new one,
 * already running the service. Resolves once the successor runs in `next`'s sidecar; throws (after undoing: old
 * state back at the old yard, `next` ended, this instance acting again) when the fence or the hand-over fails.
 */
export async function movePair(c: PairComponents, old: Placement, next: Placement): Promise<void> {
  const { seed, client, emit } = c;
  const sidecar = c.env.sidecar;
  if (!sidecar) throw new Error("the pair moves only in sidecar placement (env.sidecar)");
  const epoch = seed.instance ?? 0;
  await c.fence();
  // The retired record carries all the successor is (this seed with `moving` and `carried`, at e+1): a copy
  // restarted from it before the hand-over was done sends it (settleRetired). Both seals share `carried`.
  const retired: NonNullable<AgentSeed["retired"]> = {
    ...{ leaseId: next.leaseId, yard: next.yard.name, instance: epoch + 1, atMs: Date.now() },
    ...{ moving: next, carried: c.carried() },
  };
  const fenced: AgentSeed = { ...seed, retired };
  const successor = successorSeed(fenced);
  const deploy = (placement: Pick<Placement, "leaseId" | "yard">, s: AgentSeed, once = false) =>
    handOver({ node: c.node, holder: c.wallet, client, dir: c.dir, placement, spec: c.spec(), sidecar, seed: s, once });
  // The old sidecar runs in the newest lease of the old placement's renewal chain: a renewal deployed since
  // carried it over, and the yard refuses a Redeploy of the lease it left (leases.ts sidecarLease).
  let here: Pick<Placement, "leaseId" | "yard"> = old;
  try {
    here = await sidecarLease(client, seed.account, old);
    await fitCarried(c.dir, c.env, fenced, retired.carried); // the retired state holds the successor's and more
  } catch (e) {
    return undo(e, "prepare");
  }
  /**
   * Puts things back after step `at` failed with `e`: the successor's sidecar stopped when its hand-over may have
   * started it, instance e back at the old yard, the new lease ended (through the closed fence: this instance's
   * own intent), then acting again — unless the successor may still run, in which case this instance stays fenced.
   */
  async function undo(e: unknown, at: "prepare" | "fence" | "successor"): Promise<never> {
    let back = "";
    let successorStopped = true;
    if (at === "successor" && !refusedByYard(e)) {
      // No answer from the new yard: it may run the successor. Its sidecar is stopped before anything else.
      successorStopped = await endSidecar({ node: c.node, holder: c.wallet, client, placement: next, spec: c.spec() })
        .then(() => true)
        .catch(() => false);
    }
    // The old yard may hold the retired state since the fence: this instance's own state goes back first, so a
    // restart of the old sidecar resumes it (if that fails too, a restart ends as retired: never two instances).
    // (A fence the yard refused changed nothing; one without an answer may have landed.)
    const fenced = at === "successor" || (at === "fence" && !refusedByYard(e));
    if (fenced && successorStopped)
      back = await deploy(here, { ...seed }).then(
        () => `; lease ${here.leaseId} holds instance ${epoch} again`,
        (x: unknown) =>
          `; lease ${here.leaseId} still holds the retired state (${(x as Error).message}): a restart of this sidecar will not act`,
      );
    const refund = await c
      .permit(() => client.terminate(next.leaseId))
      .then(
        (r) => `lease ${next.leaseId} ended (refund ${client.format(r)})`,
        (x: unknown) => `ending lease ${next.leaseId} failed (${(x as Error).message}); the next sweep ends it`,
      );
    if (!successorStopped) {
      emit(
        "error",
        `moving the agent to ${next.yard.name} failed with no answer and its sidecar could not be stopped: it may run instance ${epoch + 1}; ${refund}; this instance stays fenced`,
      );
      throw e;
    }
    c.unfence();
    emit("error", `moving the agent to ${next.yard.name} failed, ${refund}${back}; deciding here again`);
    throw e;
  }
  try {
    await deploy(here, fenced);
  } catch (e) {
    return undo(e, "fence");
  }
  emit("tree", `lease ${here.leaseId} fenced: a restart of its sidecar finds instance ${epoch} retired`);
  testFaultCrash("fenced");
  try {
    // `once`: a copy of this instance restarted meanwhile may have sent the same (settleRetired); either lands once.
    await deploy(next, successor, true);
  } catch (e) {
    return undo(e, "successor");
  }
  testFaultCrash("handed");
  seed.retired = retired;
  await c.save();
  emit(
    "migrated",
    `handed over to lease ${next.leaseId} at ${next.yard.name} (instance ${epoch + 1}, service and agent); instance ${epoch} retires and its lease ${old.leaseId} ends when the successor finishes the move`,
    { from: old.yard.name, to: next.yard.name, instance: epoch + 1 },
  );
  await c.retire();
  // Until its lease ends, it checks that the successor runs (a new yard restarted before the sidecar started, a
  // sidecar that keeps crashing), and hands it over again or acts again once it is proven gone (stayRetired).
  void stayRetired(c, c.signal).then((r) => r === "acting" && c.actAgain());
}

/** The successor a retired seed hands over: the seed itself at the retired record's instance, moving and carried. */
export function successorSeed(retiredSeed: AgentSeed): AgentSeed {
  const { retired, ...seed } = retiredSeed;
  if (!retired) throw new IconError("RETIRED", `ICON ${seed.name}: this copy was not handed over`);
  return { ...seed, instance: retired.instance, moving: retired.moving, carried: retired.carried };
}

/** What {@link settleRetired} does with a retired copy: it stays retired (its successor runs) or acts again. */
export type RetiredOutcome = "retired" | "acting";

/** A retired copy checks its successor this often once confirmed, and retries a failed settling at most this far apart. */
export const RETIRED_RECHECK_MS = 30_000;
/**
 * How long after the end of the successor's lease on chain (its stop included: a yard's stopTimeoutS is at most
 * 60 s) a yard that cannot be reached is taken to have stopped that lease's sidecar.
 */
export const ENDED_MARGIN_S = 120;

type SettleComponents = Pick<
  PairComponents,
  "dir" | "env" | "seed" | "node" | "wallet" | "client" | "spec" | "save" | "emit"
>;

/**
 * A copy started from a retired state (its sidecar restarted by its yard after a crash past the fence, or the old
 * instance itself checking on its successor, {@link stayRetired}) makes sure the ICON has exactly one acting
 * instance before it decides anything. The successor's lease is the newest of the moving placement's renewal chain
 * (leases.ts sidecarLease: the yard refuses a Redeploy of a renewed lease), and its hand-over is sent to it again
 * with `once`:
 *  - the yard answers Running (a yard where it landed keeps the running successor and its held state untouched, one
 *    where it did not starts it) → "retired" (this copy does not act);
 *  - no successor runs, proven — the yard refuses because it has ended that lease (its sidecar stopped before,
 *    protocol/lease/inactive.ts), or, when it cannot be reached, the chain says Ended/Settled/Cancelled and
 *    ENDED_MARGIN_S passed since the lease stopped — and no other live lease of the account is outside this copy's
 *    own renewal chain → none can start again (the only other copy of its state was that lease's secret, wiped at
 *    its end): this copy takes its lease's held state back, un-retired, at instance e+2 (above any successor that
 *    ran for a while as e+1) → "acting";
 *  - anything else (the yard refuses for another reason, cannot be reached while the chain says the lease is live,
 *    StartMissed or ended only just now, another live lease) → IconError RETIRED: the successor may run; this copy
 *    does not act and tries again later.
 * A record from before the retired state carried its successor → "retired".
 */
export async function settleRetired(c: SettleComponents): Promise<RetiredOutcome> {
  const { seed, client } = c;
  const r = seed.retired;
  const sidecar = c.env.sidecar;
  if (!r?.moving || !sidecar || !seed.placement) return "retired";
  const next = await sidecarLease(client, seed.account, r.moving);
  const o = { node: c.node, holder: c.wallet, client, dir: c.dir, spec: c.spec(), sidecar };
  let gone: string;
  try {
    await handOver({ ...o, placement: next, seed: successorSeed(seed), once: true });
    c.emit("tree", `lease ${next.leaseId} at ${next.yard.name} runs instance ${r.instance} (its hand-over confirmed)`);
    return "retired";
  } catch (e) {
    gone = await noSuccessorRuns(client, next, e);
  }
  const here = await sidecarLease(client, seed.account, seed.placement);
  const own = new Set([here.leaseId, seed.placement.leaseId, seed.placement.renewal?.leaseId]);
  const others = (await liveLeases(client, seed.account)).filter((id) => !own.has(id) && id !== next.leaseId);
  if (others.length > 0)
    throw new IconError(
      "RETIRED",
      `ICON ${seed.name}: lease ${next.leaseId} ended and lease(s) ${others.join(", ")} of this ICON are live (one may run a successor): this copy does not act`,
    );
  const back: AgentSeed = { ...seed, instance: r.instance + 1 };
  delete back.retired;
  await handOver({ ...o, placement: here, seed: back });
  Object.assign(seed, back);
  delete seed.retired;
  await c.save();
  c.emit(
    "tree",
    `lease ${next.leaseId} at ${next.yard.name} ${gone}, no successor runs: this copy acts again as instance ${back.instance} (lease ${here.leaseId} holds it)`,
  );
  return "acting";
}

/**
 * Why no successor runs in `next`, whose `once` hand-over failed with `e` (see {@link settleRetired}), or throws
 * IconError RETIRED when that is not proven.
 */
async function noSuccessorRuns(
  client: MarketClient,
  next: Pick<Placement, "leaseId" | "yard">,
  e: unknown,
): Promise<string> {
  const said = (e as Error).message;
  if (refusedByYard(e)) {
    const status = inactiveLeaseStatus(said, next.leaseId);
    if (status) return `has ${status} at its yard (its sidecar stopped)`;
    throw new IconError("RETIRED", `${said}: the successor may run; this copy does not act`, { cause: e });
  }
  const l = await client.lease(next.leaseId);
  const stopped = Number(l.stoppedAt > 0n ? l.stoppedAt : l.end);
  const provider = client.market.runner?.provider;
  const now = provider ? (await provider.getBlock("latest"))!.timestamp : Date.now() / 1000;
  if (["Ended", "Settled", "Cancelled"].includes(l.state) && now >= stopped + ENDED_MARGIN_S)
    return `is ${l.state} on chain since ${Math.floor(now - stopped)} s and its yard cannot be reached`;
  throw new IconError(
    "RETIRED",
    `${said}; the chain says lease ${next.leaseId} is ${l.state}: the successor may run; this copy does not act`,
    { cause: e },
  );
}

/**
 * A retired copy stays up and keeps its ICON's one instance (issue 16 item 5): it settles ({@link settleRetired})
 * until it is told, retrying with backoff (1 s doubling to RETIRED_RECHECK_MS) while the new yard cannot be reached
 * or the outcome is not proven, then checks again every RETIRED_RECHECK_MS — a successor lost since (its yard
 * restarted before the sidecar started, a sidecar that keeps crashing) is handed over again or, once proven gone,
 * replaced by this copy acting. Its own sidecar never exits (an exit would spend its yard's restarts and count as
 * lost); its yard stops it at its lease's end (`signal`). Each attempt speaks from a node of its own (`settleNode`,
 * a fresh peer id): this copy never shows the ICON's peer id beside the successor's. Resolves "acting" when this
 * copy acts again (the caller starts it), undefined once `signal` aborts.
 */
export async function stayRetired(
  c: Omit<SettleComponents, "node"> & { settleNode(): Promise<Libp2p> },
  signal: AbortSignal,
): Promise<"acting" | undefined> {
  let backoff = 1_000;
  while (!signal.aborted) {
    let wait: number;
    let node: Libp2p | undefined;
    try {
      node = await c.settleNode();
      if ((await settleRetired({ ...c, node })) === "acting") return "acting";
      wait = RETIRED_RECHECK_MS;
      backoff = 1_000;
    } catch (e) {
      wait = backoff;
      backoff = Math.min(backoff * 2, RETIRED_RECHECK_MS);
      c.emit("error", `settling the retired copy: ${(e as Error).message}; again in ${wait / 1000} s`);
    } finally {
      await Promise.resolve(node?.stop()).catch(() => {});
    }
    await sleep(wait, undefined, { signal }).catch(() => {});
  }
  return undefined;
}

/**
 * TEST FAULT, set in no real run: `ICON_FAULT_PAIR_CRASH=<step>` in the agent's environment (a test's own agent
 * image) kills this process at that step of {@link movePair}, as `docker kill` would: `fenced` (after the fence,
 * before the hand-over's Deploy), `handed` (the hand-over's Deploy answered, before this instance recorded it).
 */
function testFaultCrash(step: "fenced" | "handed"): void {
  if (process.env.ICON_FAULT_PAIR_CRASH === step) process.kill(process.pid, "SIGKILL");
}

/**
 * Trims `carried` (`seed.carried` unless named) in place until the sealed state of `dir` with `seed` fits the Deploy's agent secret
 * (SEALED_STATE_MAX_BYTES): first each child's addresses (two kept), then by turns the children and the
 * Controller's entries (the first half kept: children in the tree's order, observations the most recent); what is
 * dropped is relearned (a child not told finds its way up after missed reports; observations are smoothed again).
 */
export async function fitCarried(dir: string, env: AgentEnv, seed: AgentSeed, carried = seed.carried): Promise<void> {
  const size = async (): Promise<number> => {
    const sealed = await sealAgentState(dir, { agentJson: encodeState({ env, seed }), maxBytes: Infinity });
    const n = sealed.length;
    sealed.fill(0);
    return n;
  };
  if (!carried) return;
  const half = <T>(xs: T[]): T[] => xs.slice(0, xs.length >> 1);
  for (let round = 0; (await size()) > SEALED_STATE_MAX_BYTES; round++) {
    const { controller: ctl } = carried;
    const observations = ctl.rates.length + ctl.latencies.length;
    if (round === 0) {
      carried.children = carried.children.map((ch) => ({ ...ch, addrs: ch.addrs.slice(0, 2) }));
      delete carried.decisions; // the status report's "after" of the last moves: the least needed
    } else if (carried.children.length > 0 && (round % 2 === 1 || observations === 0))
      carried.children = half(carried.children);
    else if (observations > 0) {
      ctl.rates = half(ctl.rates);
      ctl.latencies = half(ctl.latencies);
    } else return; // nothing carried is left to trim: the seal says what is too large
  }
}

/** What a successor continues from: the Controller's state, the tree's children (bounded), the policy version. */
export function carriedState(
  controller: Controller,
  tree: Pick<TreeMember, "children" | "policy">,
  report?: Pick<StatusReporter, "carry">,
): CarriedState {
  const decisions = report?.carry() ?? [];
  return {
    controller: controller.snapshot(),
    children: tree
      .children()
      .slice(0, MAX_CARRIED_CHILDREN)
      .map((ch) => ({ account: ch.account, addrs: ch.addrs, epoch: ch.epoch })),
    policyVersion: tree.policy()?.version,
    ...(decisions.length > 0 ? { decisions } : {}),
  };
}

/**
 * The successor's first act in the tree, once it joined it (the Controller was restored when the agent was built):
 * it says what it continues from (the predecessor's smoothed rates), then each carried child is told (TreeDetach naming this instance as the new parent, signed by the ICON's key from the
 * same peer id it knew) to attach to this instance's address; then the carried state is dropped. Failures are
 * reported; such a child finds its way up the ancestors after missed reports.
 */
export async function successorStart(c: PairComponents): Promise<void> {
  // Said once, so the timeline shows what the first decisions here rest on (the Controller restored from these).
  const rates = (c.seed.carried?.controller.rates ?? []).map(([subnet, r]) => `${subnet} ${r.toFixed(1)}/s`);
  c.emit(
    "tree",
    `instance ${c.seed.instance ?? 0} continues from its predecessor's smoothed observations: ${rates.join(", ") || "none"}`,
  );
  const children = (c.seed.carried?.children ?? []).slice(0, MAX_CARRIED_CHILDREN);
  if (children.length > 0) await callChildrenHome({ ...c, account: c.seed.account, children });
  c.seed.carried = undefined;
  await c.save();
}

async function callChildrenHome(o: {
  node: Libp2p;
  wallet: Wallet;
  client: MarketClient;
  account: bigint;
  children: CarriedState["children"];
  emit: Emit;
}): Promise<void> {
  const domain = treeDomain(BigInt(o.client.deployment.chainId), o.client.deployment.market);
  const proof = await signTreeMember(o.wallet, domain, o.account, o.node.peerId);
  const addrs = o.node
    .getMultiaddrs()
    .map(String)
    .filter((a) => Buffer.byteLength(a) <= treeLimits.maxAddrBytes)
    .slice(0, treeLimits.maxAddrs);
  const told = await Promise.allSettled(
    o.children.map((ch) =>
      treeRequest(
        o.node,
        dialableAddrs(ch.addrs),
        { type: "detach", proof, newParent: { account: o.account, addrs } },
        AbortSignal.timeout(10_000),
      ),
    ),
  );
  const failed = told.flatMap((r, i) => (r.status === "rejected" ? [o.children[i]!.account] : []));
  o.emit(
    "tree",
    `told ${o.children.length - failed.length} of ${o.children.length} children this instance's new address${failed.length ? ` (not reached: ${failed.join(", ")})` : ""}`,
  );
}
