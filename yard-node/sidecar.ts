/**
 * The agent sidecar of a lease: the ICON's agent runs in a second container beside the service, inside the lease's
 * limits (the tenant names the agent's CPU and memory share, the service gets the rest). This room owns the
 * sidecar's checks at Deploy, its container (created, started with its secret, restarted after a crash within
 * maxRestarts, stopped and removed at the lease's end) and the secret while the lease lives.
 *
 * The secret (the ICON's key and state, opaque to the yard) lives only here, in memory, for as long as the lease
 * lives: it reaches the sidecar on its standard input at every start (runtime `startWithInput`, given a copy that is
 * wiped once written, so a wipe of the held secret meanwhile cannot zero the bytes in flight; the sidecar's entry
 * copies them into its tmpfs at /run/icon, which does not survive a restart, hence the re-delivery), and it is
 * wiped when the lease ends or a Deploy replaces the agent. It is never written (the database stores the spec without it, db.ts), logged or
 * exported: `LeaseSecret` prints as `[secret: N bytes]`.
 *
 * The sidecar's only environment variable is the agent gateway's URL (ICON_GATEWAY, agent-gateway.ts: what it may
 * reach, through the yard); what the gateway holds for a lease closes when its sidecar goes (`ended`), and moves to the renewal when
 * a renewal carries the sidecar over (`moved`).
 *
 * After a yard restart the secret is gone. A sidecar that still runs keeps running (its tmpfs holds the secret);
 * one that is down, or dies afterwards, stays down: the yard notes it on the lease (/status shows it), counts
 * `icon_yard_agent_sidecars_lost_total` and leaves the service running, so the ICON's parent, which misses the
 * ICON's reports, places it again elsewhere.
 *
 * @example
 *   const sidecars = new AgentSidecars({ config, runtime, db, containers, metrics, log, dns, env, ended, moved });
 *   const why = await sidecars.check(spec.agent, offer);   // before anything is stored or started
 *   sidecars.keep(leaseId, spec.agent.secret);
 *   await sidecars.ensure(db.lease(leaseId)!);              // each tick while the lease is in its slot
 *   await sidecars.end(db.lease(leaseId)!);                 // stopped, removed, secret wiped
 */
import { LeaseSecret, type AgentSpec, type Offer } from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import type { YardConfig } from "./config.ts";
import type { LeaseRow, YardDb } from "./db.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** The least CPU and memory a container can be given (Docker's lower bounds): the service keeps at least this. */
export const MIN_SHARE = { cpuMillis: 10, memoryMiB: 6 } as const;

export interface AgentSidecarsComponents {
  config: Pick<YardConfig, "lease" | "capacity">;
  runtime: ContainerRuntime;
  db: Pick<YardDb, "update">;
  /** The yard's containers by id, as last seen (shared with the lease lifecycle). */
  containers: Map<string, ContainerInfo>;
  metrics: Pick<YardMetrics, "inc">;
  log: Logger;
  /** The DNS servers containers use (the yard's resolver), when semantic addressing runs. */
  dns: () => string[] | undefined;
  /** The sidecar's environment: the agent gateway's URL (agent-gateway.ts), nothing else. */
  env: () => string[];
  /** Lease `leaseId`'s sidecar is going: the agent gateway serves it no more, what it holds for it closes. */
  ended: (leaseId: bigint) => Promise<void>;
  /** Lease `from`'s sidecar runs on for its renewal `to`: what the agent gateway holds for it moves over. */
  moved: (from: bigint, to: bigint) => void;
}

/** Why the agent share cannot run in the lease (the service would get less than a container needs), or undefined. */
export function shareProblem(agent: Pick<AgentSpec, "cpuMillis" | "memoryMiB">, offer: Offer): string | undefined {
  const cpu = offer.cpuMillis - agent.cpuMillis;
  const mem = offer.memoryMiB - agent.memoryMiB;
  if (agent.cpuMillis < MIN_SHARE.cpuMillis || agent.memoryMiB < MIN_SHARE.memoryMiB)
    return `the agent's share (${agent.cpuMillis} mCPU, ${agent.memoryMiB} MiB) is below what a container needs (${MIN_SHARE.cpuMillis} mCPU, ${MIN_SHARE.memoryMiB} MiB); name a larger share`;
  if (cpu < MIN_SHARE.cpuMillis || mem < MIN_SHARE.memoryMiB)
    return `the agent's share (${agent.cpuMillis} mCPU, ${agent.memoryMiB} MiB) leaves the service ${cpu} mCPU and ${mem} MiB of the lease's ${offer.cpuMillis} mCPU and ${offer.memoryMiB} MiB, less than the ${MIN_SHARE.cpuMillis} mCPU and ${MIN_SHARE.memoryMiB} MiB a container needs; name a smaller share or lease more`;
  return undefined;
}

/** Whether two agent parts run the same agent (image, command, share): a renewal or a Deploy may keep its sidecar. */
export function sameAgent(a: AgentSpec | undefined, b: AgentSpec | undefined): boolean {
  return (
    !!a &&
    !!b &&
    a.imageDigest.toLowerCase() === b.imageDigest.toLowerCase() &&
    a.cpuMillis === b.cpuMillis &&
    a.memoryMiB === b.memoryMiB &&
    JSON.stringify(a.command) === JSON.stringify(b.command)
  );
}

/** The service's limits in a lease: the lease's CPU and memory minus its agent's share. */
export function serviceShare(row: Pick<LeaseRow, "offer" | "spec">): { cpuMillis: number; memoryMiB: number } {
  const agent = row.spec?.agent;
  return {
    cpuMillis: row.offer.cpuMillis - (agent?.cpuMillis ?? 0),
    memoryMiB: row.offer.memoryMiB - (agent?.memoryMiB ?? 0),
  };
}

export class AgentSidecars {
  readonly #c: AgentSidecarsComponents;
  /** Lease id → its sidecar's secret: in memory only, wiped at the lease's end. */
  readonly #secrets = new Map<string, LeaseSecret>();
  /** Lease id → restarts of its sidecar after a crash (this run). */
  readonly #restarts = new Map<string, number>();
  /** Leases whose sidecar was reported down for good (reported once). */
  readonly #lost = new Set<string>();

  constructor(components: AgentSidecarsComponents) {
    this.#c = components;
  }

  /** Why the agent part cannot run in lease `offer` (share, image), or undefined. Starts and stores nothing. */
  async check(agent: AgentSpec, offer: Offer): Promise<string | undefined> {
    const share = shareProblem(agent, offer);
    if (share) return share;
    const image = `sha256:${agent.imageDigest.slice(2)}`;
    if (!(await this.#c.runtime.imageId(image)))
      return `the agent's image ${image} (${agent.imageRef}) is not on this yard; upload it with /icon/image/1.0.0 first`;
    return undefined;
  }

  /** Keeps a copy of lease `leaseId`'s secret in memory (a Deploy's copy stays the caller's); wipes an older one. */
  keep(leaseId: bigint, secret: LeaseSecret): void {
    const k = leaseId.toString();
    this.#secrets.get(k)?.wipe();
    this.#secrets.set(k, LeaseSecret.of(secret.bytes()));
    this.#lost.delete(k);
    this.#restarts.delete(k);
  }

  /** Whether the yard holds lease `leaseId`'s secret (false after a restart of the yard). */
  holds(leaseId: bigint): boolean {
    return this.#secrets.has(leaseId.toString());
  }

  /** Whether lease `row`'s sidecar ran when last seen (undefined: the lease has none). */
  running(row: LeaseRow): boolean | undefined {
    if (!row.spec?.agent) return undefined;
    return row.agentContainerId ? (this.#c.containers.get(row.agentContainerId)?.running ?? false) : false;
  }

  /**
   * Makes lease `row`'s sidecar run (the caller holds the lease's lock and the lease is in its slot): created and
   * started with its secret, or started again after a crash while restarts remain. Without the secret (the yard
   * restarted since the Deploy) a sidecar that is not running stays down and is reported once.
   */
  async ensure(row: LeaseRow): Promise<void> {
    const { runtime, db, config, containers, log, metrics } = this.#c;
    const agent = row.spec?.agent;
    if (!agent) return;
    const k = row.id.toString();
    if (row.agentContainerId && containers.get(row.agentContainerId)?.running) return;
    let info = row.agentContainerId ? await runtime.inspect(row.agentContainerId) : undefined;
    if (info?.running) {
      containers.set(info.id, info);
      return;
    }
    if (this.#lost.has(k)) return;
    const secret = this.#secrets.get(k);
    if (!secret) {
      this.#giveUp(
        row,
        "the agent sidecar is not running and the yard no longer holds its secret (the yard restarted since the Deploy); it stays down: place the ICON again",
      );
      return;
    }
    if (info && info.status !== "created") {
      const n = this.#restarts.get(k) ?? 0;
      if (n >= config.lease.maxRestarts) {
        this.#giveUp(
          row,
          `the agent sidecar exited ${info.oomKilled ? "(out of memory) " : ""}with ${info.exitCode} after ${n} restarts; the yard stopped restarting it`,
        );
        return;
      }
      this.#restarts.set(k, n + 1);
      metrics.inc("icon_yard_container_restarts_total");
    }
    if (!info) {
      const image = await runtime.imageId(`sha256:${agent.imageDigest.slice(2)}`);
      if (!image) {
        this.#giveUp(row, "the agent's image is no longer on this yard; upload it again and deploy again");
        return;
      }
      // A sidecar of this lease left from before a crash (created but not yet recorded): replace it.
      for (const c of await runtime.list({ leaseId: row.id, role: "agent" }))
        if (c.id !== row.agentContainerId) await runtime.remove(c.id);
      const dns = this.#c.dns();
      info = await runtime.create({
        leaseId: row.id,
        role: "agent",
        image,
        command: agent.command.length > 0 ? agent.command : undefined,
        env: this.#c.env(),
        ports: [],
        limits: { cpuMillis: agent.cpuMillis, memoryMiB: agent.memoryMiB, pids: config.capacity.pidsPerLease },
        stopTimeoutS: config.lease.stopTimeoutS,
        ...(dns ? { dns } : {}),
      });
      db.update(row.id, { agentContainerId: info.id });
    }
    // The secret may be wiped while the bytes are written (the yard stops; the lease ends): the write gets a copy
    // of its own, wiped as soon as the write is done. A secret wiped before this point is not delivered.
    const held = this.#secrets.get(k);
    if (!held) return;
    const input = Uint8Array.from(held.bytes());
    try {
      info = await runtime.startWithInput(info.id, input);
    } finally {
      input.fill(0);
    }
    containers.set(info.id, info);
    log.info("agent sidecar running", { lease: row.id, container: info.id.slice(0, 12) });
  }

  /** A sidecar's container died: it is seen as down (the next tick starts it again, or reports it). */
  died(e: { leaseId: bigint; containerId: string; exitCode?: number }, inSlot: boolean): void {
    const info = this.#c.containers.get(e.containerId);
    if (info) info.running = false;
    if (!inSlot) return;
    this.#c.metrics.inc("icon_yard_container_exits_total", { reason: e.exitCode === 137 ? "killed" : "exit" });
    this.#c.log.warn("agent sidecar exited", { lease: e.leaseId, exitCode: e.exitCode });
  }

  /**
   * Moves lease `from`'s sidecar to its renewal `to` when both run the same agent ({@link sameAgent}): the
   * container keeps running and the renewal's secret replaces the old one. Otherwise the old sidecar ends here.
   * The caller holds both leases' locks (`from`'s tick would otherwise end or restart the container that moves).
   */
  async carryOver(from: LeaseRow, to: LeaseRow): Promise<void> {
    if (sameAgent(from.spec?.agent, to.spec?.agent) && from.agentContainerId) {
      this.#c.db.update(to.id, { agentContainerId: from.agentContainerId });
      this.#c.db.update(from.id, { agentContainerId: undefined });
      this.#forget(from.id);
      // The agent's connections and forwards stay up: the renewal takes them over.
      this.#c.moved(from.id, to.id);
      return;
    }
    await this.end(from);
  }

  /** Lease `row` ended: its sidecar is stopped and removed, its secret wiped. */
  async end(row: Pick<LeaseRow, "id" | "agentContainerId">): Promise<void> {
    const { runtime, containers } = this.#c;
    this.#forget(row.id);
    await this.#c.ended(row.id);
    if (!row.agentContainerId) return;
    await runtime.stop(row.agentContainerId, this.#c.config.lease.stopTimeoutS);
    await runtime.remove(row.agentContainerId);
    containers.delete(row.agentContainerId);
    this.#c.db.update(row.id, { agentContainerId: undefined });
    // Again once it is gone: whatever a request under way opened during the stop closes too.
    await this.#c.ended(row.id);
  }

  /**
   * Lease `from` is lease `to` now (a reorganisation re-keyed it, chain-watch.ts): its secret and restart count
   * follow, and the agent gateway's connections, bucket and forwards (`moved`).
   */
  rekey(from: bigint, to: bigint): void {
    const [f, t] = [from.toString(), to.toString()];
    const secret = this.#secrets.get(f);
    const restarts = this.#restarts.get(f);
    this.#secrets.delete(f);
    this.#restarts.delete(f);
    if (secret) {
      this.#secrets.get(t)?.wipe();
      this.#secrets.set(t, secret);
    }
    if (restarts !== undefined) this.#restarts.set(t, restarts);
    // A sidecar already given up stays given up under its new id (not reported lost a second time).
    if (this.#lost.delete(f)) this.#lost.add(t);
    this.#c.moved(from, to);
  }

  /** Wipes every secret (the yard stops: the running sidecars keep theirs in their tmpfs). */
  wipeAll(): void {
    for (const s of this.#secrets.values()) s.wipe();
    this.#secrets.clear();
  }

  #forget(id: bigint): void {
    const k = id.toString();
    this.#secrets.get(k)?.wipe();
    this.#secrets.delete(k);
    this.#restarts.delete(k);
    this.#lost.delete(k);
  }

  #giveUp(row: LeaseRow, note: string): void {
    const k = row.id.toString();
    if (this.#lost.has(k)) return;
    this.#lost.add(k);
    this.#forget(row.id);
    this.#lost.add(k);
    this.#c.db.update(row.id, { note });
    this.#c.metrics.inc("icon_yard_agent_sidecars_lost_total");
    void this.#c.ended(row.id).catch(() => {});
    this.#c.log.warn("agent sidecar left down", { lease: row.id, why: note });
  }
}
