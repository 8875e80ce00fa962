/**
 * The yard's durable state in SQLite (node:sqlite), written before every action it describes, so a crash at
 * any point leaves a record the next start can reconcile: an opening transaction in flight, a lease with its
 * deploy spec and container, the chain event cursor, the lease holders' routing rules (HTTP redirects, the
 * redirection stub and when its grace ends), the epoch of the yard's route versions.
 *
 * Writes use WAL with synchronous=FULL: a row the yard acted on survives `kill -9` and power loss.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  fromJson,
  toJson,
  withoutSecret,
  type Offer,
  type Redirect,
  type StoredDeploySpec,
  type Stub,
} from "../protocol/index.ts";
import type { FlowState, StoredRoutingRules } from "./overlay/types.ts";

/** Where a lease is in the yard's lifecycle. */
export type LeaseStatus =
  /** Opened on chain; waiting for the tenant's Deploy. */
  | "open"
  /** Spec known: the container runs during the slot. */
  | "deployed"
  /** The container could not be kept running (image missing, repeated crashes); the lease stays claimable. */
  | "failed"
  /** Slot over or terminated; container removed; final claim pending. */
  | "ended"
  /** Nothing more to claim. */
  | "settled";

/** The statuses of a lease the yard still serves (opened, not yet ended). */
export const ACTIVE: readonly LeaseStatus[] = ["open", "deployed", "failed"];

export interface LeaseRow {
  id: bigint;
  offer: Offer;
  offerHash: string;
  status: LeaseStatus;
  /** The tenant's Deploy as stored: an agent part never carries its secret here (yard-node/sidecar.ts). */
  spec: StoredDeploySpec | undefined;
  containerId: string | undefined;
  /** The agent sidecar's container, when the spec has an agent part and it was created. */
  agentContainerId: string | undefined;
  /** container port → ingress port on the yard's public host */
  ingress: Record<string, number>;
  confirmed: boolean;
  /** Chain seconds the lease was stopped at (terminate), if it was. */
  stoppedAt: number | undefined;
  restarts: number;
  /** The lease this one renews (its container carries over). */
  renews: bigint | undefined;
  lastClaimAt: number;
  note: string;
}

export interface PendingOpen {
  offerHash: string;
  offer: Offer;
  providerSignature: string;
  tenantSignature: string;
  renews: bigint | undefined;
  createdAt: number;
}

interface RawLease {
  id: string;
  offer: string;
  offer_hash: string;
  status: string;
  spec: string | null;
  container_id: string | null;
  agent_container_id: string | null;
  ingress: string;
  confirmed: number;
  stopped_at: number | null;
  restarts: number;
  renews: string | null;
  last_claim_at: number;
  note: string;
}

export class YardDb {
  readonly #db: DatabaseSync;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.#db = new DatabaseSync(file);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS leases (
        id TEXT PRIMARY KEY,
        offer TEXT NOT NULL,
        offer_hash TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        spec TEXT,
        container_id TEXT,
        ingress TEXT NOT NULL DEFAULT '{}',
        confirmed INTEGER NOT NULL DEFAULT 0,
        stopped_at INTEGER,
        restarts INTEGER NOT NULL DEFAULT 0,
        renews TEXT,
        last_claim_at INTEGER NOT NULL DEFAULT 0,
        note TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE IF NOT EXISTS pending_opens (
        offer_hash TEXT PRIMARY KEY,
        offer TEXT NOT NULL,
        provider_signature TEXT NOT NULL,
        tenant_signature TEXT NOT NULL,
        renews TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, last_used INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS routing_rules (
        lease_id TEXT PRIMARY KEY,
        redirects TEXT NOT NULL DEFAULT '[]',
        stub TEXT,
        stub_until INTEGER
      );
      CREATE TABLE IF NOT EXISTS flows (lease_id TEXT PRIMARY KEY, state TEXT NOT NULL);
    `);
    // Added with the agent sidecar: databases of earlier versions gain the column.
    const columns = this.#db.prepare("PRAGMA table_info(leases)").all() as unknown as { name: string }[];
    if (!columns.some((c) => c.name === "agent_container_id"))
      this.#db.exec("ALTER TABLE leases ADD COLUMN agent_container_id TEXT");
  }

  close(): void {
    this.#db.close();
  }

  getMeta(key: string): string | undefined {
    const r = this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.#db
      .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(key, value);
  }

  // -------------------------------------------------------------- opening transactions in flight

  addPendingOpen(p: PendingOpen): void {
    this.#db
      .prepare(
        "INSERT OR REPLACE INTO pending_opens (offer_hash, offer, provider_signature, tenant_signature, renews, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        p.offerHash,
        toJson(p.offer),
        p.providerSignature,
        p.tenantSignature,
        p.renews?.toString() ?? null,
        p.createdAt,
      );
  }

  pendingOpens(): PendingOpen[] {
    const rows = this.#db.prepare("SELECT * FROM pending_opens").all() as unknown as {
      offer_hash: string;
      offer: string;
      provider_signature: string;
      tenant_signature: string;
      renews: string | null;
      created_at: number;
    }[];
    return rows.map((r) => ({
      offerHash: r.offer_hash,
      offer: fromJson<Offer>(r.offer),
      providerSignature: r.provider_signature,
      tenantSignature: r.tenant_signature,
      renews: r.renews === null ? undefined : BigInt(r.renews),
      createdAt: r.created_at,
    }));
  }

  pendingOpen(offerHash: string): PendingOpen | undefined {
    return this.pendingOpens().find((p) => p.offerHash === offerHash);
  }

  removePendingOpen(offerHash: string): void {
    this.#db.prepare("DELETE FROM pending_opens WHERE offer_hash = ?").run(offerHash);
  }

  // -------------------------------------------------------------- leases

  /** Records an opened lease (idempotent: a lease seen twice, from the receipt and from events, is one row)
   * and drops its pending-open record in the same transaction. Returns false when it was already known. */
  addLease(
    id: bigint,
    offer: Offer,
    offerHash: string,
    renews: bigint | undefined,
    /** Written in the same transaction (the reorganisation follower's entry for the opening, reorgs.ts). */
    also?: () => void,
  ): boolean {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      also?.();
      const r = this.#db
        .prepare("INSERT OR IGNORE INTO leases (id, offer, offer_hash, status, renews) VALUES (?, ?, ?, 'open', ?)")
        .run(id.toString(), toJson(offer), offerHash, renews?.toString() ?? null);
      // The id held by another offer's row (one whose opening a reorganisation took away, reorgs.ts): the pending
      // opening stays, for the follower to settle which lease the id is.
      const holder = this.#db.prepare("SELECT offer_hash FROM leases WHERE id = ?").get(id.toString()) as
        { offer_hash: string } | undefined;
      if (holder?.offer_hash === offerHash)
        this.#db.prepare("DELETE FROM pending_opens WHERE offer_hash = ?").run(offerHash);
      this.#db.exec("COMMIT");
      return r.changes > 0;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /**
   * Moves lease `from`'s row (and its routing rule and flows) to id `to` and drops the pending opening of its offer,
   * in one transaction: its opening, reorganised away, was included again and the chain numbered it `to`.
   */
  rekeyLease(from: bigint, to: bigint): void {
    const l = this.lease(from);
    if (!l) return;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      this.#db.prepare("UPDATE leases SET id = ? WHERE id = ?").run(to.toString(), from.toString());
      for (const t of ["routing_rules", "flows"])
        this.#db.prepare(`UPDATE ${t} SET lease_id = ? WHERE lease_id = ?`).run(to.toString(), from.toString());
      this.#db.prepare("DELETE FROM pending_opens WHERE offer_hash = ?").run(l.offerHash);
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** The lease recorded for the offer with this hash. */
  leaseByOffer(offerHash: string): LeaseRow | undefined {
    const r = this.#db.prepare("SELECT * FROM leases WHERE offer_hash = ?").get(offerHash) as RawLease | undefined;
    return r && row(r);
  }

  /** Forgets lease `id` and what is kept of it (a lease whose opening a reorganisation took away: its id is free). */
  forgetLease(id: bigint): void {
    for (const t of ["leases WHERE id", "routing_rules WHERE lease_id", "flows WHERE lease_id"])
      this.#db.prepare(`DELETE FROM ${t} = ?`).run(id.toString());
  }

  lease(id: bigint): LeaseRow | undefined {
    const r = this.#db.prepare("SELECT * FROM leases WHERE id = ?").get(id.toString()) as RawLease | undefined;
    return r && row(r);
  }

  leases(statuses?: readonly LeaseStatus[]): LeaseRow[] {
    const all = (
      this.#db.prepare("SELECT * FROM leases ORDER BY CAST(id AS INTEGER)").all() as unknown as RawLease[]
    ).map(row);
    return statuses ? all.filter((l) => statuses.includes(l.status)) : all;
  }

  /** Updates the given fields of lease `id`. */
  update(
    id: bigint,
    f: Partial<
      Pick<
        LeaseRow,
        | "status"
        | "spec"
        | "containerId"
        | "agentContainerId"
        | "ingress"
        | "confirmed"
        | "stoppedAt"
        | "restarts"
        | "lastClaimAt"
        | "note"
      >
    >,
  ): void {
    const sets: string[] = [];
    const vals: (string | number | null)[] = [];
    const put = (col: string, v: string | number | null): void => {
      sets.push(`${col} = ?`);
      vals.push(v);
    };
    if (f.status !== undefined) put("status", f.status);
    // The secret of an agent part never reaches the file, whoever passes a whole Deploy spec.
    if ("spec" in f) put("spec", f.spec === undefined ? null : toJson(withoutSecret(f.spec)));
    if ("containerId" in f) put("container_id", f.containerId ?? null);
    if ("agentContainerId" in f) put("agent_container_id", f.agentContainerId ?? null);
    if (f.ingress !== undefined) put("ingress", JSON.stringify(f.ingress));
    if (f.confirmed !== undefined) put("confirmed", f.confirmed ? 1 : 0);
    if ("stoppedAt" in f) put("stopped_at", f.stoppedAt ?? null);
    if (f.restarts !== undefined) put("restarts", f.restarts);
    if (f.lastClaimAt !== undefined) put("last_claim_at", f.lastClaimAt);
    if (f.note !== undefined) put("note", f.note.slice(0, 500));
    if (sets.length === 0) return;
    this.#db.prepare(`UPDATE leases SET ${sets.join(", ")} WHERE id = ?`).run(...vals, id.toString());
  }

  // -------------------------------------------------------------- images

  /** Marks an image this yard loaded (an upload) as used at `at`: only such images are ever removed. */
  touchImage(id: string, at: number): void {
    this.#db
      .prepare(
        "INSERT INTO images (id, last_used) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET last_used = excluded.last_used",
      )
      .run(id, at);
  }

  /** Records a use of `id` if this yard loaded it; images it did not load (the operator's) stay untracked. */
  useImage(id: string, at: number): void {
    this.#db.prepare("UPDATE images SET last_used = ? WHERE id = ?").run(at, id);
  }

  images(): { id: string; lastUsed: number }[] {
    return (
      this.#db.prepare("SELECT id, last_used FROM images").all() as unknown as { id: string; last_used: number }[]
    ).map((r) => ({ id: r.id, lastUsed: r.last_used }));
  }

  forgetImage(id: string): void {
    this.#db.prepare("DELETE FROM images WHERE id = ?").run(id);
  }

  // -------------------------------------------------------------- routing rules (overlay)

  /** Every lease's stored routing rules (expired stubs included: the overlay drops them on restore). */
  routingRules(): StoredRoutingRules[] {
    const rows = this.#db
      .prepare("SELECT * FROM routing_rules ORDER BY CAST(lease_id AS INTEGER)")
      .all() as unknown as {
      lease_id: string;
      redirects: string;
      stub: string | null;
      stub_until: number | null;
    }[];
    return rows.map((r) => ({
      leaseId: BigInt(r.lease_id),
      redirects: fromJson<Redirect[]>(r.redirects),
      stub: r.stub === null || r.stub_until === null ? undefined : { ...fromJson<Stub>(r.stub), until: r.stub_until },
    }));
  }

  /** Replaces lease `leaseId`'s routing rules. */
  setRoutingRules(r: StoredRoutingRules): void {
    const stub = r.stub ? { ...r.stub, until: undefined } : undefined;
    this.#db
      .prepare("INSERT OR REPLACE INTO routing_rules (lease_id, redirects, stub, stub_until) VALUES (?, ?, ?, ?)")
      .run(r.leaseId.toString(), toJson(r.redirects), stub ? toJson(stub) : null, r.stub?.until ?? null);
  }

  deleteRoutingRules(leaseId: bigint): void {
    this.#db.prepare("DELETE FROM routing_rules WHERE lease_id = ?").run(leaseId.toString());
  }

  /** Takes the flows a stopping yard saved (each lease's running sums, flows.ts FlowState), and forgets them. */
  takeFlows(): { leaseId: bigint; state: FlowState }[] {
    const rows = this.#db.prepare("SELECT lease_id, state FROM flows").all() as unknown as {
      lease_id: string;
      state: string;
    }[];
    this.#db.exec("DELETE FROM flows");
    const out: { leaseId: bigint; state: FlowState }[] = [];
    for (const r of rows) {
      try {
        out.push({ leaseId: BigInt(r.lease_id), state: JSON.parse(r.state) as FlowState });
      } catch {
        // A damaged row: that lease's flows are re-learnt.
      }
    }
    return out;
  }

  /** Saves every lease's flows (the yard stops; the next start takes them back). */
  saveFlows(flows: { leaseId: bigint; state: FlowState }[]): void {
    this.#db.exec("DELETE FROM flows");
    const put = this.#db.prepare("INSERT INTO flows (lease_id, state) VALUES (?, ?)");
    for (const f of flows) put.run(f.leaseId.toString(), JSON.stringify(f.state));
  }

  // -------------------------------------------------------------- route versions

  /**
   * The epoch of this run's route versions (unix ms), stored: the clock, or one above the previous run's when the
   * clock is behind it, so a yard's route versions only ever grow (see protocol/PROTOCOL.md, RouteVersion).
   */
  nextRouteEpoch(nowMs = Date.now()): bigint {
    const prev = this.getMeta("route_epoch");
    const epoch = prev !== undefined && BigInt(prev) >= BigInt(nowMs) ? BigInt(prev) + 1n : BigInt(nowMs);
    this.setMeta("route_epoch", epoch.toString());
    return epoch;
  }
}

function row(r: RawLease): LeaseRow {
  return {
    id: BigInt(r.id),
    offer: fromJson<Offer>(r.offer),
    offerHash: r.offer_hash,
    status: r.status as LeaseStatus,
    spec: r.spec === null ? undefined : fromJson<StoredDeploySpec>(r.spec),
    containerId: r.container_id ?? undefined,
    agentContainerId: r.agent_container_id ?? undefined,
    ingress: JSON.parse(r.ingress) as Record<string, number>,
    confirmed: r.confirmed === 1,
    stoppedAt: r.stopped_at ?? undefined,
    restarts: r.restarts,
    renews: r.renews === null ? undefined : BigInt(r.renews),
    lastClaimAt: r.last_claim_at,
    note: r.note,
  };
}
