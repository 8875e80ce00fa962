/**
 * The yard's overlay: the wiring of its rooms and the forwarding. The rooms, each built from what it uses:
 * the route table of services' instances across yards (route-table.ts: lazy queries with interest registration,
 * pushes, versions, the DHT), and the lease holder's routing rules (routing-rules.ts: flows, HTTP redirects per
 * client subnet, the redirection stub after a migration or termination, durable in the yard's store).
 *
 * Forwarding (here): a connection to a service is sent to an instance picked by a routing policy among the k most
 * relevant (k-pruning; the instance a `<id>.none` name pins is always kept) — a local one directly, a remote one
 * through a tunnel; a failed forward drops the instance from the table and re-queries once. A lease's ingress
 * ports go to its container, or — once a stub is set — to the new instance.
 *
 * In a yard the overlay is one of the libp2p node's services (js-libp2p's shape, {@link overlay}): its handlers
 * (routes, routing rules, telemetry) are registered at the node's start on the readiness gate's registrar, its
 * outbound work (the route table's sweep and DHT announcements) begins when the gate opens, and the node's stop
 * stops both. Built on a bare node (tests), `start()` registers on the node and begins at once.
 */
import net from "node:net";
import type { Duplex } from "node:stream";
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import {
  IconError,
  isIconError,
  OverlayError,
  OverlayErrorCode,
  ROUTES_PROTOCOL,
  ROUTING_PROTOCOL,
  TELEMETRY_PROTOCOL,
  YardServiceError,
  decodeOverlayFrame,
  encodeOverlayFrame,
  overlayLimits,
  type OverlayMessage,
  type Redirect,
  type IconNodeComponents,
  type ReadyGate,
  type Stub,
  type TunnelHeader,
} from "../../protocol/index.ts";
import type { Authorize } from "../access.ts";
import type { IngressRoute, Upstream } from "../ingress.ts";
import type { UdpRoute, UdpUpstream } from "../udp.ts";
import type { Logger } from "../../protocol/log.ts";
import type { FlowObserver } from "./flows.ts";
import { PolicyRegistry, prune } from "./policies.ts";
import { parseServiceKey } from "./names.ts";
import { RouteTable } from "./route-table.ts";
import { RoutingRules } from "./routing-rules.ts";
import type { Instance, LocalInstance, OverlayNode, PickContext, RoutingRulesStore, ServiceName } from "./types.ts";

/** Opens a proxied byte stream to an instance at another yard (yard-node/overlay/tunnel.ts). */
export interface Tunnels {
  open(peer: PeerId, addrs: ReturnType<typeof multiaddr>[], h: TunnelHeader): Promise<Duplex>;
}

export interface OverlayOptions {
  node: OverlayNode;
  /**
   * The daemon's readiness: the outbound work (the route table's sweep, DHT announcements of this yard's services)
   * begins when it opens (ready.ts `whenOpen`); at `start()` without it.
   */
  ready?: Pick<ReadyGate, "whenOpen">;
  log: Logger;
  authorize: Authorize;
  tunnels?: Tunnels;
  /** This yard's running instances. */
  local(): LocalInstance[];
  /** Yards to ask about routes besides the connected ones (multiaddrs with /p2p/). */
  peers?: string[];
  /**
   * Use the node's DHT for routes: announce every service this yard runs (a provider record of
   * `serviceProviderKey`, on every change and every 10 minutes) and ask the yards that announce a service, besides
   * the connected ones and `peers`.
   */
  dht?: boolean;
  /** Instances kept per service and policy (k-pruning); default 8. */
  k?: number;
  /** TTL of route answers and interest registrations, seconds; default 60. */
  ttlS?: number;
  /**
   * Route lookups that must ask other yards, per source (a lease asking through the semantic DNS): a token bucket
   * of this many, refilled at `refillPerS`; default 32 and 1/s. A lookup over budget answers from what is known.
   */
  queryBudget?: { burst: number; refillPerS: number };
  /** Half-life of flow smoothing, seconds; default 10. */
  halfLifeS?: number;
  /** Namespace check for a connection from service `from` to a local instance: a refusal sentence or undefined. */
  admit?(from: string | undefined, to: ServiceName, instanceId: bigint): string | undefined;
  /**
   * Whether `peer` is a yard whose word about its own instances is taken (route answers and pushes): the yard passes
   * {@link ActiveYards.vouch}, an active yard in the registry. Without it every peer's routes are taken.
   */
  vouch?(peer: string): Promise<boolean>;
  /**
   * Why instance `instanceId` of `service`, announced by yard `yard` in a route answer or push, is not taken (a
   * sentence), or undefined when it is: the yard checks on chain that the lease is of the service's application and
   * hosted by `yard` (owners.ts). Refused instances are left out of the snapshot; the rest of it applies. Without it
   * every instance a vouched yard announces is taken.
   */
  checkRoute?(yard: string, service: string, instanceId: bigint): Promise<string | undefined>;
  /**
   * A local TCP port that carries framed datagrams (udp.ts) to `ip:port` of a local container as UDP (the yard's
   * datagram bridge, the same one inbound UDP tunnels end at); without it, UDP reaches remote instances only.
   */
  udpBridge?(ip: string, port: number): Promise<number>;
  /** Where routing rules are kept across restarts; in memory only without it. */
  store?: RoutingRulesStore;
  /**
   * The epoch of this run's route versions (unix ms): must be above every earlier run's (the yard stores it,
   * see YardDb.nextRouteEpoch); default the clock.
   */
  routeEpochMs?: bigint;
}

export class Overlay {
  readonly policies = new PolicyRegistry();
  readonly #o: OverlayOptions;
  readonly #k: number;
  readonly #table: RouteTable;
  readonly #rules: RoutingRules;
  /** Stops waiting for `ready` (see {@link start}). */
  #unready: (() => void) | undefined;
  forwardsFailed = 0;
  requeries = 0;

  constructor(o: OverlayOptions) {
    this.#o = o;
    this.#k = o.k ?? 8;
    this.#table = new RouteTable(
      { node: o.node, log: o.log, local: () => o.local(), vouch: o.vouch, checkRoute: o.checkRoute },
      { peers: o.peers, dht: o.dht, ttlS: o.ttlS, queryBudget: o.queryBudget, routeEpochMs: o.routeEpochMs },
    );
    this.#rules = new RoutingRules({ log: o.log, authorize: o.authorize, store: o.store }, { halfLifeS: o.halfLifeS });
  }

  /** Lookups answered from what was known because their source had spent its query budget. */
  get queriesThrottled(): number {
    return this.#table.queriesThrottled;
  }

  /** Route answers and pushes ignored because the table already held a newer version from that yard. */
  get staleRoutes(): number {
    return this.#table.staleRoutes;
  }

  /** Route answers and pushes ignored because their yard is not vouched for (OverlayOptions.vouch). */
  get untrustedRoutes(): number {
    return this.#table.untrustedRoutes;
  }

  /** Announced instances left out because their lease is not bound to the announcing yard and application. */
  get foreignRoutes(): number {
    return this.#table.foreignRoutes;
  }

  /**
   * Loads the stored routing rules: stubs whose grace has ended are dropped (from the store too). Returns the
   * leases whose stub is still in force, with the unix ms it ends at.
   */
  restore(): { leaseId: bigint; until: number }[] {
    return this.#rules.restore();
  }

  /** Registers the handlers; begins the outbound work now, or when `ready` opens (OverlayOptions.ready). */
  async start(): Promise<void> {
    const ready = this.#o.ready;
    // The route table's sweep and, with the DHT, the announcements of this yard's services (RouteTable.start: once
    // per start).
    if (ready) this.#unready = ready.whenOpen(() => this.#table.start());
    else this.#table.start();
    const n = this.#o.node;
    await n.handle(
      TELEMETRY_PROTOCOL,
      this.#handler("telemetry", (m, r) => this.#rules.telemetry(m, r)),
      {
        maxInboundStreams: 16,
      },
    );
    await n.handle(
      ROUTING_PROTOCOL,
      this.#handler("routing", (m, r) => this.#rules.setRules(m, r)),
      {
        maxInboundStreams: 16,
      },
    );
    await n.handle(
      ROUTES_PROTOCOL,
      this.#handler("routes", (m, r) => this.#table.answer(m, r)),
      {
        maxInboundStreams: 64,
      },
    );
  }

  /** Stops the outbound work and unregisters the handlers. */
  async stop(): Promise<void> {
    this.#unready?.();
    this.#unready = undefined;
    this.#table.stop();
    const n = this.#o.node;
    for (const p of [TELEMETRY_PROTOCOL, ROUTING_PROTOCOL, ROUTES_PROTOCOL]) await n.unhandle(p).catch(() => {});
  }

  // ---------------------------------------------------------------- flows and ingress

  /** The flow observer of lease `leaseId`. */
  flows(leaseId: bigint): FlowObserver {
    return this.#rules.flows(leaseId);
  }

  /** Every lease's flows and redirects (for /metrics). */
  allFlows(): ReturnType<RoutingRules["allFlows"]> {
    return this.#rules.allFlows();
  }

  /** Saves every lease's flows to the store (the yard stops; the next start takes them back). */
  saveFlows(): void {
    this.#rules.saveFlows();
  }

  /** Renewal `to` takes lease `from`'s flows, redirects and stub over (see {@link RoutingRules.carry}). */
  carry(from: bigint, to: bigint): void {
    this.#rules.carry(from, to);
  }

  /** Forgets a lease's flows, redirects and stub (after its grace), in the store too. */
  forget(leaseId: bigint): void {
    this.#rules.forget(leaseId);
  }

  /** The stub of lease `leaseId` while its grace lasts; once it is over, the stub is dropped (from the store too). */
  stub(leaseId: bigint): (Stub & { until: number }) | undefined {
    return this.#rules.stub(leaseId);
  }

  /** The HTTP redirects the lease holder set for lease `leaseId`. */
  redirects(leaseId: bigint): Redirect[] {
    return this.#rules.redirects(leaseId);
  }

  /**
   * The ingress route of one lease port: the local container while no stub is set; once the lease holder set a
   * stub (make-before-break: the new instance runs), new connections go to the new location — TCP through a
   * tunnel, HTTP by a 307 redirect — while connections already open finish on the old container.
   */
  ingressRoute(
    leaseId: bigint,
    port: number,
    http: boolean,
    local: () => { host: string; port: number } | undefined,
    service?: string,
  ): IngressRoute {
    const flows = this.flows(leaseId);
    return {
      upstream: (client): Upstream | undefined => {
        const s = this.stub(leaseId);
        if (s) {
          if (http) return { kind: "redirect", location: `http://${s.endpoint}` };
          return this.#viaStub(s, port, client, service);
        }
        const t = local();
        return t ? { kind: "local", ...t } : undefined;
      },
      redirect: (client) => this.#rules.redirectFor(leaseId, client),
      observe: (client, latencyMs) => flows.record(client, latencyMs),
      // Not served here: apart from λ and the latency (see flows.ts).
      redirected: (client) => flows.redirect(client),
      failed: (e) => {
        this.forwardsFailed++;
        this.#o.log.warn("forward through the stub failed", { lease: leaseId, error: e });
      },
    };
  }

  /** The UDP ingress route of one lease port: the container, or — once a stub is set — the new instance, as
   * datagrams over a tunnel. */
  udpRoute(
    leaseId: bigint,
    port: number,
    local: () => { host: string; port: number } | undefined,
    service?: string,
  ): UdpRoute {
    const flows = this.flows(leaseId);
    return {
      upstream: (client): UdpUpstream | undefined => {
        const s = this.stub(leaseId);
        if (s) return this.#viaStub(s, port, client, service, "udp");
        const t = local();
        return t ? { kind: "local", ...t } : undefined;
      },
      observe: (client) => flows.record(client),
    };
  }

  /**
   * A remote upstream through a tunnel to the stub's instance. The header names the lease's service when it has
   * one (the target yard checks the instance belongs to it); a lease without a service addresses the instance by
   * its lease id alone, so its TCP and UDP ports are forwarded too.
   */
  #viaStub(
    s: Stub,
    port: number,
    client: string,
    service: string | undefined,
    transport?: "udp",
  ): { kind: "remote"; connect(): Promise<Duplex> } | undefined {
    const tunnels = this.#o.tunnels;
    if (!tunnels) return undefined;
    const h: TunnelHeader = { instanceId: s.instanceId, port, client: client.replace(/^::ffff:/, "") };
    if (service) h.service = service;
    if (transport) h.transport = transport;
    return {
      kind: "remote",
      connect: () =>
        tunnels.open(
          peerIdFromString(s.yard),
          s.addrs.map((a) => multiaddr(a)),
          h,
        ),
    };
  }

  // ---------------------------------------------------------------- routes

  /** Every known instance of `service`: see {@link RouteTable.instances}. */
  instances(service: string, o: { force?: boolean; source?: string } = {}): Promise<Instance[]> {
    return this.#table.instances(service, o);
  }

  /** Picks an instance of `service` by `policy` among the k kept for it. */
  async pick(service: string, policy: string, ctx: PickContext = {}, force = false): Promise<Instance | undefined> {
    const p = this.policies.get(policy);
    if (!p)
      throw new IconError(
        "UNKNOWN_POLICY",
        `no routing policy "${policy}" (known: ${this.policies.names().join(", ")})`,
      );
    let all = await this.instances(service, { force });
    // A connection to a port goes only to instances that serve it (over that transport).
    const { port, transport } = ctx;
    if (port !== undefined)
      all = all.filter((i) => (transport === "udp" ? (i.udpPorts ?? []) : i.ports).includes(port));
    if (p.measures) await this.#table.measure(all);
    return p.pick(prune(p, all, this.#k, ctx), ctx);
  }

  /**
   * A connection to `service` (port `port`) chosen by `policy`: local instances directly, remote ones through a
   * tunnel. A failed forward drops the instance and retries once with a fresh table. With `transport: "udp"` the
   * Duplex carries framed datagrams (udp.ts) to the instance's UDP port.
   */
  async connect(
    service: string,
    policy: string,
    port: number,
    ctx: PickContext & { client: string; from?: string; fromInstance?: bigint; transport?: "udp" },
  ): Promise<Duplex> {
    let refused: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      const inst = await this.pick(service, policy, { ...ctx, port }, attempt > 0);
      if (!inst) break;
      try {
        return await this.#open(inst, port, ctx);
      } catch (e) {
        if (isIconError(e, "DENIED")) throw e;
        // The remote yard refused: a namespace denial, or a stale route (the instance ended or is not running
        // there). Retry like any failed forward; the refusal is the error when the last attempt is refused too.
        refused = isIconError(e, "TUNNEL_REFUSED") ? e : undefined;
        this.forwardsFailed++;
        this.requeries++;
        this.#table.drop(service, inst);
        this.#o.log.info("forward failed; dropping the route and asking again", {
          service,
          instance: inst.instanceId,
          error: e,
        });
      }
    }
    if (refused) throw refused;
    throw new IconError("NO_ROUTE", `no reachable instance of ${service} (policy ${policy})`);
  }

  /** Tells interested yards that this yard's instances of `service` changed. */
  localChanged(service: string): void {
    this.#table.localChanged(service);
  }

  async #open(
    inst: Instance,
    port: number,
    ctx: { client: string; from?: string; fromInstance?: bigint; transport?: "udp" },
  ): Promise<Duplex> {
    if (inst.yard === this.#o.node.peerId.toString()) {
      const l = this.#o.local().find((x) => x.leaseId === inst.instanceId);
      if (!l?.ip) throw new IconError("NO_ROUTE", `instance ${inst.instanceId} is not running here`);
      const why = this.#o.admit?.(ctx.from, parseServiceKey(inst.service), inst.instanceId);
      if (why) throw new IconError("DENIED", why);
      let host = l.ip;
      if (ctx.transport === "udp") {
        if (!this.#o.udpBridge) throw new IconError("NO_ROUTE", "this yard carries no UDP to its own containers");
        port = await this.#o.udpBridge(l.ip, port);
        host = "127.0.0.1";
      }
      return await new Promise<Duplex>((resolve, reject) => {
        const s = net.connect(port, host);
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      });
    }
    if (!this.#o.tunnels) throw new IconError("NO_TUNNELS", "this yard has no tunnels to other yards");
    return this.#o.tunnels.open(
      peerIdFromString(inst.yard),
      inst.addrs.map((a) => multiaddr(a)),
      {
        service: inst.service,
        instanceId: inst.instanceId,
        port,
        client: ctx.client.replace(/^::ffff:/, ""),
        ...(ctx.from ? { from: ctx.from, fromInstance: ctx.fromInstance } : {}),
        ...(ctx.transport ? { transport: ctx.transport } : {}),
      },
    );
  }

  /** Forgets expired interests, misses and routes (see {@link RouteTable.sweep}). */
  sweep(): void {
    this.#table.sweep();
  }

  /** Sizes of the tables a peer can make grow (bounded; for tests and /metrics). */
  tableSizes(): ReturnType<RouteTable["tableSizes"]> {
    return this.#table.tableSizes();
  }

  // ---------------------------------------------------------------- handlers

  #handler(name: string, fn: (m: OverlayMessage, remote: PeerId) => Promise<OverlayMessage | undefined>) {
    return async (stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> => {
      const lp = lpStream(stream, { maxDataLength: overlayLimits.maxFrameBytes });
      const signal = AbortSignal.timeout(10_000);
      try {
        const m = decodeOverlayFrame((await lp.read({ signal })).subarray());
        const reply = await fn(m, connection.remotePeer);
        if (reply) await lp.write(encodeOverlayFrame(reply), { signal });
        await stream.close();
      } catch (e) {
        const code =
          e instanceof OverlayError
            ? e.overlayCode
            : e instanceof YardServiceError
              ? e.code === "YARD_UNKNOWN_LEASE"
                ? OverlayErrorCode.OVERLAY_UNKNOWN_LEASE
                : OverlayErrorCode.OVERLAY_DENIED
              : OverlayErrorCode.OVERLAY_INTERNAL;
        if (code === OverlayErrorCode.OVERLAY_INTERNAL) this.#o.log.warn(`${name} request failed`, { error: e });
        try {
          const message =
            code === OverlayErrorCode.OVERLAY_INTERNAL ? "the yard failed while answering" : (e as Error).message;
          await lp.write(encodeOverlayFrame({ type: "error", code, message }), { signal });
          await stream.close();
        } catch {
          stream.abort(e as Error);
        }
      }
    };
  }
}

/**
 * The overlay as a libp2p service in js-libp2p's shape, for `createIconNode({ services })`: its handlers go to the
 * components' registrar (the yard gates it: refused until ready), its dials, DHT records and pings through the
 * components, as `Libp2p`'s own methods make them; started and stopped with the node.
 */
export function overlay(init: Omit<OverlayOptions, "node">): (components: IconNodeComponents) => Overlay {
  return (c) =>
    new Overlay({
      ...init,
      node: {
        peerId: c.peerId,
        handle: (protocol, handler, options) => c.registrar.handle(protocol, handler, options),
        unhandle: (protocol) => c.registrar.unhandle(protocol),
        getMultiaddrs: () => c.addressManager.getAddresses(),
        getConnections: (peer) => c.connectionManager.getConnections(peer),
        dialProtocol: (peer, protocols, o) => c.connectionManager.openStream(peer, protocols, o),
        contentRouting: c.contentRouting,
        services: {
          // Built before the project's services (protocol/net/node.ts); read at each measurement, as Libp2p's.
          get ping(): unknown {
            return c.ping;
          },
        },
      },
    });
}
