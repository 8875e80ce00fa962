/**
 * Whose a lease is, read from the chain and cached: the root account of the application that pays for it (whose
 * namespace `app.r<root>` its service must be in, protocol/lease/namespace.ts), the provider that hosts it and its
 * end. All three are fixed once the lease is opened (a budget account's root never changes), so an answer is kept
 * until the cache, bounded to `maxEntries` leases, evicts it (least recently used first); a lease the chain does
 * not know is remembered as unknown for `unknownTtlMs` only (another yard's chain endpoint may be a block ahead).
 *
 * Used for every name a yard takes from someone else: a Deploy's service (the local tenant's lease), the instances
 * another yard announces (route answers and pushes: each instance's lease must be of the service's application and
 * hosted by the announcing yard), and a tunnel's source service (a lease of the source's application hosted by
 * the opener yard).
 *
 * When the chain cannot be read, `facts` says so (undefined) rather than guess: callers keep what they verified
 * before (the cache answers without the chain) and refuse only what they cannot verify now.
 *
 * @example
 *   const owners = new LeaseOwners(chain);
 *   const f = await owners.facts(7n);   // { root: 3n, provider: "0xabc…", end: 1700000000n } | null | undefined
 */
import { appNamespace, namespaceProblem } from "../../protocol/index.ts";

/** What {@link LeaseOwners} reads (MarketClient has both). */
export interface LeaseOwnerReader {
  lease(id: bigint): Promise<{ provider: string; account: bigint; end: bigint }>;
  account(id: bigint): Promise<{ root: bigint }>;
}

/** A lease's owner and host, as the chain has them. */
export interface LeaseFacts {
  /** The root budget account of the application paying for it. */
  root: bigint;
  /** The provider (operator address, lower case) that hosts it. */
  provider: string;
  /** Its paid end, unix seconds. */
  end: bigint;
}

export interface LeaseOwnersOptions {
  /** Leases (and accounts) remembered; default 10 000 each. */
  maxEntries?: number;
  /** How long a lease the chain does not know stays known as unknown; default 10 000 ms. */
  unknownTtlMs?: number;
  /**
   * Chain reads one spender (the yard announcing instances) may cause: a token bucket of `burst`, refilled at
   * `refillPerS`; default 256 (one full route answer of unknown leases) and 4/s. Cached answers cost nothing.
   */
  readBudget?: { burst: number; refillPerS: number };
}

/** Spenders whose read budget is tracked at most (least recently seen forgotten first). */
const MAX_SPENDERS = 1024;

const ZERO_ADDRESS = /^0x0{40}$/i;

export class LeaseOwners {
  readonly #reader: LeaseOwnerReader;
  readonly #max: number;
  readonly #unknownTtlMs: number;
  readonly #leases = new Map<string, LeaseFacts | { unknownUntil: number }>();
  readonly #roots = new Map<string, bigint>();
  readonly #inflight = new Map<string, Promise<LeaseFacts | null | undefined>>();
  /** Chain reads that failed (the chain unreachable): the answer was "cannot tell now". */
  unreadable = 0;
  /** Chain reads made (cache misses). */
  reads = 0;
  /** Lookups answered "cannot tell now" because their spender had used its read budget. */
  throttled = 0;
  readonly #budget: { burst: number; refillPerS: number };
  readonly #spent = new Map<string, { tokens: number; at: number }>();

  constructor(reader: LeaseOwnerReader, o: LeaseOwnersOptions = {}) {
    this.#reader = reader;
    this.#max = o.maxEntries ?? 10_000;
    this.#unknownTtlMs = o.unknownTtlMs ?? 10_000;
    this.#budget = o.readBudget ?? { burst: 256, refillPerS: 4 };
  }

  /** Forgets what is cached of lease `id` (a lease the yard unwound or moved after a reorganisation: its id may
   * name another lease on the chain now). */
  forget(id: bigint): void {
    this.#leases.delete(id.toString());
  }

  /** Entries held (leases), for tests and metrics. */
  get size(): number {
    return this.#leases.size;
  }

  /**
   * The facts of lease `id`: from the cache, else from the chain; null when the chain has no such lease;
   * undefined when the chain cannot be read now (nothing is cached then), or when `spender` (whose word made the
   * lookup: the yard that announced the instance) has used its read budget — so a yard announcing ever new made-up
   * lease ids makes a bounded number of chain reads.
   */
  async facts(id: bigint, o: { spender?: string } = {}): Promise<LeaseFacts | null | undefined> {
    const key = id.toString();
    const held = this.#leases.get(key);
    if (held && "root" in held) {
      this.#leases.delete(key); // most recently used last
      this.#leases.set(key, held);
      return held;
    }
    if (held && held.unknownUntil > Date.now()) return null;
    let p = this.#inflight.get(key);
    if (!p) {
      if (o.spender !== undefined && !this.#spend(o.spender)) {
        this.throttled++;
        return undefined;
      }
      p = this.#read(id).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  /** The root account of budget account `account` (cached); throws the chain's error when it cannot be read. */
  async rootOf(account: bigint): Promise<bigint> {
    const key = account.toString();
    const held = this.#roots.get(key);
    if (held !== undefined) return held;
    this.reads++;
    const { root } = await this.#reader.account(account);
    this.#remember(this.#roots, key, root);
    return root;
  }

  async #read(id: bigint): Promise<LeaseFacts | null | undefined> {
    try {
      this.reads++;
      const l = await this.#reader.lease(id);
      if (ZERO_ADDRESS.test(l.provider) || l.account === 0n) {
        this.#remember(this.#leases, id.toString(), { unknownUntil: Date.now() + this.#unknownTtlMs });
        return null;
      }
      const facts: LeaseFacts = { root: await this.rootOf(l.account), provider: l.provider.toLowerCase(), end: l.end };
      this.#remember(this.#leases, id.toString(), facts);
      return facts;
    } catch {
      this.unreadable++;
      return undefined;
    }
  }

  /** Takes one read from `spender`'s budget; false when none is left. */
  #spend(spender: string): boolean {
    const t = Date.now();
    const held = this.#spent.get(spender);
    const { burst, refillPerS } = this.#budget;
    const tokens = held ? Math.min(burst, held.tokens + ((t - held.at) / 1000) * refillPerS) : burst;
    this.#remember(this.#spent, spender, { tokens: tokens >= 1 ? tokens - 1 : tokens, at: t }, MAX_SPENDERS);
    return tokens >= 1;
  }

  #remember<V>(m: Map<string, V>, key: string, v: V, max = this.#max): void {
    m.delete(key);
    m.set(key, v);
    while (m.size > max) m.delete(m.keys().next().value!);
  }
}

/**
 * Why instance `instanceId` of `service`, announced by yard `yard` (its operator `operator`, from the registry),
 * is not taken: a sentence, or undefined when its lease is of the service's application, hosted by that yard and
 * not past its end (by more than a minute). `facts` are the lease's ({@link LeaseOwners.facts}); undefined facts (the chain unreadable) are
 * a refusal too — an instance is taken on the chain's word only.
 */
export function instanceProblem(
  service: string,
  instanceId: bigint,
  facts: LeaseFacts | null | undefined,
  operator: string | undefined,
  nowS = Math.floor(Date.now() / 1000),
): string | undefined {
  if (facts === undefined)
    return `lease ${instanceId} cannot be verified on chain now (chain unreadable or read budget used)`;
  if (facts === null) return `lease ${instanceId} does not exist on chain`;
  const ns = namespaceProblem(service, facts.root);
  if (ns)
    return `lease ${instanceId} is paid by application ${facts.root} (namespace ${appNamespace(facts.root)}): ${ns}`;
  if (operator === undefined || facts.provider !== operator.toLowerCase())
    return `lease ${instanceId} is hosted by provider ${facts.provider}, not by the yard that names it`;
  // A minute's slack: the yard's clock and the chain's may differ a little, and a lease runs up to its end.
  if (facts.end + 60n <= BigInt(nowS)) return `lease ${instanceId} ended at ${facts.end}`;
  return undefined;
}
