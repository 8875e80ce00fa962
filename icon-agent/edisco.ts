/**
 * eDisco, the paper's path discovery: the ICON traces the path towards a busy client subnet (a path probe gives the
 * hops), looks up each hop's PTR name, walks the names' labels up to candidate domains (`r1.core.transit.test` →
 * `core.transit.test` → `transit.test`) and asks each for `_edge._tcp` SRV records (protocol/discovery/dns.ts). The
 * IEPs found are *on the path* to those clients — where a client's own PTR name (learn.ts) cannot point: a subnet
 * without reverse names, an IEP in a transit network on the way. Their domains then join discovery like domains
 * learned from clients, marked as found on a path (market.ts `pathDomains`, a yard's `viaPath`).
 *
 * The hops come from whoever answers the trace and the names from whoever runs the routers' reverse zones: both are
 * untrusted, so a trace is bounded whatever they say — hops looked at, names per hop, domains per name and per
 * path, PTR and SRV lookups per path and in flight, SRV records per domain — and so is what is kept (PTR answers
 * and domains without `_edge._tcp` records cached with a TTL, found domains bounded and expiring). Discovery then
 * dials only yards whose peer id a registry listing names.
 *
 * @example
 *   const paths = new PathTomography(createResolver({ servers }), { own: ["icon.test"] });
 *   const next = paths.due(flows, 0.05);                       // at most one subnet a period
 *   if (next) await paths.round(next, probe, { known: learner.domains() });
 *   discoverYards({ ..., pathDomains: paths.domains() });
 */
import { isIP } from "node:net";
import { inCidr, isIconError, parseIp, type DnsResolver, type DnsYard } from "../protocol/index.ts";
import type { ClientSubnet } from "./learn.ts";
import { LEARNED_YARDS_PER_DOMAIN } from "./market.ts";

/** One hop of a path as a probe reports it: its distance (TTL) and, when it answered, its address. */
export interface PathHop {
  readonly ttl: number;
  readonly address?: string;
}

/** The hops towards a subnet, as the yard's probe service (`/icon/probe/1.0.0`) answers them. */
export type PathHops = readonly PathHop[];

/**
 * Traces the path towards `subnet` (the seam to the yard's probe service; `client` is the address of the subnet's
 * latest client when telemetry named one, a live host to trace towards). Rejects when the trace failed.
 */
export type PathProbe = (subnet: string, options: { signal: AbortSignal; client?: string }) => Promise<PathHops>;

export interface PathTomographyOptions {
  /** The owner's domains: never "found on a path" (discovery searches them anyway). */
  own?: string[];
  /** Hops looked at per path, those nearest the clients first (traceroute's default maximum TTL). */
  maxHops?: number;
  /** PTR names read per hop (as for a client's name: more only widens what a hostile zone can make us ask). */
  namesPerHop?: number;
  /** Parent domains per name: the nearest ones and the two-label apex (where an operator most often publishes). */
  domainsPerName?: number;
  /** Candidate domains per hop, whatever its names (a hop's reverse zone is its operator's word: one voice). */
  domainsPerHop?: number;
  /** Candidate domains per path under one registrable domain (its last two labels: no public-suffix list). */
  domainsPerApex?: number;
  /** Distinct candidate domains per path. */
  domainsPerPath?: number;
  /** `_edge._tcp` SRV lookups per path (as DomainLearner's lookups per round). */
  srvPerPath?: number;
  /** DNS lookups in flight at once (a path's PTR and SRV lookups share one DNS server with discovery). */
  concurrency?: number;
  /** SRV records checked per domain (as discovery's bound for learned domains). */
  yardsPerDomain?: number;
  /** A PTR answer with names is kept this long (routers keep their names). */
  ptrTtlMs?: number;
  /** No PTR name, or a domain without `_edge._tcp` records, is believed this long (an IEP may start publishing). */
  negativeTtlMs?: number;
  /** Addresses and domains remembered (PTR cache, domains without records). */
  cacheSize?: number;
  /** A subnet is traced at most once per this (as a client's PTR name is looked up: learn.ts). */
  traceEveryMs?: number;
  /** A domain found on a path is dropped when no trace found it again for this long (as learned domains). */
  keepMs?: number;
  /** Domains found on paths kept at once. */
  maxDomains?: number;
  /** Of those, found on the path to one subnet (when full, the subnet holding most gives up its oldest). */
  domainsPerSubnet?: number;
}

/** Where on a path a domain was found: the hop, and the PTR name of it that points there. */
export interface PathHopName {
  ttl: number;
  address: string;
  name: string;
}

/** A domain found on the path to `subnet`, with the yards its `_edge._tcp` records publish. */
export interface PathFind {
  domain: string;
  subnet: string;
  hop: PathHopName;
  yards: DnsYard[];
}

/** What one trace did (every count bounded by the options). */
export interface PathTrace {
  subnet: string;
  /** Hops with an address looked at. */
  hops: number;
  /** Hops that have PTR names. */
  named: PathHopName[];
  /** Candidate domains, in the order they were considered. */
  domains: string[];
  /** Domains with IEPs: `fresh` for the first time (or again after they expired), else found before. */
  found: Array<PathFind & { fresh: boolean }>;
  /** DNS queries this trace sent (cached answers are not counted). */
  lookups: { ptr: number; srv: number };
  /** Lookups that failed (the server down or refusing): retried when the subnet is due again. */
  errors: string[];
}

/** The parent domains of `name` worth asking: see {@link PathTomographyOptions.domainsPerName}. */
export function walkUp(name: string, max: number): string[] {
  const labels = name.split(".");
  const parents = labels.length - 2; // parents with at least two labels, without the name itself
  const take = (i: number): string => labels.slice(i).join(".");
  if (parents <= 0 || max < 1) return [];
  if (parents <= max) return Array.from({ length: parents }, (_, k) => take(k + 1));
  return [...Array.from({ length: max - 1 }, (_, k) => take(k + 1)), take(labels.length - 2)];
}

/** Path tomography for one ICON: what it traced when, what it found, its caches. */
export class PathTomography {
  readonly #o: Required<PathTomographyOptions>;
  readonly #dns: Pick<DnsResolver, "ptrNames" | "discoverYards">;
  /** subnet → when it was last traced */
  readonly #traced = new Map<string, number>();
  /** address → its PTR names (empty: none) and until when the answer holds */
  readonly #ptr = new Map<string, { names: string[]; until: number }>();
  /** domain → until when it is believed to have no `_edge._tcp` records */
  readonly #empty = new Map<string, number>();
  /** domain → where it was found, its yards and when it was last found */
  readonly #found = new Map<string, PathFind & { at: number }>();

  constructor(dns: Pick<DnsResolver, "ptrNames" | "discoverYards">, o: PathTomographyOptions = {}) {
    this.#dns = dns;
    this.#o = {
      own: [],
      maxHops: 30,
      namesPerHop: 2,
      domainsPerName: 4,
      domainsPerHop: 2,
      domainsPerApex: 2,
      domainsPerPath: 12,
      srvPerPath: 8,
      concurrency: 4,
      yardsPerDomain: LEARNED_YARDS_PER_DOMAIN,
      ptrTtlMs: 30 * 60_000,
      negativeTtlMs: 5 * 60_000,
      cacheSize: 1024,
      traceEveryMs: 10 * 60_000,
      keepMs: 30 * 60_000,
      maxDomains: 16,
      domainsPerSubnet: 4,
      ...o,
    };
  }

  /** The domains found on paths, oldest first. */
  domains(): string[] {
    return [...this.#found.keys()];
  }

  /** Where `domain` was last found on a path. */
  finding(domain: string): PathFind | undefined {
    return this.#found.get(domain);
  }

  /**
   * The subnet to trace now: the busiest of those at least `minRate` requests/s not traced within `traceEveryMs`.
   * Undefined when none is due.
   */
  due(flows: readonly ClientSubnet[], minRate: number, now = Date.now()): ClientSubnet | undefined {
    for (const [s, at] of this.#traced) if (now - at >= this.#o.traceEveryMs) this.#traced.delete(s);
    return flows
      .filter((f) => f.rate >= minRate && !this.#traced.has(f.subnet))
      .reduce<ClientSubnet | undefined>((best, f) => (best && best.rate >= f.rate ? best : f), undefined);
  }

  /**
   * Traces `flow`'s subnet with `probe` (marked traced first, so a failing probe is retried only when due again)
   * and maps the path; a probe that fails rejects.
   */
  async round(
    flow: ClientSubnet,
    probe: PathProbe,
    o: { known?: readonly string[]; signal?: AbortSignal; now?: number } = {},
  ): Promise<PathTrace> {
    const now = o.now ?? Date.now();
    this.#traced.set(flow.subnet, now);
    const signal = o.signal ?? new AbortController().signal;
    const hops = await probe(flow.subnet, { signal, ...(flow.client ? { client: flow.client } : {}) });
    return this.trace(flow.subnet, hops, { ...o, now });
  }

  /**
   * Maps one path: the hops' PTR names (cached), the domains they point into (not the owner's, not `known`), their
   * `_edge._tcp` records. Domains with IEPs are kept (bounded, expiring) and returned with the hop that named them.
   */
  async trace(
    subnet: string,
    hops: PathHops,
    o: { known?: readonly string[]; signal?: AbortSignal; now?: number } = {},
  ): Promise<PathTrace> {
    const now = o.now ?? Date.now();
    this.#expire(now);
    const out: PathTrace = {
      subnet,
      hops: 0,
      named: [],
      domains: [],
      found: [],
      lookups: { ptr: 0, srv: 0 },
      errors: [],
    };
    // Hops with a valid address, each address once, nearest the clients first — but none inside the traced subnet:
    // the clients' own reverse zone is theirs to write (their names are learn.ts's, one voice among clients).
    const seen = new Set<string>();
    const path = (Array.isArray(hops) ? hops.slice(0, 256) : [])
      .filter((h): h is { ttl: number; address: string } => validHop(h))
      .filter((h) => !inCidr(parseIp(h.address)!, subnet))
      .sort((a, b) => b.ttl - a.ttl)
      .filter((h) => !seen.has(h.address) && seen.add(h.address))
      .slice(0, this.#o.maxHops);
    out.hops = path.length;
    let down = false; // the DNS server does not answer: the rest of this trace is not asked
    const named = await limited(path, this.#o.concurrency, async (h) => {
      const names = down ? undefined : await this.#names(h.address, now, out, o.signal);
      if (names === undefined) down = true;
      return (names ?? []).map((name) => ({ ttl: h.ttl, address: h.address, name }));
    });
    out.named = named.flat();
    // Candidate domains, in hop order, each with the first hop name that points there; at most domainsPerHop of a
    // hop (its names walked as far: the nearest parent and the apex) and domainsPerApex under one apex.
    const skip = new Set([...this.#o.own, ...(o.known ?? [])]);
    const from = new Map<string, PathHopName>();
    const perHop = new Map<string, number>();
    const perApex = new Map<string, number>();
    const walk = Math.min(this.#o.domainsPerName, this.#o.domainsPerHop);
    for (const n of out.named)
      for (const d of walkUp(n.name, walk)) {
        if (from.size >= this.#o.domainsPerPath) break;
        const apex = d.split(".").slice(-2).join(".");
        if (skip.has(d) || from.has(d)) continue;
        if ((perHop.get(n.address) ?? 0) >= this.#o.domainsPerHop) break;
        if ((perApex.get(apex) ?? 0) >= this.#o.domainsPerApex) continue;
        from.set(d, n);
        perHop.set(n.address, (perHop.get(n.address) ?? 0) + 1);
        perApex.set(apex, (perApex.get(apex) ?? 0) + 1);
      }
    out.domains = [...from.keys()];
    // Found before: still on a path (kept), no lookup. Believed empty: no lookup. The rest, up to srvPerPath.
    const ask: string[] = [];
    for (const [d, hop] of from) {
      const before = this.#found.get(d);
      if (before) {
        Object.assign(before, { subnet, hop, at: now });
        out.found.push({ domain: d, subnet, hop, yards: before.yards, fresh: false });
      } else if (!this.#empty.has(d) && ask.length < this.#o.srvPerPath) ask.push(d);
    }
    const answers = await limited(ask, this.#o.concurrency, async (d) => {
      if (down) return undefined;
      out.lookups.srv++;
      try {
        return await this.#dns.discoverYards(d, {
          resolveHosts: true,
          maxRecords: this.#o.yardsPerDomain,
          ...(o.signal ? { signal: o.signal } : {}),
        });
      } catch (e) {
        if (o.signal?.aborted) throw e;
        if (isIconError(e, "DNS_UNREACHABLE")) down = true;
        out.errors.push(`_edge._tcp.${d}: ${(e as Error).message}`);
        return undefined;
      }
    });
    ask.forEach((d, i) => {
      const yards = answers[i];
      if (yards === undefined) return;
      if (yards.length === 0) return remember(this.#empty, d, now + this.#o.negativeTtlMs, this.#o.cacheSize);
      const find = { domain: d, subnet, hop: from.get(d)!, yards: yards.slice(0, this.#o.yardsPerDomain) };
      if (!this.#room(subnet)) return; // this subnet's share is full: found again once older ones expire
      this.#found.set(d, { ...find, at: now });
      out.found.push({ ...find, fresh: true });
    });
    return out;
  }

  /** The PTR names of `address`, cached (negative answers too); undefined when the server does not answer. */
  async #names(address: string, now: number, out: PathTrace, signal?: AbortSignal): Promise<string[] | undefined> {
    const cached = this.#ptr.get(address);
    if (cached && cached.until > now) return cached.names;
    out.lookups.ptr++;
    try {
      const names = await this.#dns.ptrNames(address, { max: this.#o.namesPerHop, ...(signal ? { signal } : {}) });
      const ttl = names.length > 0 ? this.#o.ptrTtlMs : this.#o.negativeTtlMs;
      remember(this.#ptr, address, { names, until: now + ttl }, this.#o.cacheSize);
      return names;
    } catch (e) {
      if (signal?.aborted) throw e;
      out.errors.push(`PTR ${address}: ${(e as Error).message}`);
      return isIconError(e, "DNS_UNREACHABLE") ? undefined : [];
    }
  }

  /**
   * Whether a domain found on the path to `subnet` may be kept: not while the subnet holds its share; when all are
   * taken, the subnet holding the most (more than `subnet`) gives up its oldest, so no few subnets keep them all.
   */
  #room(subnet: string): boolean {
    const held = new Map<string, string[]>();
    for (const [d, f] of this.#found) held.set(f.subnet, [...(held.get(f.subnet) ?? []), d]);
    const mine = held.get(subnet)?.length ?? 0;
    if (mine >= this.#o.domainsPerSubnet) return false;
    if (this.#found.size < this.#o.maxDomains) return true;
    const [, most] = [...held].reduce((a, b) => (b[1].length > a[1].length ? b : a));
    if (most.length <= mine + 1) return false;
    const oldest = most.reduce((a, b) => (this.#found.get(b)!.at < this.#found.get(a)!.at ? b : a));
    this.#found.delete(oldest);
    return true;
  }

  /** Drops stale cache entries and domains no trace found lately. */
  #expire(now: number): void {
    for (const [a, e] of this.#ptr) if (e.until <= now) this.#ptr.delete(a);
    for (const [d, until] of this.#empty) if (until <= now) this.#empty.delete(d);
    for (const [d, f] of this.#found) if (now - f.at > this.#o.keepMs) this.#found.delete(d);
  }
}

function validHop(h: unknown): boolean {
  if (typeof h !== "object" || h === null) return false;
  const { ttl, address } = h as { ttl?: unknown; address?: unknown };
  return (
    typeof ttl === "number" &&
    Number.isInteger(ttl) &&
    ttl >= 1 &&
    ttl <= 255 &&
    typeof address === "string" &&
    address.length <= 64 &&
    isIP(address) !== 0
  );
}

/** Sets `key` in a map bounded to `size` entries (the oldest goes first). */
function remember<V>(map: Map<string, V>, key: string, value: V, size: number): void {
  map.delete(key);
  if (map.size >= size) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** `fn` over `items`, at most `limit` at once; results in the items' order. */
async function limited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}
