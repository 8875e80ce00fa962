/**
 * The simulator's scenarios: how the client subnets' request rates move over time, and what else happens (an IEP
 * site failing, prices changing). Pure functions of time, seeded, so the tree, the orchestrator and the oracle see
 * the same world.
 */
import { Rng } from "./rng.ts";
import type { Network } from "./topology.ts";

export type ScenarioName = "shift" | "diurnal" | "flash" | "failure" | "price";
export const SCENARIOS: readonly ScenarioName[] = ["shift", "diurnal", "flash", "failure", "price"];

/** What happens at a moment of a scenario. */
export type WorldEvent =
  | { atS: number; kind: "shift"; label: string }
  | { atS: number; kind: "fail"; label: string; /** every IEP site of this node fails for good */ node: number }
  | {
      atS: number;
      kind: "price";
      label: string;
      /** the prices of every site of these nodes are multiplied */ nodes: number[];
      factor: number;
    };

export interface Scenario {
  name: ScenarioName;
  durationS: number;
  /** Client subnets: their nodes. */
  subnets: number[];
  /** Rate of subnet index `i` at `tS` (requests/s). */
  rate(i: number, tS: number): number;
  events: WorldEvent[];
}

/** Total requests per second of the application (shares are what eq. 1 uses; the total sets the idle rule's scale). */
const TOTAL = 1000;
/** Subnets with clients. */
const SUBNETS = 30;

/** Region: the `k` nodes nearest to `center` among the subnets (by delay). */
function region(net: Network, subnets: number[], center: number, k: number): Set<number> {
  return new Set(
    subnets
      .map((v, i) => [net.oneWay(center, v), i] as const)
      .sort((a, b) => a[0] - b[0])
      .slice(0, k)
      .map(([, i]) => i),
  );
}

function busiest(base: number[]): number {
  return base.reduce((b, x, i) => (x > base[b]! ? i : b), 0);
}

/** The scenario `name` on `net`, `durationS` long (seeded). */
export function scenario(net: Network, name: ScenarioName, durationS: number, seed: number): Scenario {
  const rng = new Rng(seed);
  const n = net.nodes.length;
  const pool = Array.from({ length: n }, (_, v) => v);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const subnets = pool.slice(0, Math.min(SUBNETS, n));
  const base = subnets.map(() => 0.2 + rng.next());
  const baseSum = base.reduce((a, b) => a + b, 0);
  const flat = (i: number): number => (TOTAL * base[i]!) / baseSum;
  switch (name) {
    case "shift": {
      // 80 % of the demand in a region of 5 subnets that moves every 20 minutes (clients moving, as in the demo).
      const every = 1200;
      const regions = Array.from({ length: Math.ceil(durationS / every) }, () =>
        region(net, subnets, subnets[rng.int(subnets.length)]!, 5),
      );
      return {
        name,
        durationS,
        subnets,
        rate: (i, t) => {
          const r = regions[Math.min(regions.length - 1, Math.floor(t / every))]!;
          return 0.2 * flat(i) + (r.has(i) ? (0.8 * TOTAL) / r.size : 0);
        },
        events: regions.slice(1).map((_, k) => ({ atS: (k + 1) * every, kind: "shift", label: `shift ${k + 1}` })),
      };
    }
    case "diurnal": {
      // A day compressed into the run: each subnet peaks at its local noon (by longitude), 10 % at night.
      const day = durationS / 2;
      return {
        name,
        durationS,
        subnets,
        rate: (i, t) => {
          const lon = net.nodes[subnets[i]!]![1];
          const phase = 2 * Math.PI * (t / day + lon / 360);
          return flat(i) * (0.1 + 0.9 * (0.5 + 0.5 * Math.sin(phase)));
        },
        events: [],
      };
    }
    case "flash": {
      // One subnet gets 3× the application's whole rate for 15 minutes, twice.
      const hot = [rng.int(subnets.length), rng.int(subnets.length)];
      const windows = [durationS * 0.25, durationS * 0.6];
      return {
        name,
        durationS,
        subnets,
        rate: (i, t) => {
          let r = flat(i);
          windows.forEach((w0, k) => {
            if (hot[k] === i && t >= w0 && t < w0 + 900) r += 3 * TOTAL;
          });
          return r;
        },
        events: windows.flatMap((w0, k) => [
          { atS: w0, kind: "shift" as const, label: `flash ${k + 1}` },
          { atS: w0 + 900, kind: "shift" as const, label: `flash ${k + 1} ends` },
        ]),
      };
    }
    case "failure":
      // The origin's node fails (its successor takes over), then the node of the busiest subnet.
      return {
        name,
        durationS,
        subnets,
        rate: (i) => flat(i),
        events: [
          { atS: durationS * 0.3, kind: "fail", label: "origin's IEPs fail", node: net.center },
          { atS: durationS * 0.6, kind: "fail", label: "busiest PoP's IEPs fail", node: subnets[busiest(base)]! },
        ],
      };
    case "price": {
      // Prices ×3 at the nodes of the five busiest subnets (where a good placement runs), later ÷2 back and below.
      const top = base
        .map((b, i) => [b, i] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, 5)
        .map(([, i]) => subnets[i]!);
      return {
        name,
        durationS,
        subnets,
        rate: (i) => flat(i),
        events: [
          { atS: durationS * 0.3, kind: "price", label: "prices ×3 near the busiest", nodes: top, factor: 3 },
          { atS: durationS * 0.6, kind: "price", label: "prices ÷2 there", nodes: top, factor: 0.5 },
        ],
      };
    }
  }
}
