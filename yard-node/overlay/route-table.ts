/**
 * The overlay's route table (yard-node/overlay/overlay.ts composes it): which yards run instances of which
 * service, and what this yard tells other yards about its own.
 *
 * Routes are resolved lazily: the first connection to a service queries the yards this one knows
 * (`/icon/routes/1.0.0`, in parallel) with interest registration; answers are cached until their TTL, renewed
 * when used, and the answering yards push changes (deploy, migration, scale-down, failure) to interested yards
 * until the interest expires. With the DHT, every service this yard runs is announced as a provider record.
 *
 * Route versions: every answer and push carries the version of the snapshot it describes — (this run's epoch,
 * a sequence number counted per snapshot) — and a receiver keeps per (service, origin yard) the highest version it
 * applied, ignoring older ones: a push delayed behind a newer one cannot restore a table the origin has left.
 *
 * Every table a peer can make grow is bounded (interests, misses, query budgets) and swept.
 */
import type { PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import {
  OverlayError,
  OverlayErrorCode,
  ROUTES_PROTOCOL,
  overlayLimits,
  overlayRequest,
  compareRouteVersions,
  type OverlayMessage,
  type RouteInstance,
  type RouteVersion,
  findProviders,
  serviceProviderKey,
} from "../../protocol/index.ts";
import type { Logger } from "../../protocol/log.ts";
import type { Instance, LocalInstance, OverlayNode } from "./types.ts";

/** What the route table uses of the yard. */
export interface RouteTableComponents {
  node: OverlayNode;
  log: Logger;
  /** This yard's running instances. */
  local(): LocalInstance[];
  /** Whether routes from `peer` are taken (see OverlayOptions.vouch); without it every peer's are. */
  vouch?(peer: string): Promise<boolean>;
  /** Why an announced instance is not taken, or undefined (see OverlayOptions.checkRoute). */
  checkRoute?(yard: string, service: string, instanceId: bigint): Promise<string | undefined>;
}

/** Settings of the route table (their meaning and defaults: OverlayOptions). */
export interface RouteTableInit {
  peers?: string[];
  dht?: boolean;
  ttlS?: number;
  queryBudget?: { burst: number; refillPerS: number };
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

/** Every known instance of every service, resolved lazily; answers and pushes what this yard runs. */
export class RouteTable {
  readonly #c: RouteTableComponents;
  readonly #peers: string[];
  readonly #dht: boolean;
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
  readonly #ttlS: number;
  readonly #epoch: bigint;
  #seq = 0n;
  /** Route answers and pushes ignored because the table already held a newer version from that yard. */
  staleRoutes = 0;
  /** Route answers and pushes ignored because their yard is not vouched for (RouteTableComponents.vouch). */
  untrustedRoutes = 0;
  /**
   * Announced instances left out because their lease is not bound to the announcing yard and the service's
   * application on chain (RouteTableComponents.checkRoute), or could not be checked.
   */
  foreignRoutes = 0;
  /** Peers whose routes were refused, each logged once (bounded). */
  readonly #refusedPeers = new Set<string>();
  /** Between {@link start} and {@link stop}: DHT announcements are made only then. */
  #begun = false;

  constructor(components: RouteTableComponents, init: RouteTableInit = {}) {
    this.#c = components;
    this.#peers = init.peers ?? [];
    this.#dht = init.dht ?? false;
    this.#ttlS = init.ttlS ?? 60;
    this.#epoch = init.routeEpochMs ?? BigInt(Date.now());
    this.#budget = init.queryBudget ?? { burst: 32, refillPerS: 1 };
  }

  /** Starts the sweep and, with the DHT, the announcements of this yard's services (once: a second call does nothing
   * until {@link stop}). */
  start(): void {
    if (this.#begun) return;
    this.#begun = true;
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.#sweeper.unref();
    if (this.#dht) {
      const all = (): string[] => [...new Set(this.#c.local().map((l) => l.service))];
      void this.#announce(all());
      this.#reannounce = setInterval(() => {
        this.#announced.clear();
        void this.#announce(all());
      }, 600_000);
      this.#reannounce.unref();
    }
  }

  /** Stops the sweep and the announcements. */
  stop(): void {
    this.#begun = false;
    clearInterval(this.#reannounce);
    clearInterval(this.#sweeper);
  }

  /** Provider records in the DHT for `services` (each at most once a minute); failures are logged and retried. */
  async #announce(services: string[]): Promise<void> {
    await Promise.all(
      services.map(async (service) => {
        if ((this.#announced.get(service) ?? 0) > now() - 60_000) return;
        this.#announced.set(service, now());
        try {
          await this.#c.node.contentRouting.provide(await serviceProviderKey(service), {
            signal: AbortSignal.timeout(30_000),
          });
        } catch (e) {
          this.#announced.delete(service);
          this.#c.log.debug("DHT announcement of a service failed", { service, error: e });
        }
      }),
    );
  }

  /**
   * Every known instance of `service`: this yard's and, resolved lazily, other yards'. A service no yard had an
   * instance of is not asked about again for {@link MISSING_TTL_MS}; a lookup from `source` (the lease asking) that
   * would ask other yards spends one of the source's query budget, and answers from what is known when it is spent.
   */
  async instances(service: string, o: { force?: boolean; source?: string } = {}): Promise<Instance[]> {
    const me = this.#c.node.peerId.toString();
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

  /**
   * Tells interested yards that this yard's instances of `service` changed, and announces it in the DHT once the
   * table has begun ({@link start} announces every service this yard runs then; until it has, no announcement).
   */
  localChanged(service: string): void {
    if (this.#dht && this.#begun && this.#localRoutes(service).length > 0) void this.#announce([service]);
    const interested = this.#interests.get(service);
    if (!interested) return;
    const instances = this.#localRoutes(service);
    const version = this.#nextVersion();
    for (const [peer, until] of interested) {
      if (until <= now()) {
        this.#dropInterest(service, peer);
        continue;
      }
      void overlayRequest(this.#c.node, peerIdFromString(peer), ROUTES_PROTOCOL, {
        type: "routePush",
        service,
        instances,
        version,
      }).catch((e) => this.#c.log.debug("route push failed", { peer, error: e }));
    }
  }

  /** Drops `inst` from the table (a forward to it failed). */
  drop(service: string, inst: Instance): void {
    const e = this.#routes.get(service)?.get(inst.yard);
    if (e) e.instances = e.instances.filter((i) => i.instanceId !== inst.instanceId);
  }

  /** The version of a snapshot of this yard's instances taken now: later snapshots get higher versions. */
  #nextVersion(): RouteVersion {
    this.#seq++;
    return { epochMs: this.#epoch, seq: this.#seq };
  }

  #localRoutes(service: string): RouteInstance[] {
    const me = this.#c.node.peerId.toString();
    const addrs = this.#c.node.getMultiaddrs().map(String).slice(0, overlayLimits.maxAddrs);
    return this.#c
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
      const me = this.#c.node.peerId.toString();
      const targets = new Map<string, PeerId | ReturnType<typeof multiaddr>>();
      for (const c of this.#c.node.getConnections()) targets.set(c.remotePeer.toString(), c.remotePeer);
      const add = (a: string): void => {
        const ma = multiaddr(a);
        const id = ma.getComponents().find((c) => c.name === "p2p")?.value;
        if (id && id !== me && !targets.has(id)) targets.set(id, ma);
      };
      for (const a of this.#peers) add(a);
      if (this.#dht) {
        // The yards that announce the service: what they answer about themselves is all that is taken from them.
        try {
          const found = await findProviders(this.#c.node, await serviceProviderKey(service), { timeoutMs: 3000 });
          for (const p of found) if (p.addrs[0]) add(p.addrs[0]);
        } catch (e) {
          this.#c.log.debug("DHT route lookup failed", { service, error: e });
        }
      }
      await Promise.all(
        [...targets].map(async ([id, target]) => {
          try {
            const r = await overlayRequest(
              this.#c.node,
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
            this.#c.log.debug("route query failed", { peer: id, error: e });
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
        this.#c.log.debug("ignored an older route snapshot", {
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
   * service's application ({@link RouteTableComponents.checkRoute}); the others are counted, and logged once per yard.
   */
  async #bound(yard: string, service: string, instances: RouteInstance[]): Promise<RouteInstance[]> {
    const own = instances.filter((i) => i.yard === yard && i.service === service);
    const check = this.#c.checkRoute;
    if (!check) return own;
    const why = await Promise.all(own.map((i) => check(yard, service, i.instanceId)));
    const refused = why.flatMap((w, j) => (w ? [{ instance: own[j]!.instanceId, why: w }] : []));
    if (refused.length === 0) return own;
    this.foreignRoutes += refused.length;
    const key = `bound ${yard}`;
    if (!this.#refusedPeers.has(key) && this.#refusedPeers.size < 256) {
      this.#refusedPeers.add(key);
      this.#c.log.warn("ignored announced instances not bound to their yard and application on chain", {
        peer: yard,
        service,
        refused: refused.slice(0, 4).map((r) => `${r.instance}: ${r.why}`),
      });
    }
    return own.filter((_, j) => !why[j]);
  }

  /** Whether routes from `peer` are taken (see {@link RouteTableComponents.vouch}); a refusal is counted and logged. */
  async #vouched(peer: string, service: string): Promise<boolean> {
    if (!this.#c.vouch || (await this.#c.vouch(peer))) return true;
    this.untrustedRoutes++;
    if (!this.#refusedPeers.has(peer) && this.#refusedPeers.size < 256) {
      this.#refusedPeers.add(peer);
      this.#c.log.warn("ignored routes from a peer that is not an active yard", { peer, service });
    }
    return false;
  }

  /** Fills in the measured round trip to each instance's yard (libp2p ping, cached 30 s) where none is known. */
  async measure(instances: Instance[]): Promise<void> {
    const ping = (
      this.#c.node.services as { ping?: { ping(p: PeerId, o?: { signal?: AbortSignal }): Promise<number> } }
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
    if (this.#c.vouch && !(await this.#c.vouch(peer))) return;
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

  /** Answers a route query (registering interest) or applies a route push from `remote`. */
  async answer(m: OverlayMessage, remote: PeerId): Promise<OverlayMessage | undefined> {
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
