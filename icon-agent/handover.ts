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
  redeployLease,
  signLeaseAccess,
  type AgentPart,
  type DeploySpec,
  type MarketClient,
} from "../protocol/index.ts";
import type { AgentEnv, SidecarSpec } from "./config.ts";
import type { Agent } from "./agent.ts";
import { live } from "./leases.ts";
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
  o: { nextInstance?: boolean; seed?: AgentSeed } = {},
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
}

/**
 * Hands the ICON in `o.dir` into its lease's sidecar; resolves with the endpoint and the instance epoch the sidecar
 * runs once the yard answered Running (the sidecar started), throws IconError HANDOVER_FAILED with the yard's
 * sentence otherwise (nothing changed at the yard: a refused Deploy leaves the lease as it was).
 */
export async function handOver(o: HandOverOptions): Promise<{ endpoint: string; instance: number }> {
  const { leaseId, yard } = o.placement;
  const { part, instance } = await sealedAgentPart(o.dir, o.sidecar, { nextInstance: true, seed: o.seed });
  try {
    const access = await signLeaseAccess(o.holder, o.client.domain(), leaseId, o.node.peerId, 300);
    const r = await redeployLease(o.node, multiaddr(yard.addrs[0]!), access, { ...o.spec, leaseId, agent: part });
    return { endpoint: r.endpoint, instance };
  } catch (e) {
    throw new IconError(
      "HANDOVER_FAILED",
      `handing the ICON in ${o.dir} into lease ${leaseId} at ${yard.name} failed: ${(e as Error).message}`,
      { cause: e },
    );
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
    throw new IconError(
      "HANDOVER_FAILED",
      `stopping the sidecar of lease ${leaseId} at ${yard.name} failed (it may still run the ICON): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * Hands `agent`'s own ICON into its lease's sidecar (sidecar placement; `icon agent run --hand-over`, which
 * `icon app deploy` starts for the origin): the agent stops deciding first (Agent.pause: no decision and no chain
 * call after the seal; its lock stays held), then its state is sealed as the next instance and sent with a Deploy
 * of its lease. Resolves once the yard answered Running and its directory is marked handed over; the caller stops
 * the agent then. If the hand-over fails the agent resumes where it stopped and the error says why.
 */
export async function handOverSelf(agent: Agent): Promise<HandOverMark> {
  const sidecar = agent.env.sidecar;
  if (!sidecar)
    throw new IconError("HANDOVER_FAILED", "this ICON's environment names no agent sidecar (deployed with --local)");
  await agent.pause();
  try {
    const p = agent.seed.placement;
    if (!p || agent.seed.moving || agent.seed.terminating || agent.seed.done)
      throw new IconError("HANDOVER_FAILED", "the ICON is not placed (or is moving or ending): nothing to hand over");
    await agent.save();
    const r = await handOver({
      node: agent.node,
      holder: agent.wallet,
      client: agent.client,
      dir: agent.dir,
      placement: p,
      spec: agent.serviceSpec(),
      sidecar,
    });
    const mark = {
      leaseId: p.leaseId,
      yard: p.yard.name,
      endpoint: r.endpoint,
      instance: r.instance,
      atMs: Date.now(),
    };
    await markHandedOver(agent.dir, mark);
    return mark;
  } catch (e) {
    agent.resume();
    throw e;
  }
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
 * `--take-back` of a directory marked handed over, before Agent.start: its lease is deployed again without the
 * agent part (the yard stops the sidecar and wipes its secret), then the mark goes and this copy acts. A lease
 * that ended needs no stop. This copy becomes the next instance (the sidecar's + 1). Returns what was done; throws
 * (the mark stays) when the sidecar could not be stopped.
 */
export async function takeBack(agent: Agent): Promise<string> {
  const p = agent.seed.placement;
  let done = "its lease had ended";
  if (p && live((await agent.client.lease(p.leaseId)).state)) {
    await endSidecar({
      node: agent.node,
      holder: agent.wallet,
      client: agent.client,
      placement: p,
      spec: agent.serviceSpec(),
    });
    done = `the sidecar of lease ${p.leaseId} at ${p.yard.name} stopped`;
  }
  // This copy acts again as the instance after the one the sidecar ran.
  const mark = await handedOver(agent.dir);
  agent.seed.instance = Math.max(agent.seed.instance ?? 0, mark?.instance ?? 0) + 1;
  await agent.save();
  await clearHandedOver(agent.dir);
  return done;
}
