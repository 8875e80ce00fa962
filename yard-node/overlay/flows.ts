/**
 * Flow observation: the ICON's eyes. Per client subnet (IPv4 /24, IPv6 /48 by default) the yard keeps the
 * request rate λ_i and the latency l_ij of the requests it carried to an instance, both smoothed with an
 * exponential decay of time constant τ (`halfLifeS` / ln 2): old observations fade whatever the request rate,
 * so a subnet that goes quiet decays to λ = 0 instead of keeping its last value.
 *
 *   λ_i(t)  = Σ_k e^{-(t - t_k)/τ} / τ                 (requests per second)
 *   l_ij(t) = Σ_k e^{-(t - t_k)/τ} x_k / Σ_k e^{-(t - t_k)/τ}   (request-weighted mean latency)
 *
 * Both are updated in O(1) per request by decaying the running sums to the request's time.
 *
 * Only requests this instance served count. A client answered with a redirect (HTTP 307 to a closer ICON, or to
 * where a stub points) is served elsewhere: in λ it would be counted twice in the ICON tree's aggregate (here and
 * at the ICON that serves it — the agent sends its yard's λ per subnet up as its own load and decides on it), and
 * the redirect's ~0 ms would pull this subnet's latency down. Redirects are counted apart ({@link
 * FlowObserver.redirect}, smoothed the same way) and enter neither λ nor the latency.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { FlowState } from "./types.ts";

/** The client's subnet: `a.b.c.0/24` for IPv4 (also IPv4-mapped IPv6), `x:x:x::/48` for IPv6. */
export function subnetOf(ip: string, v4Prefix = 24, v6Prefix = 48): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  if (isIPv4(addr)) {
    const n = addr.split(".").reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
    const masked = v4Prefix === 0 ? 0n : (n >> BigInt(32 - v4Prefix)) << BigInt(32 - v4Prefix);
    const parts = [24n, 16n, 8n, 0n].map((s) => String((masked >> s) & 255n));
    return `${parts.join(".")}/${v4Prefix}`;
  }
  if (isIPv6(addr)) {
    const n = ipv6ToBigInt(addr);
    const masked = v6Prefix === 0 ? 0n : (n >> BigInt(128 - v6Prefix)) << BigInt(128 - v6Prefix);
    const groups: string[] = [];
    for (let s = 112n; s >= 0n; s -= 16n) groups.push(((masked >> s) & 0xffffn).toString(16));
    // Compress the longest run of zero groups.
    let best = [-1, 0];
    for (let i = 0; i < 8;) {
      if (groups[i] !== "0") {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === "0") j++;
      if (j - i > best[1]!) best = [i, j - i];
      i = j;
    }
    const [start, len] = best as [number, number];
    const text =
      len > 1 ? `${groups.slice(0, start).join(":")}::${groups.slice(start + len).join(":")}` : groups.join(":");
    return `${text}/${v6Prefix}`;
  }
  return "unknown";
}

function ipv6ToBigInt(addr: string): bigint {
  const [head, tail] = addr.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  // An embedded IPv4 tail counts as two groups.
  const expand = (gs: string[]): string[] =>
    gs.flatMap((g) =>
      g.includes(".")
        ? (() => {
            const o = g.split(".").map(Number);
            return [((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)];
          })()
        : [g],
    );
  const he = expand(h);
  const te = expand(t);
  const groups = tail === undefined ? he : [...he, ...Array(8 - he.length - te.length).fill("0"), ...te];
  return groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g || "0", 16)), 0n);
}

/** Client addresses whose round trips a subnet keeps (the least recently measured dropped beyond). */
const RTT_ADDRESSES = 64;

/** One subnet's smoothed figures. */
export interface FlowStats {
  subnet: string;
  /** Requests per second (λ_i). */
  rate: number;
  /** Request-weighted mean latency in ms (l_ij); NaN when no request carried a latency. */
  latencyMs: number;
  /** Requests observed in total. */
  requests: number;
  /** Unix ms of the last request. */
  lastAt: number;
  /** The address of the subnet's most recent client. */
  client: string;
  /**
   * Unix ms of the last request whose client address this yard saw itself (its ingress's peer, a tunnel's remote
   * address); 0 when the subnet was only ever named by another yard (an active yard's tunnel header `client`).
   */
  directAt: number;
  /** The network round trip to the subnet's clients in ms, from the kernel's estimate of their connections
   * (kernel-rtt.ts): the median over the subnet's client addresses of each one's latest figure (one vote per
   * address), figures older than 5 τ left out; NaN when none. */
  rttMs: number;
}

interface Acc {
  at: number;
  count: number;
  latW: number;
  latSum: number;
  /** Client address → its latest round trip (ms) and when; at most RTT_ADDRESSES, least recent dropped. */
  rtts?: Map<string, { ms: number; at: number }>;
  requests: number;
  client: string;
  directAt: number;
}

/** One subnet's redirects (HTTP 307 answers instead of service), smoothed like the requests. */
export interface RedirectStats {
  subnet: string;
  /** Redirects per second. */
  rate: number;
  /** Redirects in total. */
  redirects: number;
}

export interface FlowObserverOptions {
  /** Half-life of the smoothing in seconds (default 10). */
  halfLifeS?: number;
  v4Prefix?: number;
  v6Prefix?: number;
  /** Most subnets tracked; the least recently active is dropped beyond it (default 10 000). */
  maxSubnets?: number;
}

export class FlowObserver {
  readonly tauMs: number;
  readonly #o: Required<FlowObserverOptions>;
  readonly #subnets = new Map<string, Acc>();
  readonly #redirects = new Map<string, { at: number; count: number; redirects: number }>();

  constructor(o: FlowObserverOptions = {}) {
    this.#o = { halfLifeS: 10, v4Prefix: 24, v6Prefix: 48, maxSubnets: 10_000, ...o };
    this.tauMs = (this.#o.halfLifeS * 1000) / Math.LN2;
  }

  /**
   * Records one request from `client`, with its latency when known; `relayed` when the address is another yard's
   * word (a tunnel header), not one this yard saw.
   */
  record(client: string, latencyMs?: number, now = Date.now(), relayed = false): void {
    const subnet = subnetOf(client, this.#o.v4Prefix, this.#o.v6Prefix);
    let a = this.#subnets.get(subnet);
    if (!a) {
      a = { at: now, count: 0, latW: 0, latSum: 0, requests: 0, client, directAt: 0 };
      if (this.#subnets.size >= this.#o.maxSubnets) this.#evict();
    } else {
      this.#subnets.delete(subnet); // re-insert: the map's order is recency
      this.#decay(a, now);
    }
    a.count += 1;
    a.requests += 1;
    a.client = client;
    if (!relayed) a.directAt = Math.max(a.directAt, now);
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      a.latW += 1;
      a.latSum += latencyMs;
    }
    this.#subnets.set(subnet, a);
  }

  /**
   * Records a network round trip to `client` (ms), read from the kernel. Only a subnet with requests here takes it
   * (a round trip alone does not make a subnet a client), and it does not count as activity (`lastAt`). Each client
   * address has one vote — its latest figure — so one client cannot set its subnet's figure alone.
   */
  recordRtt(client: string, rttMs: number, now = Date.now()): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    const a = this.#subnets.get(subnetOf(client, this.#o.v4Prefix, this.#o.v6Prefix));
    if (!a) return;
    const m = (a.rtts ??= new Map());
    m.delete(client);
    m.set(client, { ms: rttMs, at: now });
    if (m.size > RTT_ADDRESSES) m.delete(m.keys().next().value!);
  }

  /** Records one redirect of a client from `client`: not a served request, so not in λ nor in the latency. */
  redirect(client: string, now = Date.now()): void {
    const subnet = subnetOf(client, this.#o.v4Prefix, this.#o.v6Prefix);
    let r = this.#redirects.get(subnet);
    if (!r) {
      r = { at: now, count: 0, redirects: 0 };
      if (this.#redirects.size >= this.#o.maxSubnets) {
        const oldest = this.#redirects.keys().next().value;
        if (oldest !== undefined) this.#redirects.delete(oldest);
      }
    } else {
      this.#redirects.delete(subnet); // re-insert: the map's order is recency
      r.count *= Math.exp(-Math.max(0, now - r.at) / this.tauMs);
      r.at = Math.max(r.at, now);
    }
    r.count += 1;
    r.redirects += 1;
    this.#redirects.set(subnet, r);
  }

  /** Smoothed redirects of every subnet redirected, as of `now`, most redirected first. */
  redirects(now = Date.now()): RedirectStats[] {
    return [...this.#redirects]
      .map(([subnet, r]) => ({
        subnet,
        rate: (r.count * Math.exp(-Math.max(0, now - r.at) / this.tauMs) * 1000) / this.tauMs,
        redirects: r.redirects,
      }))
      .sort((x, y) => y.rate - x.rate);
  }

  /** Smoothed figures of every subnet seen, as of `now`, busiest first. */
  snapshot(now = Date.now()): FlowStats[] {
    const out: FlowStats[] = [];
    for (const [subnet, a] of this.#subnets) {
      const f = Math.exp(-Math.max(0, now - a.at) / this.tauMs);
      out.push({
        subnet,
        rate: (a.count * f * 1000) / this.tauMs,
        latencyMs: a.latW > 0 ? a.latSum / a.latW : NaN,
        requests: a.requests,
        lastAt: a.at,
        client: a.client,
        directAt: a.directAt,
        rttMs: this.#rtt(a, now),
      });
    }
    return out.sort((x, y) => y.rate - x.rate);
  }

  /** The running sums as plain data (the yard keeps them across a graceful restart). */
  save(): FlowState {
    return {
      subnets: [...this.#subnets].map(([subnet, { rtts, ...a }]) => ({
        subnet,
        ...a,
        ...(rtts ? { rtts: [...rtts].map(([ip, r]): [string, number, number] => [ip, r.ms, r.at]) } : {}),
      })),
      redirects: [...this.#redirects].map(([subnet, r]) => ({ subnet, ...r })),
    };
  }

  /**
   * Takes saved running sums back (a restart), in their recency order; entries that are not finite, non-negative
   * numbers are skipped (a damaged store), as is anything beyond maxSubnets. Later records decay them from `at`.
   */
  load(state: FlowState): void {
    const ok = (...xs: unknown[]): boolean => xs.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0);
    for (const { subnet, rtts, directAt, ...a } of state.subnets ?? []) {
      if (this.#subnets.size >= this.#o.maxSubnets) break;
      if (typeof subnet !== "string" || typeof a.client !== "string") continue;
      if (!ok(a.at, a.count, a.latW, a.latSum, a.requests, directAt ?? 0)) continue;
      const kept = (Array.isArray(rtts) ? rtts : [])
        .filter((r) => Array.isArray(r) && typeof r[0] === "string" && ok(r[1], r[2]))
        .slice(-RTT_ADDRESSES);
      this.#subnets.set(subnet, {
        ...a,
        directAt: directAt ?? 0,
        ...(kept.length > 0 ? { rtts: new Map(kept.map(([ip, ms, at]) => [ip, { ms, at }])) } : {}),
      });
    }
    for (const { subnet, ...r } of state.redirects ?? []) {
      if (this.#redirects.size >= this.#o.maxSubnets) break;
      if (typeof subnet === "string" && ok(r.at, r.count, r.redirects)) this.#redirects.set(subnet, r);
    }
  }

  /** Drops subnets whose rate decayed below `minRate` (requests/s). */
  prune(minRate = 1e-3, now = Date.now()): void {
    for (const s of this.snapshot(now)) if (s.rate < minRate) this.#subnets.delete(s.subnet);
    for (const r of this.redirects(now)) if (r.rate < minRate) this.#redirects.delete(r.subnet);
  }

  #decay(a: Acc, now: number): void {
    const f = Math.exp(-Math.max(0, now - a.at) / this.tauMs);
    a.count *= f;
    a.latW *= f;
    a.latSum *= f;
    a.at = Math.max(a.at, now);
  }

  /** The median of the subnet's addresses' latest round trips younger than 5 τ; NaN when none. */
  #rtt(a: Acc, now: number): number {
    if (!a.rtts) return NaN;
    const xs: number[] = [];
    for (const r of a.rtts.values()) if (now - r.at <= 5 * this.tauMs) xs.push(r.ms);
    if (xs.length === 0) return NaN;
    xs.sort((x, y) => x - y);
    const mid = xs.length >> 1;
    return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  }

  #evict(): void {
    const oldest = this.#subnets.keys().next().value;
    if (oldest !== undefined) this.#subnets.delete(oldest);
  }
}
