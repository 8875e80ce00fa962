/**
 * The ICON's status report for its owner (issue 18): each period, in its lease's sidecar, the agent pushes to its
 * yard's gateway (`POST /status`, protocol/yard/icon-status.ts) the policy version it acts under, per client subnet
 * the rate and latency it measures here, and its last decisions with their utility numbers — for a move, per subnet
 * the latency before it and the first one measured at the new place after it. Best effort: a refused or failed push
 * is dropped (the next period sends a fresh one); an agent outside a sidecar pushes nothing. Its decisions (the last
 * 16, a move's "before" with them) are handed to `persist` whenever one is made or measured, and restored at start
 * ({@link keptDecisions}: from the state directory, state.ts DecisionStore, and in a sidecar — whose state directory
 * is a tmpfs rebuilt after a crash — from the lease's last report its yard still holds, the gateway's `GET /status`):
 * a restart continues the report.
 *
 * @example
 *   const report = new StatusReporter(() => ({ gateway: sidecar?.gateway, instance: 1, policyVersion: 3 }));
 *   report.decided("migrate to edge-b", 0.41, 0.73, own, here);  // when a decision fires
 *   report.period(agent.status(), here);                          // each period, after status.json
 */
import { iconStatusLimits, type IconStatusReport } from "../protocol/index.ts";
import type { SubnetView } from "./decision.ts";
import type { GatewayClient } from "./gateway.ts";
import type { AgentStatus, DecisionStore, PlacedDecision } from "./state.ts";

/** What the report needs of the agent, read at each push. */
export interface ReporterContext {
  gateway: Pick<GatewayClient, "pushStatus"> | undefined;
  instance: number;
  policyVersion: number;
}

const finite = (v: number | undefined): number | null =>
  v !== undefined && Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null;
/** Text as the yard takes it: no control characters, at most `maxText` characters. */
const clean = (t: string): string => {
  const s = [...t].filter((c) => c.charCodeAt(0) >= 0x20).join("");
  return s.length > iconStatusLimits.maxText ? s.slice(0, iconStatusLimits.maxText - 1) + "…" : s;
};

/** A move decision handed to a successor: the report's decision and the place it was made at. */
export type CarriedDecision = PlacedDecision;
/** Moves a successor carries on (their "after" is measured at its place), and subnets per move. */
export const MAX_CARRIED_DECISIONS = 4;
export const MAX_CARRIED_SUBNETS = 8;

/**
 * The decisions an agent takes back at its start, read before it is built (agent.ts open) so that nothing is saved
 * before they are all in: those kept in its state directory (`store`) and, in a sidecar (`gateway`), those of the
 * lease's last report its yard holds (`GET /status`, checked by the protocol's report parser, ≤ 16 decisions, and
 * never fatal: a yard that does not answer it is told through `onError`). The report does not say where a decision
 * was made: its decisions are taken as made `here`, so an "after" still to be measured is never filled in at the
 * place it left (at worst it stays unmeasured).
 */
export async function keptDecisions(
  store: Pick<DecisionStore, "read">,
  gateway: Pick<GatewayClient, "lastStatus"> | undefined,
  here: string,
  onError: (text: string) => void,
): Promise<CarriedDecision[]> {
  const kept = await store.read();
  const last = gateway
    ? await gateway.lastStatus().catch((e: unknown) => {
        onError(`the yard's last status report of this lease could not be read: ${(e as Error).message}`);
        return undefined;
      })
    : undefined;
  const reported = (last?.decisions ?? []).slice(-iconStatusLimits.maxDecisions).map((d) => ({ ...d, at: here }));
  return [...kept, ...reported];
}

export class StatusReporter {
  readonly #ctx: () => ReporterContext;
  /** The newest last, each with the place it was made at (its "after" is measured elsewhere). */
  readonly #decisions: CarriedDecision[] = [];
  readonly #persist: (decisions: readonly CarriedDecision[]) => void;
  #pushing = false;

  /** `persist` is handed the decisions (oldest first, at most 16) each time they change. */
  constructor(ctx: () => ReporterContext, persist: (decisions: readonly CarriedDecision[]) => void = () => {}) {
    this.#ctx = ctx;
    this.#persist = persist;
  }

  /** The decisions now, oldest first (copies). */
  decisions(): CarriedDecision[] {
    return this.#decisions.map((d) => ({ ...d, latency: d.latency.map((l) => ({ ...l })) }));
  }

  #changed(): void {
    this.#persist(this.decisions());
  }

  /** A decision fired at `here`: its words, U of staying and of the chosen action, each subnet's latency now. */
  decided(text: string, u: number, uBest: number, own: SubnetView[], here: string, move: boolean): void {
    const latency = move
      ? own.slice(0, iconStatusLimits.maxSubnets).map((s) => ({
          subnet: clean(s.subnet),
          beforeMs: finite(s.latencyMs[here]),
          afterMs: null,
        }))
      : [];
    this.#decisions.push({
      atMs: Date.now(),
      text: clean(text),
      u: finite(u),
      uBest: finite(uBest),
      latency,
      at: here,
    });
    if (this.#decisions.length > iconStatusLimits.maxDecisions) this.#decisions.shift();
    this.#changed();
  }

  /**
   * The report now, the ICON placed at `here`: a move's "after" is the first latency measured at another place. Within
   * the yard's 16 KiB: the oldest decisions, then the least busy subnets, are left out until it fits.
   */
  report(status: Pick<AgentStatus, "name" | "account" | "subnets">, here: string): IconStatusReport {
    const r = this.#full(status, here);
    const size = (): number => new TextEncoder().encode(JSON.stringify(r)).length;
    while (size() > iconStatusLimits.maxBytes && r.decisions.length > 0) r.decisions.shift();
    while (size() > iconStatusLimits.maxBytes && r.subnets.length > 0) r.subnets.pop();
    return r;
  }

  #full(status: Pick<AgentStatus, "name" | "account" | "subnets">, here: string): IconStatusReport {
    const { instance, policyVersion } = this.#ctx();
    const nowAt = new Map(status.subnets.map((s) => [clean(s.subnet), s.latencyMs[here]]));
    let measured = false;
    for (const d of this.#decisions)
      if (d.at !== here)
        for (const l of d.latency)
          if (l.afterMs === null) {
            l.afterMs = finite(nowAt.get(l.subnet));
            measured ||= l.afterMs !== null;
          }
    if (measured) this.#changed();
    return {
      name: clean(status.name),
      account: status.account.toString(),
      instance,
      policyVersion,
      atMs: Date.now(),
      subnets: [...status.subnets]
        .sort((a, b) => b.rate - a.rate)
        .slice(0, iconStatusLimits.maxSubnets)
        .map((s) => ({
          subnet: clean(s.subnet),
          ratePerS: Math.max(0, finite(s.rate) ?? 0),
          latencyMs: finite(s.latencyMs[here]),
        })),
      decisions: this.#decisions.map((d) => ({
        atMs: d.atMs,
        text: d.text,
        u: d.u,
        uBest: d.uBest,
        latency: d.latency.map((l) => ({ ...l })),
      })),
    };
  }

  /**
   * The moves whose "after" is still to be measured, for a successor to carry on (pair.ts carriedState): at most
   * {@link MAX_CARRIED_DECISIONS}, the newest, each with its place — the new instance measures the "after" at its own.
   */
  carry(): CarriedDecision[] {
    return this.#decisions
      .filter((d) => d.latency.some((l) => l.afterMs === null))
      .slice(-MAX_CARRIED_DECISIONS)
      .map((d) => ({ ...d, latency: d.latency.slice(0, MAX_CARRIED_SUBNETS).map((l) => ({ ...l })) }));
  }

  /**
   * Decisions taken on before this instance decides anything (agent.ts): a predecessor's moves ({@link carry}, at
   * most {@link MAX_CARRIED_DECISIONS}) or this ICON's own as kept in its state directory (at most 16). Kept in the
   * order they were made, each once (one made at the same time with the same words is the same), the newest 16.
   */
  restore(taken: readonly CarriedDecision[], max: number = MAX_CARRIED_DECISIONS): void {
    const seen = new Set(this.#decisions.map((d) => `${d.atMs}\0${d.text}`));
    let added = 0;
    for (const d of taken.slice(-max)) {
      const text = clean(d.text);
      if (seen.has(`${d.atMs}\0${text}`)) continue;
      seen.add(`${d.atMs}\0${text}`);
      this.#decisions.push({ ...d, text, latency: d.latency.map((l) => ({ ...l })) });
      added++;
    }
    if (added === 0) return;
    this.#decisions.sort((a, b) => a.atMs - b.atMs);
    while (this.#decisions.length > iconStatusLimits.maxDecisions) this.#decisions.shift();
    this.#changed();
  }

  /** Pushes the report now through the sidecar's gateway (one at a time; failures dropped). */
  period(status: Pick<AgentStatus, "name" | "account" | "subnets">, here: string): void {
    const gateway = this.#ctx().gateway;
    if (!gateway || this.#pushing) return;
    this.#pushing = true;
    gateway
      .pushStatus(this.report(status, here))
      .catch(() => {})
      .finally(() => (this.#pushing = false));
  }
}
