/**
 * The paper's comparison: a centralized orchestrator at the best-connected node (a cloud region) that gathers every
 * instance's report every period and places optimally with what it has — the exact placement (oracle.ts, HiGHS) on
 * the rates last reported to it, re-planned when that view moved by more than `replanL1` (summed share change),
 * when an instance went silent (`isLive`, three periods, as the tree's parents count children) or when prices
 * changed, at most every `planEveryS`. No hysteresis, no cool-down: it moves whenever the optimum moves. Like the
 * tree it keeps an instance at the entry point (the origin's site) while that site is up.
 * Its instances are the same containers (deployS to start) and are paid at the same listed prices; their leases and
 * money are not simulated (its metric is cost and moves, not the budget).
 */
import { isLive } from "../../icon-agent/index.ts";
import type { EventQueue } from "./events.ts";
import { solvePlacement } from "./oracle.ts";
import type { Problem } from "./cost.ts";
import { Rng } from "./rng.ts";
import type { Scenario } from "./scenarios.ts";
import { applyPrice, type OnSample, type SimOptions } from "./tree-sim.ts";
import type { Network } from "./topology.ts";

export interface CentralRun {
  opened: number;
  closed: number;
  reports: number;
  reportLinks: number;
  solves: number;
  maxIcons: number;
}

interface Instance {
  site: number;
  servingAt: number;
  alive: boolean;
}

/** Runs the orchestrator through `sc`; `problemAt` gives the placement problem for a view of shares. */
export function runCentral(
  net: Network,
  sc: Scenario,
  q: EventQueue,
  o: SimOptions,
  seed: number,
  sampleS: number,
  problemFor: (shares: number[], prices: readonly bigint[], failed: ReadonlySet<number>, pinned?: number) => Problem,
  onSample: OnSample,
  tuning = { replanL1: 0.1, planEveryS: 30 },
): CentralRun {
  const rng = new Rng(seed);
  const periodMs = o.timings.periodMs;
  const prices = net.sites.map((s) => s.pricePerSecond);
  const failed = new Set<number>();
  const known = new Set<number>(); // failures the orchestrator has noticed
  const orch = net.sites
    .filter((s) => s.node === net.center)
    .sort((a, b) => Number(a.pricePerSecond - b.pricePerSecond))[0]!;
  const run: CentralRun = { opened: 0, closed: 0, reports: 0, reportLinks: 0, solves: 0, maxIcons: 0 };
  const insts: Instance[] = [{ site: orch.index, servingAt: 0, alive: true }];
  const view = new Map<number, { rate: number; atMs: number }>();
  const heard = new Map<Instance, number>();
  let planned: number[] | undefined;
  let plannedAt = -Infinity;
  let dirty = true;
  const nowS = (): number => q.now / 1000;
  const serving = (): Instance[] => insts.filter((x) => x.alive && x.servingAt <= nowS() && !failed.has(x.site));

  const tickInstance = (x: Instance): void => {
    if (!x.alive) return;
    q.after(periodMs, () => tickInstance(x));
    if (failed.has(x.site) || x.servingAt > nowS()) return;
    const live = serving();
    const mine = sc.subnets
      .map((node, i) => [node, i] as const)
      .filter(
        ([node]) =>
          live.reduce((b, y) => (net.rttMs(node, net.sites[y.site]!) < net.rttMs(node, net.sites[b.site]!) ? y : b)) ===
          x,
      )
      .map(([, i]) => i);
    const t = nowS();
    const rates = mine.map((i) => [i, sc.rate(i, t) * (0.95 + 0.1 * rng.next())] as const);
    run.reports++;
    run.reportLinks += net.hops(net.sites[x.site]!.node, orch.node);
    q.after(net.siteMs(net.sites[x.site]!, orch), () => {
      heard.set(x, q.now);
      for (const [i, r] of rates) view.set(i, { rate: r, atMs: q.now });
    });
  };

  const tickOrchestrator = (): void => {
    q.after(periodMs, tickOrchestrator);
    const t = nowS();
    for (const x of insts)
      if (x.alive && x.servingAt <= t && !isLive(heard.get(x) ?? x.servingAt * 1000, q.now, o.timings.reportEveryMs)) {
        x.alive = false;
        known.add(x.site);
        dirty = true;
      }
    if (t - plannedAt < tuning.planEveryS) return;
    const rates = sc.subnets.map((_, i) => view.get(i)?.rate ?? 0);
    const total = rates.reduce((a, b) => a + b, 0);
    if (total <= 0) return;
    const shares = rates.map((r) => r / total);
    const moved = planned ? shares.reduce((a, s, i) => a + Math.abs(s - planned![i]!), 0) : Infinity;
    if (!dirty && moved <= tuning.replanL1) return;
    run.solves++;
    const target = new Set(solvePlacement(problemFor(shares, prices, known, orch.index)).sites);
    planned = shares;
    plannedAt = t;
    dirty = false;
    const running = insts.filter((x) => x.alive);
    let readyAt = t;
    for (const j of target) {
      if (running.some((x) => x.site === j)) continue;
      const start = t + net.siteMs(orch, net.sites[j]!) / 1000 + o.deployS;
      const inst = { site: j, servingAt: start, alive: true };
      insts.push(inst);
      run.opened++;
      readyAt = Math.max(readyAt, start);
      q.at(start * 1000 + rng.next() * periodMs, () => tickInstance(inst));
    }
    // The instances no longer in the plan end once the new ones serve.
    for (const x of running)
      if (!target.has(x.site))
        q.at(readyAt * 1000, () => {
          if (x.alive) {
            x.alive = false;
            run.closed++;
          }
        });
  };

  q.at(rng.next() * periodMs, () => tickInstance(insts[0]!));
  q.at(periodMs, tickOrchestrator);
  for (const ev of sc.events)
    q.at(ev.atS * 1000, () => {
      if (ev.kind === "fail") {
        for (const s of net.sites) if (s.node === ev.node) failed.add(s.index);
      } else if (ev.kind === "price") {
        applyPrice(net, prices, ev.nodes, ev.factor);
        dirty = true; // the market's listing shows it at once
      }
    });
  for (let t = 0; t <= sc.durationS; t += sampleS)
    q.at(t * 1000 + 1, () => {
      const live = serving();
      run.maxIcons = Math.max(run.maxIcons, live.length);
      onSample(
        nowS(),
        live.map((x) => x.site),
        prices,
        failed,
        orch.index,
      );
    });
  q.run(sc.durationS * 1000 + 2);
  return run;
}
