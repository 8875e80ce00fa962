/**
 * The yard's overlay: flow observation per lease, the lease holder's routing rules (HTTP redirects per client
 * subnet, the redirection stub after a migration or termination), and the route table of services' instances
 * across yards.
 *
 * Routes are resolved lazily: the first connection to a service queries the yards this one knows
 * (`/icon/routes/1.0.0`, in parallel) with interest registration; answers are cached until their TTL, renewed
 * when used, and the answering yards push changes (deploy, migration, scale-down, failure) to interested yards
 * until the interest expires. Per policy only the k most relevant instances are kept (k-pruning; the instance a
 * `<id>.none` name pins is always kept). A failed forward drops the instance from the cache and re-queries once.
 *
 * Route versions: every answer and push carries the version of the snapshot it describes — (this run's epoch,
 * a sequence number counted per snapshot) — and a receiver keeps per (service, origin yard) the highest version it
 * applied, ignoring older ones: a push delayed behind a newer one cannot restore a table the origin has left.
 *
 * Routing rules (HTTP redirects, the stub and its expiry) are written to the yard's store before they are
 * acknowledged, and restored on start, so a restarted yard keeps forwarding through a stub until its grace ends.
 */
import net from "node:net";
import type { Duplex } from "node:stream";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import {
  IconError,
  OverlayError,
  OverlayErrorCode,
  ROUTES_PROTOCOL,
  ROUTING_PROTOCOL,
  TELEMETRY_PROTOCOL,
  YardServiceError,
  decodeOverlayFrame,
  encodeOverlayFrame,
  overlayLimits,
  overlayRequest,
  compareRouteVersions,
  type OverlayMessage,
  type Redirect,
  type RouteInstance,
  type RouteVersion,
  type Stub,
  findProviders,
  serviceProviderKey,
} from "../../protocol/index.ts";
import type { Authorize } from "../access.ts";
import type { IngressRoute, Upstream } from "../ingress.ts";
import type { UdpRoute, UdpUpstream } from "../udp.ts";
import type { Logger } from "../../protocol/log.ts";
import { FlowObserver, subnetOf } from "./flows.ts";
import { PolicyRegistry, prune } from "./policies.ts";
import { parseServiceKey } from "./names.ts";
import type { TunnelHeader } from "./tunnel.ts";
import type { Instance, PickContext, ServiceName } from "./types.ts";

/** Opens a proxied byte stream to an instance at another yard (yard-node/overlay/tunnel.ts). */
export interface Tunnels {
  open(peer: PeerId, addrs: ReturnType<typeof multiaddr>[], h: TunnelHeader): Promise<Duplex>;
}

/** A lease's routing rules as stored: its HTTP redirects and its stub (with the unix ms its grace ends at). */
export interface StoredRoutingRules {
  leaseId: bigint;
  redirects: Redirect[];
  stub: (Stub & { until: number }) | undefined;
}

/** Durable routing rules (the yard's database, yard-node/db.ts). */
export interface RoutingRulesStore {
  routingRules(): StoredRoutingRules[];
  setRoutingRules(r: StoredRoutingRules): void;
  deleteRoutingRules(leaseId: bigint): void;
}

/** A local instance, as the yard knows it. */
export interface LocalInstance {
  leaseId: bigint;
  service: string;
  ports: number[];
  /** UDP ports (none when absent). */
  udpPorts?: number[];
  /** Container address when running. */
  ip: string | undefined;
}

export interface OverlayOptions {
  node: Libp2p;
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

interface RemoteEntry {
  instances: RouteInstance[];
  expires: number;
  /** The version of the snapshot applied (undefined: the origin yard predates versions). */
  version: RouteVersion | undefined;
}

const now = (): number => Date.now();

/** How long a service no yard has an instance of is not asked about again (ms). */
const MISSING_TTL_MS = 10_000;
/** Services remembered as missing at most (oldest forgotten first). */
const MAX_MISSING = 4096;
/** Interest registrations held at most, in total and per peer (a registration past either is not kept). */
const MAX_INTERESTS = 16_384;
const MAX_INTERESTS_PER_PEER = 1024;
/** Sources whose query budget is tracked at most (the least recently seen forgotten first). */
const MAX_BUDGETS = 1024;
/** How often expired routes, interests and misses are swept (ms). */
const SWEEP_MS = 15_000;

export class Overlay {
  readonly policies = new PolicyRegistry();
  readonly #o: OverlayOptions;
  readonly #flows = new Map<string, FlowObserver>();
  readonly #redirects = new Map<string, Redirect[]>();
  readonly #stubs = new Map<string, Stub & { until: number }>();
  readonly #routes = new Map<string, Map<string, RemoteEntry>>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #interests = new Map<string, Map<string, number>>();
  /** Registrations held per peer (bounded, see MAX_INTERESTS_PER_PEER). */
  readonly #interestsOf = new Map<string, number>();
  #interestCount = 0;
  /** Services no yard had an instance of when last asked: service → until (ms). Map order is age order. */
  readonly #missing = new Map<string, number>();
  /** Per source: tokens left and when they were counted (Map order is LRU order). */
  readonly #budgets = new Map<string, { tokens: number; at: number }>();
  readonly #budget: { burst: number; refillPerS: number };
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** Lookups answered from what was known because their source had spent its query budget. */
  queriesThrottled = 0;
  /** When each service was last announced in the DHT (ms). */
  readonly #announced = new Map<string, number>();
  #reannounce: ReturnType<typeof setInterval> | undefined;
  readonly #rtt = new Map<string, { ms: number; at: number }>();
  readonly #k: number;
  readonly #ttlS: number;
  readonly #epoch: bigint;
  #seq = 0n;
  forwardsFailed = 0;
  requeries = 0;
  /** Route answers and pushes ignored because the table already held a newer version from that yard. */
  staleRoutes = 0;
  /** Route answers and pushes ignored because their yard is not vouched for (OverlayOptions.vouch). */
  untrustedRoutes = 0;
  /**
   * Announced instances left out because their lease is not bound to the announcing yard and the service's
   * application on chain (OverlayOptions.checkRoute), or could not be checked.
   */
  foreignRoutes = 0;
  /** Peers whose routes were refused, each logged once (bounded). */
  readonly #refusedPeers = new Set<string>();

  constructor(o: OverlayOptions) {
    this.#o = o;
    this.#k = o.k ?? 8;
    this.#ttlS = o.ttlS ?? 60;
    this.#epoch = o.routeEpochMs ?? BigInt(Date.now());
    this.#budget = o.queryBudget ?? { burst: 32, refillPerS: 1 };
  }

  /**
   * Loads the stored routing rules: stubs whose grace has ended are dropped (from the store too). Returns the
   * leases whose stub is still in force, with the unix ms it ends at.
   */
  restore(): { leaseId: bigint; until: number }[] {
    const store = this.#o.store;
    if (!store) return [];
    const live: { leaseId: bigint; until: number }[] = [];
    for (const r of store.routingRules()) {
      const key = r.leaseId.toString();
      let stub = r.stub;
      if (stub && stub.until <= now()) {
        stub = undefined;
        if (r.redirects.length === 0) store.deleteRoutingRules(r.leaseId);
        else store.setRoutingRules({ ...r, stub: undefined });
      }
      if (r.redirects.length > 0) this.#redirects.set(key, r.redirects);
      if (stub) {
        this.#stubs.set(key, stub);
        live.push({ leaseId: r.leaseId, until: stub.until });
      }
    }
    return live;
  }

  /** Provider records in the DHT for `services` (each at most once a minute); failures are logged and retried. */
  async #announce(services: string[]): Promise<void> {
    await Promise.all(
      services.map(async (service) => {
        if ((this.#announced.get(service) ?? 0) > now() - 60_000) return;
        this.#announced.set(service, now());
        try {
          await this.#o.node.contentRouting.provide(await serviceProviderKey(service), {
            signal: AbortSignal.timeout(30_000),
          });
        } catch (e) {
          this.#announced.delete(service);
          this.#o.log.debug("DHT announcement of a service failed", { service, error: e });
        }
      }),
    );
  }

  async start(): Promise<void> {
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.#sweeper.unref();
    if (this.#o.dht) {
      const all = (): string[] => [...new Set(this.#o.local().map((l) => l.service))];
      void this.#announce(all());
      this.#reannounce = setInterval(() => {
        this.#announced.clear();
        void this.#announce(all());
      }, 600_000);
      this.#reannounce.unref();
    }
    const n = this.#o.node;
    await n.handle(
      TELEMETRY_PROTOCOL,
      this.#handler("telemetry", (m, r) => this.#telemetry(m, r)),
      {
        maxInboundStreams: 16,
      },
    );
    await n.handle(
      ROUTING_PROTOCOL,
      this.#handler("routing", (m, r) => this.#routing(m, r)),
      {
        maxInboundStreams: 16,
      },
    );
    await n.handle(
      ROUTES_PROTOCOL,
      this.#handler("routes", (m, r) => this.#routesAnswer(m, r)),
      {
        maxInboundStreams: 64,
      },
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.#reannounce);
    clearInterval(this.#sweeper);
    const n = this.#o.node;
    for (const p of [TELEMETRY_PROTOCOL, ROUTING_PROTOCOL, ROUTES_PROTOCOL]) await n.unhandle(p).catch(() => {});
  }

  // ---------------------------------------------------------------- flows and ingress

  /** The flow observer of lease `leaseId`. */
  flows(leaseId: bigint): FlowObserver {
    const k = leaseId.toString();
    let f = this.#flows.get(k);
    if (!f) {
      f = new FlowObserver({ halfLifeS: this.#o.halfLifeS ?? 10 });
      this.#flows.set(k, f);
    }
    return f;
  }

  /** Every lease's flows and redirects (for /metrics). */
  allFlows(): {
    leaseId: string;
    flows: ReturnType<FlowObserver["snapshot"]>;
    redirects: ReturnType<FlowObserver["redirects"]>;
  }[] {
    return [...this.#flows].map(([leaseId, f]) => ({ leaseId, flows: f.snapshot(), redirects: f.redirects() }));
  }

  /** Forgets a lease's flows, redirects and stub (after its grace), in the store too. */
  forget(leaseId: bigint): void {
    const k = leaseId.toString();
    this.#flows.delete(k);
    this.#redirects.delete(k);
    this.#stubs.delete(k);
    this.#o.store?.deleteRoutingRules(leaseId);
  }

  /** The stub of lease `leaseId` while its grace lasts; once it is over, the stub is dropped (from the store too). */
  stub(leaseId: bigint): (Stub & { until: number }) | undefined {
    const k = leaseId.toString();
    const s = this.#stubs.get(k);
    if (!s || s.until > now()) return s;
    this.#stubs.delete(k);
    const redirects = this.#redirects.get(k) ?? [];
    if (redirects.length === 0) this.#o.store?.deleteRoutingRules(leaseId);
    else this.#o.store?.setRoutingRules({ leaseId, redirects, stub: undefined });
    return undefined;
  }

  /** The HTTP redirects the lease holder set for lease `leaseId`. */
  redirects(leaseId: bigint): Redirect[] {
    return [...(this.#redirects.get(leaseId.toString()) ?? [])];
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
    const key = leaseId.toString();
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
      redirect: (client) => {
        const rules = this.#redirects.get(key);
        if (!rules || rules.length === 0) return undefined;
        const subnet = subnetOf(client);
        return (rules.find((r) => r.subnet === subnet) ?? rules.find((r) => r.subnet === "*"))?.location;
      },
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

  /**
   * Every known instance of `service`: this yard's and, resolved lazily, other yards'. A service no yard had an
   * instance of is not asked about again for {@link MISSING_TTL_MS}; a lookup from `source` (the lease asking) that
   * would ask other yards spends one of the source's query budget, and answers from what is known when it is spent.
   */
  async instances(service: string, o: { force?: boolean; source?: string } = {}): Promise<Instance[]> {
    const me = this.#o.node.peerId.toString();
    const local: Instance[] = this.#localRoutes(service).map((i) => ({ ...i, latencyMs: 0, updatedAt: now() }));
    const entries = this.#routes.get(service);
    const fresh = entries && [...entries.values()].some((e) => e.expires > now());
    const missing = (this.#missing.get(service) ?? 0) > now();
    if (o.force || (!fresh && !missing)) {
      if (o.source === undefined || this.#spend(o.source)) await this.#query(service);
      else this.queriesThrottled++;
    } else if (entries && [...entries.values()].some((e) => e.expires - now() < (this.#ttlS * 1000) / 3))
      void this.#query(service); // renew in the background before it expires
    const remote: Instance[] = [];
    for (const [yard, e] of this.#routes.get(service) ?? []) {
      if (e.expires <= now() || yard === me) continue;
      const rtt = this.#rtt.get(yard);
      for (const i of e.instances) remote.push({ ...i, latencyMs: rtt?.ms, updatedAt: e.expires - this.#ttlS * 1000 });
    }
    return [...local, ...remote];
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
    if (p.measures) await this.#measure(all);
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
        if ((e as IconError).code === "DENIED") throw e;
        // The remote yard refused: a namespace denial, or a stale route (the instance ended or is not running
        // there). Retry like any failed forward; the refusal is the error when the last attempt is refused too.
        refused = (e as IconError).code === "TUNNEL_REFUSED" ? e : undefined;
        this.forwardsFailed++;
        this.requeries++;
        this.#drop(service, inst);
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
    if (this.#o.dht && this.#localRoutes(service).length > 0) void this.#announce([service]);
    const interested = this.#interests.get(service);
    if (!interested) return;
    const instances = this.#localRoutes(service);
    const version = this.#nextVersion();
    for (const [peer, until] of interested) {
      if (until <= now()) {
        this.#dropInterest(service, peer);
        continue;
      }
      void overlayRequest(this.#o.node, peerIdFromString(peer), ROUTES_PROTOCOL, {
        type: "routePush",
        service,
        instances,
        version,
      }).catch((e) => this.#o.log.debug("route push failed", { peer, error: e }));
    }
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

  #drop(service: string, inst: Instance): void {
    const e = this.#routes.get(service)?.get(inst.yard);
    if (e) e.instances = e.instances.filter((i) => i.instanceId !== inst.instanceId);
  }

  /** The version of a snapshot of this yard's instances taken now: later snapshots get higher versions. */
  #nextVersion(): RouteVersion {
    this.#seq++;
    return { epochMs: this.#epoch, seq: this.#seq };
  }

  #localRoutes(service: string): RouteInstance[] {
    const me = this.#o.node.peerId.toString();
    const addrs = this.#o.node.getMultiaddrs().map(String).slice(0, overlayLimits.maxAddrs);
    return this.#o
      .local()
      .filter((l) => l.service === service && l.ip)
      .map((l) => ({
        service,
        instanceId: l.leaseId,
        yard: me,
        addrs,
        ports: l.ports,
        ...(l.udpPorts?.length ? { udpPorts: l.udpPorts } : {}),
      }));
  }

  /** Asks every known yard (in parallel) for its instances of `service`, registering interest. */
  #query(service: string): Promise<void> {
    const running = this.#inflight.get(service);
    if (running) return running;
    let found = false;
    const run = (async () => {
      const me = this.#o.node.peerId.toString();
      const targets = new Map<string, PeerId | ReturnType<typeof multiaddr>>();
      for (const c of this.#o.node.getConnections()) targets.set(c.remotePeer.toString(), c.remotePeer);
      const add = (a: string): void => {
        const ma = multiaddr(a);
        const id = ma.getComponents().find((c) => c.name === "p2p")?.value;
        if (id && id !== me && !targets.has(id)) targets.set(id, ma);
      };
      for (const a of this.#o.peers ?? []) add(a);
      if (this.#o.dht) {
        // The yards that announce the service: what they answer about themselves is all that is taken from them.
        try {
          const found = await findProviders(this.#o.node, await serviceProviderKey(service), { timeoutMs: 3000 });
          for (const p of found) if (p.addrs[0]) add(p.addrs[0]);
        } catch (e) {
          this.#o.log.debug("DHT route lookup failed", { service, error: e });
        }
      }
      await Promise.all(
        [...targets].map(async ([id, target]) => {
          try {
            const r = await overlayRequest(
              this.#o.node,
              target as PeerId,
              ROUTES_PROTOCOL,
              { type: "routeQuery", service, interest: true },
              AbortSignal.timeout(3000),
            );
            if (r.type !== "routeAnswer") return;
            if (!(await this.#vouched(id, service))) return;
            const own = await this.#bound(id, service, r.instances);
            if (this.#store(service, id, own, r.ttlS, r.version) && own.length > 0) found = true;
          } catch (e) {
            this.#o.log.debug("route query failed", { peer: id, error: e });
          }
        }),
      );
      this.#missing.delete(service);
      if (!found && this.#localRoutes(service).length === 0) {
        this.#missing.set(service, now() + MISSING_TTL_MS);
        if (this.#missing.size > MAX_MISSING) this.#missing.delete(this.#missing.keys().next().value!);
      }
    })().finally(() => this.#inflight.delete(service));
    this.#inflight.set(service, run);
    return run;
  }

  /**
   * Applies what `yard` says about its instances of `service`, unless the table holds a newer snapshot from it:
   * an older version is ignored, and so is an unversioned one while a versioned entry is in force. The highest
   * version stays known after the entry expires, so a delayed push cannot bring back a table that was replaced;
   * an equal version applies (the same snapshot again).
   * Returns whether it was applied.
   */
  #store(
    service: string,
    yard: string,
    instances: RouteInstance[],
    ttlS: number,
    version: RouteVersion | undefined,
  ): boolean {
    // A yard with no instance of a service the table holds nothing about: nothing to keep (a made-up name asked
    // about must not leave an entry per yard behind; the miss is remembered in #missing instead).
    if (!this.#routes.get(service)?.has(yard) && !instances.some((i) => i.yard === yard && i.service === service))
      return true;
    let m = this.#routes.get(service);
    if (!m) {
      m = new Map();
      this.#routes.set(service, m);
    }
    const held = m.get(yard);
    if (held?.version) {
      // Unversioned (a yard that went back to older software): only once the versioned entry has expired.
      const stale = version ? compareRouteVersions(version, held.version) < 0 : held.expires > now();
      if (stale) {
        this.staleRoutes++;
        this.#o.log.debug("ignored an older route snapshot", {
          service,
          yard,
          version: version ? `${version.epochMs}.${version.seq}` : "none",
          held: `${held.version.epochMs}.${held.version.seq}`,
        });
        return false;
      }
    }
    // Only what that yard says about its own instances counts.
    const own = instances.filter((i) => i.yard === yard && i.service === service);
    m.set(yard, { instances: own, expires: now() + Math.max(1, ttlS) * 1000, version });
    return true;
  }

  /**
   * The instances of `service` that `yard` announced about itself and whose leases are bound to it and to the
   * service's application ({@link OverlayOptions.checkRoute}); the others are counted, and logged once per yard.
   */
  async #bound(yard: string, service: string, instances: RouteInstance[]): Promise<RouteInstance[]> {
    const own = instances.filter((i) => i.yard === yard && i.service === service);
    const check = this.#o.checkRoute;
    if (!check) return own;
    const why = await Promise.all(own.map((i) => check(yard, service, i.instanceId)));
    const refused = why.flatMap((w, j) => (w ? [{ instance: own[j]!.instanceId, why: w }] : []));
    if (refused.length === 0) return own;
    this.foreignRoutes += refused.length;
    const key = `bound ${yard}`;
    if (!this.#refusedPeers.has(key) && this.#refusedPeers.size < 256) {
      this.#refusedPeers.add(key);
      this.#o.log.warn("ignored announced instances not bound to their yard and application on chain", {
        peer: yard,
        service,
        refused: refused.slice(0, 4).map((r) => `${r.instance}: ${r.why}`),
      });
    }
    return own.filter((_, j) => !why[j]);
  }

  /** Whether routes from `peer` are taken (see {@link OverlayOptions.vouch}); a refusal is counted and logged. */
  async #vouched(peer: string, service: string): Promise<boolean> {
    if (!this.#o.vouch || (await this.#o.vouch(peer))) return true;
    this.untrustedRoutes++;
    if (!this.#refusedPeers.has(peer) && this.#refusedPeers.size < 256) {
      this.#refusedPeers.add(peer);
      this.#o.log.warn("ignored routes from a peer that is not an active yard", { peer, service });
    }
    return false;
  }

  async #measure(instances: Instance[]): Promise<void> {
    const ping = (
      this.#o.node.services as { ping?: { ping(p: PeerId, o?: { signal?: AbortSignal }): Promise<number> } }
    ).ping;
    if (!ping) return;
    const yards = new Set(instances.filter((i) => i.latencyMs === undefined).map((i) => i.yard));
    await Promise.all(
      [...yards].map(async (y) => {
        const cached = this.#rtt.get(y);
        if (cached && now() - cached.at < 30_000) return;
        try {
          const ms = await ping.ping(peerIdFromString(y), { signal: AbortSignal.timeout(2000) });
          this.#rtt.set(y, { ms, at: now() });
        } catch {
          /* unreachable yards stay unmeasured: closest ranks them last */
        }
      }),
    );
    for (const i of instances) if (i.latencyMs === undefined) i.latencyMs = this.#rtt.get(i.yard)?.ms;
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

  async #telemetry(m: OverlayMessage, remote: PeerId): Promise<OverlayMessage> {
    if (m.type !== "telemetryRequest")
      throw new OverlayError(OverlayErrorCode.OVERLAY_BAD_FRAME, "expected a telemetryRequest");
    await this.#o.authorize(m.access, remote);
    const t = now();
    const flows = this.flows(m.access.leaseId)
      .snapshot(t)
      .map((f) => ({
        subnet: f.subnet,
        rate: f.rate,
        latencyMs: f.latencyMs,
        requests: BigInt(f.requests),
        // Plain addresses only (no IPv4-mapped prefix, no IPv6 zone): a hint for the holder's reverse lookups.
        client: f.client.replace(/^::ffff:(?=\d+\.)/i, "").replace(/%.*$/, ""),
      }));
    return { type: "telemetryReply", flows, atMs: BigInt(t) };
  }

  async #routing(m: OverlayMessage, remote: PeerId): Promise<OverlayMessage> {
    if (m.type !== "routingRules") throw new OverlayError(OverlayErrorCode.OVERLAY_BAD_FRAME, "expected routingRules");
    const row = await this.#o.authorize(m.access, remote);
    const key = row.id.toString();
    const stub = m.stub ? { ...m.stub, until: now() + m.stub.graceS * 1000 } : this.stub(row.id);
    // Stored before it takes effect and is acknowledged: a restarted yard keeps what it acknowledged.
    this.#o.store?.setRoutingRules({ leaseId: row.id, redirects: m.redirects, stub });
    this.#redirects.set(key, m.redirects);
    if (m.stub && stub) {
      this.#stubs.set(key, stub);
      this.#o.log.info("redirection stub set", { lease: row.id, to: m.stub.endpoint, graceS: m.stub.graceS });
    }
    return { type: "routingAck" };
  }

  /**
   * Registers `peer`'s interest in pushes of `service` until the TTL: only an active yard's (it is the one that
   * routes to us), at most {@link MAX_INTERESTS_PER_PEER} per peer and {@link MAX_INTERESTS} in all. A renewal
   * always counts; a new registration past a bound is not kept (the peer still gets its answer, and asks again).
   */
  async #registerInterest(service: string, peer: string): Promise<void> {
    const held = this.#interests.get(service);
    if (held?.has(peer)) {
      held.set(peer, now() + this.#ttlS * 1000);
      return;
    }
    if (this.#o.vouch && !(await this.#o.vouch(peer))) return;
    if (this.#interestCount >= MAX_INTERESTS || (this.#interestsOf.get(peer) ?? 0) >= MAX_INTERESTS_PER_PEER) return;
    let i = this.#interests.get(service);
    if (!i) {
      i = new Map();
      this.#interests.set(service, i);
    }
    if (i.has(peer)) return; // registered meanwhile
    i.set(peer, now() + this.#ttlS * 1000);
    this.#interestCount++;
    this.#interestsOf.set(peer, (this.#interestsOf.get(peer) ?? 0) + 1);
  }

  #dropInterest(service: string, peer: string): void {
    const i = this.#interests.get(service);
    if (!i?.delete(peer)) return;
    if (i.size === 0) this.#interests.delete(service);
    this.#interestCount--;
    const left = (this.#interestsOf.get(peer) ?? 1) - 1;
    if (left > 0) this.#interestsOf.set(peer, left);
    else this.#interestsOf.delete(peer);
  }

  /** Takes one token of `source`'s query budget; false when it has none left. */
  #spend(source: string): boolean {
    const t = now();
    const held = this.#budgets.get(source);
    const { burst, refillPerS } = this.#budget;
    const tokens = held ? Math.min(burst, held.tokens + ((t - held.at) / 1000) * refillPerS) : burst;
    this.#budgets.delete(source); // re-inserted last: LRU order
    this.#budgets.set(source, { tokens: tokens >= 1 ? tokens - 1 : tokens, at: t });
    if (this.#budgets.size > MAX_BUDGETS) this.#budgets.delete(this.#budgets.keys().next().value!);
    return tokens >= 1;
  }

  /**
   * Forgets what has expired: interest registrations, remembered misses, and routes that expired more than ten
   * TTLs ago (their version guarded against delayed pushes long enough). Runs every {@link SWEEP_MS} once started.
   */
  sweep(): void {
    const t = now();
    for (const [service, peers] of this.#interests)
      for (const [peer, until] of peers) if (until <= t) this.#dropInterest(service, peer);
    for (const [service, until] of this.#missing) if (until <= t) this.#missing.delete(service);
    const keep = this.#ttlS * 10_000;
    for (const [service, yards] of this.#routes) {
      for (const [yard, e] of yards) if (e.expires + keep <= t) yards.delete(yard);
      if (yards.size === 0) this.#routes.delete(service);
    }
  }

  /** Sizes of the tables a peer can make grow (bounded; for tests and /metrics). */
  tableSizes(): { routes: number; interests: number; missing: number; budgets: number } {
    let routes = 0;
    for (const yards of this.#routes.values()) routes += yards.size;
    return { routes, interests: this.#interestCount, missing: this.#missing.size, budgets: this.#budgets.size };
  }

  async #routesAnswer(m: OverlayMessage, remote: PeerId): Promise<OverlayMessage | undefined> {
    if (m.type === "routeQuery") {
      if (m.interest) await this.#registerInterest(m.service, remote.toString());
      const instances = this.#localRoutes(m.service);
      return { type: "routeAnswer", instances, ttlS: this.#ttlS, version: this.#nextVersion() };
    }
    if (m.type === "routePush") {
      if (!(await this.#vouched(remote.toString(), m.service)))
        throw new OverlayError(OverlayErrorCode.OVERLAY_DENIED, "routes are taken from active yards only");
      // An ignored (older) push is acknowledged all the same: the pusher has nothing to redo.
      const yard = remote.toString();
      this.#store(m.service, yard, await this.#bound(yard, m.service, m.instances), this.#ttlS, m.version);
      return { type: "routingAck" };
    }
    throw new OverlayError(OverlayErrorCode.OVERLAY_BAD_FRAME, `unexpected ${m.type}`);
  }
}
