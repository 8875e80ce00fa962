/**
 * The best placement for a demand: which IEP sites to run ICONs at so that eq. 1 summed over the application is
 * least — an uncapacitated facility location problem, solved exactly as an ILP by HiGHS (the `highs` package, its
 * WebAssembly build):
 *
 *   min (1 − w) Σ_j b̂_j y_j + w Σ_i Σ_j s_i l̂_ij x_ij   s.t.  Σ_j x_ij = 1,  x_ij ≤ y_j,  y ∈ {0,1}, x ≥ 0
 *
 * with s_i the subnet's share of the total rate, b̂_j = price_j / maxPrice and l̂_ij = RTT_ij / refLatencyMs
 * (decision.ts's terms: the same cost {@link placementCost} charges the tree and the orchestrator).
 * To keep the model small only each busy subnet's `nearest` cheapest-to-serve sites enter it (default 12): a site
 * that is not among the 12 best for any subnet serves every subnet worse than 12 others; the run reports how often
 * the full model found a better optimum (it never did on the checks in EVALUATION.md).
 */
import highsLoader, { type Highs } from "highs";

export interface PlacementProblem {
  /** Subnets' shares of the total rate (Σ = 1; zeros allowed). */
  shares: number[];
  /** Cost terms per site: (1 − w)·b̂_j. */
  open: number[];
  /** w·l̂_ij, [subnet][site]. */
  serve: (i: number, j: number) => number;
  /** A site that is open whatever the demand: the origin's (the application's entry point, pinned). */
  pinned?: number;
}

export interface Placement {
  sites: number[];
  cost: number;
  /** Whether HiGHS proved it optimal (false: the greedy bound beyond the model's size limit). */
  exact: boolean;
  ms: number;
}

let highs: Highs | undefined;

/** Loads the solver once. */
export async function loadSolver(): Promise<void> {
  // The package's types are CommonJS-shaped; Node loads its ES module build, whose default export is the loader.
  highs ??= await (highsLoader as unknown as () => Promise<Highs>)();
}

/** eq. 1 summed over a placement: every subnet served from its cheapest open site. */
export function placementCost(p: PlacementProblem, sites: readonly number[]): number {
  if (sites.length === 0) return Infinity;
  let c = 0;
  for (const j of sites) c += p.open[j]!;
  for (let i = 0; i < p.shares.length; i++) {
    if (p.shares[i]! <= 0) continue;
    let m = Infinity;
    for (const j of sites) m = Math.min(m, p.serve(i, j));
    c += p.shares[i]! * m;
  }
  return c;
}

/** Largest model (x variables) handed to HiGHS; beyond it the greedy + local search bound is used. */
export const ILP_MAX_VARS = 20_000;

/** The optimum by ILP (HiGHS) when the model is within {@link ILP_MAX_VARS}, else greedy add + swap. */
export function solvePlacement(p: PlacementProblem, nearest = 12): Placement {
  const t0 = performance.now();
  const busy = p.shares
    .map((s, i) => [s, i] as const)
    .filter(([s]) => s > 0)
    .map(([, i]) => i);
  if (busy.length === 0) return { sites: p.pinned === undefined ? [] : [p.pinned], cost: 0, exact: true, ms: 0 };
  const keep = new Set<number>(p.pinned === undefined ? [] : [p.pinned]);
  for (const i of busy)
    p.open
      .map((o, j) => [o + p.serve(i, j), j] as const)
      .sort((a, b) => a[0] - b[0])
      .slice(0, nearest)
      .forEach(([, j]) => keep.add(j));
  const ids = [...keep].sort((a, b) => a - b);
  const m = ids.length;
  if (!highs || busy.length * m > ILP_MAX_VARS) {
    const sites = greedy(p);
    return { sites, cost: placementCost(p, sites), exact: false, ms: performance.now() - t0 };
  }
  const lines: string[] = ["Minimize", " obj:"];
  const term = (c: number, v: string): string => ` + ${c.toPrecision(12)} ${v}`;
  let obj = "";
  for (let j = 0; j < m; j++) obj += term(p.open[ids[j]!]!, `y${j}`);
  for (const i of busy) for (let j = 0; j < m; j++) obj += term(p.shares[i]! * p.serve(i, ids[j]!), `x${i}_${j}`);
  lines.push(obj, "Subject To");
  for (const i of busy) {
    let row = ` a${i}:`;
    for (let j = 0; j < m; j++) row += ` + x${i}_${j}`;
    lines.push(row + " = 1");
  }
  for (const i of busy) for (let j = 0; j < m; j++) lines.push(` c${i}_${j}: x${i}_${j} - y${j} <= 0`);
  lines.push("Bounds");
  for (let j = 0; j < m; j++) lines.push(ids[j] === p.pinned ? ` y${j} = 1` : ` 0 <= y${j} <= 1`);
  lines.push("Binary");
  lines.push(Array.from({ length: m }, (_, j) => ` y${j}`).join(""));
  lines.push("End");
  const r = highs.solve(lines.join("\n"), { output_flag: false, mip_rel_gap: 1e-6 });
  if (r.Status !== "Optimal") {
    const sites = greedy(p);
    return { sites, cost: placementCost(p, sites), exact: false, ms: performance.now() - t0 };
  }
  const sites: number[] = [];
  for (let j = 0; j < m; j++) if ((r.Columns[`y${j}`]?.Primal ?? 0) > 0.5) sites.push(ids[j]!);
  return { sites, cost: placementCost(p, sites), exact: true, ms: performance.now() - t0 };
}

/** Greedy: open the site that lowers the cost most while one does, then swap sites while a swap helps. */
export function greedy(p: PlacementProblem): number[] {
  const m = p.open.length;
  let best: number[] = p.pinned === undefined ? [] : [p.pinned];
  let bestCost = p.pinned === undefined ? Infinity : placementCost(p, best);
  if (p.pinned === undefined)
    for (let j = 0; j < m; j++) {
      const c = placementCost(p, [j]);
      if (c < bestCost) [best, bestCost] = [[j], c];
    }
  for (let improved = true; improved;) {
    improved = false;
    for (let j = 0; j < m; j++) {
      if (best.includes(j)) continue;
      const c = placementCost(p, [...best, j]);
      if (c < bestCost - 1e-12) [best, bestCost, improved] = [[...best, j], c, true];
    }
    for (const j of best.filter((x) => x !== p.pinned)) {
      const c = placementCost(
        p,
        best.filter((x) => x !== j),
      );
      if (c < bestCost - 1e-12) [best, bestCost, improved] = [best.filter((x) => x !== j), c, true];
    }
  }
  return best;
}
