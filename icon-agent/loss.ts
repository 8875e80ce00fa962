/**
 * Failures without the owner (issue 16 item 6): when an ICON whose yard is lost is placed again, and who takes the
 * origin's role when the origin's yard is lost. Pure rules (property-tested in test/mocha/agent/loss-rules.test.ts)
 * and two small bookkeepers the agent feeds once a period; the acts are in replace.ts and tree.ts.
 *
 * A silent ICON at a yard that still answers is not lost: its sidecar may be restarting, and the yard restarts it.
 * Only a yard that cannot be reached for `unreachablePeriods` periods in a row (or that says the sidecar is lost)
 * makes it lost; and an ICON is re-placed at most `maxPerHour` times an hour, so a flapping yard cannot drain its
 * budget into fresh leases.
 *
 * @example
 *   const yards = new YardWatch();
 *   yards.saw(peerId, await reachable(yard));            // once a period
 *   const d = lossDecision(LOSS_RULES, { silentPeriods, unreachablePeriods: yards.periods(peerId),
 *     recentMs: log.recent(account, now), nowMs: now });
 *   if (d.act) { log.record(account, now); ... }
 */

/** The knobs of the loss rules. */
export interface LossRules {
  /** Periods an ICON must be silent (no report, no telemetry) before its loss is considered. */
  silentPeriods: number;
  /** Periods in a row its yard must be unreachable. */
  unreachablePeriods: number;
  /** Re-placements of one ICON allowed in any hour. */
  maxPerHour: number;
}

/** The defaults: three periods silent, three periods unreachable, three re-placements an hour. */
export const LOSS_RULES: LossRules = { silentPeriods: 3, unreachablePeriods: 3, maxPerHour: 3 };

const HOUR_MS = 3_600_000;

/** What is known of one ICON when its loss is considered. */
export interface LossView {
  /** Whole periods since it was last heard from (a report up, or its own telemetry); Infinity if never. */
  silentPeriods: number;
  /** Periods in a row its yard could not be reached (0 when it answered last time). */
  unreachablePeriods: number;
  /** The yard answered, and said the ICON's sidecar is lost (its container gone for good). */
  yardSaysLost?: boolean;
  /** When it was re-placed before (ms). */
  recentMs: readonly number[];
  nowMs: number;
}

/** Whether to re-place, and why (the sentence goes to the agent's timeline). */
export type LossDecision = { act: boolean; why: string };

/** Re-place an ICON now? (pure) */
export function lossDecision(rules: LossRules, v: LossView): LossDecision {
  if (!(v.silentPeriods >= rules.silentPeriods))
    return { act: false, why: `silent for ${v.silentPeriods} of ${rules.silentPeriods} period(s): not lost` };
  if (!v.yardSaysLost && !(v.unreachablePeriods >= rules.unreachablePeriods))
    return {
      act: false,
      why:
        v.unreachablePeriods === 0
          ? "silent, but its yard answers: the yard restarts its sidecar"
          : `its yard unreachable for ${v.unreachablePeriods} of ${rules.unreachablePeriods} period(s)`,
    };
  const lastHour = v.recentMs.filter((t) => v.nowMs - t < HOUR_MS && t <= v.nowMs).length;
  if (lastHour >= rules.maxPerHour)
    return { act: false, why: `re-placed ${lastHour} time(s) in the last hour already (cap ${rules.maxPerHour})` };
  return {
    act: true,
    why: v.yardSaysLost
      ? "its yard says its sidecar is lost"
      : `silent for ${fmt(v.silentPeriods)} period(s) and its yard unreachable for ${v.unreachablePeriods}`,
  };
}

/** Does this ICON (`me`) take the origin's role now? Only the named successor, only when the origin is lost. (pure) */
export function refoundDecision(
  rules: LossRules,
  v: LossView & { me: bigint; successor: bigint | undefined; parentIsOrigin: boolean },
): LossDecision {
  if (v.successor === undefined) return { act: false, why: "the tree named no successor" };
  if (v.successor !== v.me) return { act: false, why: `account ${v.successor} is the named successor` };
  if (!v.parentIsOrigin) return { act: false, why: "the origin is not my parent" };
  const d = lossDecision(rules, v);
  return d.act ? { act: true, why: `the origin is ${d.why}` } : d;
}

/**
 * The successor the origin names: its oldest live child — the smallest account id, as the chain numbers accounts
 * in order of creation. (pure)
 */
export function successorOf(children: readonly { account: bigint }[]): bigint | undefined {
  let best: bigint | undefined;
  for (const c of children) if (best === undefined || c.account < best) best = c.account;
  return best;
}

/** Periods in a row each yard could not be reached, by peer id. Bounded: yards not seen for an hour are forgotten. */
export class YardWatch {
  readonly #m = new Map<string, { misses: number; atMs: number }>();

  /** Records this period's probe of `peerId`. Returns the periods in a row it has been unreachable. */
  saw(peerId: string, reachable: boolean, nowMs = Date.now()): number {
    const prev = this.#m.get(peerId);
    const misses = reachable ? 0 : (prev?.misses ?? 0) + 1;
    this.#m.delete(peerId);
    this.#m.set(peerId, { misses, atMs: nowMs });
    for (const [k, v] of this.#m) if (nowMs - v.atMs > HOUR_MS || this.#m.size > 256) this.#m.delete(k);
    return misses;
  }

  periods(peerId: string): number {
    return this.#m.get(peerId)?.misses ?? 0;
  }
}

/** When each ICON was re-placed, kept for an hour (the cap of {@link lossDecision}). */
export class ReplacementLog {
  readonly #m = new Map<bigint, number[]>();

  record(account: bigint, nowMs = Date.now()): void {
    this.#m.set(account, [...this.recent(account, nowMs), nowMs]);
  }

  recent(account: bigint, nowMs = Date.now()): number[] {
    return (this.#m.get(account) ?? []).filter((t) => nowMs - t < HOUR_MS);
  }
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(n) : "all its";
}
