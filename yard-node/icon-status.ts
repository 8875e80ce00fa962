/**
 * The ICON status board (issue 18, "what only the ICONs know"): the latest status report of each lease's ICON, as
 * its sidecar pushed it through the agent gateway (`POST /status`), kept in memory only — nothing of it is written
 * to disk, and a lease that ends takes its report with it. Pushes are bounded per lease (a token bucket of
 * `iconStatusLimits.pushesPerSecond`, burst `pushBurst`; a body ≤ `maxBytes`, checked by the gateway before it is
 * read), so a sidecar cannot flood its yard; one report per lease bounds the memory by the yard's leases.
 *
 * `serve(query)` answers the yard's `GET /icons` (http.ts): a read grant (protocol/yard/icon-status.ts) signed in
 * the market's EIP-712 domain (chain id, market address) by the app's owner or a controller of one of the app's
 * accounts (read from chain, cached a minute per account as access.ts does), naming the app and an expiry at most an
 * hour ahead. The owner reads every report of the app's leases here; a controller the reports of the accounts it
 * controls. Anything else — no grant, a malformed or tampered one, an expired one, a stranger's, another tenant's —
 * is refused with a status and a sentence, and no report.
 *
 * @example
 *   const board = new IconStatusBoard({ yardId, db, chain });
 *   board.push("7", JSON.parse(body));                           // from the gateway: lease 7's sidecar
 *   const { status, body } = await board.serve(url.searchParams); // GET /icons?app=…&reader=…&expiry=…&sig=…
 */
import { verifyTypedData } from "ethers";
import {
  STATUS_GRANT_TYPES,
  iconStatusLimits,
  parseIconStatusReport,
  parseStatusGrantQuery,
  type IconStatusAnswer,
  type MarketClient,
  type ServedIconStatus,
} from "../protocol/index.ts";
import { GatewayRefusal } from "./agent-gateway-rpc.ts";
import type { YardDb } from "./db.ts";

/** A push or read refused: the HTTP status and the sentence (the gateway's refusal, so it answers it as such). */
export class StatusRefusal extends GatewayRefusal {}

export interface IconStatusBoardComponents {
  yardId: string;
  db: Pick<YardDb, "lease">;
  chain: Pick<MarketClient, "account" | "app" | "domain">;
  /** Unix seconds now (the grant's expiry is checked against it). */
  nowS?: () => number;
}

/** What the chain says of one budget account, cached a minute. */
interface Holder {
  root: string;
  controller: string;
  owner: string;
  until: number;
}

export class IconStatusBoard {
  readonly #c: IconStatusBoardComponents;
  readonly #reports = new Map<string, ServedIconStatus>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #holders = new Map<string, Holder>();
  /** Pushes refused for their rate, their size or their shape (metrics and tests). */
  refused = { rate: 0, size: 0, shape: 0 };

  constructor(c: IconStatusBoardComponents) {
    this.#c = c;
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

  /** `GET /icons?app=…&reader=…&expiry=…&sig=…`: the reports the grant's signer may read, or a refusal. */
  async serve(q: URLSearchParams): Promise<{ status: number; body: IconStatusAnswer | { error: string } }> {
    try {
      return { status: 200, body: await this.#read(q) };
    } catch (e) {
      if (e instanceof StatusRefusal) return { status: e.status, body: { error: e.message } };
      throw e;
    }
  }

  async #read(q: URLSearchParams): Promise<IconStatusAnswer> {
    const parsed = parseStatusGrantQuery(q);
    if (typeof parsed === "string")
      throw new StatusRefusal(401, `a signed read grant is needed (app, reader, expiry, sig): ${parsed}`);
    const { grant, signature } = parsed;
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
      if (h?.root !== app) continue;
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

  /** The owner of app `root`, lowercased (undefined when there is none). */
  async #owner(root: bigint): Promise<string | undefined> {
    try {
      return (await this.#c.chain.app(root)).owner.toLowerCase();
    } catch {
      return undefined;
    }
  }

  /** Account `id`'s root, controller and app owner, from chain, cached a minute (undefined when unreadable). */
  async #holder(id: string): Promise<Holder | undefined> {
    const hit = this.#holders.get(id);
    if (hit && hit.until > Date.now()) return hit;
    try {
      const acc = await this.#c.chain.account(BigInt(id));
      const app = await this.#c.chain.app(acc.root);
      const h = {
        root: acc.root.toString(),
        controller: acc.controller.toLowerCase(),
        owner: app.owner.toLowerCase(),
        until: Date.now() + 60_000,
      };
      this.#holders.set(id, h);
      if (this.#holders.size > 10_000) this.#holders.delete(this.#holders.keys().next().value!);
      return h;
    } catch {
      return undefined;
    }
  }
}
