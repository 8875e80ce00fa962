/**
 * The lease lifecycle after the opening: Deploy (spec checked against the offer and the application's
 * namespace, a renewal carrying its predecessor's containers over through renewal.ts), the container run for exactly the slot
 * (created, started up to earlyStartS early, restarted after a crash within maxRestarts), termination, the end
 * (container stopped and removed, endpoints closed or left to their stub), confirmStart and the claims, image
 * collection, and reconciliation of Docker with the database after a restart. A Deploy's agent part runs as a
 * sidecar beside the service, inside the lease's limits, through the room it composes: sidecar.ts (a Deploy that
 * changes the agent part ends the old sidecar and resizes the service first). `tick()` (every second) drives it
 * all from the database, one lease at a time under that lease's lock.
 *
 * @example
 *   const leases = new LeaseLifecycle({ config, runtime, db, chain, watch, ledger, owners, overlay, ... });
 *   await leases.reconcile("start");
 *   leases.start();                 // the engine's events, and the tick every second, until stop()
 */
import {
  inactiveLeaseSentence,
  isIconError,
  namespaceProblem,
  withoutSecret,
  type DeploySpec,
  type MarketClient,
} from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import type { AgentGateway } from "./agent-gateway.ts";
import type { ChainWatch } from "./chain-watch.ts";
import { LeaseClaims } from "./claims.ts";
import { collectImages } from "./image-collect.ts";
import type { YardConfig } from "./config.ts";
import { ACTIVE, type LeaseRow, type YardDb } from "./db.ts";
import type { CapacityLedger } from "./ledger.ts";
import type { YardMetrics } from "./yard-metrics.ts";
import type { YardNetwork } from "./network.ts";
import type { LeaseOwners } from "./overlay/owners.ts";
import type { Overlay } from "./overlay/overlay.ts";
import { Periodic } from "./periodic.ts";
import type { Reorgs } from "./reorgs.ts";
import { carryOver } from "./renewal.ts";
import type { ContainerInfo, ContainerRole, ContainerRuntime } from "./runtime.ts";
import { AgentSidecars, sameAgent, serviceShare } from "./sidecar.ts";

export interface LeaseLifecycleComponents {
  config: Pick<YardConfig, "lease" | "capacity" | "publicHost" | "publicNetns">;
  runtime: ContainerRuntime;
  db: YardDb;
  chain: Pick<MarketClient, "lease" | "confirmStart" | "claimTx" | "format" | "fees">;
  watch: Pick<ChainWatch, "call" | "now"> & Partial<Pick<ChainWatch, "buried">>;
  ledger: Pick<CapacityLedger, "endAt">;
  owners: Pick<LeaseOwners, "rootOf">;
  overlay: Pick<Overlay, "localChanged">;
  network: Pick<
    YardNetwork,
    | "openIngress"
    | "closeEndpoints"
    | "recheck"
    | "wantFirewallCheck"
    | "addressing"
    | "carryService"
    | "carryAgent"
    | "rekey"
  >;
  /** The agent gateway: a sidecar's environment, and what it holds for a lease closes at its sidecar's end. */
  gateway: Pick<AgentGateway, "env" | "leaseEnded" | "leaseMoved">;
  /** The yard's containers by id, as last seen: kept here, read by the network and the HTTP surface. */
  containers: Map<string, ContainerInfo>;
  metrics: Pick<YardMetrics, "inc" | "set">;
  /** Follows the yard's transactions until buried (reorgs.ts); absent, none is followed. */
  reorgs?: Pick<Reorgs, "track" | "list">;
  log: Logger;
  /** Token units one ETH is worth (config `chain.fees.gasTokenPrice`): claims weigh gas (claim-policy.ts). */
  unitsPerEth?: bigint;
  /** Wei of L1 data fee per claim transaction (config `chain.fees.l1FeePerClaim`): added to a claim's cost. */
  l1FeePerClaim?: bigint;
  /** Aborted when the yard stops. */
  signal: AbortSignal;
}

export class LeaseLifecycle {
  readonly #c: LeaseLifecycleComponents;
  readonly #locks = new Map<string, Promise<unknown>>();
  #ticking = false;
  #dockerUp = true;
  #reconcileWanted = false;
  readonly #ticker = new Periodic(() => this.tick(), 1000);
  readonly #sidecars: AgentSidecars;
  readonly #claims: LeaseClaims;

  constructor(components: LeaseLifecycleComponents) {
    this.#c = components;
    const { config, runtime, db, containers, metrics, log } = components;
    this.#sidecars = new AgentSidecars({
      config,
      runtime,
      db,
      containers,
      metrics,
      log: log.child("sidecar"),
      dns: () => components.network.addressing?.dnsServers(),
      env: () => components.gateway.env(),
      ended: (id) => components.gateway.leaseEnded(id),
      moved: (from, to) => components.gateway.leaseMoved(from, to),
    });
    const withLease = <T>(id: bigint, fn: () => Promise<T>): Promise<T> => this.#withLease(id, fn);
    this.#claims = new LeaseClaims({ ...components, withLease });
  }

  /** Whether lease `id`'s agent sidecar ran when last seen (undefined: it has none). */
  agentRunning(id: bigint): boolean | undefined {
    const row = this.#c.db.lease(id);
    return row && this.#sidecars.running(row);
  }

  /** Wipes the agent sidecars' secrets from memory (the yard stops; running sidecars keep theirs). */
  wipeSecrets(): void {
    this.#sidecars.wipeAll();
  }

  /** Watches the engine's container events and ticks every second until stop(). */
  start(): void {
    this.#c.runtime.watch((e) => this.onRuntimeEvent(e), {
      signal: this.#c.signal,
      onReconnect: () => this.dockerBack(),
    });
    this.#ticker.start();
  }

  /** Stops ticking (the engine watch ends with the yard's abort signal). */
  stop(): void {
    this.#ticker.stop();
  }

  /** Whether the Docker engine answered the last time it was asked. */
  get dockerUp(): boolean {
    return this.#dockerUp;
  }

  /** The engine is back (its event stream reconnected): the next tick renews the firewall and reconciles. */
  dockerBack(): void {
    this.#c.log.warn("docker engine is back; reconciling");
    this.#dockerUp = true;
    this.#reconcileWanted = true;
  }

  /** Settles when the tick and every lease action in flight have finished (at stop, before the database closes). */
  async idle(): Promise<void> {
    await Promise.allSettled([this.#ticker.idle(), ...this.#locks.values()]);
  }

  /** The row of lease `id` and its container as last seen. */
  containerOf(id: bigint): { info: ContainerInfo | undefined; row: LeaseRow | undefined } {
    const row = this.#c.db.lease(id);
    return { row, info: row?.containerId ? this.#c.containers.get(row.containerId) : undefined };
  }

  /** The tenant's Deploy: the spec is checked against the lease, stored, and its container started in the slot. */
  async deploy(spec: DeploySpec): Promise<{ endpoint: string } | { failed: string }> {
    const { db, runtime, config, metrics } = this.#c;
    return this.#withLease(spec.leaseId, async () => {
      const l = db.lease(spec.leaseId);
      if (!l) return { failed: `lease ${spec.leaseId} is not known to this yard` };
      // Its containers (the sidecar first) were stopped before the status left ACTIVE: this answer proves it.
      if (!ACTIVE.includes(l.status)) return { failed: inactiveLeaseSentence(l.id, l.status) };
      // A lease whose renewal took its containers over runs nothing of its own any more: a Deploy of it would start a
      // second service (and a second agent beside the one the renewal carries) — the tenant means the renewal.
      const renewal = db.leases(ACTIVE).find((r) => r.renews === l.id && r.spec !== undefined);
      if (renewal)
        return {
          failed: `lease ${l.id} was renewed by lease ${renewal.id}, which runs its containers now: deploy lease ${renewal.id} instead`,
        };
      if (spec.imageDigest.toLowerCase() !== l.offer.specHash.toLowerCase())
        return { failed: `image ${spec.imageDigest} is not the one the lease was quoted for (${l.offer.specHash})` };
      if (spec.ports.length > 8 || spec.ports.some((p) => p < 1 || p > 65535))
        return { failed: "ports: at most 8, each 1..65535" };
      if (config.publicNetns !== undefined && (spec.udpPorts?.length ?? 0) > 0)
        return {
          failed: "UDP ports are not served while this yard's public side is another network namespace (publicNetns)",
        };
      if (spec.service !== undefined) {
        // A service's namespace is its application's (app.r<root>), read from the chain: no tenant names its
        // services into another application's namespace (protocol/lease/namespace.ts).
        const root = await this.#c.owners.rootOf(l.offer.account).catch(() => undefined);
        if (root === undefined)
          return {
            failed: `the yard cannot read budget account ${l.offer.account} from the chain right now to check the service's namespace; deploy again in a moment`,
          };
        const why = namespaceProblem(spec.service, root);
        if (why) {
          metrics.inc("icon_yard_deploys_refused_total", { reason: "namespace" });
          return { failed: `${why}; lease ${l.id} is paid by account ${l.offer.account} of application ${root}` };
        }
      }
      const imageId = await runtime.imageId(`sha256:${spec.imageDigest.slice(2)}`);
      if (!imageId)
        return {
          failed: `image sha256:${spec.imageDigest.slice(2)} is not on this yard; upload it with ${"/icon/image/1.0.0"} first`,
        };
      if (spec.agent) {
        // Checked before anything is stored or started: a refused agent part leaves no trace.
        const why = await this.#sidecars.check(spec.agent, l.offer);
        if (why) {
          metrics.inc("icon_yard_deploys_refused_total", { reason: "agent" });
          return { failed: `${why} (lease ${l.id})` };
        }
      }
      // A hand-over sent again (`once`, pair.ts) changes nothing where an agent runs or is held (PROTOCOL.md).
      if (spec.agent?.once && l.spec?.agent && (this.#sidecars.holds(l.id) || this.#sidecars.running(l))) {
        metrics.inc("icon_yard_agent_handovers_kept_total");
        return { endpoint: this.#endpoint(l.id, l.spec.ports) };
      }
      // A Deploy with another agent part, or none, ends the old sidecar (and wipes its secret) before the new spec
      // takes effect: the new service share and the old sidecar's never run side by side beyond the lease's limits.
      if (l.spec?.agent && !sameAgent(l.spec.agent, spec.agent)) await this.#sidecars.end(l);
      if (spec.agent) this.#sidecars.keep(l.id, spec.agent.secret);
      db.update(l.id, { spec: withoutSecret(spec), status: "deployed", note: "" });
      db.useImage(imageId, this.#c.watch.now());
      // A renewal carries the predecessor's containers, endpoints and routing over (renewal.ts), under the
      // predecessor's lock too: its own tick may be ending or restarting the very containers that move.
      if (l.renews !== undefined && !l.containerId)
        await this.#withLease(l.renews, () =>
          carryOver({ db, network: this.#c.network, sidecars: this.#sidecars, log: this.#c.log }, l, spec),
        );
      const fresh = db.lease(l.id)!;
      await this.#fitService(fresh);
      await this.#c.network.openIngress(fresh);
      if (this.#c.watch.now() >= Number(fresh.offer.start) - config.lease.earlyStartS) await this.#ensureBoth(fresh);
      return { endpoint: this.#endpoint(l.id, spec.ports) };
    });
  }

  /** host:port of lease `id`'s first exposed port; just the host when the container exposes none. */
  #endpoint(id: bigint, ports: number[]): string {
    const port = this.#c.db.lease(id)!.ingress[String(ports[0] ?? "")];
    return port ? `${this.#c.config.publicHost}:${port}` : this.#c.config.publicHost;
  }

  /**
   * Gives lease `l`'s running service container the share its spec leaves it (a Deploy changed or dropped the agent
   * part, or a renewal's service came over from a lease with another one); one the engine cannot resize is
   * replaced, so the lease's containers never hold more than its limits.
   */
  async #fitService(l: LeaseRow): Promise<void> {
    const { runtime, db, containers, log } = this.#c;
    const info = l.containerId ? await runtime.inspect(l.containerId) : undefined;
    const share = serviceShare(l);
    if (
      !info ||
      (info.limits.nanoCpus === share.cpuMillis * 1e6 && info.limits.memoryBytes === share.memoryMiB * 2 ** 20)
    )
      return;
    try {
      containers.set(info.id, await runtime.resize(info.id, share));
    } catch (e) {
      log.warn("could not resize the service's container; replacing it", { lease: l.id, error: e });
      await runtime.stop(info.id, this.#c.config.lease.stopTimeoutS);
      await runtime.remove(info.id);
      containers.delete(info.id);
      db.update(l.id, { containerId: undefined });
    }
  }

  /** The tenant's Terminate (or `note`'s reason): the lease stops at the chain's stoppedAt (or now) and ends here. */
  async terminate(id: bigint, note = "terminated by the tenant"): Promise<void> {
    const { db, chain, watch } = this.#c;
    await this.#withLease(id, async () => {
      const l = db.lease(id);
      if (!l || !ACTIVE.includes(l.status)) return;
      const rec = await watch.call(`reading lease ${id}`, () => chain.lease(id)).catch(() => undefined);
      const stoppedAt = rec && rec.stoppedAt > 0n ? Number(rec.stoppedAt) : watch.now();
      db.update(id, { stoppedAt, note });
      if (rec && rec.stoppedAt > 0n) this.#c.ledger.endAt(`lease:${id}`, stoppedAt);
      await this.#end(db.lease(id)!, "terminated");
    });
  }

  /**
   * The service's container and the agent sidecar's (when the lease has one), side by side: they are independent
   * containers (each writes its own column of the row), and the lease runs when the slower one does.
   */
  async #ensureBoth(l: LeaseRow, o: { serviceRuns?: boolean } = {}): Promise<void> {
    // Both settle before the lease's lock is released; the first failure is the caller's.
    const [service, agent] = await Promise.allSettled([
      o.serviceRuns ? undefined : this.#ensureRunning(l),
      this.#sidecars.ensure(l),
    ]);
    if (service.status === "rejected") throw service.reason;
    if (agent.status === "rejected") throw agent.reason;
  }

  /** Creates and starts the lease's container if it is not running (counting restarts after a crash). */
  async #ensureRunning(l: LeaseRow): Promise<void> {
    const { runtime, db, config, containers, log } = this.#c;
    if (!l.spec) return;
    let info = l.containerId ? await runtime.inspect(l.containerId) : undefined;
    if (info?.running) {
      containers.set(info.id, info);
      return;
    }
    if (info && info.status !== "created") {
      // It ran and stopped: a crash (or OOM kill). Restart within the budget of restarts.
      if (l.restarts >= config.lease.maxRestarts) {
        if (l.status !== "failed") {
          db.update(l.id, {
            status: "failed",
            note: `container exited ${info.oomKilled ? "(out of memory) " : ""}with ${info.exitCode} after ${l.restarts} restarts; the yard stopped restarting it`,
          });
          log.warn("container keeps failing; not restarting", { lease: l.id, exitCode: info.exitCode });
        }
        return;
      }
      db.update(l.id, { restarts: l.restarts + 1 });
      this.#c.metrics.inc("icon_yard_container_restarts_total");
    }
    if (!info) {
      const imageId = await runtime.imageId(`sha256:${l.spec.imageDigest.slice(2)}`);
      if (!imageId) {
        db.update(l.id, { status: "failed", note: "the image is no longer on this yard; upload it again" });
        return;
      }
      // A container of this lease left from before a crash (created but not yet recorded): replace it.
      for (const c of await runtime.list({ leaseId: l.id, role: "service" }))
        if (c.id !== l.containerId) await runtime.remove(c.id);
      const addressing = this.#c.network.addressing;
      info = await runtime.create({
        leaseId: l.id,
        image: imageId,
        command: l.spec.command.length > 0 ? l.spec.command : undefined,
        env: l.spec.env,
        ports: l.spec.ports,
        // The lease's limits, less its agent sidecar's share.
        limits: { ...serviceShare(l), pids: config.capacity.pidsPerLease },
        stopTimeoutS: config.lease.stopTimeoutS,
        ...(addressing ? { dns: addressing.dnsServers() } : {}),
      });
      db.update(l.id, { containerId: info.id });
    }
    info = await runtime.start(info.id);
    containers.set(info.id, info);
    if (l.spec.service) this.#c.overlay.localChanged(l.spec.service);
    log.info("container running", { lease: l.id, container: info.id.slice(0, 12), ip: info.ip });
  }

  /** Ends lease `l` locally: container stopped and removed, ingress closed, status ended. */
  async #end(l: LeaseRow, why: string): Promise<void> {
    const { runtime, db, containers } = this.#c;
    await this.#sidecars.end(l);
    if (l.containerId) {
      await runtime.stop(l.containerId, this.#c.config.lease.stopTimeoutS);
      await runtime.remove(l.containerId);
      containers.delete(l.containerId);
    }
    await this.#c.network.closeEndpoints(l.id);
    if (l.spec?.service) this.#c.overlay.localChanged(l.spec.service);
    if (l.spec) db.useImage(`sha256:${l.spec.imageDigest.slice(2)}`, this.#c.watch.now());
    db.update(l.id, { status: "ended", containerId: undefined, note: l.note || why });
    this.#c.log.info("lease ended", { lease: l.id, why });
  }

  /**
   * Lease `from` is lease `to` now: its opening, reorganised away, was included again under id `to`, and its row was
   * moved (`moveRow`: db.ts rekeyLease). What the running yard holds in memory under `from` follows in the same step:
   * the endpoints (listeners with their open connections, flows, routing rules: network.ts), the sidecar's secret and
   * restarts and the agent gateway's state (sidecar.ts); the service's local instance is announced again under `to`.
   * Its containers keep their names and labels (Docker cannot relabel a container): events are matched by container.
   */
  rekey(from: bigint, to: bigint, moveRow: () => void): Promise<void> {
    // Under both leases' locks: a deploy or tick of `from` in flight finishes first (its writes land on the row
    // before it moves), and none of `to` starts before the move is whole.
    return this.#withLease(from, () =>
      this.#withLease(to, async () => {
        moveRow();
        const row = this.#c.db.lease(to);
        if (!row) return;
        this.#c.network.rekey(from, row);
        this.#sidecars.rekey(from, to);
        if (row.spec?.service) this.#c.overlay.localChanged(row.spec.service);
      }),
    );
  }

  /** The lease a container event is about: the one whose row holds the container (a re-keyed lease's containers
   * keep the label of the id they were created under), else the label's. */
  #leaseOfContainer(containerId: string, labelled: bigint): bigint {
    const row = this.#c.db.lease(labelled);
    if (row && (row.containerId === containerId || row.agentContainerId === containerId)) return labelled;
    const owner = this.#c.db
      .leases(ACTIVE)
      .find((l) => l.containerId === containerId || l.agentContainerId === containerId);
    return owner?.id ?? labelled;
  }

  /** A container event from the engine (it died; it ran out of memory). */
  onRuntimeEvent(e: {
    kind: string;
    leaseId: bigint;
    containerId: string;
    exitCode?: number;
    role?: ContainerRole;
  }): void {
    const { db, metrics, log } = this.#c;
    e = { ...e, leaseId: this.#leaseOfContainer(e.containerId, e.leaseId) };
    if (e.role === "agent") {
      const row = db.lease(e.leaseId);
      const inSlot = !!row && ACTIVE.includes(row.status) && row.stoppedAt === undefined;
      if (e.kind === "oom") {
        metrics.inc("icon_yard_container_exits_total", { reason: "oom" });
        log.warn("agent sidecar ran out of memory and was killed", { lease: e.leaseId });
      }
      if (e.kind === "die") this.#sidecars.died(e, inSlot && this.#c.watch.now() < Number(row!.offer.end));
      return;
    }
    const info = this.#c.containers.get(e.containerId);
    if (e.kind === "oom") {
      metrics.inc("icon_yard_container_exits_total", { reason: "oom" });
      log.warn("container ran out of memory and was killed", { lease: e.leaseId });
      db.update(e.leaseId, { note: "the container ran out of memory and was killed" });
    }
    if (e.kind === "die" && info) {
      info.running = false;
      const row = db.lease(e.leaseId);
      // A failure changes this yard's instances: tell the interested yards now, not when their routes expire.
      if (row?.spec?.service) this.#c.overlay.localChanged(row.spec.service);
      if (
        row &&
        ACTIVE.includes(row.status) &&
        row.stoppedAt === undefined &&
        this.#c.watch.now() < Number(row.offer.end)
      ) {
        metrics.inc("icon_yard_container_exits_total", { reason: e.exitCode === 137 ? "killed" : "exit" });
        log.warn("container exited", { lease: e.leaseId, exitCode: e.exitCode });
      }
    }
  }

  /** Makes Docker match the database: active leases run, nothing else exists. Returns the actions taken. */
  async reconcile(reason: string): Promise<Record<string, number>> {
    const { runtime, db, config, containers: seen, log } = this.#c;
    const actions: Record<string, number> = {};
    const act = (a: string): void => {
      actions[a] = (actions[a] ?? 0) + 1;
      this.#c.metrics.inc("icon_yard_reconcile_actions_total", { action: a });
    };
    const now = this.#c.watch.now();
    const containers = await runtime.list();
    const wanted = new Map<string, LeaseRow>();
    for (const l of db.leases(ACTIVE)) {
      if (l.containerId) wanted.set(l.containerId, l);
      if (l.agentContainerId) wanted.set(l.agentContainerId, l);
    }
    for (const c of containers) {
      const l = wanted.get(c.id);
      const inSlot = l && l.stoppedAt === undefined && now < Number(l.offer.end);
      if (!inSlot) {
        await this.#withLease(c.leaseId, async () => {
          await runtime.stop(c.id, config.lease.stopTimeoutS);
          await runtime.remove(c.id);
          seen.delete(c.id);
        });
        act(l ? "removed_expired" : "removed_orphan");
        log.info("removed a container without a running lease", {
          lease: c.leaseId,
          container: c.id.slice(0, 12),
        });
      } else {
        seen.set(c.id, c);
      }
    }
    const present = new Set(containers.map((c) => c.id));
    for (const l of db.leases(["deployed"])) {
      await this.#withLease(l.id, async () => {
        const row = db.lease(l.id)!;
        if (row.stoppedAt !== undefined || now >= Number(row.offer.end)) return; // the tick ends it
        if (!row.spec) return; // renewed: its renewal runs its containers
        await this.#c.network.openIngress(row);
        if (now < Number(row.offer.start) - config.lease.earlyStartS) return;
        const existed = row.containerId !== undefined && present.has(row.containerId);
        if (!existed && row.containerId) db.update(row.id, { containerId: undefined });
        if (row.agentContainerId && !present.has(row.agentContainerId))
          db.update(row.id, { agentContainerId: undefined });
        const running = existed && containers.find((c) => c.id === row.containerId)!.running;
        try {
          await this.#ensureBoth(db.lease(row.id)!, { serviceRuns: running });
          if (!running) act(existed ? "restarted" : "recreated");
        } catch (e) {
          log.error("could not start a lease's container", { lease: row.id, error: e });
        }
      });
    }
    log.info("reconciled", { reason, ...actions });
    return actions;
  }

  /** One pass over every lease (every second): start, confirm, claim, end, settle; then image collection. */
  async tick(): Promise<void> {
    const { db, log, signal, network } = this.#c;
    if (this.#ticking || signal.aborted) return;
    this.#ticking = true;
    try {
      // Docker came back: its network may have been re-created (a new bridge); filter it before containers start.
      if (this.#reconcileWanted) network.wantFirewallCheck();
      await network.recheck();
      if (this.#reconcileWanted) {
        this.#reconcileWanted = false;
        await this.reconcile("docker reconnected").catch((e) => {
          this.#reconcileWanted = true;
          log.warn("reconcile failed; will retry", { error: e });
        });
      }
      const now = this.#c.watch.now();
      const due: Array<{ id: bigint; final: boolean }> = [];
      for (const l of db.leases(["open", "deployed", "failed", "ended"])) {
        if (signal.aborted) break;
        await this.#withLease(l.id, () => this.#step(l.id, now, due)).catch((e) => {
          if (isIconError(e, "DOCKER_UNREACHABLE")) {
            if (this.#dockerUp) log.warn("docker engine unreachable; leases keep their state", { error: e });
            this.#dockerUp = false;
            this.#reconcileWanted = true;
          } else {
            log.warn("lease step failed; will retry", { lease: l.id, error: e });
          }
        });
      }
      if (!signal.aborted) await this.#claims.claimDue(due);
      if (!signal.aborted) await collectImages(this.#c, now);
    } finally {
      this.#ticking = false;
    }
  }

  /** Advances lease `id`; a claim it owes is pushed to `due` (the tick claims them together). */
  async #step(id: bigint, now: number, due: Array<{ id: bigint; final: boolean }>): Promise<void> {
    const { db, config } = this.#c;
    const l = db.lease(id);
    if (!l) return;
    // Its opening was reorganised away (reorgs.ts): nothing is done on chain for it (its id may be another
    // lease's) until the follower adopts it again or unwinds it.
    if (db.pendingOpen(l.offerHash)) return;
    const end = Math.min(Number(l.offer.end), l.stoppedAt ?? Infinity);
    if (ACTIVE.includes(l.status)) {
      if (now >= end) {
        await this.#end(l, l.stoppedAt !== undefined ? "terminated" : "slot over");
        due.push({ id, final: true });
        return;
      }
      if (l.status === "deployed" && now >= Number(l.offer.start) - config.lease.earlyStartS) {
        const info = l.containerId ? this.#c.containers.get(l.containerId) : undefined;
        await this.#ensureBoth(l, { serviceRuns: info?.running });
        const running = db.lease(id)!.containerId;
        if (running && !l.confirmed) await this.#confirm(l);
        else if (l.confirmed && now - l.lastClaimAt >= config.lease.claimIntervalS && now > Number(l.offer.start))
          due.push({ id, final: false });
      }
      return;
    }
    if (l.status === "ended") due.push({ id, final: true });
  }

  async #confirm(l: LeaseRow): Promise<void> {
    const { chain, watch, db, log } = this.#c;
    const ok = await watch
      .call(`confirming lease ${l.id}`, () => chain.confirmStart(l.id))
      .catch((e) => {
        // A lease the tenant already terminated cannot be confirmed; the follower will end it.
        log.warn("confirmStart refused", { lease: l.id, error: e });
        return undefined;
      });
    if (ok) {
      this.#c.reorgs?.track({ kind: "confirm", tx: ok.hash, leases: [l.id] });
      db.update(l.id, { confirmed: true, lastClaimAt: watch.now() });
      log.info("start confirmed on chain", { lease: l.id });
    }
  }

  /** Runs `fn` after every earlier action on the same lease has finished. */
  #withLease<T>(id: bigint, fn: () => Promise<T>): Promise<T> {
    const k = id.toString();
    const run = (this.#locks.get(k) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(k, tail);
    void tail.then(() => this.#locks.get(k) === tail && this.#locks.delete(k));
    return run;
  }
}
