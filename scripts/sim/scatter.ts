/**
 * The paper's two figures at scale (§5): N ICONs scattered at random over the IEP sites, the origin — and the
 * centralized orchestrator — at the best-connected node.
 *
 * The tree grows as the project grows it: every ICON is a replica of the ICON that served its clients before it
 * existed — the nearest one already placed (decision.ts replicates towards subnets a nearer site serves better) —
 * and becomes its child. Reports are the project's: each ICON sends its aggregate (protocol/overlay/tree-aggregate.ts
 * `mergeSubnets` of its own subnets and its live children's reports — `isLive` of icon-agent/tree-rules.ts —
 * folded by `foldSubnets`) to its parent every period, through the event queue with the topology's delays.
 * Centrally, every ICON sends its own subnets to the orchestrator every period.
 *
 * Fig. 4 counts per period: messages (overlay requests; acknowledgements are one per request in both designs and
 * left out), link transmissions (a message crosses as many links as its shortest path has; two ICONs on one node
 * exchange it without crossing any), subnet entries carried, and messages arriving at the root.
 * Fig. 5 measures, for demand changes at random subnets, the time until the information the decision needs is
 * where it is made and the placement order reached the target site (the paper counts information propagation
 * only): in the tree the ICON serving the subnet decides on its own observations (the agent's rule) and sends the
 * request for quote to the best site and gets its answer; centrally, the report travels to the orchestrator, which
 * sends the order to the best site and gets its answer.
 */
import { isLive } from "../../icon-agent/index.ts";
import { foldSubnets, mergeSubnets, type TreeSubnet } from "../../protocol/index.ts";
import { EventQueue } from "./events.ts";
import { Rng } from "./rng.ts";
import type { Network, Site } from "./topology.ts";

export interface Fig4Point {
  icons: number;
  tree: { messages: number; links: number; entries: number; atRoot: number; depth: number };
  central: { messages: number; links: number; entries: number; atRoot: number };
  /** Sum of the rates in the origin's aggregate ÷ the true total (1 = the tree's totals are exact). */
  rootTotalRatio: number;
}

export interface Fig5Point {
  icons: number;
  /** Mean ms. */
  treeMs: number;
  /** The same with the decision one tree level up (the serving ICON's parent decides): a conservative bound. */
  treeParentMs: number;
  centralMs: number;
}

interface Node {
  site: Site;
  parent: number;
  depth: number;
  children: number[];
  own: TreeSubnet[];
  reports: Map<number, { subnets: TreeSubnet[]; atMs: number }>;
}

/** The scattered ICONs and their tree (nearest-placed parent). */
function grow(net: Network, n: number, seed: number): Node[] {
  const rng = new Rng(seed);
  const origin = net.sites.find((s) => s.node === net.center)!;
  const sites = [origin, ...Array.from({ length: n - 1 }, () => net.sites[rng.int(net.sites.length)]!)];
  const firstAt = new Map<number, number>();
  const nodes: Node[] = [];
  sites.forEach((site, i) => {
    let parent = -1;
    if (i > 0) {
      let best = Infinity;
      for (const [s, k] of firstAt) {
        const d = net.siteMs(site, net.sites[s]!);
        if (d < best) [best, parent] = [d, k];
      }
    }
    if (!firstAt.has(site.index)) firstAt.set(site.index, i);
    nodes.push({
      site,
      parent,
      depth: parent < 0 ? 0 : nodes[parent]!.depth + 1,
      children: [],
      own: [
        {
          subnet: `10.${site.node}.${i % 256}.0/24`,
          rate: 1 + rng.next() * 9,
          latencyMs: 5 + rng.next() * 20,
          requests: 0n,
        },
      ],
      reports: new Map(),
    });
    if (parent >= 0) nodes[parent]!.children.push(i);
  });
  return nodes;
}

/** Fig. 4 at `n` ICONs: messages per period, tree and centralized (measured over `periods` after a warm-up one). */
export function fig4(net: Network, n: number, seed: number, q: EventQueue, periods = 3): Fig4Point {
  // Warm-up: the deepest report needs a period per level to reach the origin.
  const warm = 10;
  const nodes = grow(net, n, seed);
  const periodMs = 5000;
  const rng = new Rng(seed + 1);
  const orch = nodes[0]!.site;
  const count = {
    tree: { messages: 0, links: 0, entries: 0, atRoot: 0 },
    central: { messages: 0, links: 0, entries: 0, atRoot: 0 },
  };
  let counting = false;
  const start = q.now;
  let rootTotal = 0;
  nodes.forEach((me, i) => {
    const offset = rng.next() * periodMs;
    const tick = (): void => {
      const now = q.now;
      const live = [...me.reports.values()].filter((r) => isLive(r.atMs, now, periodMs)).map((r) => r.subnets);
      const agg = foldSubnets(mergeSubnets([me.own, ...live]));
      if (i === 0 && counting) rootTotal = agg.reduce((a, s) => a + s.rate, 0);
      if (me.parent >= 0) {
        const p = nodes[me.parent]!;
        if (counting) {
          count.tree.messages++;
          count.tree.links += me.site.node === p.site.node ? 0 : net.hops(me.site.node, p.site.node);
          count.tree.entries += agg.length;
          if (me.parent === 0) count.tree.atRoot++;
        }
        q.after(net.siteMs(me.site, p.site), () => p.reports.set(i, { subnets: agg, atMs: q.now }));
      }
      if (i > 0) {
        // Centrally: every ICON's own report to the orchestrator (it keeps nothing to aggregate).
        if (counting) {
          count.central.messages++;
          count.central.links += me.site.node === orch.node ? 0 : net.hops(me.site.node, orch.node);
          count.central.entries += me.own.length;
          count.central.atRoot++;
        }
        q.after(net.siteMs(me.site, orch), () => undefined);
      }
      if (now + periodMs < start + (warm + periods) * periodMs) q.after(periodMs, tick);
    };
    q.at(start + offset, tick);
  });
  q.run(start + warm * periodMs);
  counting = true;
  q.run(start + (warm + periods) * periodMs + 1000);
  const per = (x: number): number => x / periods;
  const trueTotal = nodes.reduce((a, x) => a + x.own[0]!.rate, 0);
  return {
    icons: n,
    tree: {
      messages: per(count.tree.messages),
      links: per(count.tree.links),
      entries: per(count.tree.entries),
      atRoot: per(count.tree.atRoot),
      depth: Math.max(...nodes.map((x) => x.depth)),
    },
    central: {
      messages: per(count.central.messages),
      links: per(count.central.links),
      entries: per(count.central.entries),
      atRoot: per(count.central.atRoot),
    },
    rootTotalRatio: rootTotal / trueTotal,
  };
}

/** Fig. 5 at `n` ICONs: time to information after `changes` demand changes at random subnets (mean ms). */
export function fig5(net: Network, n: number, seed: number, changes = 200): Fig5Point {
  const nodes = grow(net, n, seed);
  const rng = new Rng(seed + 2);
  const orch = nodes[0]!.site;
  const occupied = [...new Set(nodes.map((x) => x.site.index))].map((s) => nodes.findIndex((x) => x.site.index === s));
  let tree = 0;
  let treeParent = 0;
  let central = 0;
  for (let k = 0; k < changes; k++) {
    const s = rng.int(net.nodes.length);
    // The best site for the subnet's clients, and the ICON that serves them now (the nearest running one).
    const best = net.sites.reduce((a, b) => (net.rttMs(s, b) < net.rttMs(s, a) ? b : a));
    const v = occupied.reduce((a, b) => (net.rttMs(s, nodes[b]!.site) < net.rttMs(s, nodes[a]!.site) ? b : a));
    const vs = nodes[v]!.site;
    // No order when the serving ICON is at the best site already; the report is needed either way centrally.
    const move = vs.index !== best.index;
    tree += move ? 2 * net.siteMs(vs, best) : 0;
    const p = nodes[v]!.parent >= 0 ? nodes[nodes[v]!.parent]!.site : vs;
    treeParent += net.siteMs(vs, p) + (move ? 2 * net.siteMs(p, best) : 0);
    central += net.siteMs(vs, orch) + (move ? 2 * net.siteMs(orch, best) : 0);
  }
  return { icons: n, treeMs: tree / changes, treeParentMs: treeParent / changes, centralMs: central / changes };
}
