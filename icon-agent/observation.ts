/**
 * What an ICON knows of the world: the candidate yards (discovery, every 30 s, in the background once some are
 * known), domains learned from its clients' PTR names and found on the paths to them (edisco.ts), the ALTO cost
 * map, the telemetry of its own yard, the latency l_ij of every subnet to every location, and the knobs of the
 * owner's policy. The last good view serves while a source fails.
 *
 * @example
 *   const seen = new Observation({ env, seed, node, client, signer: wallet, tree, emit });
 *   await seen.refreshYards();
 *   const flows = await seen.telemetry(seed.placement);
 */
import { multiaddr } from "@multiformats/multiaddr";
import type { TypedDataDomain, Signer } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import {
  createResolver,
  fetchAltoMap,
  firstHost,
  p2pDiscovers,
  ProbeError,
  probePath,
  readTelemetry,
  signLeaseAccess,
  type AltoMap,
  type DnsResolver,
  type LeaseAccess,
  type MarketClient,
  type Policy,
  type RttTarget,
} from "../protocol/index.ts";
import { MeasuredRtts, rttTargetsOf } from "./measured.ts";
import type { AgentEnv } from "./config.ts";
import { knobsFromPolicy, type Candidate, type Knobs } from "./decision.ts";
import { PathTomography, type PathProbe } from "./edisco.ts";
import { DomainLearner } from "./learn.ts";
import { discoverYards, listedPrice, type YardRef } from "./market.ts";
import { servingLease, type AgentSeed, type Emit, type Placement } from "./state.ts";
import type { TreeMember, TreeSubnet } from "./tree.ts";

/** A subnet as the yard's telemetry shows it: the tree's figures and the address of its latest client. */
/** A subnet as the yard's telemetry shows it: `rttMs` is the measured network round trip to its clients, if any. */
export type Observed = TreeSubnet & { client?: string; rttMs?: number };

/** What observation uses of the agent. */
export interface ObservationComponents {
  env: AgentEnv;
  /** The application's root (its policy) and the parent's placement (a location to compare with). */
  seed: Pick<AgentSeed, "root" | "parent" | "placement">;
  node: Libp2p;
  client: MarketClient;
  /** The ICON's key: signs the lease-holder access to its yard's telemetry and routing. */
  signer: Signer;
  /** The policy as the tree carries it down. */
  tree: Pick<TreeMember, "policy">;
  emit: Emit;
  /**
   * Traces the path towards a client subnet (path tomography, edisco.ts). The seam to the yard's probe service
   * (`/icon/probe/1.0.0`); absent, path tomography is off (said once) — unless `probeOwnYard`.
   */
  pathProbe?: PathProbe;
  /** Without `pathProbe`: trace through the probe service of the ICON's own yard ({@link Observation.probeOwnYard}). */
  probeOwnYard?: boolean;
}

/** A trace's whole budget: the probe and the path's lookups (each lookup also has the resolver's own). */
const TRACE_TIMEOUT_MS = 60_000;

export class Observation {
  readonly #c: ObservationComponents;
  #yards: YardRef[] = [];
  #yardsAt = 0;
  /** Counts news for discovery (a domain learned or found on a path, a subnet never asked about): see {@link #news}. */
  #newsSeen = 0;
  /** Domains learned from clients (bounded, expiring). */
  #learner: DomainLearner | undefined;
  #discovering: Promise<void> | undefined;
  #resolver: DnsResolver | undefined;
  #learning: Promise<void> | undefined;
  /** Path tomography (on while a path probe is wired in). */
  #paths: PathTomography | undefined;
  #tracing: Promise<void> | undefined;
  #pathsOffSaid = false;
  /** Yards found only on a path, already told. */
  readonly #toldViaPath = new Set<string>();
  readonly #stopping = new AbortController();
  #alto: AltoMap | undefined;
  #altoAt = 0;
  #access: LeaseAccess | undefined;
  #policy: { policy: Policy; version: number; at: number } | undefined;
  /** The version of the policy the last knobs came from (0 before any): the ICON's status report says it. */
  policyVersion = 0;
  /** Candidates' signed round trips towards the busy subnets (measured.ts), asked for at discovery. */
  readonly measured = new MeasuredRtts();
  /** The busy subnets to ask candidates about, from the last telemetry; the subnets asked about so far. */
  #rttTargets: RttTarget[] = [];
  readonly #rttAsked = new Set<string>();
  /** Round-trip reports refused, already told (yard and reason). */
  readonly #rttTold = new Set<string>();
  /** (yard, subnet) pairs whose first measured round trip was told. */
  readonly #rttFirst = new Set<string>();

  constructor(components: ObservationComponents) {
    this.#c = components;
  }

  /** The candidate yards, as last discovered. */
  get yards(): YardRef[] {
    return this.#yards;
  }

  /** Stops tracing and waits for the discovery, domain learning and trace under way (stopping). */
  async settle(): Promise<void> {
    this.#stopping.abort(new Error("the agent is stopping"));
    await this.#tracing;
    await this.#learning;
    await this.#discovering?.catch(() => {});
  }

  /** The knobs of the owner's policy: as the tree carries it, else from chain (read at most every 5 s). */
  async knobs(): Promise<Knobs> {
    const { env, client, seed } = this.#c;
    const fromTree = this.#c.tree.policy();
    let policy: Policy;
    if (fromTree) {
      policy = fromTree;
      this.policyVersion = fromTree.version;
    } else {
      if (!this.#policy || Date.now() - this.#policy.at > 5000) {
        const app = await client.app(seed.root);
        this.#policy = { policy: app.policy, version: app.version, at: Date.now() };
      }
      policy = this.#policy.policy;
      this.policyVersion = this.#policy.version;
    }
    return {
      ...knobsFromPolicy(policy, env.refLatencyMs),
      idleRate: env.idleRate,
      minKeepShare: env.minKeepShare,
      hysteresis: env.hysteresis,
    };
  }

  /**
   * Discovery every 30 s (sooner when a domain was learned). With candidates known it runs in the background, so a
   * slow DNS server or yard never holds up the period (renewals above all); with none known the period waits.
   */
  async refreshYards(): Promise<void> {
    if (this.#yards.length > 0 && Date.now() - this.#yardsAt < 30_000) return;
    const { env, emit } = this.#c;
    const news = this.#newsSeen;
    const run = (this.#discovering ??= discoverYards({
      node: this.#c.node,
      client: this.#c.client,
      dns: this.#dns(),
      domains: env.domains,
      learnedDomains: this.#learner?.domains() ?? [],
      pathDomains: this.#paths?.domains() ?? [],
      seeds: env.seeds,
      registry: env.registry === true,
      peers: env.registry === true || p2pDiscovers(env.p2p),
      dht: env.p2p?.dht === true,
      rttTargets: this.#rttTargets,
      onSkip: (what, why) => emit("error", `candidate ${what} skipped: ${why}`),
    })
      .then((ys) => {
        this.#yards = ys;
        this.#yardsAt = this.#newsSeen === news ? Date.now() : 0;
        this.#tellViaPath(ys);
        this.#keepRtts(ys);
      })
      .finally(() => (this.#discovering = undefined)));
    if (this.#yards.length === 0) await run;
    else run.catch((e: unknown) => emit("error", `discovery: ${(e as Error).message}`));
  }

  #dns(): DnsResolver {
    const servers = this.#c.env.dnsServers;
    return (this.#resolver ??= createResolver(servers.length > 0 ? { servers } : {}));
  }

  /**
   * Learns candidate domains from the clients of `flows` in the background (a slow or absent DNS server must not
   * hold up the period); one learning at a time.
   */
  learnInBackground(flows: Observed[]): void {
    this.#learning ??= this.#learnDomains(flows, this.#c.env.idleRate)
      .catch((e: unknown) => this.#c.emit("error", `learning domains from clients: ${(e as Error).message}`))
      .finally(() => (this.#learning = undefined));
  }

  /** Learns candidate domains from the clients' PTR names (learn.ts); a new one makes the next period discover. */
  async #learnDomains(flows: Observed[], idleRate: number): Promise<void> {
    const { env, emit } = this.#c;
    if (env.learnDomains === false) return;
    this.#learner ??= new DomainLearner(this.#dns(), { own: env.domains });
    const fresh = await this.#learner.learn(flows, idleRate, (subnet, e) =>
      emit("error", `looking up a client of ${subnet} (PTR): ${e.message}`),
    );
    for (const { domain, subnet } of fresh)
      emit("discovered", `a client in ${subnet} points to ${domain}: looking for _edge._tcp.${domain}`, {
        subnet,
        domain,
      });
    if (fresh.length > 0) this.#news();
  }

  /**
   * Traces the path towards one busy subnet in the background (at most one a period, each subnet at most every
   * 10 minutes) and looks for IEPs on it (edisco.ts); a domain with IEPs makes the next period discover again.
   */
  traceInBackground(flows: Observed[]): void {
    const { emit } = this.#c;
    const probe = this.#c.pathProbe ?? (this.#c.probeOwnYard ? this.probeOwnYard : undefined);
    if (!probe) {
      if (!this.#pathsOffSaid)
        emit(
          "discovered",
          "path tomography (eDisco) is off: no path probe is wired in; only clients' own PTR names are used",
        );
      this.#pathsOffSaid = true;
      return;
    }
    if (this.#tracing || this.#stopping.signal.aborted) return;
    const paths = (this.#paths ??= new PathTomography(this.#dns(), { own: this.#c.env.domains }));
    const flow = paths.due(flows, this.#c.env.idleRate);
    if (!flow) return;
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(TRACE_TIMEOUT_MS)]);
    this.#tracing = paths
      .round(flow, probe, { known: this.#learner?.domains() ?? [], signal })
      .then((t) => {
        for (const e of t.errors) emit("error", `tracing the path to ${t.subnet}: ${e}`);
        // What each trace saw, found before or not (a subnet is traced at most every 10 minutes).
        const on = t.found.map((f) => `${f.domain} (hop ${f.hop.ttl}, ${f.hop.name})`);
        emit(
          "discovered",
          `path to ${t.subnet}: ${t.hops} hops, ${t.named.length} named; ` +
            (on.length > 0 ? `IEP domains on it: ${on.join(", ")}` : "no IEP domain on it"),
          { subnet: t.subnet, domains: t.found.map((f) => f.domain), viaPath: true },
        );
        const fresh = t.found.filter((f) => f.fresh);
        for (const f of fresh)
          emit(
            "discovered",
            `hop ${f.hop.ttl} on the path to ${f.subnet} (${f.hop.address}, ${f.hop.name}) points to ${f.domain}: ` +
              `looking for _edge._tcp.${f.domain}`,
            { subnet: f.subnet, domain: f.domain, viaPath: true, hop: f.hop.ttl, address: f.hop.address },
          );
        if (fresh.length > 0) this.#news();
      })
      .catch((e: unknown) => {
        if (!this.#stopping.signal.aborted)
          emit("error", `tracing the path to ${flow.subnet}: ${(e as Error).message}`);
      })
      .finally(() => (this.#tracing = undefined));
  }

  /**
   * Keeps the candidates' checked round trips; says once per yard and reason why a report was not used, and once per
   * (yard, subnet) when a first figure is kept: from then on that yard is a measured candidate for the subnet (the
   * moment bench:netview's `discoveryMs` ends).
   */
  #keepRtts(ys: YardRef[]): void {
    for (const y of ys) {
      if (y.rtt) {
        this.measured.put(y.peerId, y.rtt);
        for (const [subnet, rttMs] of Object.entries(y.rtt.rttMs)) {
          const key = `${y.peerId} ${subnet}`;
          if (rttMs === undefined || !Number.isFinite(rttMs) || this.#rttFirst.has(key)) continue;
          if (this.#rttFirst.size > 1000) this.#rttFirst.clear();
          this.#rttFirst.add(key);
          this.#c.emit(
            "discovered",
            `yard ${y.name} measured ${subnet}: round trip ${rttMs.toFixed(1)} ms, a candidate for it with l_ij now`,
            { peerId: y.peerId, subnet, rttMs },
          );
        }
      }
      if (!y.rttError) continue;
      const key = `${y.peerId} ${y.rttError}`;
      if (this.#rttTold.has(key)) continue;
      if (this.#rttTold.size > 1000) this.#rttTold.clear();
      this.#rttTold.add(key);
      this.#c.emit("observe", `yard ${y.name}: ${y.rttError}`, { peerId: y.peerId });
    }
  }

  /** Says once for each yard that only a path domain named (the count a demo's `pathDiscovered` reads). */
  #tellViaPath(ys: YardRef[]): void {
    for (const y of ys) {
      if (y.viaPath === undefined || this.#toldViaPath.has(y.peerId)) continue;
      this.#toldViaPath.add(y.peerId);
      const f = this.#paths?.finding(y.viaPath);
      const where = f ? ` on the path to ${f.subnet} (hop ${f.hop.ttl}, ${f.hop.name})` : "";
      this.#c.emit("discovered", `yard ${y.name} found only by path tomography: ${y.viaPath}${where}`, {
        viaPath: true,
        peerId: y.peerId,
        domain: y.viaPath,
        ...(f ? { subnet: f.subnet } : {}),
      });
    }
  }

  /** The ALTO cost map, fetched again every 30 s. */
  async refreshAlto(): Promise<void> {
    const url = this.#c.env.altoUrl;
    if (!url || (this.#alto && Date.now() - this.#altoAt < 30_000)) return;
    this.#alto = await fetchAltoMap(url);
    this.#altoAt = Date.now();
  }

  /**
   * l_ij for every known location: network round trip + the service latency measured here. At the ICON's own
   * location the round trip is measured (`rttMs`: the yard's kernel's estimate of the subnet's connections) when
   * there is one; elsewhere, and here without a measurement, it comes from the ALTO cost map (2 × one-way delay).
   * Where both exist for here, the measurement is used and a disagreement beyond 25 % and 5 ms is reported (once
   * per subnet per 10 minutes).
   */
  latencies(subnet: string, serviceMs: number, here: YardRef, rttMs?: number): Record<string, number> {
    const ip = subnet.split("/")[0]!;
    const svc = Number.isFinite(serviceMs) ? serviceMs : 0;
    const out: Record<string, number> = {};
    const locations = [...this.#yards];
    if (!locations.some((y) => y.peerId === here.peerId)) locations.push(here);
    const parent = this.#c.seed.parent?.placement?.yard;
    if (parent && !locations.some((y) => y.peerId === parent.peerId)) locations.push(parent);
    const alto: Record<string, number> = {};
    for (const y of locations) {
      const ow = this.#alto?.cost(ip, y.host);
      if (ow !== undefined) out[y.peerId] = svc + (alto[y.peerId] = 2 * ow);
    }
    for (const y of locations) {
      if (y.peerId === here.peerId && rttMs !== undefined && Number.isFinite(rttMs)) continue;
      const m = this.measured.rttMs(y.peerId, subnet);
      if (m === undefined) continue;
      out[y.peerId] = m + svc;
      const a = alto[y.peerId];
      if (a !== undefined) this.#disagree(y.peerId === here.peerId ? subnet : `${subnet}@${y.peerId}`, y, a, m);
    }
    if (rttMs !== undefined && Number.isFinite(rttMs)) {
      out[here.peerId] = rttMs + svc;
      const a = alto[here.peerId];
      if (a !== undefined) this.#disagree(subnet, here, a, rttMs);
    } else if (out[here.peerId] === undefined && Number.isFinite(serviceMs)) out[here.peerId] = serviceMs;
    return out;
  }

  /**
   * The last measured round trip and ALTO's figure where they disagree (ms), for status and tests: by subnet at the
   * ICON's own location, by `subnet@peerId` at a candidate (its signed report).
   */
  readonly disagreements = new Map<string, { measuredMs: number; altoMs: number; at: number }>();
  readonly #disagreementSaid = new Map<string, number>();

  #disagree(key: string, at: YardRef, altoMs: number, measuredMs: number): void {
    const subnet = key.split("@")[0]!;
    const gap = Math.abs(altoMs - measuredMs);
    if (gap <= 5 || gap <= 0.25 * Math.max(altoMs, measuredMs)) {
      this.disagreements.delete(key);
      return;
    }
    this.disagreements.set(key, { measuredMs, altoMs, at: this.disagreements.get(key)?.at ?? Date.now() });
    if (this.disagreements.size > 4096) this.disagreements.delete(this.disagreements.keys().next().value!);
    // Said once per 10 minutes per key, also for a figure that flaps around the line.
    const said = this.#disagreementSaid.get(key);
    if (said !== undefined && Date.now() - said < 600_000) return;
    this.#disagreementSaid.delete(key);
    this.#disagreementSaid.set(key, Date.now());
    if (this.#disagreementSaid.size > 4096) this.#disagreementSaid.delete(this.#disagreementSaid.keys().next().value!);
    this.#c.emit(
      "observe",
      `${subnet} at ${at.name}: measured round trip ${measuredMs.toFixed(1)} ms, the ALTO map says ${altoMs.toFixed(1)} ms — using the measurement`,
      { subnet, measuredMs, altoMs, ...(key === subnet ? {} : { peerId: at.peerId }) },
    );
  }

  /**
   * The path probe of the ICON's own yard (`/icon/probe/1.0.0`): traceroute from where the ICON runs towards the
   * subnet's latest client (else the subnet's first host), as the lease holder; the answer's signature is checked
   * against the yard's operator.
   */
  readonly probeOwnYard: PathProbe = async (subnet, { signal, client }) => {
    const p = this.#c.seed.placement;
    if (!p) throw new Error("not placed: no yard to trace from");
    const target = client ?? firstHost(subnet);
    const access = await this.accessFor(servingLease(p));
    let last: unknown = new Error("the yard has no address");
    for (const a of p.yard.addrs.slice(0, 3)) {
      try {
        const r = await probePath(this.#c.node, multiaddr(a), {
          leaseId: servingLease(p),
          access,
          target,
          domain: this.#c.client.domain() as TypedDataDomain,
          operator: p.yard.operator,
          signal,
        });
        return r.hops;
      } catch (e) {
        if (e instanceof ProbeError || signal.aborted) throw e; // the yard answered, or time is up
        last = e; // that address did not answer: the next one
      }
    }
    throw last;
  };

  /** Every known yard as a candidate location, at its listed price for the ICON's spec. */
  candidates(): Candidate[] {
    const r = this.#c.env.spec;
    return this.#yards.map((y) => ({ location: y.peerId, pricePerSecond: listedPrice(y, r) }));
  }

  /** The signed lease-holder access for `leaseId` (reused while it has a minute left). */
  async accessFor(leaseId: bigint): Promise<LeaseAccess> {
    const a = this.#access;
    if (a && a.leaseId === leaseId && Number(a.expires) - Date.now() / 1000 > 60) return a;
    const { signer, client, node } = this.#c;
    this.#access = await signLeaseAccess(signer, client.domain() as TypedDataDomain, leaseId, node.peerId);
    return this.#access;
  }

  /** Forgets the access (the placement changed). */
  forgetAccess(): void {
    this.#access = undefined;
  }

  /** The placement's clients by subnet, from its yard's telemetry. */
  async telemetry(p: Placement): Promise<Observed[]> {
    const t = await readTelemetry(
      this.#c.node,
      p.yard.addrs.map((a) => multiaddr(a)),
      { access: await this.accessFor(servingLease(p)) },
    );
    const flows: Observed[] = t.flows
      .filter((f) => f.subnet !== "*")
      .map((f) => ({
        subnet: f.subnet,
        rate: f.rate,
        latencyMs: f.latencyMs,
        requests: f.requests,
        ...(f.client ? { client: f.client } : {}),
        ...(f.rttMs !== undefined && Number.isFinite(f.rttMs) ? { rttMs: f.rttMs } : {}),
      }));
    this.askRtts(flows);
    return flows;
  }

  /**
   * Names the busiest of `flows` for the candidates' round trips at the next discovery (every 30 s: the figures,
   * fresh for 5 minutes, are renewed well before they expire); a subnet never asked about before makes that
   * discovery come now rather than in up to 30 s.
   */
  askRtts(flows: Observed[]): void {
    this.#rttTargets = rttTargetsOf(flows, this.#c.env.idleRate);
    let sooner = false;
    for (const t of this.#rttTargets) {
      if (!this.#rttAsked.has(t.subnet)) sooner = true;
      if (this.#rttAsked.size > 1000) this.#rttAsked.clear();
      this.#rttAsked.add(t.subnet);
    }
    if (sooner) this.#news();
  }

  /**
   * Makes the next period discover at once. News that comes while a discovery is under way (which started without
   * it) makes the next one come at once too, rather than 30 s after the one under way ends.
   */
  #news(): void {
    this.#newsSeen++;
    this.#yardsAt = 0;
  }
}
