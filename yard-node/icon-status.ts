/**
 * The ICON status board (issue 18, "what only the ICONs know"): the latest status report of each lease's ICON, as
 * its sidecar pushed it through the agent gateway (`POST /status`), kept in memory only — nothing of it is written
 * to disk, and a lease that ends takes its report with it. Pushes are bounded per lease (a token bucket of
 * `iconStatusLimits.pushesPerSecond`, burst `pushBurst`; a body ≤ `maxBytes`, checked by the gateway before it is
 * read), so a sidecar cannot flood its yard; one report per lease bounds the memory by the yard's leases.
 *
 * `serve(query)` answers the yard's `GET /icons` (http.ts): a read grant (protocol/yard/icon-status.ts) signed in
 * the market's EIP-712 domain (chain id, market address) by the app's owner or a controller of one of the app's
 * accounts (read from chain, cached a minute per account as access.ts does), naming the app, this yard (its operator's
 * address — what the yard knows of itself, so a grant shown to one yard cannot be replayed at another: 403) and an
 * expiry at most an hour ahead. `identity()` answers `GET /icons/yard`, the operator address a grant must name. The owner reads every report of the app's leases here; a controller the reports of the accounts it
 * controls. Anything else — no grant, a malformed or tampered one, an expired one, a stranger's, another tenant's —
 * is refused with a status and a sentence, and no report. Reads are bounded too, since each costs a signature
 * recovery and may cost chain reads: a token bucket per remote address (`iconReadLimits`) and a global cap on reads
 * in flight, both answered 429 with a sentence; what the chain says of an account or an app (including "no such
 * account") is cached a minute. A chain that cannot be read answers 503 — only "no such app/account" may mean
 * "neither the owner nor a controller" (403).
 *
 * @example
 *   const board = new IconStatusBoard({ yardId, operator, db, chain });
 *   board.push("7", JSON.parse(body));                           // from the gateway: lease 7's sidecar
 *   const { status, body } = await board.serve(url.searchParams, req.socket.remoteAddress); // GET /icons?app=…
 */
import { verifyTypedData } from "ethers";
import { isIconError } from "../protocol/errors.ts";
import {
  STATUS_GRANT_TYPES,
  iconStatusLimits,
  parseIconStatusReport,
  parseStatusGrantQuery,
  type IconStatusAnswer,
  type IconStatusReport,
  type MarketClient,
  type ServedIconStatus,
  type YardIdentity,
} from "../protocol/index.ts";
import { GatewayRefusal } from "./agent-gateway-rpc.ts";
import type { YardDb } from "./db.ts";

/** A push or read refused: the HTTP status and the sentence (the gateway's refusal, so it answers it as such). */
export class StatusRefusal extends GatewayRefusal {}

/**
 * Bounds of `GET /icons`. Per remote address 2 reads a second kept over time, burst 10: an owner's console polls
 * every 2 s (0.5/s) and backs off, so this serves a few consoles behind one address and a page reloaded in a hurry,
 * while one source cannot keep the yard recovering signatures and reading the chain. 8 reads in flight at once in
 * all, so many sources together cannot queue unbounded chain reads either. Chain answers are cached `cacheMs`.
 */
export const iconReadLimits = {
  perSecond: 2,
  burst: 10,
  inFlight: 8,
  cacheMs: 60_000,
  /** Remote addresses whose bucket is remembered (the oldest is forgotten past this). */
  maxSources: 4096,
} as const;

type ReadLimits = { [K in keyof typeof iconReadLimits]: number };

export interface IconStatusBoardComponents {
  yardId: string;
  /** The operator key's address: the yard a read grant must name to be served here. */
  operator: string;
  db: Pick<YardDb, "lease">;
  chain: Pick<MarketClient, "account" | "app" | "domain">;
  /** Unix seconds now (the grant's expiry is checked against it). */
  nowS?: () => number;
  /** Read bounds (default iconReadLimits). */
  readLimits?: Partial<ReadLimits>;
}

/** What the chain says of one budget account, cached a minute (`none`: no such account). */
type Holder = { root: string; controller: string; owner: string; until: number } | { none: true; until: number };

export class IconStatusBoard {
  readonly #c: IconStatusBoardComponents;
  readonly #reports = new Map<string, ServedIconStatus>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #holders = new Map<string, Holder>();
  readonly #owners = new Map<string, { owner: string | undefined; until: number }>();
  readonly #readBuckets = new Map<string, { tokens: number; at: number }>();
  readonly #limits: ReadLimits;
  #inFlight = 0;
  /** Pushes refused for their rate, their size or their shape (metrics and tests). */
  refused = { rate: 0, size: 0, shape: 0 };

  constructor(c: IconStatusBoardComponents) {
    this.#c = c;
    this.#limits = { ...iconReadLimits, ...c.readLimits };
  }

  /** Reports held now (one per lease at most). */
  get size(): number {
    return this.#reports.size;
  }

  /** Counts a push refused for its size (the gateway checks the body's length before reading it). */
  tooLarge(): StatusRefusal {
    this.refused.size++;
    return new StatusRefusal(413, `a status report is at most ${iconStatusLimits.maxBytes} bytes; send less`);
  }

  /** What `GET /icons/yard` answers: the operator address this yard's read grants must name. */
  identity(): YardIdentity {
    return { yardId: this.#c.yardId, operator: this.#c.operator };
  }

  /** Lease `leaseId`'s sidecar pushes `body` (decoded JSON): kept as its latest, or refused (rate, shape). */
  push(leaseId: string, body: unknown): void {
    const { pushesPerSecond, pushBurst } = iconStatusLimits;
    const now = Date.now();
    const b = this.#buckets.get(leaseId) ?? { tokens: pushBurst, at: now };
    b.tokens = Math.min(pushBurst, b.tokens + ((now - b.at) / 1000) * pushesPerSecond);
    b.at = now;
    this.#buckets.set(leaseId, b);
    if (b.tokens < 1) {
      this.refused.rate++;
      throw new StatusRefusal(
        429,
        `over ${pushesPerSecond} status report per second (burst ${pushBurst}) for this lease; push less often`,
      );
    }
    b.tokens -= 1;
    const report = parseIconStatusReport(body);
    if (typeof report === "string") {
      this.refused.shape++;
      throw new StatusRefusal(400, `the status report is refused: ${report}`);
    }
    const row = this.#c.db.lease(BigInt(leaseId));
    if (!row) throw new StatusRefusal(403, `lease ${leaseId} is not held at this yard`);
    this.#reports.set(leaseId, {
      leaseId,
      yardId: this.#c.yardId,
      leaseAccount: row.offer.account.toString(),
      receivedAtMs: now,
      report,
    });
  }

  /** Lease `leaseId`'s latest report (its sidecar's `GET /status`: a restarted agent takes its decisions back). */
  latest(leaseId: bigint | string): IconStatusReport | undefined {
    return this.#reports.get(leaseId.toString())?.report;
  }

  /** Lease `leaseId` ended here: its report and bucket go. */
  leaseEnded(leaseId: bigint | string): void {
    this.#reports.delete(leaseId.toString());
    this.#buckets.delete(leaseId.toString());
  }

  /** Lease `from`'s sidecar serves its renewal `to` from now on: its report and bucket move with it. */
  leaseMoved(from: bigint | string, to: bigint | string): void {
    const [f, t] = [from.toString(), to.toString()];
    const r = this.#reports.get(f);
    const b = this.#buckets.get(f);
    this.leaseEnded(f);
    if (r) this.#reports.set(t, { ...r, leaseId: t });
    if (b) this.#buckets.set(t, b);
  }

  /** `GET /icons?app=…&yard=…&reader=…&expiry=…&sig=…` from remote address `source`: the reports the grant's signer may
   * read, or a refusal (429 over the bounds, 503 when the chain cannot be read). */
  async serve(
    q: URLSearchParams,
    source = "local",
  ): Promise<{ status: number; body: IconStatusAnswer | { error: string } }> {
    const { perSecond, burst, inFlight, maxSources } = this.#limits;
    const now = Date.now();
    const b = this.#readBuckets.get(source) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.#readBuckets.delete(source);
    this.#readBuckets.set(source, b);
    if (this.#readBuckets.size > maxSources) this.#readBuckets.delete(this.#readBuckets.keys().next().value!);
    if (b.tokens < 1)
      return {
        status: 429,
        body: { error: `over ${perSecond} status reads per second (burst ${burst}) from ${source}; ask less often` },
      };
    if (this.#inFlight >= inFlight)
      return { status: 429, body: { error: `the yard is answering ${inFlight} status reads already; ask again soon` } };
    b.tokens -= 1;
    this.#inFlight++;
    try {
      return { status: 200, body: await this.#read(q) };
    } catch (e) {
      if (e instanceof StatusRefusal) return { status: e.status, body: { error: e.message } };
      throw e;
    } finally {
      this.#inFlight--;
    }
  }

  async #read(q: URLSearchParams): Promise<IconStatusAnswer> {
    const parsed = parseStatusGrantQuery(q);
    if (typeof parsed === "string")
      throw new StatusRefusal(401, `a signed read grant is needed (app, yard, reader, expiry, sig): ${parsed}`);
    const { grant, signature } = parsed;
    // Checked first and on what the yard knows of itself: a grant for another yard is never served here, whoever
    // shows it (a yard the owner's console asked, replaying it).
    if (grant.yard.toLowerCase() !== this.#c.operator.toLowerCase())
      throw new StatusRefusal(
        403,
        `the read grant is for the yard of operator ${grant.yard}, not this one (operator ${this.#c.operator}); sign one naming this yard`,
      );
    const now = this.#c.nowS?.() ?? Math.floor(Date.now() / 1000);
    if (grant.expiry <= BigInt(now))
      throw new StatusRefusal(401, `the read grant expired at ${grant.expiry} (now ${now}); sign a new one`);
    if (grant.expiry > BigInt(now + iconStatusLimits.maxGrantS))
      throw new StatusRefusal(401, `a read grant lasts at most ${iconStatusLimits.maxGrantS} s; sign a shorter one`);
    let signer: string;
    try {
      signer = verifyTypedData(this.#c.chain.domain(), STATUS_GRANT_TYPES, grant, signature);
    } catch {
      throw new StatusRefusal(401, "the read grant's signature does not verify");
    }
    if (signer.toLowerCase() !== grant.reader.toLowerCase())
      throw new StatusRefusal(
        401,
        `the read grant names ${grant.reader} but is signed by ${signer} (altered, or for another market or chain)`,
      );
    const app = grant.app.toString();
    const reader = signer.toLowerCase();
    const icons: ServedIconStatus[] = [];
    let ofApp = 0;
    for (const s of this.#reports.values()) {
      const h = await this.#holder(s.leaseAccount);
      if ("none" in h || h.root !== app) continue;
      ofApp++;
      if (h.owner === reader || h.controller === reader) icons.push(s);
    }
    // The owner may read an app with no report here yet; anyone else must hold one of the accounts reported.
    if (icons.length === 0 && (ofApp > 0 || (await this.#owner(grant.app)) !== reader))
      throw new StatusRefusal(
        403,
        `${signer} is neither the owner of application ${app} nor a controller of its ICONs here`,
      );
    return { yardId: this.#c.yardId, app, icons: icons.sort((a, b) => Number(BigInt(a.leaseId) - BigInt(b.leaseId))) };
  }

  /** The owner of app `root`, lowercased (undefined when there is none), cached a minute; 503 when unreadable. */
  async #owner(root: bigint): Promise<string | undefined> {
    const hit = this.#owners.get(root.toString());
    if (hit && hit.until > Date.now()) return hit.owner;
    const owner = (await this.#chain(`the owner of application ${root}`, () => this.#c.chain.app(root))).owner;
    // An app nobody created has the zero owner: "no such app", cached like an owner.
    const o = /^0x0{40}$/i.test(owner) ? undefined : owner.toLowerCase();
    this.#remember(this.#owners, root.toString(), { owner: o, until: Date.now() + this.#limits.cacheMs });
    return o;
  }

  /** Account `id`'s root, controller and app owner (or that there is no such account), from chain, cached a
   * minute; 503 when the chain cannot be read. */
  async #holder(id: string): Promise<Holder> {
    const hit = this.#holders.get(id);
    if (hit && hit.until > Date.now()) return hit;
    const until = Date.now() + this.#limits.cacheMs;
    let h: Holder;
    try {
      const acc = await this.#chain(`account ${id}`, () => this.#c.chain.account(BigInt(id)));
      h = {
        root: acc.root.toString(),
        controller: acc.controller.toLowerCase(),
        // Through the owners' cache (a zero owner, "no such app", is "": it equals no signer).
        owner: (await this.#owner(acc.root)) ?? "",
        until,
      };
    } catch (e) {
      if (!isIconError(e, "BudgetUnknownAccount")) throw e;
      h = { none: true, until };
    }
    this.#remember(this.#holders, id, h);
    return h;
  }

  /** `read()`, with any failure but "no such account" answered 503 with a sentence (an RPC outage is no "neither"). */
  async #chain<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (e) {
      if (isIconError(e, "BudgetUnknownAccount")) throw e;
      const why = isIconError(e) ? e.code : "an unexpected error";
      throw new StatusRefusal(503, `the yard cannot read ${what} from the chain now (${why}); ask again later`);
    }
  }

  #remember<V>(m: Map<string, V>, k: string, v: V): void {
    m.set(k, v);
    if (m.size > 10_000) m.delete(m.keys().next().value!);
  }
}
