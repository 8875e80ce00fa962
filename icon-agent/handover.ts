/**
 * Handing an ICON into its lease's agent sidecar (sidecar placement, issue 16): its state directory is sealed
 * (state.ts sealAgentState, with the next `instance` epoch) and sent as the secret of a Deploy for its lease — the
 * same service spec plus the agent part — over /icon/lease's Redeploy, signed as the lease holder (the ICON's key:
 * LeaseAccess bound to this node's peer id). The yard keeps the running service, resizes it to the lease minus the
 * agent's share and starts the sidecar, which unseals the state into its tmpfs and runs the agent from there.
 *
 * Used by a parent for its replica (moves.ts replicate, recovery.ts adopting one whose hand-over was not recorded),
 * by `icon app deploy` for the origin after its first placement (Agent.handOverSelf) and, inside a sidecar, by
 * the renewal (`sealedAgentPart`: the renewal's Deploy carries the agent's own state again).
 *
 * @example
 *   const part = await sealedAgentPart(dir, env.sidecar!, { nextInstance: true });
 *   await handOver({ node, holder: childKey, client, placement, spec: deploySpec, part });
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import type { Libp2p } from "@libp2p/interface";
import { Wallet, type Signer } from "ethers";
import {
  IconError,
  LeaseSecret,
  fromJson,
  isIconError,
  printable,
  redeployLease,
  signLeaseAccess,
  type AgentPart,
  type DeploySpec,
  type MarketClient,
} from "../protocol/index.ts";
import type { AgentEnv, SidecarSpec } from "./config.ts";
import type { Agent } from "./agent.ts";
import { live, liveLeases, sidecarLease } from "./leases.ts";
import {
  clearHandedOver,
  encodeState,
  handedOver,
  markHandedOver,
  readAgentState,
  sealAgentState,
  type AgentSeed,
  type HandOverMark,
  type Placement,
} from "./state.ts";

/**
 * The agent part of a Deploy carrying the ICON in `dir`: `sidecar`'s image and share, the sealed state as its
 * secret. `nextInstance`: the sealed copy is the next instance (its seed's `instance` + 1; the copy in `dir` keeps
 * its own), as for every hand-over; without it the same instance (a renewal from inside the sidecar). `seed`: sealed
 * instead of the one in `dir` (its `instance` as it is; the migration of a pair, pair.ts).
 */
export async function sealedAgentPart(
  dir: string,
  sidecar: SidecarSpec,
  o: { nextInstance?: boolean; seed?: AgentSeed; once?: boolean } = {},
): Promise<{ part: AgentPart; instance: number }> {
  const saved = fromJson<{ env: AgentEnv; seed: AgentSeed }>(await readFile(path.join(dir, "agent.json"), "utf8"));
  const { env } = saved;
  const seed = o.seed ?? saved.seed;
  const instance = (seed.instance ?? 0) + (o.nextInstance && !o.seed ? 1 : 0);
  const sealed = await sealAgentState(dir, { agentJson: encodeState({ env, seed: { ...seed, instance } }) });
  const part: AgentPart = {
    imageRef: sidecar.imageRef,
    imageDigest: sidecar.imageDigest,
    command: sidecar.command,
    cpuMillis: sidecar.cpuMillis,
    memoryMiB: sidecar.memoryMiB,
    secret: LeaseSecret.of(sealed),
    ...(o.once ? { once: true } : {}),
  };
  sealed.fill(0);
  return { part, instance };
}

export interface HandOverOptions {
  /** The node that speaks to the yard (the access is bound to its peer id). */
  node: Libp2p;
  /** The key that holds the lease: the controller of its paying account (the ICON's own key). */
  holder: Signer;
  /** For the market's EIP-712 domain. */
  client: Pick<MarketClient, "domain">;
  /** The ICON's state directory (sealed as it is now). */
  dir: string;
  /** The lease to hand the ICON into, and its yard. */
  placement: Pick<Placement, "leaseId" | "yard">;
  /** The lease's service, as its first Deploy named it (without the lease id). */
  spec: Omit<DeploySpec, "leaseId" | "agent">;
  sidecar: SidecarSpec;
  /** The state to seal instead of the next instance of the one in `dir` (the migration of a pair, pair.ts). */
  seed?: AgentSeed;
  /**
   * A hand-over that may have been sent before (the successor of a migration, pair.ts): where the lease's agent
   * already runs or is held, the yard keeps it as it is and answers Running (the agent part's `once`).
   */
  once?: boolean;
}

/**
 * Whether a failed Redeploy (an IconError HANDOVER_FAILED of {@link handOver} or {@link endSidecar}) was refused by
 * the yard — it answered Failed or rejected the request, so nothing changed there. Anything else (no answer, a
 * stream cut, a timeout) is unknown: the yard may have done it.
 */
export function refusedByYard(e: unknown): boolean {
  return isIconError(e, "HANDOVER_FAILED") && e.details.refused === true;
}

/** The HANDOVER_FAILED of a Redeploy that threw `e`, the yard's words made printable, `refused` in its details. */
function redeployFailed(what: string, e: unknown): IconError {
  const refused =
    (isIconError(e, "REDEPLOY_FAILED") && e.details.refused === true) ||
    (isIconError(e) && e.code.startsWith("REJECTED_"));
  return new IconError("HANDOVER_FAILED", printable(`${what}: ${(e as Error).message}`), {
    cause: e,
    details: { refused },
  });
}

/**
 * Hands the ICON in `o.dir` into its lease's sidecar; resolves with the endpoint and the instance epoch the sidecar
 * runs once the yard answered Running (the sidecar started), throws IconError HANDOVER_FAILED with the yard's
 * sentence otherwise — `details.refused` ({@link refusedByYard}) when the yard refused it (nothing changed there:
 * a refused Deploy leaves the lease as it was), else the outcome is unknown.
 */
export async function handOver(o: HandOverOptions): Promise<{ endpoint: string; instance: number }> {
  const { leaseId, yard } = o.placement;
  const { part, instance } = await sealedAgentPart(o.dir, o.sidecar, {
    nextInstance: true,
    seed: o.seed,
    once: o.once,
  });
  try {
    const access = await signLeaseAccess(o.holder, o.client.domain(), leaseId, o.node.peerId, 300);
    const r = await redeployLease(o.node, multiaddr(yard.addrs[0]!), access, { ...o.spec, leaseId, agent: part });
    return { endpoint: r.endpoint, instance };
  } catch (e) {
    throw redeployFailed(`handing the ICON in ${o.dir} into lease ${leaseId} at ${yard.name} failed`, e);
  } finally {
    part.secret.wipe();
  }
}

/**
 * A parent hands its replica (state in `dir`, written by the parent) into the sidecar of the replica's lease, signed
 * by the replica's key (the controller of the replica's account holds its lease).
 */
export async function handOverReplica(
  o: Omit<HandOverOptions, "holder" | "placement">,
): Promise<{ name: string; leaseId: bigint; yard: string; instance: number }> {
  const child = await readAgentState(o.dir);
  const placement = child.seed.placement;
  if (!placement) throw new IconError("HANDOVER_FAILED", `the replica in ${o.dir} has no placement to hand it into`);
  const r = await handOver({ ...o, holder: new Wallet(child.key), placement });
  return { name: child.seed.name, leaseId: placement.leaseId, yard: placement.yard.name, instance: r.instance };
}

/**
 * Stops the ICON's sidecar (taking the ICON back): a Deploy of its lease with the service only; the yard stops the
 * sidecar, wipes its secret and gives the service the whole lease again. Throws HANDOVER_FAILED when the yard
 * cannot be told.
 */
export async function endSidecar(o: Omit<HandOverOptions, "dir" | "sidecar">): Promise<void> {
  const { leaseId, yard } = o.placement;
  try {
    const access = await signLeaseAccess(o.holder, o.client.domain(), leaseId, o.node.peerId, 300);
    await redeployLease(o.node, multiaddr(yard.addrs[0]!), access, { ...o.spec, leaseId });
  } catch (e) {
    throw redeployFailed(
      `stopping the sidecar of lease ${leaseId} at ${yard.name} failed (it may still run the ICON)`,
      e,
    );
  }
}

/**
 * Hands `agent`'s own ICON into its lease's sidecar (sidecar placement; `icon agent run --hand-over`, which
 * `icon app deploy` starts for the origin): the agent stops deciding first and closes its fence (Agent.pause and
 * the fence of a migration, acting.ts: no period, no tree report or funding answer, no relayed intent after the
 * seal; its lock stays held), then its state is sealed as the next instance and sent with a Deploy of the lease that
 * holds its containers now (the placement's renewal once one was deployed). A "handing over" mark is written before
 * the Deploy and becomes the handed-over mark once the yard answered Running; the caller stops the agent then.
 * If the yard refuses, the agent acts again where it stopped and the error says why. If the outcome is unknown (no
 * answer), the sidecar is stopped first (a Deploy without the agent part) and the agent then acts again as the
 * instance after the sealed one; if even that cannot be confirmed, the agent stays fenced and the error
 * (HANDOVER_UNKNOWN) says so — the mark stays and the next `icon agent run` resolves it ({@link resolveHandingOver}).
 */
export async function handOverSelf(agent: Agent): Promise<HandOverMark> {
  const sidecar = agent.env.sidecar;
  if (!sidecar)
    throw new IconError("HANDOVER_FAILED", "this ICON's environment names no agent sidecar (deployed with --local)");
  await agent.pause();
  await agent.acting.fence();
  const resume = (): void => {
    agent.acting.unfence();
    agent.resume();
  };
  const p = agent.seed.placement;
  if (!p || agent.seed.moving || agent.seed.terminating || agent.seed.done) {
    resume();
    throw new IconError("HANDOVER_FAILED", "the ICON is not placed (or is moving or ending): nothing to hand over");
  }
  let target: Pick<Placement, "leaseId" | "yard">;
  try {
    await agent.save();
    target = await sidecarLease(agent.client, agent.seed.account, p);
  } catch (e) {
    resume();
    throw e;
  }
  const instance = (agent.seed.instance ?? 0) + 1;
  const base = { leaseId: target.leaseId, yard: p.yard.name, endpoint: p.endpoint, instance };
  await markHandedOver(agent.dir, { ...base, atMs: Date.now(), handingOver: true });
  const o = {
    node: agent.node,
    holder: agent.wallet,
    client: agent.client,
    placement: target,
    spec: agent.serviceSpec(),
  };
  try {
    const r = await handOver({ ...o, dir: agent.dir, sidecar });
    const mark = { ...base, endpoint: r.endpoint, instance: r.instance, atMs: Date.now() };
    await markHandedOver(agent.dir, mark);
    return mark;
  } catch (e) {
    if (!refusedByYard(e)) {
      // The yard may have started the sidecar: it is stopped before this copy acts again, as the instance after it.
      try {
        await endSidecar(o);
      } catch (x) {
        throw new IconError(
          "HANDOVER_UNKNOWN",
          `${(e as Error).message}; stopping the sidecar that may run failed too (${(x as Error).message}): this agent does not act again — run \`icon agent run --state ${agent.dir}\` to settle it`,
          { cause: e },
        );
      }
      agent.seed.instance = instance + 1;
      await agent.save();
    }
    await clearHandedOver(agent.dir);
    resume();
    throw e;
  }
}

/**
 * `icon agent run` on a directory whose mark says "handing over" (the hand-over's outcome is not known: a crash, or
 * an answer lost), before Agent.start. The lease that held the ICON ended → nothing runs there: the mark goes and
 * this copy acts (as the instance after the sealed one). Otherwise the hand-over is sent again with the same
 * instance: Running → the ICON runs in the sidecar (a sidecar already running keeps running; the mark becomes
 * handed over and this copy must not act); refused → the sidecar is stopped, the mark goes and this copy acts as
 * the instance after the sealed one. Throws (the mark stays) when the yard cannot be told.
 */
export async function resolveHandingOver(agent: Agent, mark: HandOverMark): Promise<"handed-over" | "resumed"> {
  const sidecar = agent.env.sidecar;
  const p = agent.seed.placement;
  const act = async (): Promise<"resumed"> => {
    agent.seed.instance = Math.max(agent.seed.instance ?? 0, mark.instance) + 1;
    await agent.save();
    await clearHandedOver(agent.dir);
    return "resumed";
  };
  if (!sidecar || !p || !live((await agent.client.lease(mark.leaseId)).state)) return act();
  const placement = { leaseId: mark.leaseId, yard: p.yard };
  const o = { node: agent.node, holder: agent.wallet, client: agent.client, placement, spec: agent.serviceSpec() };
  try {
    const seed = { ...agent.seed, instance: mark.instance };
    const r = await handOver({ ...o, dir: agent.dir, sidecar, seed });
    await markHandedOver(agent.dir, { ...mark, endpoint: r.endpoint, atMs: Date.now(), handingOver: undefined });
    return "handed-over";
  } catch (e) {
    if (!refusedByYard(e)) throw e;
    await endSidecar(o);
    return act();
  }
}

/**
 * An agent in its sidecar makes what its yard holds for the sidecar's restarts its state as it is now (saved in
 * its directory): a Redeploy of the lease that holds the sidecar (leases.ts sidecarLease) with the same agent part
 * and the same instance, so the yard keeps the running sidecar and only replaces the secret it delivers at a restart
 * (yard-node sidecar.ts: a Deploy with the same agent keeps it). Called after every change a restarted agent must
 * know — a replica made or adopted, a renewal bought, a move finished — so that a restart never unwinds a live
 * child or re-derives a used replica key from an older state. Nothing while moving, retired or unplaced.
 */
export async function refreshHeld(
  agent: Pick<Agent, "env" | "seed" | "dir" | "node" | "wallet" | "client" | "serviceSpec">,
): Promise<void> {
  const sidecar = agent.env.sidecar;
  const p = agent.seed.placement;
  if (!sidecar || !p || agent.seed.moving || agent.seed.retired) return;
  const placement = await sidecarLease(agent.client, agent.seed.account, p);
  await handOver({
    node: agent.node,
    holder: agent.wallet,
    client: agent.client,
    dir: agent.dir,
    placement,
    spec: agent.serviceSpec(),
    sidecar,
    seed: agent.seed,
  });
}

/** Resolves true once `agent`'s ICON is placed (not moving), false when `signal` aborts or the ICON ended first. */
export async function placedOrDone(agent: Agent, signal: AbortSignal): Promise<boolean> {
  while (!agent.seed.placement || agent.seed.moving) {
    if (signal.aborted || agent.seed.done) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

/**
 * `--take-back` of a directory marked handed over, before Agent.start: every live lease of the ICON's account is
 * deployed again without the agent part (the yard stops the sidecar and wipes its secret) — the sidecar may have
 * renewed or migrated since the hand-over, and each lease it ran in may hold it — then the mark goes and this copy
 * acts. The instance number is chosen only once every sidecar is confirmed stopped: one more than the highest the
 * sidecars can have reached (each migration since the hand-over opened one more lease of the account and raised
 * the epoch by one). Returns what was done; throws (the mark stays) when a sidecar could not be stopped or a
 * lease's yard cannot be found.
 */
export async function takeBack(agent: Agent): Promise<string> {
  const mark = await handedOver(agent.dir);
  const p = agent.seed.placement;
  const open = await liveLeases(agent.client, agent.seed.account);
  const stopped: string[] = [];
  if (open.length > 0) {
    const yards = await agent.yards();
    for (const id of open) {
      const l = await agent.client.lease(id);
      const operator = l.provider.toLowerCase();
      const yard =
        p && p.yard.operator.toLowerCase() === operator
          ? p.yard
          : yards.find((y) => y.operator.toLowerCase() === operator);
      if (!yard)
        throw new IconError(
          "HANDOVER_FAILED",
          `lease ${id} of this ICON runs at a yard (operator ${l.provider}) this agent cannot find: its sidecar may still run the ICON; nothing taken back`,
        );
      await endSidecar({
        node: agent.node,
        holder: agent.wallet,
        client: agent.client,
        placement: { leaseId: id, yard },
        spec: agent.serviceSpec(),
      }).catch((e: unknown) => {
        // A lease whose renewal carries its containers runs nothing: the yard says so, and the renewal is in `open`.
        if (refusedByYard(e) && /was renewed by lease/.test((e as Error).message)) return;
        throw e;
      });
      stopped.push(`lease ${id} at ${yard.name}`);
    }
  }
  // Every sidecar is stopped: this copy acts again as the instance after any the sidecars can have reached.
  const since = mark ? (await agent.client.leasesOf(agent.seed.account)).filter((id) => id > mark.leaseId).length : 0;
  agent.seed.instance = Math.max(agent.seed.instance ?? 0, mark?.instance ?? 0) + since + 1;
  await agent.save();
  await clearHandedOver(agent.dir);
  if (stopped.length === 0) return "its leases had ended";
  return `${stopped.length === 1 ? "the sidecar" : "the sidecars"} of ${stopped.join(", ")} stopped`;
}
