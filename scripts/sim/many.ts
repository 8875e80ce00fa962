/**
 * Many applications at once: `node scripts/sim/many.ts [--apps N] [--minutes M]` runs N applications' shifting-demand
 * scenarios (each its own subnets, regions and seed) on one event queue over CAIDA's east coast, every ICON of every
 * application deciding by icon-agent's `Controller.step` — so the decision code runs with hundreds to thousands of
 * ICONs in one simulation. The applications do not interact: sites have no capacity and prices do not follow load
 * (EVALUATION.md, "What is not modelled"); this measures the rules' behaviour and the simulator's speed at that count,
 * not competition between applications. No oracle (N × 30 subnets). Prints one JSON line.
 */
import { EventQueue } from "./events.ts";
import { scenario } from "./scenarios.ts";
import { buildNetwork, loadTopology } from "./topology.ts";
import { defaultSimOptions, runTree, type TreeRun } from "./tree-sim.ts";

function arg(name: string, fallback: number): number {
  const a = process.argv.slice(2);
  const i = a.indexOf(name);
  return i >= 0 ? Number(a[i + 1]) : fallback;
}

/** Runs `apps` applications for `durationS` on one queue; the summary of all of them. */
export function runMany(apps: number, durationS: number): Record<string, number> {
  const net = buildNetwork(loadTopology("caida-as7922-east"), { sitesPerNode: 1, seed: 1 });
  const o = defaultSimOptions();
  const q = new EventQueue();
  // ICONs serving at each sample, over all applications.
  const serving = new Map<number, number>();
  const runs: TreeRun[] = [];
  let shifts = 0;
  for (let a = 0; a < apps; a++) {
    const sc = scenario(net, "shift", durationS, 1000 + a);
    shifts += sc.events.filter((e) => e.kind === "shift").length;
    runs.push(
      runTree(
        net,
        sc,
        q,
        o,
        1000 + a,
        60,
        (tS, sites) => serving.set(Math.round(tS), (serving.get(Math.round(tS)) ?? 0) + sites.length),
        false,
      ),
    );
  }
  const t0 = performance.now();
  q.run(durationS * 1000 + 2);
  const loopS = (performance.now() - t0) / 1000;
  const sum = (f: (r: TreeRun) => number): number => runs.reduce((s, r) => s + f(r), 0);
  const moves = sum((r) => r.fired.migrate + r.fired.replicate);
  return {
    apps,
    minutes: durationS / 60,
    iconsServingMax: Math.max(...serving.values()),
    iconsServingEnd: serving.get(Math.max(...serving.keys())) ?? 0,
    controllerSteps: sum((r) => r.steps),
    movesPerShift: Math.round((moves / shifts) * 100) / 100,
    terminations: sum((r) => r.fired.terminate),
    budgetOverruns: sum((r) => r.ledger.refusals),
    fundingDenied: sum((r) => r.fundingDenied),
    lapses: sum((r) => r.lapses),
    simEventsPerSecond: Math.round(q.processed / loopS),
    loopS: Math.round(loopS * 10) / 10,
  };
}

if (import.meta.main) console.log(JSON.stringify(runMany(arg("--apps", 300), arg("--minutes", 40) * 60)));
