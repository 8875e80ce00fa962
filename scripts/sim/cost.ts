/**
 * eq. 1 over a whole application, with decision.ts's own terms (`priceTerm`, l̂ = RTT / refLatencyMs): the cost the
 * tree, the orchestrator and the oracle are all charged, and the oracle's exact optimum (memoized per world state).
 */
import { priceTerm, type Knobs } from "../../icon-agent/index.ts";
import { placementCost, solvePlacement, type PlacementProblem } from "./oracle.ts";
import type { Scenario } from "./scenarios.ts";
import type { Network } from "./topology.ts";

export type Problem = PlacementProblem;

/** A site that failed costs this much to open: never in a placement. */
const FAILED = 1e6;

/** The placement problem for `shares` of the scenario's subnets at the given prices, without the failed sites. */
export function problemFor(
  net: Network,
  sc: Scenario,
  k: Knobs,
  shares: number[],
  prices: readonly bigint[],
  failed: ReadonlySet<number>,
  pinned?: number,
): Problem {
  const open = net.sites.map((s) => (failed.has(s.index) ? FAILED : (1 - k.weight) * priceTerm(k, prices[s.index]!)));
  return {
    shares,
    open,
    serve: (i, j) => (k.weight * net.rttMs(sc.subnets[i]!, net.sites[j]!)) / k.refLatencyMs,
    pinned: pinned !== undefined && !failed.has(pinned) ? pinned : undefined,
  };
}

/** The true shares of the scenario's subnets at `tS`. */
export function sharesAt(sc: Scenario, tS: number): number[] {
  const r = sc.subnets.map((_, i) => sc.rate(i, tS));
  const total = r.reduce((a, b) => a + b, 0);
  return r.map((x) => (total > 0 ? x / total : 0));
}

/**
 * Costs one placement against the oracle's optimum, memoizing the optimum per (rounded shares, prices, failures).
 * The oracle keeps the origin's site open while it is up (`pinned`): the application's entry point is there in the
 * tree and, for a fair comparison, in the orchestrator's plans too.
 */
export class CostBook {
  readonly #memo = new Map<string, number>();
  solves = 0;
  solveMs = 0;
  inexact = 0;

  /** [cost of `sites`, the optimum's cost] in the world of `tS`. */
  cost(
    net: Network,
    sc: Scenario,
    k: Knobs,
    tS: number,
    sites: readonly number[],
    prices: readonly bigint[],
    failed: ReadonlySet<number>,
    pinned?: number,
  ): [number, number] {
    const shares = sharesAt(sc, tS);
    const p = problemFor(net, sc, k, shares, prices, failed, pinned);
    const key = `${net.name}|${sc.name}|${p.pinned}|${shares.map((s) => s.toFixed(4)).join(",")}|${prices.join(",")}|${[...failed].join(",")}`;
    let best = this.#memo.get(key);
    if (best === undefined) {
      const r = solvePlacement(p);
      this.solves++;
      this.solveMs += r.ms;
      if (!r.exact) this.inexact++;
      best = r.cost;
      this.#memo.set(key, best);
    }
    // No ICON serving: every subnet at decision.ts's "no latency known" (10 × refLatency), nothing paid.
    return [sites.length > 0 ? placementCost(p, sites) : k.weight * 10, best];
  }
}
