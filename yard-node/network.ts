/**
 * The yard's network around its containers: the host firewall on the yard's bridge (firewall.ts), semantic
 * service addressing (overlay/semantic.ts), each lease's public endpoints (TCP/HTTP ingress and UDP, routed
 * through the overlay), redirection stubs that keep an ended lease's endpoints answering until their grace
 * ends, and the resolution of inbound tunnels to a running container.
 *
 * @example
 *   const net = new YardNetwork({ config, runtime, db, containers, overlay, ingress, udp, bridge, ... });
 *   await net.start();              // the host firewall, before any container starts
 *   await net.openIngress(lease);   // its endpoints, same ports as before when it had some
 */
import type { Multiaddr } from "@multiformats/multiaddr";
import { AGENT_P2P_PORT, isIconError } from "../protocol/index.ts";
import { AGENT_INGRESS_KEY } from "./agent-gateway.ts";
import type { Logger } from "../protocol/log.ts";
import type { YardConfig } from "./config.ts";
import { ACTIVE, type LeaseRow, type YardDb } from "./db.ts";
import { HostFirewall } from "./firewall.ts";
import type { Ingress, IngressRoute } from "./ingress.ts";
import type { YardMetrics } from "./yard-metrics.ts";
import { parseServiceKey } from "./overlay/names.ts";
import { instanceProblem, type LeaseOwners } from "./overlay/owners.ts";
import type { Overlay } from "./overlay/overlay.ts";
import { ServiceAddressing } from "./overlay/semantic.ts";
import type { TunnelHeader } from "../protocol/index.ts";
import type { TunnelTarget } from "./overlay/tunnel.ts";
import { ipOf, type ActiveYards } from "./overlay/yards.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";
import type { DatagramBridge, UdpIngress, UdpRoute } from "./udp.ts";

/** A deployed lease's spec, as stored. */
type Spec = NonNullable<LeaseRow["spec"]>;

export interface YardNetworkComponents {
  config: Pick<YardConfig, "yardId" | "docker" | "overlay">;
  runtime: ContainerRuntime;
  db: Pick<YardDb, "lease" | "leases" | "routingRules" | "update">;
  /** The yard's containers by id, as last seen (kept by the lease lifecycle). */
  containers: ReadonlyMap<string, ContainerInfo>;
  overlay: Overlay;
  ingress: Pick<Ingress, "open" | "close" | "move">;
  udp: Pick<UdpIngress, "open" | "close" | "move">;
  bridge: Pick<DatagramBridge, "for">;
  activeYards: Pick<ActiveYards, "vouch" | "trusts" | "operatorOf">;
  owners: Pick<LeaseOwners, "facts">;
  metrics: Pick<YardMetrics, "inc">;
  log: Logger;
  /** Aborted when the yard stops. */
  signal: AbortSignal;
}

export class YardNetwork {
  readonly #c: YardNetworkComponents;
  /** The nftables table keeping containers off the host's own services (undefined when it could not be set up). */
  firewall: HostFirewall | undefined;
  addressing: ServiceAddressing | undefined;
  /** Closings of ended leases' endpoints when their redirection stub's grace ends. */
  readonly #stubTimers = new Set<NodeJS.Timeout>();
  /** The host firewall must be checked against the network (Docker came back; or renewing it failed). */
  #firewallCheck = false;
  #firewallFailing = false;
  #firewallLeftoverGone = false;

  constructor(components: YardNetworkComponents) {
    this.#c = components;
  }

  /** Before any container starts: containers must not reach the host's own services. */
  async start(): Promise<void> {
    await this.secure();
  }

  /** Stubs' pending closings are dropped (the next start restores them); addressing stops; the firewall stays
   * while containers of this yard run. */
  async stop(): Promise<void> {
    this.#clearStubTimers();
    await this.#stopAddressing().catch(() => {});
    await this.#unsecure();
  }

  /** The firewall is to be checked against the network at the next `recheck()` (Docker came back). */
  wantFirewallCheck(): void {
    this.#firewallCheck = true;
  }

  /** Renews the firewall if a check is wanted (it was installed once; the network may have changed). */
  async recheck(): Promise<void> {
    if (this.#firewallCheck && this.firewall) await this.secure();
  }

  /**
   * Installs the host firewall on the yard's bridge (firewall.ts), or replaces it when the bridge changed (the
   * network was re-created while Docker was away). Without nft or root the yard warns once and runs without it.
   */
  async secure(): Promise<void> {
    const { config, runtime, log } = this.#c;
    if (!config.docker.hostFirewall) {
      // Turned off: a table an earlier run left for its containers would only drop this run's new listeners.
      if (!this.#firewallLeftoverGone) {
        this.#firewallLeftoverGone = true;
        await new HostFirewall({ yardId: config.yardId }).remove().catch(() => {});
      }
      return;
    }
    if (!runtime.networkInfo) return;
    const first = this.firewall === undefined;
    let fw: HostFirewall;
    try {
      fw = this.firewall ?? new HostFirewall({ yardId: config.yardId });
      const { bridge } = await runtime.networkInfo();
      if (fw.bridge !== bridge) {
        await fw.install(bridge);
        log.info("host firewall installed: containers reach only the yard's DNS and service addresses", {
          table: fw.table,
          bridge,
        });
      }
      this.#firewallCheck = false;
      this.#firewallFailing = false;
    } catch (e) {
      if (!first) {
        // Retried every tick until it works; said once.
        if (!this.#firewallFailing) log.warn("could not renew the host firewall; retrying", { error: e });
        this.#firewallFailing = true;
        return;
      }
      const nft = isIconError(e, "HOST_FIREWALL_FAILED");
      log.warn("containers can reach every service of this host: the yard could not install its firewall", {
        error: e,
        fix: nft
          ? "install nftables (apt-get install nftables) and run the yard as root, or set docker.hostFirewall to false to silence this"
          : "the container network could not be set up (see the error); the firewall follows once it can",
      });
      return;
    }
    if (first) this.firewall = fw;
  }

  /**
   * At stop: the table goes only when no container of this yard is left. Containers keep running across a stop
   * (the next start takes them over), and they stay filtered meanwhile; the next start replaces the table.
   */
  async #unsecure(): Promise<void> {
    const fw = this.firewall;
    if (!fw) return;
    const left = await this.#c.runtime.list().then(
      (cs) => cs.filter((c) => c.running).length,
      () => undefined,
    );
    if (left === 0) return fw.remove();
    this.#c.log.info("host firewall left in place for the containers that keep running until the next start", {
      table: fw.table,
      containers: left ?? "unknown (docker unreachable)",
    });
  }

  /** Starts semantic service addressing (needs root); without it the yard warns and runs on. */
  async startAddressing(): Promise<void> {
    const { config, runtime, overlay, log, db, containers } = this.#c;
    const a = new ServiceAddressing({
      runtime,
      overlay,
      log,
      cidr: config.overlay.serviceCidr ?? defaultServiceCidr(config.yardId),
      ...(config.overlay.dnsUpstream ? { dnsUpstream: config.overlay.dnsUpstream } : {}),
      sourceOf: (ip) => {
        for (const l of db.leases(["deployed"])) {
          const info = l.containerId ? containers.get(l.containerId) : undefined;
          if (info?.ip === ip) return { leaseId: l.id, service: l.spec?.service };
        }
        return undefined;
      },
      rulesOf: (id) => db.lease(id)?.spec?.allow,
      allow: async (x) => this.firewall?.allow(x),
      revoke: async (x) => this.firewall?.revoke(x),
    });
    try {
      await a.start();
      this.addressing = a;
    } catch (e) {
      // Semantic names need root (addresses on the bridge, port 53); everything else works without them.
      log.warn("semantic addressing is off: containers cannot resolve service names", {
        error: e,
        fix: "run the yard as root, or set overlay.semanticDns to false to silence this",
      });
      await a.stop().catch(() => {});
    }
  }

  async #stopAddressing(): Promise<void> {
    await this.addressing?.stop();
  }

  /** Cancels the pending closings of stubbed endpoints (at stop: the next start restores the stubs). */
  #clearStubTimers(): void {
    for (const t of this.#stubTimers) clearTimeout(t);
    this.#stubTimers.clear();
  }

  /**
   * Routing rules and flows stored by an earlier run (overlay.ts): stubs still in their grace come back, expired
   * ones are dropped, and rules and flows of leases that ended without a stub in force are forgotten.
   */
  restoreRouting(): void {
    const { overlay, db } = this.#c;
    const live = new Set(overlay.restore().map((s) => s.leaseId));
    const leases = [...db.routingRules().map((r) => r.leaseId), ...overlay.allFlows().map((f) => BigInt(f.leaseId))];
    for (const id of leases) {
      const l = db.lease(id);
      if (live.has(id) || (l && ACTIVE.includes(l.status))) continue;
      overlay.forget(id);
    }
  }

  /** Ended leases whose stub is in force keep their endpoints (same ports) until its grace ends. */
  async reopenStubbed(): Promise<void> {
    const { overlay, db, log } = this.#c;
    for (const r of db.routingRules()) {
      const stub = overlay.stub(r.leaseId);
      const l = db.lease(r.leaseId);
      if (!stub || !l || ACTIVE.includes(l.status)) continue;
      await this.openIngress(l).catch((e) =>
        log.warn("could not reopen an endpoint for its redirection stub", { lease: l.id, error: e }),
      );
      this.#closeAfterStub(l.id, stub.until);
      log.info("redirection stub restored", { lease: l.id, to: stub.endpoint, until: new Date(stub.until) });
    }
  }

  /** Closes an ended lease's endpoints now, or when its redirection stub's grace ends if one is in force. */
  async closeEndpoints(id: bigint): Promise<void> {
    const { overlay, ingress, udp } = this.#c;
    // A redirection stub keeps the endpoint answering (forwarding or redirecting) until its grace ends.
    const stub = overlay.stub(id);
    if (stub) {
      this.#closeAfterStub(id, stub.until);
    } else {
      await ingress.close(id);
      await udp.close(id);
      overlay.forget(id);
    }
  }

  /** Closes lease `id`'s endpoints and forgets its routing rules when its stub's grace ends (at unix ms `until`). */
  #closeAfterStub(id: bigint, until: number): void {
    const t = setTimeout(
      () => {
        this.#stubTimers.delete(t);
        if (this.#c.signal.aborted) return;
        void this.#c.ingress.close(id);
        void this.#c.udp.close(id);
        this.#c.overlay.forget(id);
      },
      Math.max(0, until - Date.now()),
    );
    t.unref();
    this.#stubTimers.add(t);
  }

  /** The running container of lease `id` at `port`, or undefined (not running, no address). */
  #containerTarget(id: bigint, port: number): { host: string; port: number } | undefined {
    const row = this.#c.db.lease(id);
    const info = row?.containerId ? this.#c.containers.get(row.containerId) : undefined;
    return info?.running && info.ip ? { host: info.ip, port } : undefined;
  }

  /** The running agent sidecar of lease `id` at its libp2p port, or undefined. */
  #agentTarget(id: bigint): { kind: "local"; host: string; port: number } | undefined {
    const row = this.#c.db.lease(id);
    const info = row?.agentContainerId ? this.#c.containers.get(row.agentContainerId) : undefined;
    return info?.running && info.ip ? { kind: "local", host: info.ip, port: AGENT_P2P_PORT } : undefined;
  }

  /** Lease `l`'s service port `p`: its route, and whether it is proxied as HTTP. */
  #route(id: bigint, spec: Spec, p: number): { route: IngressRoute; http: boolean } {
    const http = spec.httpPorts?.includes(p) ?? false;
    return {
      http,
      route: this.#c.overlay.ingressRoute(id, p, http, () => this.#containerTarget(id, p), spec.service),
    };
  }

  #udpRoute(id: bigint, spec: Spec, p: number): UdpRoute {
    return this.#c.overlay.udpRoute(id, p, () => this.#containerTarget(id, p), spec.service);
  }

  /** The agent's libp2p listener of lease `id`: plain TCP to the sidecar, which noise protects end to end. */
  #agentRoute(id: bigint): IngressRoute {
    return { upstream: () => this.#agentTarget(id) };
  }

  /** Opens lease `l`'s public endpoints (the ports it had, when it had some) and records them. */
  async openIngress(l: LeaseRow): Promise<void> {
    if (!l.spec) return;
    const spec = l.spec;
    const ingress = { ...l.ingress };
    const id = l.id;
    for (const p of spec.ports) {
      const { route, http } = this.#route(id, spec, p);
      ingress[String(p)] = await this.#c.ingress.open(id, p, route, l.ingress[String(p)] ?? 0, http ? "http" : "tcp");
    }
    for (const p of spec.udpPorts ?? [])
      ingress[`udp/${p}`] = await this.#c.udp.open(id, p, this.#udpRoute(id, spec, p), l.ingress[`udp/${p}`] ?? 0);
    // The agent's listener, reached by other peers like a service port (stored: the same port after a restart).
    if (spec.agent)
      ingress[AGENT_INGRESS_KEY] = await this.#c.ingress.open(
        id,
        AGENT_INGRESS_KEY,
        this.#agentRoute(id),
        l.ingress[AGENT_INGRESS_KEY] ?? 0,
        "tcp",
        "control",
      );
    this.#c.db.update(l.id, { ingress });
  }

  /**
   * Renewal `to` runs lease `from`'s service container now: it takes `from`'s listeners of its ports over (same
   * ports, open connections untouched, new ones routed to `to`) and its flows and routing rules, all in one
   * synchronous step, so that no connection or request falls between the two leases.
   */
  carryService(from: bigint, to: LeaseRow): void {
    const spec = to.spec;
    if (!spec) return;
    this.#c.overlay.carry(from, to.id);
    for (const p of spec.ports) this.#c.ingress.move(from, to.id, p, this.#route(to.id, spec, p).route);
    for (const p of spec.udpPorts ?? []) this.#c.udp.move(from, to.id, p, this.#udpRoute(to.id, spec, p));
  }

  /**
   * Lease `from` is lease `to` now: its opening, reorganised away, was included again under id `to` (chain-watch.ts).
   * Everything the running endpoints hold under `from` goes to `to` as a renewal's hand-over moves it, in one
   * synchronous step: the listeners (same ports, open connections untouched, new ones routed by `to`), the flows,
   * routing rules and stub, the agent's listener.
   */
  rekey(from: bigint, to: LeaseRow): void {
    if (to.spec) this.carryService(from, to);
    else this.#c.overlay.carry(from, to.id);
    if (to.spec?.agent) this.carryAgent(from, to.id);
  }

  /** Renewal `to` runs lease `from`'s agent sidecar now: it takes the agent's listener over as it is. */
  carryAgent(from: bigint, to: bigint): boolean {
    return this.#c.ingress.move(from, to, AGENT_INGRESS_KEY, this.#agentRoute(to));
  }

  /**
   * An inbound tunnel: an instance of ours, its port, the namespace rules, a running container. A header without
   * a service (a redirection stub of a lease that names none) addresses the lease by its id: it reaches exactly
   * the ports the lease's public ingress exposes to anyone, so it needs no more than a service tunnel without
   * `from` does — the lease runs here and exposes the port (tunnel.ts refuses `from` without a service).
   */
  async resolveTunnel(h: TunnelHeader, remote: string, remoteAddr: Multiaddr): Promise<TunnelTarget> {
    const { db, activeYards, owners, containers, overlay, log } = this.#c;
    const l = db.lease(h.instanceId);
    if (!l || l.status !== "deployed" || !l.spec || l.stoppedAt !== undefined)
      return { error: `instance ${h.instanceId} does not run at this yard` };
    if (h.service !== undefined && l.spec.service !== h.service)
      return { error: `instance ${h.instanceId} is not an instance of ${h.service}` };
    const exposed = h.transport === "udp" ? (l.spec.udpPorts ?? []) : l.spec.ports;
    if (!exposed.includes(h.port))
      return {
        error: `instance ${h.instanceId} does not expose ${h.transport === "udp" ? "UDP" : "TCP"} port ${h.port}`,
      };
    if (h.from !== undefined && h.service !== undefined) {
      // The source service is the opener's word: taken only from an active yard, and only for a source lease it
      // hosts, of the source's application (on chain). A stranger reaches the exposed port without `from`.
      if (!(await activeYards.vouch(remote)))
        return { error: `a source service (from) is taken from active yards only; ${remote} is none` };
      const facts = await owners.facts(h.fromInstance!);
      const bound = instanceProblem(h.from, h.fromInstance!, facts, activeYards.operatorOf(remote));
      if (bound) return { error: `source ${h.from} is not vouched for by the opener: ${bound}` };
      const why = this.addressing?.admit(h.from, parseServiceKey(h.service), l.id) ?? undefined;
      if (why) return { error: why };
    }
    const info = l.containerId ? containers.get(l.containerId) : undefined;
    if (!info?.running || !info.ip) return { error: `instance ${h.instanceId} is not running right now` };
    // The header's client is an active yard's word; anyone else's tunnel counts under the address it comes from.
    const trusted = activeYards.trusts(remote);
    const client = trusted ? h.client : ipOf(remoteAddr);
    // Marked relayed when it is the header's: such a subnet counts in λ but is no target for the probe service.
    if (client !== undefined) overlay.flows(l.id).record(client, undefined, Date.now(), trusted);
    if (!trusted) {
      this.#c.metrics.inc("icon_yard_tunnels_untrusted_client_total");
    }
    log.debug("tunnel accepted", { lease: l.id, from: remote, client, trusted });
    if (h.transport === "udp") return { host: "127.0.0.1", port: await this.#c.bridge.for(info.ip, h.port) };
    return { host: info.ip, port: h.port };
  }
}

/** A /24 of 10.233.0.0/16 chosen by the yard id, so yards sharing a host rarely collide (set
 * overlay.serviceCidr to choose). */
export function defaultServiceCidr(yardId: string): string {
  let h = 0;
  for (const ch of yardId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `10.233.${h % 256}.0/24`;
}
