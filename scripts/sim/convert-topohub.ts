/**
 * Converts two graphs of the public `piotrjurkiewicz/topohub` repository (MIT) into the simulator's compact
 * topology files (scripts/sim/data/*.json), once; the converted files are committed, this script says how they
 * were made. Run it over a checkout (or a bare mirror) of the repository:
 *
 *   node scripts/sim/convert-topohub.ts /path/to/topohub [commit]
 *
 * - `data/topozoo/Geant2009.json`: GÉANT 2009 from the Internet Topology Zoo (the paper's "European NREN"), 34 PoPs.
 * - `data/caida/2024-08/7922.json`: AS 7922 (Comcast)'s routers from CAIDA's ITDK 2024-08 (as topohub merged them by
 *   position), cut to the US east coast (longitude −85…−65, latitude 24…47: the paper's Fig. 5 region), its largest
 *   connected part kept.
 *
 * Each link keeps topohub's great-circle length (km); the simulator turns it into a one-way delay (light in fibre,
 * 200 km/ms). Node names and positions are kept for the plots.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

interface TopohubGraph {
  nodes: { id: string | number; name?: string; pos: [number, number] }[];
  edges: { source: string | number; target: string | number; dist: number }[];
}

/** The compact form the simulator reads (scripts/sim/topology.ts). */
export interface CompactTopology {
  name: string;
  source: { repository: string; path: string; commit: string; licence: string; note: string };
  /** [name, longitude, latitude] */
  nodes: [string, number, number][];
  /** [node index, node index, length km] */
  links: [number, number, number][];
}

const EAST = { lon: [-85, -65], lat: [24, 47] } as const;

function show(repo: string, commit: string, file: string): TopohubGraph {
  return JSON.parse(
    execFileSync("git", ["--git-dir", gitDir(repo), "show", `${commit}:${file}`], { maxBuffer: 1 << 28 }).toString(),
  ) as TopohubGraph;
}

function gitDir(repo: string): string {
  try {
    execFileSync("git", ["--git-dir", path.join(repo, ".git"), "rev-parse"], { stdio: "ignore" });
    return path.join(repo, ".git");
  } catch {
    return repo;
  }
}

/** The graph restricted to `keep` nodes, then to its largest connected part, renumbered. */
function compact(
  g: TopohubGraph,
  keep: (n: TopohubGraph["nodes"][number]) => boolean,
): Pick<CompactTopology, "nodes" | "links"> {
  const ids = new Map<string, number>();
  const nodes = g.nodes.filter(keep);
  nodes.forEach((n, i) => ids.set(String(n.id), i));
  const adj: number[][] = nodes.map(() => []);
  const links: [number, number, number][] = [];
  for (const e of g.edges) {
    const a = ids.get(String(e.source));
    const b = ids.get(String(e.target));
    if (a === undefined || b === undefined || a === b) continue;
    links.push([a, b, Math.round(e.dist * 100) / 100]);
    adj[a]!.push(b);
    adj[b]!.push(a);
  }
  // Largest connected part.
  const part = new Array<number>(nodes.length).fill(-1);
  let best = -1;
  let bestSize = 0;
  for (let s = 0; s < nodes.length; s++) {
    if (part[s] !== -1) continue;
    const stack = [s];
    part[s] = s;
    let size = 0;
    while (stack.length > 0) {
      const v = stack.pop()!;
      size++;
      for (const w of adj[v]!) if (part[w] === -1) ((part[w] = s), stack.push(w));
    }
    if (size > bestSize) [best, bestSize] = [s, size];
  }
  const renum = new Map<number, number>();
  const out: [string, number, number][] = [];
  nodes.forEach((n, i) => {
    if (part[i] !== best) return;
    renum.set(i, out.length);
    out.push([n.name ?? String(n.id), n.pos[0], n.pos[1]]);
  });
  return {
    nodes: out,
    links: links.filter(([a, b]) => renum.has(a) && renum.has(b)).map(([a, b, d]) => [renum.get(a)!, renum.get(b)!, d]),
  };
}

function main(): void {
  const [repo, commitArg] = process.argv.slice(2);
  if (!repo) throw new Error("usage: node scripts/sim/convert-topohub.ts <topohub checkout or git dir> [commit]");
  const commit =
    commitArg ??
    execFileSync("git", ["--git-dir", gitDir(repo), "rev-parse", "HEAD"])
      .toString()
      .trim();
  const out = path.join(import.meta.dirname, "data");
  mkdirSync(out, { recursive: true });
  const repository = "https://github.com/piotrjurkiewicz/topohub";
  const geant: CompactTopology = {
    name: "geant2009",
    source: {
      repository,
      path: "data/topozoo/Geant2009.json",
      commit,
      licence:
        "MIT (topohub, © 2023 Piotr Jurkiewicz); the graph is the Internet Topology Zoo's (cite Knight et al., JSAC 2011)",
      note: "GÉANT 2009, 34 PoPs; link lengths in km as topohub computed them",
    },
    ...compact(show(repo, commit, "data/topozoo/Geant2009.json"), () => true),
  };
  const caida: CompactTopology = {
    name: "caida-as7922-east",
    source: {
      repository,
      path: "data/caida/2024-08/7922.json",
      commit,
      licence:
        "MIT (topohub, © 2023 Piotr Jurkiewicz); derived from CAIDA's Macroscopic Internet Topology Data Kit 2024-08, used under CAIDA's Acceptable Use Agreement (research use, acknowledge CAIDA)",
      note: `AS 7922 (Comcast) routers (merged by position), cut to longitude ${EAST.lon.join("…")} and latitude ${EAST.lat.join("…")}, largest connected part`,
    },
    ...compact(
      show(repo, commit, "data/caida/2024-08/7922.json"),
      (n) => n.pos[0] >= EAST.lon[0] && n.pos[0] <= EAST.lon[1] && n.pos[1] >= EAST.lat[0] && n.pos[1] <= EAST.lat[1],
    ),
  };
  for (const t of [geant, caida]) {
    writeFileSync(path.join(out, `${t.name}.json`), JSON.stringify(t) + "\n");
    console.log(`${t.name}: ${t.nodes.length} nodes, ${t.links.length} links`);
  }
}

if (import.meta.main) main();
