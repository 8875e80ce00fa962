/**
 * bench:netview — how well an ICON can see the network: the packet-level WAN testbed's own delay accuracy
 * (scripts/lib/netbed.ts), the reference every measured latency is judged against; then a yard's own view — the
 * passive round trip per client subnet it reads from the kernel (24 subnets, 10–150 ms), against the configured
 * delays and against ping on the same paths in the same run — and what a path probe costs (packets, ms).
 *  - links: a hub router and 24 sites, one link each, one-way delays spread evenly over 5–150 ms (fractional ms
 *    included); `ping` from the hub to every site (20 echoes each, all links at once); a link's measured round
 *    trip is the median of its echoes, its error |median − configured| / configured;
 *  - demo paths: the demo topology (scripts/netbed/topologies/demo.json), every client network to every site,
 *    multi-hop (3–6 links each way), the same way.
 * The least echo of each is reported beside (`leastError…`): the bed never delivers early, and on a busy machine
 * the median carries the machine's scheduling delays too; `elementLateUsP50` is the median over link directions of
 * how late the delay elements delivered (their own count, µs), the machine's share measured in the same run.
 * Then a yard's passive round trips and the probe's cost (below), and `discovery` (netview-discovery.ts): on the demo
 * topology with four yards and an ICON deployed at cloud, the time from a new client subnet's first request to its
 * candidate list (`discoveryMs`: the IEP near it discovered and its round trip towards the subnet measured), for C
 * (no reverse names: path tomography, `discoveryPathMs`), then A and B. Takes 1.5–2 minutes; prints progress on
 * stderr and one JSON line last. Needs root (the testbed does) and Docker (scripts/docker.sh; it runs images.sh).
 *
 * Usage: npm run bench:netview
 */
import { loadavg, cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Wallet } from "ethers";
import { multiaddr } from "@multiformats/multiaddr";
import { probePath, readTelemetry, signLeaseAccess } from "../../protocol/index.ts";
import { DockerRuntime } from "../../yard-node/index.ts";
import { Netbed, loadTopology, type Topology } from "../lib/netbed.ts";
import { discoveryBench, type DiscoveryRun } from "./netview-discovery.ts";
import {
  Tenant,
  USD,
  removeYardLeftovers,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type YardProcess,
} from "../lib/testbed.ts";

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

// ---- a yard's view: passive round trips per subnet and the probe's cost ----------------------------------------
// A real yard process whose public side is a site namespace (publicNetns), 24 client networks behind a hub at
// round trips of 10–150 ms; each sends HTTP requests (one connection each) to a lease's ingress; the yard's
// telemetry then holds each subnet's round trip from the kernel (kernel-rtt.ts), judged against the configured
// delays and against ping on the same path in the same run. Then the lease holder probes three client subnets
// (/icon/probe/1.0.0): packets and time per probe.
const SUBNETS = 24;
const viewTopo: Topology = { networks: { isp: { domain: "isp.test", dns: "hub" } }, nodes: {}, links: [] };
viewTopo.nodes.hub = { network: "isp", role: "router" };
viewTopo.nodes.site = { network: "isp", role: "site" };
viewTopo.links.push({ a: "hub", b: "site", delayMs: 2 });
for (let i = 0; i < SUBNETS; i++) {
  viewTopo.nodes[`c${i}`] = { network: "isp", role: "clients" };
  viewTopo.links.push({ a: `c${i}`, b: "hub", delayMs: round(3 + (70 * i) / (SUBNETS - 1), 1) });
}
const viewBed = await Netbed.start(viewTopo, { prefix: `netview-yard-${process.pid}` });
const m = await startMarket();
let yard: YardProcess | undefined;
let tenant: Tenant | undefined;
let passive: Sample[];
let passiveVsPing: number[];
const probes: { packets: number; elapsedMs: number; hops: number }[] = [];
// Its own yard id: the yard keeps its lease's container and network when it stops, removed below (also on Ctrl-C).
const yardId = `netview-${process.pid}`;
let closed: Promise<void> | undefined;
const closeYardPart = (): Promise<void> =>
  (closed ??= (async () => {
    if (tenant) await tenant.stop().catch(() => {});
    if (yard) {
      yard.child.kill("SIGTERM");
      await yard.exited;
    }
    await removeYardLeftovers(new DockerRuntime({ socketPath: DockerRuntime.defaultSocket(), yardId }), say);
    await m.close().catch(() => {});
    await viewBed.close().catch(() => {});
  })());
const interrupted = (sig: NodeJS.Signals): void => {
  say(`${sig}: cleaning up`);
  void closeYardPart().finally(() => process.exit(130));
};
process.once("SIGINT", interrupted);
process.once("SIGTERM", interrupted);
try {
  await m.admin.mint(new Wallet(m.keys[1]!).address, USD(1000));
  tenant = await Tenant.create(m, 2, 3, USD(1000));
  const file = await writeYardConfig(
    m,
    yardConfig(m, yardId, { publicHost: viewBed.address("site"), publicNetns: viewBed.netnsPath("site") }),
  );
  yard = await startYardProcess(file, m.keys[1]!);
  const runtime = new DockerRuntime({ socketPath: DockerRuntime.defaultSocket(), yardId });
  const web = await runtime.imageId("icon/web:1");
  if (!web) throw new Error("icon/web:1 is missing: run bash scripts/images.sh");
  const addr = multiaddr(yard.addr);
  const l = await tenant.lease(addr, "0x" + web.slice("sha256:".length), { slotSeconds: 300 }, { httpPorts: [8080] });
  say(`yard in the site namespace, lease ${l.leaseId} at ${l.endpoint}; ${SUBNETS} client networks send requests …`);
  const client = `(async () => { for (let i = 0; i < 10; i++) await (await fetch("http://${l.endpoint}/")).text(); })()
    .catch((e) => { process.stderr.write(String(e)); process.exit(2); });`;
  const clients = viewBed.nodes().filter((n) => viewTopo.nodes[n]!.role === "clients");
  const sent = await Promise.all(clients.map((c) => viewBed.exec(c, process.execPath, ["-e", client])));
  const failed = sent.filter((r) => r.code !== 0);
  if (failed.length > 0) throw new Error(`clients failed: ${failed.map((r) => r.stderr).join("; ")}`);
  const access = await signLeaseAccess(tenant.icon, tenant.owner.domain(), l.leaseId, tenant.node.peerId);
  const t0w = performance.now();
  let flows: { subnet: string; rttMs?: number }[] = [];
  while (performance.now() - t0w < 30_000) {
    flows = (await readTelemetry(tenant.node, addr, { access })).flows;
    if (clients.every((c) => Number.isFinite(flows.find((f) => f.subnet === viewBed.subnet(c))?.rttMs))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const pinged = await Promise.all(clients.map((c) => ping(viewBed, c, "site")));
  passive = clients.map((c, i) => ({
    from: c,
    to: "site",
    configuredMs: viewBed.rttMs(c, "site"),
    measuredMs: flows.find((f) => f.subnet === viewBed.subnet(c))?.rttMs ?? NaN,
    leastMs: pinged[i]!.leastMs,
    crossings: 4,
  }));
  passiveVsPing = passive.map((s, i) => (Math.abs(s.measuredMs - pinged[i]!.measuredMs) / pinged[i]!.measuredMs) * 100);
  for (const s of passive) say(`${s.from}: configured ${s.configuredMs} ms, yard's passive figure ${s.measuredMs} ms`);
  for (const c of clients.slice(0, 3)) {
    const r = await probePath(tenant.node, addr, {
      leaseId: l.leaseId,
      access,
      target: viewBed.address(c),
      signal: AbortSignal.timeout(20_000),
    });
    probes.push({ packets: r.packets, elapsedMs: r.elapsedMs, hops: r.hops.length });
    say(`probe towards ${c}: ${r.hops.length} hops, ${r.packets} packets, ${r.elapsedMs} ms`);
  }
} finally {
  await closeYardPart();
  process.off("SIGINT", interrupted);
  process.off("SIGTERM", interrupted);
}
const unmeasured = passive.filter((s) => Number.isNaN(s.measuredMs));
if (unmeasured.length > 0) throw new Error(`no passive round trip for ${unmeasured.map((s) => s.from).join(", ")}`);

// ---- discovery: a new client subnet's first request to its candidate list (netview-discovery.ts) ---------------
const discovery: DiscoveryRun[] = await discoveryBench(say);
const viaPtr = discovery.filter((d) => !d.pathOnly);
const viaPath = discovery.filter((d) => d.pathOnly);
const candidateErrPct = discovery.map((d) => (Math.abs(d.rttMs - d.configuredMs) / d.configuredMs) * 100);

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
    passive: {
      subnets: passive.length,
      rttMs: [
        round(Math.min(...passive.map((s) => s.configuredMs)), 1),
        round(Math.max(...passive.map((s) => s.configuredMs)), 1),
      ],
      ...summary(passive),
      vsPingErrorPctP50: round(quantile(passiveVsPing, 0.5)),
      vsPingErrorPctP95: round(quantile(passiveVsPing, 0.95)),
    },
    probe: {
      probes: probes.length,
      packetsPerSubnet: Math.max(...probes.map((p) => p.packets)),
      msPerSubnetP50: quantile(
        probes.map((p) => p.elapsedMs),
        0.5,
      ),
      msPerSubnetMax: Math.max(...probes.map((p) => p.elapsedMs)),
    },
    discovery: {
      subnets: discovery.length,
      discoveryMsP50: quantile(
        discovery.map((d) => d.discoveryMs),
        0.5,
      ),
      discoveryMsMax: Math.max(...discovery.map((d) => d.discoveryMs)),
      ...(viaPtr.length > 0 ? { discoveryPtrMsMax: Math.max(...viaPtr.map((d) => d.discoveryMs)) } : {}),
      ...(viaPath.length > 0 ? { discoveryPathMs: Math.max(...viaPath.map((d) => d.discoveryMs)) } : {}),
      candidateRttErrorPctMax: round(Math.max(...candidateErrPct)),
      runs: discovery,
    },
    loadAverage1m: round(loadavg()[0]!),
    cpus: cpus().length,
  }) + "\n",
);
