/**
 * bench:netview — how well an ICON can see the network. For now its testbed part: the packet-level WAN testbed's
 * own delay accuracy (scripts/lib/netbed.ts), the reference every measured latency is judged against.
 *  - links: a hub router and 24 sites, one link each, one-way delays spread evenly over 5–150 ms (fractional ms
 *    included); `ping` from the hub to every site (20 echoes each, all links at once); a link's measured round
 *    trip is the median of its echoes, its error |median − configured| / configured;
 *  - demo paths: the demo topology (scripts/netbed/topologies/demo.json), every client network to every site,
 *    multi-hop (3–6 links each way), the same way.
 * The least echo of each is reported beside (`leastError…`): the bed never delivers early, and on a busy machine
 * the median carries the machine's scheduling delays too; `elementLateUsP50` is the median over link directions of
 * how late the delay elements delivered (their own count, µs), the machine's share measured in the same run. Prints progress on stderr and one JSON line last. Needs root (the testbed does).
 *
 * Usage: npm run bench:netview
 */
import { loadavg, cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Netbed, loadTopology, type Topology } from "../lib/netbed.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const LINKS = 24;
const MIN_MS = 5;
const MAX_MS = 150;
const ECHOES = 20;

function say(text: string): void {
  process.stderr.write(`[netview] ${text}\n`);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** The median and least round trip of `echoes` pings from `from` to `to` (NaN when none came back). */
async function ping(bed: Netbed, from: string, to: string): Promise<{ measuredMs: number; leastMs: number }> {
  const r = await bed.exec(from, "ping", ["-n", "-c", String(ECHOES), "-i", "0.05", "-W", "2", bed.address(to)]);
  const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length === 0) return { measuredMs: NaN, leastMs: NaN };
  return { measuredMs: quantile(times, 0.5), leastMs: Math.min(...times) };
}

/** Each link direction's mean lateness of delivery (µs, the delay elements' own count): the machine's share. */
async function elementLateness(bed: Netbed): Promise<number[]> {
  const stats = await Promise.all(bed.plan.links.map((l) => bed.linkStats(l.index)));
  return stats.flatMap((s) => [s.ab, s.ba].filter((d) => d.delivered > 0).map((d) => d.meanLateUs));
}

interface Sample {
  from: string;
  to: string;
  configuredMs: number;
  measuredMs: number;
  leastMs: number;
  crossings: number;
}

function summary(samples: Sample[]): Record<string, number> {
  const errPct = samples.map((s) => (Math.abs(s.measuredMs - s.configuredMs) / s.configuredMs) * 100);
  const errMs = samples.map((s) => Math.abs(s.measuredMs - s.configuredMs));
  const perCrossing = samples.map((s) => (s.measuredMs - s.configuredMs) / s.crossings);
  const leastPct = samples.map((s) => (Math.abs(s.leastMs - s.configuredMs) / s.configuredMs) * 100);
  return {
    errorPctP50: round(quantile(errPct, 0.5)),
    errorPctP95: round(quantile(errPct, 0.95)),
    errorPctMax: round(Math.max(...errPct)),
    errorMsP50: round(quantile(errMs, 0.5), 3),
    errorMsP95: round(quantile(errMs, 0.95), 3),
    extraMsPerLinkCrossingP50: round(quantile(perCrossing, 0.5), 3),
    leastErrorPctP50: round(quantile(leastPct, 0.5)),
    leastErrorPctP95: round(quantile(leastPct, 0.95)),
  };
}

// ---- links -------------------------------------------------------------------------------------------------------
const star: Topology = { networks: { bench: { domain: "bench.test", dns: "hub" } }, nodes: {}, links: [] };
star.nodes.hub = { network: "bench", role: "router" };
for (let i = 0; i < LINKS; i++) {
  const delayMs = round(MIN_MS + ((MAX_MS - MIN_MS) * i) / (LINKS - 1), 1);
  star.nodes[`s${i}`] = { network: "bench", role: "site" };
  star.links.push({ a: "hub", b: `s${i}`, delayMs });
}
let t0 = performance.now();
const bed = await Netbed.start(star, { prefix: `netview-${process.pid}` });
const startMs = performance.now() - t0;
say(`testbed of ${LINKS} links (${MIN_MS}–${MAX_MS} ms one way) up in ${startMs.toFixed(0)} ms; pinging …`);
let links: Sample[];
let lateUs: number[];
try {
  links = await Promise.all(
    star.links.map(async (l) => ({
      from: "hub",
      to: l.b,
      configuredMs: bed.rttMs("hub", l.b),
      ...(await ping(bed, "hub", l.b)),
      crossings: 2,
    })),
  );
  lateUs = await elementLateness(bed);
} finally {
  t0 = performance.now();
  await bed.close();
}
const closeMs = performance.now() - t0;
for (const s of links) say(`${s.to}: configured ${s.configuredMs} ms, ping median ${s.measuredMs} ms`);

// ---- demo paths --------------------------------------------------------------------------------------------------
const demo = await loadTopology(path.join(root, "scripts/netbed/topologies/demo.json"));
const demoBed = await Netbed.start(demo, { prefix: `netview-demo-${process.pid}` });
let paths: Sample[];
let demoLateUs: number[];
try {
  const clients = demoBed.nodes().filter((n) => demo.nodes[n]!.role === "clients");
  const sites = demoBed.nodes().filter((n) => demo.nodes[n]!.role === "site");
  const pairs = clients.flatMap((c) => sites.map((s) => [c, s] as const));
  const hops = (a: string, b: string): number => {
    let n = 0;
    for (let at = a; at !== b; n++) {
      const l = demoBed.plan.links[demoBed.plan.nextLink.get(at)!.get(b)!]!;
      at = l.a === at ? l.b : l.a;
    }
    return n;
  };
  paths = await Promise.all(
    pairs.map(async ([c, s]) => ({
      from: c,
      to: s,
      configuredMs: demoBed.rttMs(c, s),
      ...(await ping(demoBed, c, s)),
      crossings: hops(c, s) + hops(s, c),
    })),
  );
  demoLateUs = await elementLateness(demoBed);
} finally {
  await demoBed.close();
}
for (const s of paths) say(`${s.from}→${s.to}: configured ${s.configuredMs} ms, ping median ${s.measuredMs} ms`);

const lost = [...links, ...paths].filter((s) => Number.isNaN(s.measuredMs));
if (lost.length > 0) throw new Error(`no echo came back on ${lost.map((s) => `${s.from}→${s.to}`).join(", ")}`);
process.stdout.write(
  JSON.stringify({
    bench: "netview",
    testbed: {
      links: {
        count: LINKS,
        oneWayMs: [MIN_MS, MAX_MS],
        echoes: ECHOES,
        ...summary(links),
        elementLateUsP50: round(quantile(lateUs, 0.5), 1),
      },
      demoPaths: { count: paths.length, ...summary(paths), elementLateUsP50: round(quantile(demoLateUs, 0.5), 1) },
      startMs: Math.round(startMs),
      closeMs: Math.round(closeMs),
    },
    loadAverage1m: round(loadavg()[0]!),
    cpus: cpus().length,
  }) + "\n",
);
