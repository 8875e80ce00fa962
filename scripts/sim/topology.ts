/**
 * The simulator's network: a converted topology (scripts/sim/data/, see convert-topohub.ts), IEP sites attached to
 * its nodes, one client subnet per node, and the delays between them along shortest paths.
 *
 * - One-way delay of a link: its length at 200 km/ms (light in fibre) plus `hopMs` of forwarding per router.
 * - An IEP site hangs off a node by an access link of `accessMs` (sites of the same node differ in it).
 * - A client subnet is at its node behind `clientMs`: a client's round trip to a site is 2 × (clientMs + path +
 *   site access). This is the l_ij of eq. 1.
 *
 * @example
 *   const net = buildNetwork(loadTopology("geant2009"), { sitesPerNode: 3, seed: 1 });
 *   net.rttMs(subnet, site);
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { CompactTopology } from "./convert-topohub.ts";
import { Rng } from "./rng.ts";

export type { CompactTopology };

/** Reads scripts/sim/data/<name>.json. */
export function loadTopology(name: string): CompactTopology {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, "data", `${name}.json`), "utf8")) as CompactTopology;
}

export interface Site {
  index: number;
  /** Its IEP's id (the decision code's `location`). */
  id: string;
  node: number;
  accessMs: number;
  /** Listed price, token units per second. */
  pricePerSecond: bigint;
}

export interface NetworkOptions {
  sitesPerNode: number;
  seed: number;
  /** Forwarding delay per router hop (ms). */
  hopMs?: number;
  /** Client's access delay to its node (ms). */
  clientMs?: number;
  /** Price range of sites (token units per second), drawn uniformly per site. */
  price?: [number, number];
}

export interface Network {
  name: string;
  nodes: CompactTopology["nodes"];
  sites: Site[];
  /** One-way delay between nodes (ms), all pairs. */
  nodeMs: Float64Array;
  /** Router hops between nodes, all pairs. */
  nodeHops: Uint16Array;
  /** Next node on a shortest path from a to b (a itself when a = b). */
  next: Int32Array;
  /** The best-connected node (least mean delay to all others): the origin's and the orchestrator's place. */
  center: number;
  clientMs: number;
  /** One-way delay between two nodes (ms). */
  oneWay(a: number, b: number): number;
  hops(a: number, b: number): number;
  /** Round trip from subnet (node) `s` to site `j` (ms). */
  rttMs(s: number, j: Site): number;
  /** One-way delay between two sites (ms). */
  siteMs(a: Site, b: Site): number;
  /** The nodes on a shortest path from a to b, both included. */
  path(a: number, b: number): number[];
}

/** All-pairs shortest paths by Dijkstra from each node (n ≤ a few hundred). */
export function buildNetwork(t: CompactTopology, o: NetworkOptions): Network {
  const n = t.nodes.length;
  const hopMs = o.hopMs ?? 0.1;
  const adj: [number, number][][] = Array.from({ length: n }, () => []);
  for (const [a, b, km] of t.links) {
    const d = km / 200 + hopMs;
    adj[a]!.push([b, d]);
    adj[b]!.push([a, d]);
  }
  const nodeMs = new Float64Array(n * n).fill(Infinity);
  const nodeHops = new Uint16Array(n * n);
  const next = new Int32Array(n * n).fill(-1);
  for (let s = 0; s < n; s++) {
    const dist = nodeMs.subarray(s * n, (s + 1) * n);
    const first = new Int32Array(n).fill(-1);
    const done = new Uint8Array(n);
    dist[s] = 0;
    first[s] = s;
    for (let k = 0; k < n; k++) {
      let v = -1;
      for (let u = 0; u < n; u++) if (!done[u] && (v < 0 || dist[u]! < dist[v]!)) v = u;
      if (v < 0 || dist[v] === Infinity) break;
      done[v] = 1;
      for (const [w, d] of adj[v]!) {
        if (dist[v]! + d < dist[w]!) {
          dist[w] = dist[v]! + d;
          nodeHops[s * n + w] = nodeHops[s * n + v]! + 1;
          first[w] = v === s ? w : first[v]!;
        }
      }
    }
    for (let w = 0; w < n; w++) next[s * n + w] = first[w]!;
  }
  let center = 0;
  let best = Infinity;
  for (let a = 0; a < n; a++) {
    let sum = 0;
    for (let b = 0; b < n; b++) sum += nodeMs[a * n + b]!;
    if (sum < best) [best, center] = [sum, a];
  }
  const rng = new Rng(o.seed);
  const [p0, p1] = o.price ?? [100, 400];
  const sites: Site[] = [];
  for (let v = 0; v < n; v++)
    for (let k = 0; k < o.sitesPerNode; k++)
      sites.push({
        index: sites.length,
        id: `iep-${v}-${k}`,
        node: v,
        accessMs: 0.5 + k * 0.5 + rng.next() * 0.5,
        pricePerSecond: BigInt(Math.round(p0 + rng.next() * (p1 - p0))),
      });
  const clientMs = o.clientMs ?? 2;
  return {
    name: t.name,
    nodes: t.nodes,
    sites,
    nodeMs,
    nodeHops,
    next,
    center,
    clientMs,
    oneWay: (a, b) => nodeMs[a * n + b]!,
    hops: (a, b) => nodeHops[a * n + b]!,
    rttMs: (s, j) => 2 * (clientMs + nodeMs[s * n + j.node]! + j.accessMs),
    siteMs: (a, b) => (a.index === b.index ? 0 : a.accessMs + nodeMs[a.node * n + b.node]! + b.accessMs),
    path: (a, b) => {
      const out = [a];
      for (let v = a; v !== b;) {
        v = next[v * n + b]!;
        if (v < 0) break;
        out.push(v);
      }
      return out;
    },
  };
}

/**
 * A synthetic graph for growth curves (issue 21 item 2): `n` routers at random points of a `sizeKm` square, each
 * linked to its `k` nearest (lengths by Euclidean distance), the parts joined by their closest pairs until connected.
 * Seeded; positions stored as km in the longitude/latitude fields.
 */
export function syntheticTopology(n: number, seed: number, k = 3, sizeKm = 2000): CompactTopology {
  const rng = new Rng(seed);
  const pts = Array.from({ length: n }, () => [rng.next() * sizeKm, rng.next() * sizeKm] as const);
  const d = (a: number, b: number): number => Math.hypot(pts[a]![0] - pts[b]![0], pts[a]![1] - pts[b]![1]);
  const links = new Map<string, [number, number, number]>();
  const link = (a: number, b: number): void => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (!links.has(key)) links.set(key, [Math.min(a, b), Math.max(a, b), Math.round(d(a, b) * 100) / 100]);
  };
  for (let a = 0; a < n; a++)
    [...Array(n).keys()]
      .filter((b) => b !== a)
      .sort((x, y) => d(a, x) - d(a, y))
      .slice(0, k)
      .forEach((b) => link(a, b));
  // Join the parts: union-find, then the closest pair between the first part and any other, until one is left.
  const parent = [...Array(n).keys()];
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
  for (const [a, b] of links.values()) parent[find(a)] = find(b);
  for (;;) {
    const root = find(0);
    let best: [number, number] | undefined;
    for (let a = 0; a < n; a++)
      if (find(a) === root)
        for (let b = 0; b < n; b++) if (find(b) !== root && (!best || d(a, b) < d(best[0], best[1]))) best = [a, b];
    if (!best) break;
    link(best[0], best[1]);
    parent[find(best[1])] = root;
  }
  return {
    name: `synthetic-${n}`,
    source: {
      repository: "",
      path: "",
      commit: "",
      licence: "generated",
      note: `${k}-nearest geometric, seed ${seed}`,
    },
    nodes: pts.map(([x, y], i) => [`r${i}`, x, y]),
    links: [...links.values()],
  };
}
