/**
 * The lease holder's routing rules at its yard (yard-node/overlay/overlay.ts composes this room): per lease, the
 * flows observed (exported over `/icon/telemetry/1.0.0`), the HTTP redirects per client subnet and the redirection
 * stub with its grace, set over `/icon/routing/1.0.0`.
 *
 * Routing rules are written to the yard's store before they are acknowledged, and restored on start, so a
 * restarted yard keeps forwarding through a stub until its grace ends. The flows are saved when the yard stops and
 * taken back when it starts (not after a crash: they are re-learnt within a few half-lives). A renewal that takes
 * its predecessor's containers over takes its flows, redirects and stub too ({@link RoutingRules.carry}): the
 * lease holder's telemetry of the renewal goes on from the predecessor's, and its rules keep acting.
 */
import type { PeerId } from "@libp2p/interface";
import { OverlayError, OverlayErrorCode, type OverlayMessage, type Redirect, type Stub } from "../../protocol/index.ts";
import type { Authorize } from "../access.ts";
import type { Logger } from "../../protocol/log.ts";
import { FlowObserver, subnetOf } from "./flows.ts";
import type { RoutingRulesStore } from "./types.ts";

/** What the routing rules use of the yard. */
export interface RoutingRulesComponents {
  log: Logger;
  authorize: Authorize;
  /** Where routing rules are kept across restarts; in memory only without it. */
  store?: RoutingRulesStore;
}

/** Settings of the routing rules. */
export interface RoutingRulesInit {
  /** Half-life of flow smoothing, seconds; default 10. */
  halfLifeS?: number;
}

const now = (): number => Date.now();

/** Flows, redirects and stubs per lease, kept durable through the store. */
export class RoutingRules {
  readonly #c: RoutingRulesComponents;
  readonly #halfLifeS: number;
  readonly #flows = new Map<string, FlowObserver>();
  readonly #redirects = new Map<string, Redirect[]>();
  readonly #stubs = new Map<string, Stub & { until: number }>();

  constructor(components: RoutingRulesComponents, init: RoutingRulesInit = {}) {
    this.#c = components;
    this.#halfLifeS = init.halfLifeS ?? 10;
  }

  /**
   * Loads the stored routing rules: stubs whose grace has ended are dropped (from the store too); and the flows a
   * stopping yard saved. Returns the leases whose stub is still in force, with the unix ms it ends at.
   */
  restore(): { leaseId: bigint; until: number }[] {
    const store = this.#c.store;
    if (!store) return [];
    for (const f of store.takeFlows?.() ?? []) this.flows(f.leaseId).load(f.state);
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

  /** Saves every lease's flows to the store (the yard stops: the next start's `restore` takes them back). */
  saveFlows(): void {
    this.#c.store?.saveFlows?.([...this.#flows].map(([k, f]) => ({ leaseId: BigInt(k), state: f.save() })));
  }

  /** The flow observer of lease `leaseId`. */
  flows(leaseId: bigint): FlowObserver {
    const k = leaseId.toString();
    let f = this.#flows.get(k);
    if (!f) {
      f = new FlowObserver({ halfLifeS: this.#halfLifeS });
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

  /**
   * Lease `to` (a renewal running `from`'s containers now) takes `from`'s flows (the same observer: connections
   * still open keep recording into it), redirects and stub, in the store too (written before the old row goes).
   * Where `from` has rules, they replace any `to` was given before its Deploy; where it has none, `to` keeps its own.
   */
  carry(from: bigint, to: bigint): void {
    const [f, t] = [from.toString(), to.toString()];
    const flows = this.#flows.get(f);
    const redirects = this.#redirects.get(f);
    const stub = this.stub(from);
    if (redirects || stub) {
      this.#c.store?.setRoutingRules({ leaseId: to, redirects: redirects ?? [], stub });
      this.#stubs.delete(t);
      this.#redirects.delete(t);
    }
    this.#c.store?.deleteRoutingRules(from);
    const move = <V>(m: Map<string, V>, v: V | undefined): void => {
      m.delete(f);
      if (v !== undefined) m.set(t, v);
    };
    move(this.#flows, flows);
    move(this.#redirects, redirects);
    move(this.#stubs, stub);
  }

  /** Forgets a lease's flows, redirects and stub (after its grace), in the store too. */
  forget(leaseId: bigint): void {
    const k = leaseId.toString();
    this.#flows.delete(k);
    this.#redirects.delete(k);
    this.#stubs.delete(k);
    this.#c.store?.deleteRoutingRules(leaseId);
  }

  /** The stub of lease `leaseId` while its grace lasts; once it is over, the stub is dropped (from the store too). */
  stub(leaseId: bigint): (Stub & { until: number }) | undefined {
    const k = leaseId.toString();
    const s = this.#stubs.get(k);
    if (!s || s.until > now()) return s;
    this.#stubs.delete(k);
    const redirects = this.#redirects.get(k) ?? [];
    if (redirects.length === 0) this.#c.store?.deleteRoutingRules(leaseId);
    else this.#c.store?.setRoutingRules({ leaseId, redirects, stub: undefined });
    return undefined;
  }

  /** The HTTP redirects the lease holder set for lease `leaseId`. */
  redirects(leaseId: bigint): Redirect[] {
    return [...(this.#redirects.get(leaseId.toString()) ?? [])];
  }

  /** Where the lease holder's redirects send the first HTTP request of `client` (its subnet's rule, else `*`'s). */
  redirectFor(leaseId: bigint, client: string): string | undefined {
    const rules = this.#redirects.get(leaseId.toString());
    if (!rules || rules.length === 0) return undefined;
    const subnet = subnetOf(client);
    return (rules.find((r) => r.subnet === subnet) ?? rules.find((r) => r.subnet === "*"))?.location;
  }

  /** Answers a telemetry request of the lease holder: the lease's flows now. */
  async telemetry(m: OverlayMessage, remote: PeerId): Promise<OverlayMessage> {
    if (m.type !== "telemetryRequest")
      throw new OverlayError(OverlayErrorCode.OVERLAY_BAD_FRAME, "expected a telemetryRequest");
    await this.#c.authorize(m.access, remote);
    const t = now();
    const flows = this.flows(m.access.leaseId)
      .snapshot(t)
      .map((f) => ({
        subnet: f.subnet,
        rate: f.rate,
        latencyMs: f.latencyMs,
        rttMs: f.rttMs,
        requests: BigInt(f.requests),
        // Plain addresses only (no IPv4-mapped prefix, no IPv6 zone): a hint for the holder's reverse lookups.
        client: f.client.replace(/^::ffff:(?=\d+\.)/i, "").replace(/%.*$/, ""),
      }));
    return { type: "telemetryReply", flows, atMs: BigInt(t) };
  }

  /** Applies (stored first) the routing rules the lease holder sends, and acknowledges them. */
  async setRules(m: OverlayMessage, remote: PeerId): Promise<OverlayMessage> {
    if (m.type !== "routingRules") throw new OverlayError(OverlayErrorCode.OVERLAY_BAD_FRAME, "expected routingRules");
    const row = await this.#c.authorize(m.access, remote);
    const key = row.id.toString();
    const stub = m.stub ? { ...m.stub, until: now() + m.stub.graceS * 1000 } : this.stub(row.id);
    // Stored before it takes effect and is acknowledged: a restarted yard keeps what it acknowledged.
    this.#c.store?.setRoutingRules({ leaseId: row.id, redirects: m.redirects, stub });
    this.#redirects.set(key, m.redirects);
    if (m.stub && stub) {
      this.#stubs.set(key, stub);
      this.#c.log.info("redirection stub set", { lease: row.id, to: m.stub.endpoint, graceS: m.stub.graceS });
    }
    return { type: "routingAck" };
  }
}
