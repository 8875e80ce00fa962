/**
 * Candidate domains learned from an ICON's clients (paper §3: IEPs publish `_edge._tcp` SRV records in their own
 * zone, and their clients' names are in it). The yard's telemetry names each subnet's latest client; the PTR name of
 * that address gives the domains it points into (protocol/discovery/dns.ts `clientDomains`), which discovery then
 * searches like the owner's domains — as untrusted ones (icon-agent/market.ts).
 *
 * Bounded whatever the clients' reverse zones say: a subnet is looked up once per `lookupEveryMs`, at most
 * `lookupsPerRound` subnets a round, at most `maxDomains` domains are kept, and a domain no client pointed to for
 * `ttlMs` is dropped. Only subnets busier than `minRate` requests/s count.
 *
 * @example
 *   const learner = new DomainLearner(createResolver({ servers }), { own: ["icon.test"] });
 *   const fresh = await learner.learn(flows, 0.05);   // domains seen for the first time this round
 *   discoverYards({ ..., learnedDomains: learner.domains() });
 */
import type { DnsResolver } from "../protocol/index.ts";

export interface DomainLearnerOptions {
  /** The owner's domains: never "learned". */
  own?: string[];
  maxDomains?: number;
  ttlMs?: number;
  lookupEveryMs?: number;
  lookupsPerRound?: number;
}

/** A subnet as telemetry reports it (only what learning needs). */
export interface ClientSubnet {
  subnet: string;
  rate: number;
  client?: string;
}

export class DomainLearner {
  readonly #o: Required<DomainLearnerOptions>;
  /** domain → the subnet whose client pointed there last, and when */
  readonly #learned = new Map<string, { subnet: string; at: number }>();
  /** subnet → when its client was last looked up */
  readonly #lookedUp = new Map<string, number>();

  readonly resolver: Pick<DnsResolver, "clientDomains">;

  constructor(resolver: Pick<DnsResolver, "clientDomains">, o: DomainLearnerOptions = {}) {
    this.resolver = resolver;
    this.#o = { own: [], maxDomains: 32, ttlMs: 30 * 60_000, lookupEveryMs: 10 * 60_000, lookupsPerRound: 8, ...o };
  }

  /** The learned domains, oldest first. */
  domains(): string[] {
    return [...this.#learned.keys()];
  }

  /** The subnet whose client last pointed to `domain`. */
  source(domain: string): string | undefined {
    return this.#learned.get(domain)?.subnet;
  }

  /**
   * One round: expires what is stale, looks up the clients of the subnets that are due (in parallel), and returns
   * the domains learned for the first time. A failed lookup is reported to `onError` and retried when due again.
   */
  async learn(
    flows: ClientSubnet[],
    minRate: number,
    onError: (subnet: string, e: Error) => void = () => {},
    now = Date.now(),
  ): Promise<Array<{ domain: string; subnet: string }>> {
    for (const [d, l] of this.#learned) if (now - l.at > this.#o.ttlMs) this.#learned.delete(d);
    for (const [s, at] of this.#lookedUp) if (now - at >= this.#o.lookupEveryMs) this.#lookedUp.delete(s);
    const due = flows
      .filter((f) => f.client && f.rate >= minRate && !this.#lookedUp.has(f.subnet))
      .slice(0, this.#o.lookupsPerRound);
    const fresh: Array<{ domain: string; subnet: string }> = [];
    await Promise.all(
      due.map(async (f) => {
        this.#lookedUp.set(f.subnet, now);
        let domains: string[];
        try {
          domains = await this.resolver.clientDomains(f.client!);
        } catch (e) {
          onError(f.subnet, e as Error);
          return;
        }
        for (const d of domains) {
          if (this.#o.own.includes(d)) continue;
          const known = this.#learned.get(d);
          if (known) {
            known.at = now; // still pointed to: kept
            known.subnet = f.subnet;
          } else if (this.#learned.size < this.#o.maxDomains) {
            this.#learned.set(d, { subnet: f.subnet, at: now });
            fresh.push({ domain: d, subnet: f.subnet });
          }
        }
      }),
    );
    return fresh;
  }
}
